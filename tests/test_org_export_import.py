"""manage.py export_org / import_org (okrplan/orgdata.py): an organization moves whole.

The rich organization is SPEC.md §8's examples (tests/planning.py) with every kind of
tenant row: revisions, check-ins, imported history, dependencies, rules, a complete
modification round with its steps, events and notifications, reminders, escalations,
an orphaned round and missed check-ins. Rows are compared through their natural
relations (what they refer to, recursively; users by username), never by id, and a
reference into another organization fails the comparison.
"""

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from hierarchy import services as hs
from hierarchy.models import (
    Department,
    Invitation,
    KeyResult,
    Membership,
    Organization,
    TenantModel,
)
from hierarchy.scope import Scope
from notifications import services as ns
from notifications import webhooks
from notifications.deadlines import deadline_scan
from notifications.models import Notification, Round, RoundEvent, Step, WebhookEvent
from okrplan import orgdata
from plans import services as ps
from plans.imports import history_import
from plans.models import PlanRevision
from tests.conftest import make_user
from tests.planning import lock, set_plan

D = Decimal
T0 = datetime(2026, 2, 2, 9, 0, tzinfo=UTC)
User = get_user_model()


def tenant_models():
    from django.apps import apps

    return [m for m in apps.get_models() if issubclass(m, TenantModel)]


@pytest.fixture
def rich(world, planning, funnel, nps):
    """Every kind of row the app writes, in organization `acme`."""
    org = world.org
    Department.objects.create(
        organization=org, name="Content", lead=world.marketing_lead, parent=world.marketing
    )
    hs.dependency_create(
        org=org,
        upstream=funnel.visitors,
        downstream=funnel.trials,
        assumption="Trials follow visitors within the month",
        actor=world.admin,  # an editor of the downstream (priya's trials)
        expected_value=D(3000),
        expected_by=date(2026, 1, 31),
    )
    ns.rule_set(org=org, kr=None, upward="threshold", downward="review_required")
    # A webhook of every event: the round below records its deliveries (pending: the
    # test's transaction never commits, so none is sent).
    webhooks.webhook_create(
        org=org,
        actor=world.admin,
        url="https://hooks.example.test/okrplan",
        events=WebhookEvent.values,
        format="slack",
    )
    ns.rule_set(org=org, kr=nps.parent, upward="notify", downward="notify", threshold_pct=D("7.5"))
    admin = Membership.objects.get(organization=org, user=world.admin)
    history_import(
        org=org,
        actor=world.admin,
        scope=Scope(org=org, membership=admin),
        filename="history.csv",
        content=(
            f"kr,period,value\n{funnel.visitors.pk},0,9000\n{funnel.trials.pk},0,1800\n"
            f"{funnel.paid.pk},0,450\n{funnel.visitors.pk},1,9500\n"
        ).encode(),
    )
    ps.checkin_create(
        kr=planning.sales_kr,
        period=0,
        value=D("480000.5"),
        author=world.sales_lead,
        note="January",
        today=date(2026, 2, 1),
    )
    # A complete round (SPEC.md §5): lock, modify, notice, answers, escalations, close.
    with time_machine.travel(T0 - timedelta(days=1), tick=False):
        lock(planning.pipeline)
        lock(nps.parent)
    with time_machine.travel(T0, tick=False):
        set_plan(planning.marketing_kr, [800000, 800000, 800000], rationale="Channel change")
        set_plan(nps.success, [40, 40, 40], rationale="Onboarding revamp")
    pipeline_round = Round.objects.get(organization=org, parent_kr=planning.pipeline)
    with time_machine.travel(T0 + timedelta(hours=2), tick=False):
        ns.round_notice(round=pipeline_round, actor=world.owner, message="600k short")
    with time_machine.travel(T0 + timedelta(hours=20), tick=False):
        sales_assess = Step.objects.get(round=pipeline_round, kind="assess", kr=planning.sales_kr)
        ns.step_answer(step=sales_assess, actor=world.sales_lead, answer="no_change", note="Full")
    with time_machine.travel(T0 + timedelta(hours=40), tick=False):
        deadline_scan()  # reminders, the orphaned NPS round, missed January check-ins
    with time_machine.travel(T0 + timedelta(hours=80), tick=False):
        deadline_scan()  # escalations
        ns.round_close(
            round=pipeline_round, actor=world.owner, note="4.5M it is", target=D(4500000)
        )
        set_plan(nps.parent, ["37", "41", "45"], rationale="Re-phased")  # downward notices
        ns.notification_mark_read(
            notification=Notification.objects.filter(organization=org).order_by("id").first()
        )
    # Invitations: by username (its notification names the invitee) and by e-mail (its
    # notification names only the address), one accepted, two pending.
    hs.invitation_create(
        org=org, actor=world.admin, role="member", username=make_user("ivy").username
    )
    hs.invitation_create(org=org, actor=world.admin, role="viewer", email="nora@example.test")
    joined = hs.invitation_create(
        org=org, actor=world.admin, role="member", username=make_user("jo").username
    )
    hs.invitation_answer(invitation=joined, user=User.objects.get(username="jo"), accept=True)
    return org


