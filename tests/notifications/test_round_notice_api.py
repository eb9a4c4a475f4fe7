"""POST /api/v1/orgs/{org}/rounds/{id}/notice/: one message, optionally a line per
department (SPEC.md §5)."""

from notifications.models import Notification, NotificationKind, Round, StepKind
from tests.planning import lock, set_plan


def modified(planning) -> Round:
    lock(planning.pipeline)
    set_plan(planning.marketing_kr, [800000, 800000, 800000], rationale="Channel algorithm change")
    return Round.objects.get(parent_kr=planning.pipeline)


def url(round) -> str:
    return f"/api/v1/orgs/acme/rounds/{round.pk}/notice/"


def notices() -> dict[str, str]:
    return {
        n.user.username: n.message
        for n in Notification.objects.filter(kind=NotificationKind.IMPACT_NOTICE)
    }


def test_it_sends_one_message_to_every_other_department(planning, world, api):
    round = modified(planning)
    response = api(world.owner).post(url(round), {"message": "Please assess."}, format="json")
    assert response.status_code == 200
    assert set(notices()) == {"sam", "pat"}
    assert all("Please assess." in m and "For " not in m for m in notices().values())


def test_it_adds_a_line_for_one_department(planning, world, api):
    round = modified(planning)
    body = {
        "message": "Marketing's MQL volume is down 20%.",
        "department_messages": {str(planning.partnerships.pk): "Flag any capacity conflict."},
    }
    assert api(world.owner).post(url(round), body, format="json").status_code == 200
    assert "For Partnerships: Flag any capacity conflict." in notices()["pat"]
    assert "For " not in notices()["sam"]


def test_it_refuses_a_line_for_a_department_the_notice_does_not_reach(planning, world, api):
    round = modified(planning)
    for key in (str(world.marketing.pk), str(world.other_department.pk), "sales"):
        body = {"message": "Hello", "department_messages": {key: "Only you."}}
        response = api(world.owner).post(url(round), body, format="json")
        assert response.status_code == 400, key
        assert "department_messages" in response.json(), key
    round.refresh_from_db()
    assert round.noticed_at is None
    assert not round.steps.filter(kind=StepKind.ASSESS).exists()
    assert not notices()


def test_it_is_403_for_a_lead_and_404_for_an_outsider(planning, world, api):
    round = modified(planning)
    body = {"message": "Hello"}
    assert api(world.sales_lead).post(url(round), body, format="json").status_code == 403
    assert api(world.outsider).post(url(round), body, format="json").status_code == 404
    assert not notices()
