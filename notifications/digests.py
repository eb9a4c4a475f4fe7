"""The daily digest (issue 16 §4): one e-mail per person per day, for those who chose it
on their profile, with everything since the last one, by organization and KR.

Two passes, each safe to run twice and on two workers at once (`notifications.tasks.
digest_task`, every DIGEST_SCAN_SECONDS):

1. `digests_compose`: for each person whose DIGEST_HOUR has come today in their time
   zone and who has no digest for that day yet, one transaction writes the digest
   (its subject, text and Message-ID, `Digest`) and marks its notifications
   (`Notification.digest_day`). A worker killed inside it leaves neither; a second
   composer finds the day's digest (unique per person and day) and writes nothing.
2. `digests_deliver`: the digest outbox, delivered as notifications' e-mail is
   (`services.email_deliver`): claimed with a lease, sent outside the transaction,
   marked sent (with its notifications) in one transaction as soon as the server took
   it; a passing failure is tried again after the lease, up to EMAIL_MAX_ATTEMPTS.

What "exactly once" means with SMTP (docs/decisions.md): the digest is composed once,
and its notifications are in exactly one digest. Delivery is at least once, as SMTP
allows nothing better: a worker killed before the server answered the message's end
(250) sent nothing the server keeps, and the next worker sends it after the lease; one
killed between that answer and the marking would send it again, with the same stored
Message-ID and Date, so that the duplicate is recognisable. That window is the time of
one UPDATE.
"""

import logging
import secrets
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from email.utils import format_datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from hierarchy.models import KeyResult, Membership, NotifyBy
from hierarchy.timezones import daily_hour_last, zone_of
from notifications.models import Digest, Notification, StepKind
from notifications.services import EMAIL_BATCH, email_error_is_permanent
from okrplan.lib.text import one_line

User = get_user_model()
log = logging.getLogger(__name__)


# --- When a person's digest is due ----------------------------------------------


def digest_due(*, now: datetime, time_zone: str) -> tuple[date, datetime]:
    """The latest day whose DIGEST_HOUR has come in `time_zone` by `now`, and that
    moment: the digest of that day holds what was created before it."""
    cutoff = daily_hour_last(now=now, time_zone=time_zone, hour=settings.DIGEST_HOUR)
    return cutoff.date(), cutoff


def _waiting(now: datetime) -> Q:
    """Notifications still to be e-mailed, in no digest, and that no delivery holds (a
    delivery claimed before the person chose the digest finishes first)."""
    stale = now - timedelta(seconds=settings.EMAIL_LEASE_SECONDS)
    return Q(
        emailed_at__isnull=True,
        email_failed_at__isnull=True,
        digest_day__isnull=True,
        grouped_into__isnull=True,
    ) & (Q(email_claimed_at__isnull=True) | Q(email_claimed_at__lt=stale))


# --- Composing --------------------------------------------------------------------


def digests_compose(*, now: datetime | None = None) -> int:
    """Compose the digest of every person whose DIGEST_HOUR has come and who has
    something waiting from before it; answers how many were composed. A day with
    nothing waiting has no digest (and no e-mail): what comes later goes in the next.

    One person's failure is logged and does not stop the others'."""
    now = now or timezone.now()
    people = (
        Notification.objects.filter(_waiting(now), user__profile__notify_by=NotifyBy.DIGEST)
        .order_by()
        .values_list("user_id", "user__profile__time_zone")
        .distinct()
    )
    composed = 0
    for user_id, time_zone in people:
        day, cutoff = digest_due(now=now, time_zone=time_zone)
        if Digest.objects.filter(user_id=user_id, day=day).exists():
            continue  # today's went out: the rest waits for tomorrow's
        try:
            if digest_compose(user_id=user_id, day=day, cutoff=cutoff, now=now) is not None:
                composed += 1
        except Exception:  # one person's digest never holds up the others'
            log.exception("daily digest of user %s for %s not composed", user_id, day)
    return composed