# --- Natural comparison -----------------------------------------------------------


def _key_models(key: str) -> list:
    head = key.split(":")[0]
    return {
        "step": [None, Step, None, User],
        "upward": [None, PlanRevision, KeyResult],
        "downward": [None, PlanRevision, KeyResult],
        "round": [None, Round, None, KeyResult],
        "invitation": [None, Invitation],
    }[head]


class Naturals:
    """Rows described by what they hold and refer to, recursively, without ids."""

    def __init__(self, org: Organization):
        self.org = org
        self.memo: dict = {}

    def ref(self, model, pk):
        if model is User:
            return User.objects.get(pk=pk).username
        return self.of(model._base_manager.get(pk=pk))

    def of(self, obj):
        model = type(obj)
        key = (model, obj.pk)
        if key not in self.memo:
            assert obj.organization_id == self.org.pk, f"{model.__name__} {obj.pk} is foreign"
            self.memo[key] = (model.__name__, tuple(self._fields(obj)))
        return self.memo[key]

    def _fields(self, obj):
        model = type(obj)
        for f in model._meta.concrete_fields:
            if f.primary_key or f.name == "organization":
                continue
            if (model, f.name) in orgdata.FRESH_SECRETS:  # made anew by the import
                continue
            value = getattr(obj, f.attname)
            if f.is_relation and value is not None:
                value = self.ref(f.related_model, value)
            elif (model, f.name) == (KeyResult, "path"):
                value = tuple(self.ref(KeyResult, int(p)) for p in value.split("/") if p)
            elif (model, f.name) == (RoundEvent, "data"):
                refs = {"revision": PlanRevision, "kr": KeyResult, "actor": User}
                value = tuple(
                    sorted(
                        (k, repr(self.ref(refs[k], v)) if k in refs and v else repr(v))
                        for k, v in value.items()
                    )
                )
            elif (model, f.name) == (Notification, "key"):
                parts = value.split(":")
                kinds = _key_models(value) + [None] * len(parts)
                value = tuple(
                    part if kind is None else self.ref(kind, int(part))
                    for part, kind in zip(parts, kinds, strict=False)
                )
            yield f.name, value

    def rows(self, model) -> list[str]:
        return sorted(
            repr(self.of(obj)) for obj in model._base_manager.filter(organization=self.org)
        )


def _org_fields(org):
    return {
        f.name: getattr(org, f.attname)
        for f in Organization._meta.concrete_fields
        if f.name not in ("id", "slug")
    }


