"""Each person's time zone on every page: deadlines and times are shown in it.

A person's zone is their profile's (`Profile.time_zone`, an IANA name; empty: the
server's TIME_ZONE). It is read once, when they log in, into their session, and
`TimeZoneMiddleware` activates it for each page of that session, so pages read nothing
more for it (their query budgets stay as they are). Saving the profile updates the
session it was saved in; another session of the same person takes a new zone at its
next login. A session from before this (no zone in it) reads the profile once.

The API is left in UTC (`/api/`: its datetimes, and the calendar.ics feed, are the
same for every caller), and Django's templates convert every aware datetime they show
(`{{ step.due_at|date:"H:i" }}`) to the active zone.
"""

import functools
import zoneinfo
from datetime import datetime, time, timedelta, tzinfo

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.utils import timezone

SESSION_ZONE = "okrplan_time_zone"
# The zones a person chooses from: the regions' canonical names, without the old
# aliases (US/Eastern, Etc/GMT+5, whose sign is the reverse of what it reads like).
REGIONS = (
    "Africa",
    "America",
    "Antarctica",
    "Arctic",
    "Asia",
    "Atlantic",
    "Australia",
    "Europe",
    "Indian",
    "Pacific",
)


@functools.cache
def _all_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def time_zone_exists(name: str) -> bool:
    """Whether `name` is an IANA time zone this machine knows."""
    return name in _all_zones()


@functools.cache
def time_zone_choices() -> tuple:
    """The profile's select: "" (the server's zone), UTC, then the zones by region."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for name in sorted(_all_zones()):
        region, _, place = name.partition("/")
        if region in REGIONS and place:
            groups.setdefault(region, []).append((name, name.replace("_", " ")))
    return (
        ("", f"{settings.TIME_ZONE} (the default)"),
        ("UTC", "UTC"),
        *((region, tuple(zones)) for region, zones in groups.items()),
    )


def zone_of(name: str) -> zoneinfo.ZoneInfo:
    """A profile's zone: `name`, or the server's TIME_ZONE when it is empty (or unknown
    to this machine)."""
    return zoneinfo.ZoneInfo(name if name and time_zone_exists(name) else settings.TIME_ZONE)


def daily_hour_last(*, now: datetime, time_zone: str, hour: int) -> datetime:
    """The latest moment, at or before `now`, when it was `hour`:00 in `time_zone` (a
    profile's zone name): aware, in that zone, so `.date()` is its local day. The next
    one: `daily_hour_next` (the daily digest's hours, notifications/digests.py)."""
    zone = zone_of(time_zone)
    day = now.astimezone(zone).date()
    moment = datetime.combine(day, time(hour), tzinfo=zone)
    if moment > now:
        moment = datetime.combine(day - timedelta(days=1), time(hour), tzinfo=zone)
    return moment


def daily_hour_next(*, now: datetime, time_zone: str, hour: int) -> datetime:
    """The first moment after `now` when it is `hour`:00 in `time_zone`."""
    last = daily_hour_last(now=now, time_zone=time_zone, hour=hour)
    return datetime.combine(last.date() + timedelta(days=1), time(hour), tzinfo=last.tzinfo)


def time_zone_remember(request, name: str) -> None:
    """Use zone `name` ("" for the server's) for this session's pages from now on."""
    request.session[SESSION_ZONE] = name
    _activate(name)


def _activate(name: str) -> None:
    if name and time_zone_exists(name):
        timezone.activate(zoneinfo.ZoneInfo(name))
    else:
        timezone.deactivate()


def user_zones(user_ids) -> dict[int, tzinfo]:
    """Each person's zone (their profile's, else the server's), by user id: one query. A
    message is written in its recipient's zone (okrplan.lib.times.moment)."""
    from hierarchy.models import Profile

    ids = {i for i in user_ids if i is not None}
    names = dict(
        Profile.objects.filter(user_id__in=ids).values_list("user_id", "time_zone") if ids else []
    )
    return {i: _zone(names.get(i, "")) for i in ids}


def user_zone(user_id) -> tzinfo:
    return user_zones([user_id]).get(user_id) or _zone("")


def _zone(name: str) -> tzinfo:
    if name and time_zone_exists(name):
        return zoneinfo.ZoneInfo(name)
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def _profile_zone(user_id) -> str:
    from hierarchy.models import Profile

    zone = Profile.objects.filter(user_id=user_id).values_list("time_zone", flat=True).first()
    return zone or ""


def on_login(sender, request, user, **kwargs) -> None:
    """`user_logged_in` receiver: the person's zone into their new session."""
    if request is not None and hasattr(request, "session"):
        request.session[SESSION_ZONE] = _profile_zone(user.pk)


class TimeZoneMiddleware:
    """The session's time zone for each page (after the session middleware)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        name = ""
        session = getattr(request, "session", None)
        if session is not None and not request.path_info.startswith("/api/"):
            name = session.get(SESSION_ZONE)
            if name is None:
                name = ""
                if SESSION_KEY in session:  # logged in before zones were kept here
                    name = session[SESSION_ZONE] = _profile_zone(session[SESSION_KEY])
        _activate(name)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


@functools.cache
def time_zone_select() -> dict:
    """The same choices for a template's <select>: the plain ones, then the groups."""
    choices = time_zone_choices()
    return {
        "plain": [choice for choice in choices if isinstance(choice[1], str)],
        "groups": [choice for choice in choices if not isinstance(choice[1], str)],
    }
