"""Times as people read them: one way to write a moment, one way to say a deadline.

`moment(value, zone)`: "4 Feb 2026, 12:00 CET", in `zone` (a person's: a message is
written in its recipient's zone, hierarchy.timezones.user_zone) or, without one, in the
active zone (a page: its viewer's, hierarchy.timezones.TimeZoneMiddleware; the API: UTC).
`deadline(value, now)`: how far a deadline is, as people say it near one ("due in 5
hours"), or past it ("2 days overdue"); None when it is far enough ahead that the moment
says it better. The
pages use both through one template filter (hierarchy/templatetags/times.py, `|when`).
"""

from datetime import date, datetime, timedelta, tzinfo

from django.utils import dateformat, timezone
from django.utils.timesince import timeuntil

MOMENT = "j M Y, H:i T"  # 4 Feb 2026, 12:00 CET
DAY = "j M Y"  # 15 Feb 2026
NEAR = timedelta(days=7)  # closer than this, a deadline is said as a distance


def moment(value: datetime, zone: tzinfo | None = None) -> str:
    return dateformat.format(timezone.localtime(value, zone), MOMENT)


def day(value: date) -> str:
    return dateformat.format(value, DAY)


def distance(value: datetime, now: datetime) -> str:
    """How far apart, in the largest unit that is not zero ("5 hours", "2 days",
    "3 minutes"): Django's `timeuntil`, one unit (depth=1), either way round."""
    later, earlier = (value, now) if value >= now else (now, value)
    if later - earlier < timedelta(minutes=1):
        return "less than a minute"
    return timeuntil(later, earlier, depth=1)


def deadline(value: datetime, now: datetime | None = None) -> str | None:
    """'due in 5 hours', 'due now', '2 days overdue' (however long ago), or None when it
    is further ahead than `NEAR`."""
    now = now or timezone.now()
    if value - now >= NEAR:
        return None
    if abs(value - now) < timedelta(minutes=1):
        return "due now"
    if value > now:
        return f"due in {distance(value, now)}"
    return f"{distance(value, now)} overdue"