def test_it_moves_a_rich_organization_whole(rich, tmp_path, capsys):
    path = tmp_path / "acme.json"
    call_command("export_org", "acme", output=str(path))
    assert path.stat().st_mode & 0o777 == 0o600  # everything the organization has
    call_command("import_org", str(path), slug="acme-copy")

    copy = Organization.objects.get(slug="acme-copy")
    assert _org_fields(copy) == _org_fields(rich)
    original, imported = Naturals(rich), Naturals(copy)
    for model in tenant_models():
        rows = original.rows(model)
        assert rows, f"the rich organization has no {model.__name__}: it proves nothing for it"
        assert imported.rows(model) == rows, model.__name__
    # the ids are new, so equal naturals mean the references were mapped
    assert not set(
        PlanRevision.objects.filter(organization=copy).values_list("id", flat=True)
    ) & set(PlanRevision.objects.filter(organization=rich).values_list("id", flat=True))

    capsys.readouterr()
    call_command("recompute", org="acme-copy", verify=True)
    assert "ok: 11 key results" in capsys.readouterr().out


def test_the_copy_lives_on_its_own(rich, world):
    """The imported organization works: a plan saved in the copy leaves the original alone."""
    document = orgdata.org_export(org=rich)
    copy = orgdata.org_import(data=document, slug="acme-copy").org
    kr = KeyResult.objects.get(organization=copy, title="Sales outbound pipeline")
    original_revisions = PlanRevision.objects.filter(organization=rich).count()
    set_plan(kr, [600000, 500000, 400000], rationale="More outbound")
    assert PlanRevision.objects.filter(organization=rich).count() == original_revisions
    assert PlanRevision.objects.filter(organization=copy).count() == original_revisions + 1


def _counts():
    return {m.__name__: m._base_manager.count() for m in [*tenant_models(), Organization, User]}


def _notification_rows(document):
    return document["rows"]["notifications.notification"]


@pytest.mark.parametrize(
    "breakage",
    [
        "missing_reference",  # found by the import, at the last kind of row
        "bad_decimal",
        "bad_choice",
        "malformed",
        "duplicate_key",  # found by the database's unique constraint
        "unknown_key_format",
    ],
)
def test_a_broken_file_imports_nothing(rich, tmp_path, breakage):
    document = orgdata.org_export(org=rich)
    last = _notification_rows(document)[-1]
    if breakage == "missing_reference":
        last["step"] = 10**9
    elif breakage == "bad_decimal":
        document["rows"]["plans.checkin"][-1]["value"] = "a lot"
    elif breakage == "bad_choice":
        document["rows"]["notifications.step"][-1]["kind"] = "pray"
    elif breakage == "malformed":
        document["rows"]["plans.checkin"] = "not a list of rows"
    elif breakage == "duplicate_key":
        last["key"] = _notification_rows(document)[0]["key"]
    else:
        last["key"] = "sms:12:sent"
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(document))
    before = _counts()

    with pytest.raises(CommandError, match="Nothing was imported"):
        call_command("import_org", str(path), slug="acme-copy")

    assert _counts() == before
    assert not Organization.objects.filter(slug="acme-copy").exists()


def test_it_refuses_a_taken_slug_and_a_file_that_is_not_an_export(world, tmp_path):
    path = tmp_path / "acme.json"
    call_command("export_org", "acme", output=str(path))
    with pytest.raises(CommandError, match="slug 'globex' exists already"):
        call_command("import_org", str(path), slug="globex")
    with pytest.raises(CommandError, match="slug 'acme' exists already"):
        call_command("import_org", str(path))

    path.write_text(path.read_text()[:200])
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("import_org", str(path), slug="acme-copy")
    path.write_text('{"format": "something else"}')
    with pytest.raises(CommandError, match="Not an okrplan organization export"):
        call_command("import_org", str(path), slug="acme-copy")
    with pytest.raises(CommandError, match="No organization has the slug 'nope'"):
        call_command("export_org", "nope")


def test_users_missing_here_are_created_without_a_password(world):
    """Into another database: its users are matched by username, the others created."""
    document = orgdata.org_export(org=world.org)
    for user in document["users"]:  # users this database does not have
        user["username"] += "-elsewhere"
    for row in document["rows"]["hierarchy.membership"]:
        row["user"] += "-elsewhere"
    for row in document["rows"]["hierarchy.department"]:
        row["lead"] += "-elsewhere"
    report = orgdata.org_import(data=document, slug="acme-elsewhere")

    assert sorted(report.users_created) == sorted(
        f"{u}-elsewhere" for u in ("admin", "owner", "maya", "sam", "member", "viewer")
    )
    maya = User.objects.get(username="maya-elsewhere")
    assert not maya.has_usable_password() and maya.email == "maya@example.test"
    lead = Department.objects.get(organization=report.org, name="Marketing").lead
    assert lead == maya
    roles = dict(
        Membership.objects.filter(organization=report.org).values_list("user__username", "role")
    )
    assert roles["admin-elsewhere"] == "admin" and roles["viewer-elsewhere"] == "viewer"


