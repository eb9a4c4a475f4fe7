"""`{{ value|when }}`: every moment a page shows, written once (issue 16 §5).

In the viewer's time zone (the active one: hierarchy/timezones.py's middleware), as
okrplan.lib.times writes it, inside a `<time datetime="…">` with the exact instant:

- `|when`: a moment, "4 Feb 2026, 12:00 CET";
- `|when:"due"`: a deadline: the moment, and within a week how far it is, "due in 5
  hours", or once past it "2 days overdue" (a badge);
- `|when:"ago"`: something that happened: "3 hours ago" within a week (the moment in
  its title), the moment after;
- `|when:"day"`: the day alone, "4 Feb 2026" (an invitation's last day, an archive).

tests/test_people_times.py refuses a template that writes a time of day itself.
"""

from datetime import datetime

from django import template
from django.utils import dateformat, timezone
from django.utils.html import format_html

from okrplan.lib import times

register = template.Library()


@register.filter
def when(value: datetime | None, mode: str = "") -> str:
    if value is None or value == "":
        return "—"
    if not isinstance(value, datetime):
        raise TypeError(f"|when writes a moment, not {type(value).__name__}: use |date")
    local = timezone.localtime(value)
    iso = value.isoformat()
    moment = times.moment(value)
    now = timezone.now()
    if mode == "day":
        return format_html('<time datetime="{}">{}</time>', iso, dateformat.format(local, "j M Y"))
    if mode == "ago":
        if now - value < times.NEAR and value <= now:
            phrase = f"{times.distance(value, now)} ago"
            return format_html('<time datetime="{}" title="{}">{}</time>', iso, moment, phrase)
        return format_html('<time datetime="{}">{}</time>', iso, moment)
    written = format_html('<time datetime="{}">{}</time>', iso, moment)
    if mode == "due":
        phrase = times.deadline(value, now)
        if phrase and value < now:
            return format_html('{} <span class="badge badge-critical">{}</span>', written, phrase)
        if phrase:
            return format_html('{} <span class="when-near">({})</span>', written, phrase)
    return written
