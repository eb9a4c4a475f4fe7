"""Messages worded for the person who reads them, times written for people (issue 16 §5).

An escalation to an admin said "Sam Ortiz was to assess the impact on your plan" (the
admin has no plan in it), and every message wrote its times as the server's clock reads
("2026-02-04 11:00:00 UTC"). A message is written for its recipient: "your" only to the
person whose plan it is, times in the recipient's time zone ("4 Feb 2026, 12:00 CET");
what everyone reads (a round's history, a check of the combined view) says no "your" and
no raw timestamp."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from hierarchy import services as hs
from notifications.deadlines import deadline_scan
from notifications.models import Notification, Round, RoundEvent
from notifications.services import round_notice
from tests.planning import lock, set_plan

T0 = datetime(2026, 2, 2, 9, 0, tzinfo=UTC)
ASSESS_DUE = T0 + timedelta(hours=50)  # notice at T0 + 2 h, 48 h to assess: 4 Feb, 11:00 UTC
RAW = ("2026-02-", "UTC", "+00:00", "T11:00")


def _zone(user, name: str, first="", last="") -> None:
    hs.profile_update(
        user=user, first_name=first, last_name=last, email=user.email, time_zone=name,
        notify_by="email",
    )  # fmt: skip


@pytest.fixture
def noticed(planning, world):
    """Marketing modified at T0; the owner sent the impact notice at T0 + 2 h."""
    _zone(world.sales_lead, "America/New_York", "Sam", "Ortiz")
    _zone(world.admin, "Europe/Berlin")
    with time_machine.travel(T0 - timedelta(days=1), tick=False):
        lock(planning.pipeline)
    with time_machine.travel(T0, tick=False):
        set_plan(planning.marketing_kr, [800000] * 3, rationale="Channel algorithm change")
    round_ = Round.objects.get()
    with time_machine.travel(T0 + timedelta(hours=2), tick=False):
        round_notice(round=round_, actor=world.owner, message="Can Sales absorb part?")
    return round_


def _message(kind, user, round_, **about):
    return Notification.objects.get(kind=kind, user=user, round=round_, **about).message


def test_the_assignee_is_told_of_their_plan_in_their_time_zone(noticed, world):
    message = _message("impact_notice", world.sales_lead, noticed)
    assert "modify your plan by 4 Feb 2026, 06:00 EST." in message, message
    with time_machine.travel(ASSESS_DUE - timedelta(hours=6), tick=False):
        deadline_scan()
    message = _message("reminder", world.sales_lead, noticed)
    assert message == (
        "Reminder: assess the impact on your plan “Sales outbound pipeline” "
        "by 4 Feb 2026, 06:00 EST."
    ), message


def test_an_escalation_to_an_admin_names_whose_plan_it_is(noticed, world):
    with time_machine.travel(ASSESS_DUE + timedelta(minutes=1), tick=False):
        deadline_scan()
    message = _message("escalation", world.admin, noticed, step__assignee=world.sales_lead)
    assert "your" not in message.lower(), message
    assert message == (
        "Overdue since 4 Feb 2026, 12:00 CET: Sam Ortiz was to assess the impact on "
        "“Sales outbound pipeline”."
    ), message
    event = RoundEvent.objects.get(
        round=noticed, kind="escalation", step__kr__owner=world.sales_lead
    )
    assert "your" not in event.message.lower() and not any(r in event.message for r in RAW)


def test_the_orphan_check_writes_its_deadline_for_people(planning, world, client, api):
    _zone(world.owner, "Asia/Tokyo")
    with time_machine.travel(T0 - timedelta(days=1), tick=False):
        lock(planning.pipeline)
    with time_machine.travel(T0, tick=False):
        set_plan(planning.marketing_kr, [800000] * 3, rationale="Channel algorithm change")
    with time_machine.travel(T0 + timedelta(hours=24, seconds=1), tick=False):
        deadline_scan()
        client.force_login(world.owner)
        html = client.get(f"/o/acme/krs/{planning.pipeline.pk}/alignment/").content.decode()
    assert "no impact notice went out by 3 Feb 2026, 18:00 JST" in html  # 09:00 UTC
    body = api(world.owner).get(f"/api/v1/orgs/acme/krs/{planning.pipeline.pk}/alignment/")
    check = next(c for c in body.json()["checks"] if c["code"] == "orphaned_modification")
    assert "by 3 Feb 2026, 09:00 UTC" in check["message"], check["message"]
    assert "+00:00" not in check["message"] and "T09" not in check["message"]
    assert check["data"]["due_at"].startswith("2026-02-03T09:00")  # the data stay data