def test_every_tenant_model_is_carried(monkeypatch):
    assert orgdata.coverage_problems() == []
    call_command("check")  # the same, as system check okrplan.E001

    monkeypatch.setattr(orgdata, "CARRIED", [m for m in orgdata.CARRIED if m is not Step])
    problems = orgdata.coverage_problems()
    assert "notifications.step is a tenant model that export_org does not carry." in problems
    assert any("notifications.roundevent.step refers to notifications.step" in p for p in problems)

    monkeypatch.undo()
    monkeypatch.setattr(orgdata, "PLAIN_JSON", orgdata.PLAIN_JSON - {(Step, "proposed_json")})
    assert any(
        "notifications.step.proposed_json is a JSON field" in p for p in orgdata.coverage_problems()
    )


def test_an_organization_moves_out_and_back_under_its_slug(rich, world, tmp_path):
    """Export, erase (the one path that deletes revisions and events), import again."""
    before = {model: Naturals(rich).rows(model) for model in tenant_models()}
    globex = {
        m.__name__: m.objects.filter(organization=world.other_org).count() for m in tenant_models()
    }
    users = User.objects.count()
    path = tmp_path / "acme.json"
    call_command("export_org", "acme", output=str(path))

    with pytest.raises(CommandError, match="Not confirmed"):
        call_command("erase_org", "acme", confirm="acm")
    call_command("erase_org", "acme", confirm="acme")
    assert not Organization.objects.filter(slug="acme").exists()
    for model in tenant_models():
        assert not model._base_manager.filter(organization_id=rich.pk).exists(), model.__name__
    assert {
        m.__name__: m.objects.filter(organization=world.other_org).count() for m in tenant_models()
    } == globex
    assert User.objects.count() == users

    call_command("import_org", str(path))
    back = Organization.objects.get(slug="acme")
    for model in tenant_models():
        assert Naturals(back).rows(model) == before[model], model.__name__


@pytest.mark.django_db(transaction=True)
def test_the_command_exports_outside_a_transaction(world, planning, tmp_path):
    """As run by hand: export_org opens the transaction (on PostgreSQL one REPEATABLE
    READ snapshot), and the test's flush afterwards goes through erase mode."""
    path = tmp_path / "acme.json"
    call_command("export_org", "acme", output=str(path))
    document = json.loads(path.read_text())
    assert (
        len(document["rows"]["plans.planrevision"])
        == PlanRevision.objects.filter(organization=world.org).count()
    )
    assert {u["username"] for u in document["users"]} >= {"admin", "owner", "maya", "pat"}


def test_webhooks_keep_their_secret_and_deliveries_get_new_ids(rich):
    """A receiver goes on checking signatures after a move; the copy's deliveries are its
    own (new X-Okrplan-Delivery ids), with the bodies, and event ids, as recorded."""
    from notifications.models import Webhook, WebhookDelivery

    copy = orgdata.org_import(data=orgdata.org_export(org=rich), slug="acme-copy").org
    original = WebhookDelivery.objects.filter(organization=rich)
    copied = WebhookDelivery.objects.filter(organization=copy)
    assert original.count() == copied.count() >= 5
    assert not set(original.values_list("pk", flat=True)) & set(copied.values_list("pk", flat=True))
    assert sorted(original.values_list("body", flat=True)) == sorted(
        copied.values_list("body", flat=True)
    )
    assert set(copied.values_list("webhook__organization", flat=True)) == {copy.pk}
    secret = Webhook.objects.get(organization=rich).secret
    assert Webhook.objects.get(organization=copy).secret == secret
