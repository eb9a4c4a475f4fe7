"""The demo organization (okrplan/demo.py, what `make run` shows) in the current quarter,
with check-ins for the months gone: the data of the trajectory's and the dashboard's
browser tests and of the README's screenshots.

`third_month()`: the tests run on the 8th of the current quarter's third month (the
clock of the test process, the live server's too, moved there by time-machine), so that
two months are gone whenever they run. The browser keeps its own clock: the session
cookie lives by its Max-Age, which Chromium prefers to its Expires."""

from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal

import time_machine
from django.utils import timezone

from hierarchy.models import KeyResult
from okrplan.demo import demo_load
from plans import services as ps

# Each month gone: Marketing 800,000 then 900,000 of its 1,000,000 a month; Sales on
# plan; Partners ahead; visitors, trials and paid users of the funnel; NPS measured.
FIGURES = {
    "Marketing-sourced pipeline": [800000, 900000],
    "Sales outbound pipeline": [500000, 520000],
    "Partner-sourced pipeline": [200000, 150000],
    "Website visitors": [3000, 2600],
    "Trials started": [520, 480],
    "Trials converted to paid": [120, 110],
    "Raise NPS from 32 to 45": [35, 37],
    "Onboarding rebuilt for every new account": [40, 30],
    "Ship the top five requested features": [20, 20],
}


def demo_with_check_ins(skip: tuple[str, ...] = ()) -> dict:
    """The demo loaded, each KR of FIGURES checked in for the months gone (but those
    of `skip`); its organization, cycle, KRs by title, the indexes of the months gone and
    the cycle's periods."""
    org = demo_load()
    krs = {kr.title: kr for kr in KeyResult.objects.filter(organization=org)}
    cycle = next(iter(krs.values())).cycle
    today = timezone.localdate()
    gone = [p.index for p in cycle.periods if p.end < today]
    for title, values in FIGURES.items():
        if title in skip:
            continue
        kr = krs[title]
        for period, value in zip(gone, values, strict=False):
            ps.checkin_create(
                kr=kr, period=period, value=Decimal(value), author=kr.owner, today=today
            )
    return {"org": org, "cycle": cycle, "krs": krs, "gone": gone, "periods": cycle.periods}


@contextmanager
def third_month():
    now = timezone.now()
    month = (now.month - 1) // 3 * 3 + 3
    with time_machine.travel(datetime(now.year, month, 8, 12, tzinfo=UTC), tick=True):
        yield
