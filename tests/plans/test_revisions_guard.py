"""The database itself refuses to change or delete plan revisions and round events.

Raw SQL through `connection.cursor()` bypasses the models' own guards
(`ImmutableQuerySet`, `save`/`delete`): these tests prove the triggers of
plans/notifications migrations 0002 on the database the suite runs on (SQLite by
default, PostgreSQL with DATABASE_URL).
"""

from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.db.models import ProtectedError

from notifications import services as ns
from notifications.models import Round, RoundEvent
from okrplan.lib.erasing import erasing
from plans.models import PlanRevision
from tests.planning import lock, set_plan

D = Decimal


def _row(model, pk):
    table, qn = model._meta.db_table, connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {qn(table)} WHERE id = %s", [pk])
        return cursor.fetchone()


def _refused(sql, params, message):
    with (
        pytest.raises(IntegrityError, match=message),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql, params)


@pytest.fixture
def round_event(world, planning):
    """A modification round on the pipeline: a locked child plan changed with a rationale."""
    lock(planning.marketing_kr)
    set_plan(planning.marketing_kr, [900000, 1000000, 1000000], rationale="Budget cut")
    round = Round.objects.get(organization=world.org)
    return round.events.first()


def test_it_refuses_raw_updates_and_deletes_of_a_revision(planning):
    revision = PlanRevision.objects.filter(kr=planning.pipeline).first()
    before = _row(PlanRevision, revision.pk)
    table = connection.ops.quote_name(PlanRevision._meta.db_table)

    _refused(
        f"UPDATE {table} SET rationale = %s WHERE id = %s",
        ["rewritten", revision.pk],
        "plan revisions are never changed",
    )
    _refused(
        f"DELETE FROM {table} WHERE id = %s", [revision.pk], "plan revisions are never deleted"
    )
    _refused(f"DELETE FROM {table}", [], "plan revisions are never deleted")

    assert _row(PlanRevision, revision.pk) == before


def test_it_refuses_raw_updates_and_deletes_of_a_round_event(round_event):
    before = _row(RoundEvent, round_event.pk)
    table = connection.ops.quote_name(RoundEvent._meta.db_table)

    _refused(
        f"UPDATE {table} SET message = %s WHERE id = %s",
        ["rewritten", round_event.pk],
        "round events are never changed",
    )
    _refused(
        f"DELETE FROM {table} WHERE id = %s", [round_event.pk], "round events are never deleted"
    )

    assert _row(RoundEvent, round_event.pk) == before


def test_an_organization_is_never_deleted_through_the_orm(world, planning):
    """Its departments, cycles and KRs protect it, and its revisions protect them: the
    ORM refuses before any trigger is reached (docs/decisions.md)."""
    count = PlanRevision.objects.filter(organization=world.org).count()
    with pytest.raises(ProtectedError), transaction.atomic():
        world.org.delete()
    assert PlanRevision.objects.filter(organization=world.org).count() == count


def test_the_app_still_saves_plans_and_runs_rounds(world, planning, round_event):
    revisions = PlanRevision.objects.filter(organization=world.org).count()
    set_plan(planning.sales_kr, [600000, 500000, 400000])
    assert PlanRevision.objects.filter(organization=world.org).count() == revisions + 1

    round = round_event.round
    ns.round_notice(round=round, actor=world.owner, message="Pipeline short by 100k in January.")
    ns.round_close(round=round, actor=world.owner, note="Accepted", target=None)
    round.refresh_from_db()
    assert round.status == "closed"
    assert list(round.events.values_list("kind", flat=True))[-1] == "closed"


def test_erase_mode_lets_a_delete_through_and_nothing_else(planning):
    revision = PlanRevision.objects.filter(kr=planning.pipeline).first()
    table = connection.ops.quote_name(PlanRevision._meta.db_table)
    with erasing():
        _refused(
            f"UPDATE {table} SET rationale = %s WHERE id = %s",
            ["rewritten", revision.pk],
            "plan revisions are never changed",
        )
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {table} WHERE id = %s", [revision.pk])
    assert _row(PlanRevision, revision.pk) is None

    other = PlanRevision.objects.filter(kr=planning.sales_kr).first()
    _refused(f"DELETE FROM {table} WHERE id = %s", [other.pk], "plan revisions are never deleted")


@pytest.mark.django_db(transaction=True)
def test_flush_empties_kept_rows_too(world, planning):
    assert PlanRevision.objects.exists()
    call_command("flush", interactive=False, verbosity=0)
    assert not PlanRevision.objects.exists()
