"""Every time a page shows is in its viewer's zone, and near a deadline says how near
(issue 16 §5): one filter, `|when` (hierarchy/templatetags/times.py), over
okrplan.lib.times. A template that writes a time of day itself is refused here."""

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from django.conf import settings

from hierarchy import services as hs
from notifications import services as ns
from notifications.models import Round, Step, StepKind
from tests.planning import lock, set_plan

NBSP = "\xa0"  # Django's timesince keeps a figure with its unit
TEMPLATES = Path(settings.BASE_DIR) / "templates"
# date-format characters of a time of day, a zone, or a whole timestamp
TIME_OF_DAY = re.compile(r"""\|date:\s*["']([^"']*)["']""")
TIME_TOKENS = set("aAfgGhHiPsuveOTZcrU")


def test_no_template_writes_a_time_of_day_itself():
    found = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        text = path.read_text()
        for match in TIME_OF_DAY.finditer(text):
            fmt = match.group(1)
            if fmt in ("DATETIME_FORMAT", "SHORT_DATETIME_FORMAT") or TIME_TOKENS & set(
                re.sub(r"\\.", "", fmt)
            ):
                found.append(f"{path.relative_to(TEMPLATES)}: |date:{fmt!r}")
        for word in ("timesince", "timeuntil", "naturaltime"):
            if f"|{word}" in text:
                found.append(f"{path.relative_to(TEMPLATES)}: |{word}")
    assert not found, "use |when (hierarchy/templatetags/times.py):\n" + "\n".join(found)


NOW = datetime(2026, 2, 10, 3, 0, tzinfo=UTC)


def _zone(user, name: str) -> None:
    hs.profile_update(
        user=user, first_name="", last_name="", email=user.email, time_zone=name,
        notify_by="email",
    )  # fmt: skip


@pytest.fixture
def steps(world, planning):
    """maya's review due in 5 hours, and one 2 days overdue."""
    with time_machine.travel(NOW - timedelta(days=3), tick=False):
        review = ns.review_open(
            kind=StepKind.DOWNWARD_REVIEW,
            kr=planning.marketing_kr,
            source_kr_id=planning.pipeline.pk,
            due_at=NOW + timedelta(hours=5),
            now=NOW - timedelta(days=3),
            message=lambda step: "The pipeline target changed: review your plan.",
        )
        late = ns.review_open(
            kind=StepKind.DEPENDENCY_REVIEW,
            kr=planning.marketing_kr,
            source_kr_id=planning.sales_kr.pk,
            due_at=NOW - timedelta(days=2),
            now=NOW - timedelta(days=3),
            message=lambda step: "A dependency broke: review your plan.",
        )
    return review, late


def _get(client, url: str) -> str:
    with time_machine.travel(NOW, tick=False):
        response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


def test_deadlines_say_how_near_in_the_viewers_zone(world, client, steps):
    review, late = steps
    assert late.due_at == NOW - timedelta(days=2)
    _zone(world.marketing_lead, "Asia/Tokyo")
    client.force_login(world.marketing_lead)
    for url in ("/o/acme/me/", f"/o/acme/steps/{review.pk}/", "/o/acme/calendar/"):
        html = _get(client, url)
        # 08:00 UTC is 17:00 in Tokyo
        assert "10 Feb 2026, 17:00 JST</time>" in html, url
        assert f"(due in 5{NBSP}hours)" in html, url
    html = _get(client, "/o/acme/me/")
    assert f'<span class="badge badge-critical">2{NBSP}days overdue</span>' in html
    assert "8 Feb 2026, 12:00 JST</time>" in html


def test_what_happened_says_when_in_the_viewers_zone(world, planning, client):
    with time_machine.travel(NOW - timedelta(days=1), tick=False):
        lock(planning.pipeline)
    with time_machine.travel(NOW - timedelta(hours=3), tick=False):
        set_plan(planning.marketing_kr, [800000] * 3, rationale="Channel algorithm change")
    _zone(world.owner, "America/New_York")
    client.force_login(world.owner)
    html = _get(client, f"/o/acme/krs/{planning.pipeline.pk}/alignment/")
    round_ = Round.objects.get()
    notify = Step.objects.get(round=round_, kind="notify")
    # started 00:00 UTC = 19:00 EST the day before; the notice due 24 h later
    assert "started <time" in html and "9 Feb 2026, 19:00 EST</time>" in html
    assert f'datetime="{notify.due_at.isoformat()}">10 Feb 2026, 19:00 EST</time>' in html
    html = _get(client, f"/o/acme/krs/{planning.pipeline.pk}/history/")
    assert "9 Feb 2026, 19:00 EST</time>" in html
    html = _get(client, "/o/acme/notifications/")
    assert f'title="9 Feb 2026, 19:00 EST">3{NBSP}hours ago</time>' in html