def digest_compose(*, user_id: int, day: date, cutoff: datetime, now: datetime) -> Digest | None:
    """One person's digest of `day`: its notifications created before `cutoff`, marked in
    the transaction that writes it. None when there is nothing to put in it, when the
    person no longer reads a digest, or when the day's digest exists (another worker's)."""
    with transaction.atomic():
        user = User.objects.select_related("profile").get(pk=user_id)
        profile = getattr(user, "profile", None)
        if profile is None or profile.notify_by != NotifyBy.DIGEST:
            return None
        rows = list(
            Notification.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(_waiting(now), user_id=user_id, created_at__lt=cutoff)
            .select_related("organization", "kr", "step")
            .order_by("created_at", "id")
        )
        if not rows:
            return None
        subject, body = digest_text(
            user=user, day=day, zone=zone_of(profile.time_zone), notifications=rows
        )
        try:
            with transaction.atomic():
                digest = Digest.objects.create(
                    user=user,
                    day=day,
                    cutoff=cutoff,
                    subject=subject,
                    body=body,
                    message_id=_message_id(user_id, day),
                    notification_count=len(rows),
                )
        except IntegrityError:
            return None  # composed meanwhile by another worker
        Notification.objects.filter(pk__in=[n.pk for n in rows]).update(digest_day=day)
    return digest


def _message_id(user_id: int, day: date) -> str:
    """Unique per person and day (and installation: the random part), short enough for
    one header line; the host is SITE_URL's."""
    host = urlsplit(settings.SITE_URL).hostname or "okrplan.localhost"
    return f"<digest-{user_id}-{day:%Y%m%d}-{secrets.token_hex(4)}@{host}>"


# --- The text ------------------------------------------------------------------------


@dataclass
class _StepGroup:
    step: object
    notifications: list = field(default_factory=list)


@dataclass
class _KrGroup:
    kr: KeyResult | None
    entries: list = field(default_factory=list)  # Notification or _StepGroup, in order


def _at(moment: datetime, zone: ZoneInfo) -> str:
    local = moment.astimezone(zone)
    return f"{local.day} {local:%b %H:%M}"


def _url(name: str, *args) -> str:
    return f"{settings.SITE_URL}{reverse(name, args=args)}"


def _group(notifications: list[Notification]) -> "OrderedDict[int, OrderedDict]":
    """{organization id: {KR id or None: _KrGroup}} in the order things happened; a
    step's notifications under the step, once."""
    orgs: OrderedDict[int, OrderedDict] = OrderedDict()
    steps: dict[int, _StepGroup] = {}
    for n in notifications:
        kr_id = n.kr_id or (n.step.kr_id if n.step_id else None)
        krs = orgs.setdefault(n.organization_id, OrderedDict())
        group = krs.get(kr_id)
        if group is None:
            group = krs[kr_id] = _KrGroup(kr=n.kr)
        if n.step_id is None:
            group.entries.append(n)
        elif n.step_id in steps:
            steps[n.step_id].notifications.append(n)
        else:
            steps[n.step_id] = _StepGroup(step=n.step, notifications=[n])
            group.entries.append(steps[n.step_id])
    return orgs


def digest_text(
    *, user, day: date, zone: ZoneInfo, notifications: list[Notification]
) -> tuple[str, str]:
    """The digest's subject and plain text: by organization (by name), then KR, each
    with a link; a step's notifications under the step, listed once."""
    orgs = _group(notifications)
    by_id = {n.organization_id: n.organization for n in notifications}
    member_of = set(
        Membership.objects.filter(user=user, organization_id__in=list(orgs)).values_list(
            "organization_id", flat=True
        )
    )
    kr_ids = {kr_id for krs in orgs.values() for kr_id in krs if kr_id is not None}
    parents = set(
        KeyResult.objects.filter(parent_id__in=kr_ids).values_list("parent_id", flat=True)
    )
    count = len(notifications)
    plural = "s" if count != 1 else ""
    when = f"{day:%A} {day.day} {day:%B %Y}"
    lines = [
        f"Hello {user.get_full_name() or user.username},",
        "",
        f"here is your okrplan digest of {when}: {count} notification{plural} since your last "
        f"digest, by organization and key result. Times are in {zone.key}.",
    ]
    for org_id in sorted(orgs, key=lambda i: (by_id[i].name.casefold(), i)):
        org = by_id[org_id]
        lines += ["", f"== {one_line(org.name)} =="]
        if org_id in member_of:
            lines.append(f"Your inbox there: {_url('inbox', org.slug)}")
        for kr_id, group in orgs[org_id].items():
            lines.append("")
            if kr_id is None:
                lines.append("Not about a key result:")
            elif group.kr is None:
                lines.append("A key result since deleted:")
            else:
                page = "kr-alignment" if kr_id in parents else "plan-editor"
                lines.append(f"“{one_line(group.kr.title)}”: {_url(page, org.slug, kr_id)}")
            for entry in group.entries:
                if isinstance(entry, _StepGroup):
                    step = entry.step
                    lines.append(
                        f"  Step: {StepKind(step.kind).label.lower()}, due "
                        f"{_at(step.due_at, zone)}: {_url('step', org.slug, step.pk)}"
                    )
                    lines += [_line(n, zone, indent="    ") for n in entry.notifications]
                else:
                    lines.append(_line(entry, zone, indent="  "))
    lines += [
        "",
        "--",
        f"You get this once a day at {settings.DIGEST_HOUR:02d}:00 in your time zone, when "
        f"there is something new. Change it on your profile: {_url('profile')}",
    ]
    subject = (
        f"[okrplan] Your daily digest, {day:%a} {day.day} {day:%b}: {count} notification{plural}"
    )
    return subject, "\n".join(lines) + "\n"


