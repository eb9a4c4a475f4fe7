"""Who is told of a plan change: the preview (`POST .../plan/preview/`) and the save's
reaction decide it with the same function (`notifications.rules.plan_change_audience`),
so the people the preview names are the people the save tells."""

import pytest

from notifications.models import Notification
from tests.planning import lock

RATIONALE = "Budget moved to events"


def _preview_then_save(api, user, kr, payload) -> tuple[list[dict], set[tuple[str, str]]]:
    """What the preview of `payload` says, then who the save of the same payload told."""
    kr.plan.refresh_from_db()
    payload = {**payload, "version": kr.plan.version, "rationale": RATIONALE}
    base = f"/api/v1/orgs/acme/krs/{kr.pk}/plan/"
    preview = api(user).post(f"{base}preview/", payload, format="json")
    assert preview.status_code == 200
    before = set(Notification.objects.values_list("pk", flat=True))
    saved = api(user).put(base, payload, format="json")
    assert saved.status_code == 200, saved.content
    told = {
        (n.user.username, n.kind)
        for n in Notification.objects.exclude(pk__in=before).select_related("user")
    }
    return preview.json()["would_notify"], told


def _agree(would_notify: list[dict], told: set[tuple[str, str]]) -> None:
    assert {t["username"] for t in would_notify} == {username for username, _ in told}
    assert {(t["username"], t["kind"]) for t in would_notify} <= told


def test_a_shape_preset_with_a_target_to_reach_tells_whom_the_save_tells(funnel, world, api):
    lock(funnel.parent)
    would_notify, told = _preview_then_save(
        api, world.marketing_lead, funnel.visitors, {"shape": "linear", "target": 8000}
    )
    assert [t["kind"] for t in would_notify if t["kind"] == "review"] == ["review", "review"]
    _agree(would_notify, told)


def test_a_stage_already_asked_for_that_target_is_not_asked_again(funnel, world, api):
    lock(funnel.parent)
    _preview_then_save(
        api, world.marketing_lead, funnel.visitors, {"shape": "linear", "target": 8000}
    )
    # the same target again, in another shape: the same implied targets downstream
    would_notify, told = _preview_then_save(
        api, world.marketing_lead, funnel.visitors, {"values": [2000, 3000, 3000]}
    )
    assert not [t for t in would_notify if t["kind"] == "review"]
    _agree(would_notify, told)


@pytest.mark.parametrize(
    "values",
    [[800000, 800000, 800000], [950000, 950000, 950000]],
    ids=["past-the-threshold", "below-the-threshold"],
)
def test_a_modification_of_a_locked_contribution_tells_whom_the_save_tells(
    planning, world, api, values
):
    lock(planning.pipeline)
    would_notify, told = _preview_then_save(
        api, world.marketing_lead, planning.marketing_kr, {"values": values}
    )
    assert would_notify
    _agree(would_notify, told)


def test_nobody_is_told_of_a_draft_by_either(planning, world, api):
    would_notify, told = _preview_then_save(
        api, world.marketing_lead, planning.marketing_kr, {"values": [800000, 800000, 800000]}
    )
    assert would_notify == [] and told == set()