def _line(n: Notification, zone: ZoneInfo, *, indent: str) -> str:
    return f"{indent}- {_at(n.created_at, zone)} · {n.get_kind_display()}: {n.message}"


# --- Delivering --------------------------------------------------------------------


def digests_deliver() -> int:
    """Send every composed digest not sent yet; answers how many went out (or were done
    with: a person without an e-mail address). As `services.email_deliver`: claimed
    with a lease, sent outside the transaction, each marked at once; a failure is the
    digest's own (`_digest_failed`)."""
    sent = 0
    while True:
        now = timezone.now()
        stale = now - timedelta(seconds=settings.EMAIL_LEASE_SECONDS)
        with transaction.atomic():
            batch = list(
                Digest.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(emailed_at__isnull=True, email_failed_at__isnull=True)
                .filter(Q(email_claimed_at__isnull=True) | Q(email_claimed_at__lt=stale))
                .select_related("user")
                .order_by("id")[:EMAIL_BATCH]
            )
            Digest.objects.filter(pk__in=[d.pk for d in batch]).update(email_claimed_at=now)
        if not batch:
            return sent
        for digest in batch:
            if digest.user.email:
                try:
                    _digest_send(digest)
                except Exception as error:  # whatever one digest raises, the rest go out
                    _digest_failed(digest, error)
                    continue
            _digest_sent(digest)
            sent += 1


def _digest_send(digest: Digest) -> None:
    EmailMessage(
        subject=digest.subject,
        body=digest.body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[digest.user.email],
        # the same on every try: a duplicate (see the module's docstring) is recognisable
        headers={
            "Message-ID": digest.message_id,
            "Date": format_datetime(digest.created_at),
        },
    ).send()


@transaction.atomic
def _digest_sent(digest: Digest) -> None:
    """The digest and its notifications marked sent, together."""
    at = timezone.now()
    Digest.objects.filter(pk=digest.pk).update(emailed_at=at)
    Notification.objects.filter(
        user_id=digest.user_id, digest_day=digest.day, emailed_at__isnull=True
    ).update(emailed_at=at)


@transaction.atomic
def _digest_failed(digest: Digest, error: Exception) -> None:
    """As a notification's e-mail (`services._email_failed`): a permanent failure, or the
    last allowed passing one, marks the digest failed, and its notifications with it
    (the Django admin lists both with the reason); another passing one leaves it
    claimed, tried again after the lease."""
    attempts = digest.email_attempts + 1
    reason = f"{type(error).__name__}: {error}"
    permanent = email_error_is_permanent(error)
    failed = permanent or attempts >= settings.EMAIL_MAX_ATTEMPTS
    if failed and not permanent:
        reason = f"Gave up after {attempts} attempts. {reason}"
    reason = one_line(reason)[:500]
    at = timezone.now() if failed else None
    Digest.objects.filter(pk=digest.pk).update(
        email_attempts=attempts, email_error=reason, email_failed_at=at
    )
    if failed:
        Notification.objects.filter(
            user_id=digest.user_id, digest_day=digest.day, emailed_at__isnull=True
        ).update(
            email_error=one_line(f"In the daily digest of {digest.day}, which failed. {reason}")[
                :500
            ],
            email_failed_at=at,
        )
    log.warning(
        "daily digest %s to user %s failed (attempt %s, %s): %s",
        digest.pk,
        digest.user_id,
        attempts,
        "given up" if failed else "tried again after the lease",
        reason,
    )


__all__ = [
    "digest_compose",
    "digest_due",
    "digest_text",
    "digests_compose",
    "digests_deliver",
]
