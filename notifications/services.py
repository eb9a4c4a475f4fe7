"""Writes of the notifications app: who must know and by when (SPEC.md §5).

Reactions to plan changes (upward notices, modification rounds, cascade,
dependency and downward reviews) run inside the plan save's transaction, so a
save and everything it sets off commit together. E-mail is sent afterwards, by a
task queued on commit and by the periodic sweep, so a broker that is down at
save time loses nothing.
"""

import functools
import logging
import smtplib
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Case, Exists, F, Max, OuterRef, Q, Subquery, Value, When
from django.urls import reverse
from django.utils import timezone

from hierarchy.events import (
    InvitationClosed,
    InvitationCreated,
    KeyResultsArchived,
    KeyResultsArchiving,
    MemberDutiesAsked,
)
from hierarchy.models import Aggregation, Invitation, KeyResult, NotifyBy
from hierarchy.permissions import close_require, notice_require
from hierarchy.timezones import user_zone, user_zones
from notifications import locks, webhooks
from notifications.models import (
    Answer,
    Notification,
    NotificationKind,
    Round,
    RoundEvent,
    RoundEventKind,
    RoundStatus,
    Step,
    StepKind,
    StepState,
    WebhookEvent,
)
from notifications.rules import (
    AncestorChange,
    Audience,
    SharedKR,
    StageChange,
    UpwardKind,
    plan_change_audience,
    stage_changes,
)
from okrplan.lib import locks as lock_order
from okrplan.lib import times
from okrplan.lib.text import one_line, validate_text
from plans import rollup, shapes
from plans import services as plan_services
from plans.checks import num
from plans.events import CheckInRecorded, PlanChanged
from plans.models import Cause, Plan, PlanRevision, decimals_to_json

User = get_user_model()
log = logging.getLogger(__name__)
REMIND_AT = Decimal("0.75")  # of a step's window: the reminder before it is due


def hours(value: Decimal) -> timedelta:
    return timedelta(seconds=float(value * 3600))


def when(moment: datetime, user_id: int | None, zones: dict | None = None) -> str:
    """`moment` as its recipient reads it: "4 Feb 2026, 06:00 EST", in their time zone
    (`zones`: the recipients' zones loaded already, `hierarchy.timezones.user_zones`)."""
    zone = (zones or {}).get(user_id) or user_zone(user_id)
    return times.moment(moment, zone)


def email_soon() -> None:
    """Queue e-mail delivery once the transaction commits (the sweep catches up if the
    broker is down)."""
    from django.db import connection

    from notifications.tasks import email_deliver_enqueue

    if not any(func is email_deliver_enqueue for _, func, _ in connection.run_on_commit):
        transaction.on_commit(email_deliver_enqueue)


# --- Propagation rules ----------------------------------------------------------

# The range of a threshold (the model's validators), checked here for the API and the page
THRESHOLD_MIN, THRESHOLD_MAX = Decimal("0.001"), Decimal(1000)
THRESHOLD_MESSAGE = "Give a percentage above 0 and at most 1000."


@transaction.atomic
def rule_set(
    *,
    org,
    kr: KeyResult | None,
    upward: str,
    downward: str,
    threshold_pct: Decimal | None = None,
):
    """Set the organization's default rule (kr=None) or a KR's override. Without
    `threshold_pct` the stored one stays (a new rule gets the default, 10)."""
    from notifications.models import PropagationRule
    from notifications.rules import Rule

    values = {"upward": upward, "downward": downward}
    if threshold_pct is not None:
        if not (THRESHOLD_MIN <= threshold_pct <= THRESHOLD_MAX):
            raise ValidationError({"threshold_pct": [THRESHOLD_MESSAGE]})
        values["threshold_pct"] = threshold_pct
    row, _ = PropagationRule.objects.update_or_create(organization=org, kr=kr, defaults=values)
    return Rule(upward=row.upward, threshold_pct=row.threshold_pct, downward=row.downward)


@transaction.atomic
def rule_clear(*, org, kr: KeyResult) -> None:
    from notifications.models import PropagationRule

    PropagationRule.objects.filter(organization=org, kr=kr).delete()


# --- Notifications ------------------------------------------------------------


def notification_create(
    *,
    organization_id: int,
    user_id: int | None,
    kind: str,
    key: str,
    message: str,
    kr_id: int | None = None,
    round_id: int | None = None,
    step_id: int | None = None,
    email: str = "",
) -> Notification | None:
    """Record a notification under its unique key; None when that key was recorded already.
    `email` instead of `user_id`: to an address without an account (an invitation)."""
    notification, created = Notification.objects.get_or_create(
        organization_id=organization_id,
        key=key,
        defaults={
            "user_id": user_id,
            "email": email,
            "kind": kind,
            "message": message,
            "kr_id": kr_id,
            "round_id": round_id,
            "step_id": step_id,
        },
    )
    if created:
        email_soon()
    return notification if created else None


def notifications_create_bulk(*, notifications: list[Notification]) -> None:
    """Record many notifications in one statement; a key recorded already is skipped (a
    scan that runs twice records each once). No e-mail is queued: the caller delivers
    when its batch is done (`deadlines.deadline_sweep`)."""
    Notification.objects.bulk_create(notifications, ignore_conflicts=True)


REMINDER_KINDS = (NotificationKind.REMINDER, NotificationKind.ESCALATION)


def reminders_group(*, step_ids: list[int], at: datetime) -> int:
    """Reminders of one step for one person, not repeated (issue 16 §4): of the reminders
    and escalations about a step in `step_ids` that a person has not read yet, the newest
    stands for them all. The older ones are folded into it (`grouped_into`): read, out
    of the inbox, and not e-mailed if their e-mail has not gone out (nor been claimed:
    `email_deliver` drops one it claimed before the fold); a digest lists the newest.

    Called by the deadline scan in the transaction that records the new ones, after
    their steps (the one lock order: notifications last). One statement; answers how
    many were folded."""
    newer = Notification.objects.filter(
        user_id=OuterRef("user_id"),
        step_id=OuterRef("step_id"),
        kind__in=REMINDER_KINDS,
        pk__gt=OuterRef("pk"),
    )
    return (
        Notification.objects.filter(
            step_id__in=step_ids,
            kind__in=REMINDER_KINDS,
            user__isnull=False,
            read_at__isnull=True,
            grouped_into__isnull=True,
        )
        .filter(Exists(newer))
        .update(
            grouped_into=Subquery(newer.order_by("-pk").values("pk")[:1]),
            read_at=at,
            emailed_at=Case(
                When(emailed_at__isnull=True, email_claimed_at__isnull=True, then=Value(at)),
                default=F("emailed_at"),
            ),
        )
    )


@transaction.atomic
def notification_mark_read(*, notification: Notification) -> Notification:
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    return notification


@transaction.atomic
def notifications_mark_all_read(*, organization_id: int, user) -> int:
    return Notification.objects.filter(
        organization_id=organization_id, user=user, read_at__isnull=True
    ).update(read_at=timezone.now())


# --- E-mail ------------------------------------------------------------------

EMAIL_BATCH = 200


def email_deliver() -> int:
    """Send the e-mail of every notification not sent yet; answer how many went out.

    Claimed with a lease (a conditional update), sent outside the transaction, and each
    marked as soon as it is sent. A worker killed midway leaves the rest of its batch
    to the next after the lease (`EMAIL_LEASE_SECONDS`), and sends again at most the one
    e-mail it was marking: e-mail is at least once; the notification itself was
    recorded exactly once.

    Each message fails on its own (`_email_failed`): the rest of the batch goes out.

    Not here: the notifications of a person who reads a daily digest, and those in a
    digest already: `notifications.digests` sends them, once a day.
    """
    sent = 0
    while True:
        now = timezone.now()
        stale = now - timedelta(seconds=settings.EMAIL_LEASE_SECONDS)
        with transaction.atomic():
            batch = list(
                Notification.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(emailed_at__isnull=True, email_failed_at__isnull=True)
                .filter(Q(email_claimed_at__isnull=True) | Q(email_claimed_at__lt=stale))
                .filter(digest_day__isnull=True)
                .exclude(user__profile__notify_by=NotifyBy.DIGEST)
                .select_related("user__profile", "organization")
                .order_by("id")[:EMAIL_BATCH]
            )
            Notification.objects.filter(pk__in=[n.pk for n in batch]).update(email_claimed_at=now)
        if not batch:
            return sent
        for notification in batch:
            # No address, a person who reads theirs in the app only, or a reminder folded
            # into a newer one about the same step: nothing to send, done with (it is in
            # their inbox, or the newer one is).
            if (
                notification.recipient_email
                and _wants_email(notification)
                and notification.grouped_into_id is None
            ):
                try:
                    _email_send(notification)
                except Exception as error:  # whatever one message raises, the rest go out
                    _email_failed(notification, error)
                    continue
            # One by one, not per batch: a worker killed in the middle of a batch (kill
            # drill, bench/drill.py) sent up to 199 e-mails again after the lease.
            Notification.objects.filter(pk=notification.pk).update(emailed_at=timezone.now())
            sent += 1


def _wants_email(notification) -> bool:
    """Whether the recipient hears of notifications by e-mail at once (their profile's
    `notify_by`, hierarchy.Profile): not when they chose the app only (a digest reader's
    are not claimed at all: `email_deliver`). Someone invited by e-mail without an
    account yet has no profile: e-mailed."""
    profile = getattr(notification.user, "profile", None) if notification.user_id else None
    return profile is None or profile.notify_by != NotifyBy.IN_APP


def _email_send(notification) -> None:
    # The organization's name goes into a header: one line, whatever was stored before
    # names were refused at the door (okrplan/lib/text.py).
    send_mail(
        subject=f"[okrplan · {one_line(notification.organization.name)}] "
        f"{notification.get_kind_display()}",
        message=notification.message,
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[notification.recipient_email],
    )


def email_error_is_permanent(error: BaseException) -> bool:
    """Whether trying the same message again cannot help (docs/decisions.md, issue 13).

    Passing: an OSError (the mail server unreachable or timing out, a connection
    dropped; SMTP errors are OSErrors) unless the server's reply is a 5xx. Permanent: a
    5xx reply for this message (a recipient refused, the data refused), and anything
    else the message raises while it is built or sent (BadHeaderError for a header with
    a line break, ValueError or UnicodeError for an address Django cannot encode)."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in error.recipients.values())
    if isinstance(error, smtplib.SMTPResponseException):
        return error.smtp_code >= 500
    return not isinstance(error, OSError)


def _email_failed(notification, error: Exception) -> None:
    """Record the failure on the message: a permanent one, or the last allowed passing
    one, marks it failed (never tried again; the Django admin lists it with its
    reason); another passing one leaves it claimed, to be tried after the lease."""
    attempts = notification.email_attempts + 1
    reason = f"{type(error).__name__}: {error}"
    permanent = email_error_is_permanent(error)
    failed = permanent or attempts >= settings.EMAIL_MAX_ATTEMPTS
    if failed and not permanent:
        reason = f"Gave up after {attempts} attempts. {reason}"
    Notification.objects.filter(pk=notification.pk).update(
        email_attempts=attempts,
        email_error=one_line(reason)[:500],
        email_failed_at=timezone.now() if failed else None,
    )
    log.warning(
        "e-mail of notification %s to user %s failed (attempt %s, %s): %s",
        notification.pk,
        notification.user_id,
        attempts,
        "given up" if failed else "tried again after the lease",
        reason,
    )


# --- Steps and round events ---------------------------------------------------


def step_create(*, due_at: datetime, now: datetime | None = None, **fields) -> Step:
    now = now or timezone.now()
    remind_at = now + (due_at - now) * float(REMIND_AT)
    return Step.objects.create(due_at=due_at, remind_at=remind_at, **fields)


def review_open(
    *,
    kind: str,
    kr: KeyResult,
    source_kr_id: int,
    due_at: datetime,
    now: datetime,
    message,
    **extra,
) -> Step:
    """Ask a KR's owner to review it by `due_at`: a step, and a notification saying why
    (`message(step)`)."""
    step = step_create(
        organization_id=kr.organization_id,
        kind=kind,
        kr=kr,
        source_kr_id=source_kr_id,
        department_id=kr.department_id,
        assignee_id=kr.owner_id,
        due_at=due_at,
        now=now,
        **extra,
    )
    notification_create(
        organization_id=kr.organization_id,
        user_id=kr.owner_id,
        kind=NotificationKind.REVIEW,
        key=f"step:{step.pk}:assigned",
        message=message(step),
        kr_id=kr.pk,
        step_id=step.pk,
    )
    return step


def event_record(
    round: Round, kind: str, *, actor=None, step=None, message="", data=None, at=None
) -> RoundEvent:
    return RoundEvent.objects.create(
        organization_id=round.organization_id,
        round=round,
        kind=kind,
        at=at or timezone.now(),
        actor=actor,
        step=step,
        message=message,
        data=data or {},
    )


def round_events_create_bulk(*, events: list[RoundEvent]) -> None:
    """Record many round events in one statement."""
    RoundEvent.objects.bulk_create(events)


def steps_create_bulk(*, steps: list[Step]) -> int:
    """Open many steps in one statement per thousand; a step that exists already (its
    unique key) is skipped. Answers how many were asked for."""
    Step.objects.bulk_create(steps, ignore_conflicts=True, batch_size=1000)
    return len(steps)


def steps_mark_reminded(*, step_ids: list[int], at: datetime) -> None:
    Step.objects.filter(pk__in=step_ids).update(reminded_at=at)


def steps_mark_escalated(*, step_ids: list[int], at: datetime) -> None:
    Step.objects.filter(pk__in=step_ids).update(escalated_at=at)


# --- Upward: the parent owner hears when the shared total moves ----------------


@dataclass(frozen=True)
class RevisionFacts:
    """What the reactions need of the revision behind a `PlanChanged`: no re-read."""

    pk: int
    cause: str
    rationale: str
    before_target: Decimal
    after_target: Decimal
    before_values: tuple
    after_values: tuple

    @classmethod
    def of(cls, event: PlanChanged) -> "RevisionFacts":
        return cls(
            pk=event.revision_id,
            cause=event.cause,
            rationale=event.rationale,
            before_target=event.before_target,
            after_target=event.after_target,
            before_values=event.before_values,
            after_values=event.after_values,
        )


def _ancestor_changes(
    *, organization_id: int, totals: dict, plans: dict[int, Plan]
) -> list[AncestorChange]:
    """What the upward rule weighs of each ancestor in `totals` ({KR id: (before,
    after)}); `plans`: their plans with their KRs (locked by the save already)."""
    from notifications.selectors import rules_for

    rules = rules_for(organization_id=organization_id, kr_ids=list(totals))
    return [
        AncestorChange(
            kr_id=ancestor_id,
            owner_id=plans[ancestor_id].kr.owner_id,
            rule=rules[ancestor_id],
            locked=plans[ancestor_id].is_locked,
            baseline=plans[ancestor_id].baseline,
            before=before,
            after=after,
        )
        for ancestor_id, (before, after) in totals.items()
    ]


def upward_notices(
    *, audience: Audience, plans: dict[int, Plan], changed, revision: RevisionFacts
) -> None:
    """SPEC.md §5 upward rules, as `audience` decided them: a threshold notice resets the
    ancestor's baseline, and each ancestor owner told hears what moved.

    `plans`: the ancestors' plans with their KRs (locked by the save already);
    `changed()`: the changed KR, loaded only if someone is to be told."""
    for ancestor_id, decision in audience.decisions.items():
        if decision.notify and decision.kind == "threshold":
            plan = plans[ancestor_id]
            plan.baseline = decision.new_baseline
            Plan.objects.filter(pk=plan.pk).update(baseline=plan.baseline)
    for told in audience.told:
        if told.ancestor is None:
            continue  # not an upward notice
        decision, ancestor = told.decision, plans[told.kr_id].kr
        before, after = told.ancestor.before, told.ancestor.after
        kr = changed()
        moved = f" ({decision.moved_pct:+}% from the baseline)" if decision.moved_pct else ""
        notification_create(
            organization_id=kr.organization_id,
            user_id=ancestor.owner_id,
            kind=NotificationKind.THRESHOLD
            if decision.kind == UpwardKind.THRESHOLD
            else NotificationKind.CHANGE,
            key=f"upward:{revision.pk}:{ancestor.pk}",
            message=(
                f"“{ancestor.title}” now adds up to {num(after)} {ancestor.unit} "
                f"(was {num(before)}){moved}: {kr.department.name} changed “{kr.title}”"
                + (f" — “{revision.rationale}”." if revision.rationale else ".")
            ),
            kr_id=ancestor.pk,
        )


# --- Modification rounds (the 24-48-72 protocol) -------------------------------


def _contributors(parent: KeyResult, exclude_department_id: int | None) -> list[KeyResult]:
    return list(
        KeyResult.objects.filter(organization_id=parent.organization_id, parent=parent)
        .exclude(department_id=exclude_department_id)
        .select_related("owner", "department")
        .order_by("department__name", "id")
    )


def round_joined(
    *, organization_id: int, parent: KeyResult, kr_id: int
) -> tuple[Round, Step | None] | None:
    """The open round of `parent` a modification of `kr_id`'s locked plan belongs to,
    locked (the save holds the parent's chain already), with the KR's open assess step
    there: one in which its department has an open assess step (it answers by
    modifying), or one it started (it changes its plan again). None: a round starts."""
    open_rounds = locks.open_rounds_lock(
        Round.objects.filter(
            organization_id=organization_id, parent_kr=parent, status=RoundStatus.OPEN
        ).order_by("-started_at", "-id")
    )
    for open_round in open_rounds:
        assess = open_round.steps.filter(
            kind=StepKind.ASSESS, state=StepState.OPEN, kr_id=kr_id
        ).first()
        if assess is not None:
            return open_round, assess
        if open_round.modified_kr_id == kr_id:
            return open_round, None
    return None


def round_join(
    *,
    round: Round,
    assess: Step | None,
    kr: KeyResult,
    revision: RevisionFacts,
    actor_id: int | None,
) -> Round:
    """A modification that belongs to an open round (`round_joined`): its assess step is
    answered, or the round records the change; nobody else is told."""
    if assess is not None:
        _step_close(assess, actor_id=actor_id, answer=Answer.MODIFIED, note=revision.rationale)
        event_record(
            round,
            "assessed",
            step=assess,
            message=f"{kr.department.name} modified its plan: “{revision.rationale}”",
            data={"answer": "modified", "revision": revision.pk, "actor": actor_id},
        )
    else:
        event_record(
            round,
            "modified_again",
            message=f"{kr.department.name} changed its plan again: “{revision.rationale}”",
            data={"revision": revision.pk, "actor": actor_id},
        )
    return round


def round_on_modification(
    *, kr: KeyResult, parent: KeyResult, revision: RevisionFacts, actor_id: int | None
) -> Round:
    """A locked plan of a child of a cross-functional KR was modified (time T0), outside
    any open round (`round_joined`): a round starts."""
    now = timezone.now()
    org = parent.organization
    # the next number of the shared KR's rounds: its chain is locked (the save holds it),
    # so two modifications of its contributions cannot take the same one
    last = Round.objects.filter(organization_id=kr.organization_id, parent_kr=parent).aggregate(
        last=Max("number")
    )["last"]
    round = Round.objects.create(
        organization_id=kr.organization_id,
        parent_kr=parent,
        number=(last or 0) + 1,
        modified_kr=kr,
        revision_id=revision.pk,
        started_at=now,
        started_by_id=actor_id,
    )
    notify = step_create(
        organization_id=kr.organization_id,
        round=round,
        kind=StepKind.NOTIFY,
        kr=parent,
        department_id=parent.department_id,
        assignee_id=parent.owner_id,
        due_at=now + hours(org.notify_hours),
        now=now,
    )
    step_create(
        organization_id=kr.organization_id,
        round=round,
        kind=StepKind.CLOSE,
        kr=parent,
        department_id=parent.department_id,
        assignee_id=parent.owner_id,
        due_at=now + hours(org.close_hours),
        now=now,
    )
    event_record(
        round,
        RoundEventKind.STARTED,
        at=now,
        message=f"{kr.department.name} modified “{kr.title}”: “{revision.rationale}”",
        data={
            "revision": revision.pk,
            "before_target": format(revision.before_target, "f"),
            "after_target": format(revision.after_target, "f"),
            "actor": actor_id,
        },
    )
    notification_create(
        organization_id=kr.organization_id,
        user_id=parent.owner_id,
        kind=NotificationKind.STEP,
        key=f"step:{notify.pk}:assigned",
        message=(
            f"{kr.department.name} modified its locked plan “{kr.title}” "
            f"({num(revision.before_target)} → {num(revision.after_target)} {kr.unit}): "
            f"“{revision.rationale}”. Send the impact notice to the other departments of "
            f"“{parent.title}” by {when(notify.due_at, parent.owner_id)}."
        ),
        kr_id=parent.pk,
        round_id=round.pk,
        step_id=notify.pk,
    )
    why = f": “{revision.rationale}”" if revision.rationale else ""
    webhooks.round_event(
        round,
        WebhookEvent.ROUND_OPENED,
        at=now,
        text=f"{kr.department.name} modified “{kr.title}” ({num(revision.before_target)} → "
        f"{num(revision.after_target)} {kr.unit}){why}. A modification round on "
        f"“{parent.title}” is open: the impact notice is due by {webhooks.moment(notify.due_at)}.",
        revision=revision.pk,
        rationale=revision.rationale,
        before_target=webhooks.dec(revision.before_target),
        after_target=webhooks.dec(revision.after_target),
        notice_due_at=webhooks.iso(notify.due_at),
    )
    return round


def assessments_open(
    round: Round, *, now: datetime, message, kind: str, key: str, contributors=None
) -> list:
    """Tell each other contributor, and ask each to assess by notice time + assess hours.

    `message`: the text, or a function of the contributor's KR giving it."""
    org = round.parent_kr.organization
    existing = set(round.steps.filter(kind=StepKind.ASSESS).values_list("kr_id", flat=True))
    steps = []
    if contributors is None:
        contributors = _contributors(round.parent_kr, round.modified_kr.department_id)
    for child in contributors:
        if child.pk not in existing:
            step = step_create(
                organization_id=round.organization_id,
                round=round,
                kind=StepKind.ASSESS,
                kr=child,
                department_id=child.department_id,
                assignee_id=child.owner_id,
                due_at=now + hours(org.assess_hours),
                now=now,
            )
            steps.append(step)
        notification_create(
            organization_id=round.organization_id,
            user_id=child.owner_id,
            kind=kind,
            key=f"round:{round.pk}:{key}:{child.pk}",
            message=message(child) if callable(message) else message,
            kr_id=child.pk,
            round_id=round.pk,
        )
    return steps


def round_orphan(*, round: Round, now: datetime) -> bool:
    """The notify step was missed: flag the round and tell the other contributors
    automatically, so that no department modifies in isolation. False when the round
    was orphaned already.

    The caller holds the round (the deadline scan claimed it before its steps: the one
    lock order, okrplan/lib/locks.py)."""
    lock_order.taking(lock_order.ROUND, [round.pk])  # held already: records, not waits
    updated = Round.objects.filter(pk=round.pk, orphaned=False).update(
        orphaned=True, orphaned_at=now
    )
    if not updated:
        return False
    round.refresh_from_db()
    modified = round.modified_kr
    event_record(
        round,
        "orphaned",
        at=now,
        message="No impact notice by the deadline: the other contributors were told automatically.",
    )
    revision = round.revision
    rationale = f" (“{revision.rationale}”)" if revision and revision.rationale else ""
    assessments_open(
        round,
        now=now,
        message=lambda child: (
            f"{modified.department.name} modified its plan for “{round.parent_kr.title}”"
            f"{rationale} and no impact notice was sent in time. Check what it means for your "
            f"plan: answer “no change” or modify it by "
            f"{when(now + hours(round.parent_kr.organization.assess_hours), child.owner_id)}."
        ),
        kind=NotificationKind.ORPHAN_NOTICE,
        key="orphan",
    )
    event_record(round, "orphan_notice", at=now, message="Automatic notice sent.")
    webhooks.round_event(
        round,
        WebhookEvent.ROUND_ORPHANED,
        at=now,
        text=f"No impact notice on “{round.parent_kr.title}” by the deadline after "
        f"{modified.department.name} modified “{modified.title}”: the other contributors were "
        "told automatically.",
    )
    return True


def _department_lines(raw: dict | None, contributors: list[KeyResult]) -> dict[int, str]:
    """The optional line for one department: department id → text; only the departments
    the notice goes to (the other contributors'), blank lines dropped."""
    names = {c.department_id: c.department.name for c in contributors}
    lines: dict[int, str] = {}
    for key, text in (raw or {}).items():
        try:
            department_id = int(key)
        except (TypeError, ValueError):
            department_id = None
        if department_id not in names:
            raise ValidationError(
                {
                    "department_messages": [
                        f"{key!r} is not one of the departments the notice goes to "
                        f"({', '.join(f'{i}: {n}' for i, n in sorted(names.items()))})."
                    ]
                }
            )
        text = (text or "").strip()
        if text:
            lines[department_id] = text
    return lines


@transaction.atomic
def round_notice(
    *, round: Round, actor, message: str, department_messages: dict | None = None
) -> Round:
    """The parent owner's impact notice: notify step done, assess steps opened.

    One message to every other contributing department, optionally with a line for
    some of them (`department_messages`: department id → text, SPEC.md §5)."""
    round = locks.round_lock(round.pk, "parent_kr__organization", "modified_kr__department")
    notice_require(actor, round.parent_kr)
    message = (message or "").strip()
    if not message:
        raise ValidationError({"message": ["Write the impact notice the departments will read."]})
    if round.status != RoundStatus.OPEN:
        raise ValidationError({"detail": ["This round is closed."]})
    if round.noticed_at is not None:
        raise ValidationError({"detail": ["The impact notice was sent already."]})
    contributors = _contributors(round.parent_kr, round.modified_kr.department_id)
    lines = _department_lines(department_messages, contributors)
    names = {c.department_id: c.department.name for c in contributors}
    now = timezone.now()
    round.noticed_at, round.notice_message = now, message
    round.save(update_fields=["noticed_at", "notice_message"])
    notify = round.steps.filter(kind=StepKind.NOTIFY).first()
    if notify and notify.state == StepState.OPEN:
        _step_close(notify, actor_id=actor.pk, answer="", note=message)
    event_record(
        round,
        RoundEventKind.NOTICE_SENT,
        actor=actor,
        step=notify,
        message=" ".join([message, *(f"For {names[i]}: {t}" for i, t in lines.items())]),
        at=now,
        data={"departments": {str(i): t for i, t in lines.items()}} if lines else None,
    )
    due_at = now + hours(round.parent_kr.organization.assess_hours)
    zones = user_zones(c.owner_id for c in contributors)

    def text(child: KeyResult) -> str:
        line = lines.get(child.department_id)
        return (
            f"Impact notice on “{round.parent_kr.title}” after {round.modified_kr.department.name}"
            f" changed its plan: {message}"
            + (f" For {child.department.name}: {line}" if line else "")
            + f" Answer “no change” or modify your plan by {when(due_at, child.owner_id, zones)}."
        )

    assessments_open(
        round,
        now=now,
        message=text,
        kind=NotificationKind.IMPACT_NOTICE,
        key="notice",
        contributors=contributors,
    )
    assess_due = now + hours(round.parent_kr.organization.assess_hours)
    webhooks.round_event(
        round,
        WebhookEvent.ROUND_NOTICE_SENT,
        at=now,
        text=f"Impact notice on “{round.parent_kr.title}” after "
        f"{round.modified_kr.department.name} changed its plan: {message} The other "
        f"departments answer by {webhooks.moment(assess_due)}.",
        message=message,
        department_messages={str(i): t for i, t in lines.items()},
        assess_due_at=webhooks.iso(assess_due),
        actor=actor.username,
    )
    return round


@transaction.atomic
def round_close(*, round: Round, actor, note: str, target: Decimal | None = None) -> Round:
    """The parent owner closes the round, confirming or changing the shared target."""
    # the shared KR's chain first, then the round: the target change below saves the
    # parent's plan, as a child's save does before it locks the round
    round = locks.round_lock(round.pk, "parent_kr")
    close_require(actor, round.parent_kr)
    note = (note or "").strip()
    if not note:
        raise ValidationError({"note": ["Say what was decided (it is shared with everyone)."]})
    if round.status != RoundStatus.OPEN:
        raise ValidationError({"detail": ["This round is closed already."]})
    parent = KeyResult.objects.select_related("cycle", "organization", "department").get(
        pk=round.parent_kr_id
    )
    now = timezone.now()
    if target is not None and target != parent.target:
        plan_services.kr_target_set(kr=parent, target=target, actor=actor, rationale=note)
    for step in round.steps.filter(state=StepState.OPEN):
        if step.kind == StepKind.CLOSE:
            _step_close(step, actor_id=actor.pk, answer="", note=note)
        else:
            step.state, step.done_at = StepState.SUPERSEDED, now
            step.save(update_fields=["state", "done_at"])
    round.status, round.closed_at, round.close_note = RoundStatus.CLOSED, now, note
    round.closed_target = target if target is not None else parent.target
    round.save(update_fields=["status", "closed_at", "close_note", "closed_target"])
    event_record(
        round,
        RoundEventKind.CLOSED,
        actor=actor,
        message=note,
        at=now,
        data={"target": format(round.closed_target, "f"), "changed": target is not None},
    )
    changed = target is not None and target != parent.target
    decided = (
        f"the shared target becomes {num(target)} {parent.unit}"
        if changed
        else f"the shared target stays {num(round.closed_target)} {parent.unit}"
    )
    for child in _contributors(parent, None):
        notification_create(
            organization_id=round.organization_id,
            user_id=child.owner_id,
            kind=NotificationKind.ROUND_CLOSED,
            key=f"round:{round.pk}:closed:{child.pk}",
            message=f"The round on “{parent.title}” is closed: {decided}. {note}",
            kr_id=child.pk,
            round_id=round.pk,
        )
    webhooks.round_event(
        round,
        WebhookEvent.ROUND_CLOSED,
        at=now,
        text=f"The round on “{parent.title}” is closed: {decided}. {note}",
        note=note,
        target=webhooks.dec(round.closed_target),
        target_changed=changed,
        actor=actor.username,
    )
    return round


def _step_close(step: Step, *, actor_id, answer: str, note: str, state=StepState.DONE) -> None:
    step.state, step.answer, step.note = state, answer, note or ""
    step.done_at, step.done_by_id = timezone.now(), actor_id
    step.save(update_fields=["state", "answer", "note", "done_at", "done_by"])


# --- Cascade reviews (SPEC.md §3, Sequential) ---------------------------------


def _proposed_values(kr: KeyResult, plan: Plan, target: Decimal) -> list[Decimal]:
    """The stage's plan scaled by the same factor as its target (SPEC.md §3), as a new
    target moves a plan; a flow's implied target is never below 0."""
    if kr.metric_kind == "cumulative":
        target = max(target, Decimal(0))
    return plan_services.values_for_new_target(kr, plan, target)


def _stage_changes(
    *, parent: KeyResult, changed_kr_id: int
) -> tuple[list[StageChange], dict[int, Plan]]:
    """The later stages of `parent`'s funnel whose implied target `changed_kr_id`'s
    change moves (`rules.stage_changes`), with the targets their open cascade reviews
    propose already; and the stages' plans with their KRs, by KR id. Two queries (one
    when nothing moves)."""
    children_plans = plan_services.children_plans(
        organization_id=parent.organization_id, parent_id=parent.pk
    )
    by_id = {p.kr_id: p for p in children_plans}
    proposals = rollup.cascade_proposals(
        [plan_services.rollup_child(p) for p in children_plans], changed_kr_id
    )
    krs = {i: (p.kr.owner_id, p.kr.target, p.kr.decimals) for i, p in by_id.items()}
    moved = stage_changes(proposals, krs=krs)
    if not moved:
        return [], by_id
    asked: dict[int, set] = {}
    for kr_id, proposed in Step.objects.filter(
        organization_id=parent.organization_id,
        kr_id__in=[stage.kr_id for stage in moved],
        kind=StepKind.CASCADE_REVIEW,
        state=StepState.OPEN,
    ).values_list("kr_id", "proposed_target"):
        asked.setdefault(kr_id, set()).add(proposed)
    return stage_changes(proposals, krs=krs, asked=asked), by_id


def cascade_reviews_open(
    *, parent: KeyResult, changed_kr_id: int, audience: Audience, plans: dict[int, Plan]
) -> list[Step]:
    """Ask the owner of every later stage `audience` names to review its new implied
    target (an open review of the stage proposing another is superseded). `plans`: the
    stages' plans with their KRs (`stage_changes`)."""
    now = timezone.now()
    org = parent.organization
    created = []
    for told in audience.told:
        if told.stage is None:
            continue  # not a cascade review
        plan = plans[told.kr_id]
        kr, target = plan.kr, told.stage.proposed_target
        Step.objects.filter(
            organization_id=kr.organization_id,
            kr=kr,
            kind=StepKind.CASCADE_REVIEW,
            state=StepState.OPEN,
        ).update(state=StepState.SUPERSEDED, done_at=now)
        step = review_open(
            kind=StepKind.CASCADE_REVIEW,
            kr=kr,
            source_kr_id=changed_kr_id,
            due_at=now + hours(org.assess_hours),
            now=now,
            proposed_target=target,
            proposed_json=decimals_to_json(_proposed_values(kr, plan, target)),
            message=lambda step, kr=kr, target=target: (
                f"An upstream change in “{parent.title}” moves the implied target of "
                f"“{kr.title}” from {num(kr.target)} to {num(target)} {kr.unit}: "
                f"accept the proposed plan or decline with a note by "
                f"{when(step.due_at, step.assignee_id)}."
            ),
        )
        created.append(step)
    return created


# --- Downward: the children hear when their parent changes ---------------------


def downward_reviews(*, parent: KeyResult, revision: RevisionFacts, actor_id: int | None) -> None:
    """SPEC.md §5 downward rules: each child owner is notified, or must review."""
    from notifications.selectors import rule_for

    rule = rule_for(org=parent.organization, kr=parent)
    if rule.downward == "none":
        return
    now = timezone.now()
    what = (
        f"“{parent.title}” changed: its target is now {num(revision.after_target)} "
        f"{parent.unit} (was {num(revision.before_target)})"
        + (f" — “{revision.rationale}”" if revision.rationale else "")
    )
    for child in _contributors(parent, None):
        if child.owner_id == actor_id:
            continue
        if rule.downward == "review_required":
            review_open(
                kind=StepKind.DOWNWARD_REVIEW,
                kr=child,
                source_kr_id=parent.pk,
                due_at=now + hours(parent.organization.assess_hours),
                now=now,
                message=lambda step, child=child: (
                    f"{what}. Review “{child.title}” by {when(step.due_at, step.assignee_id)}."
                ),
            )
        else:
            notification_create(
                organization_id=parent.organization_id,
                user_id=child.owner_id,
                kind=NotificationKind.CHANGE,
                key=f"downward:{revision.pk}:{child.pk}",
                message=f"{what}.",
                kr_id=child.pk,
            )


# --- Dependencies: the downstream owner reviews when an expectation breaks -----


def dependency_reviews(*, organization_id: int, kr_id: int, revision: RevisionFacts) -> None:
    from hierarchy.models import Dependency

    dependencies = Dependency.objects.filter(
        organization_id=organization_id, upstream_id=kr_id, expected_value__isnull=False
    ).select_related("downstream__owner", "upstream__cycle", "upstream__organization")
    now = timezone.now()
    for dependency in dependencies:
        kr = dependency.upstream
        before, after = (
            shapes.planned_by(
                list(values),
                metric_kind=kr.metric_kind,
                periods=kr.cycle.periods,
                on=dependency.expected_by,
            )
            for values in (revision.before_values, revision.after_values)
        )
        if before is None or after is None:
            continue
        if not (before >= dependency.expected_value > after):
            continue
        downstream = dependency.downstream
        review_open(
            kind=StepKind.DEPENDENCY_REVIEW,
            kr=downstream,
            source_kr_id=kr.pk,
            due_at=now + hours(kr.organization.assess_hours),
            now=now,
            message=lambda step, d=dependency, kr=kr, after=after: (
                f"Your plan for “{d.downstream.title}” assumes: “{d.assumption}”. "
                f"“{kr.title}” now plans {num(after)} by {times.day(d.expected_by)}, below the "
                f"{num(d.expected_value)} expected. Review by "
                f"{when(step.due_at, step.assignee_id)}."
            ),
        )


# --- Answering steps ------------------------------------------------------------


def _require_modified_since(step: Step) -> None:
    """A "modified" answer says the step's KR's plan changed while the step was open (SPEC.md §5:
    a contributor answers no_change, or modifies their plan): a revision of that plan
    since the step was created, or the answer is refused."""
    if PlanRevision.objects.filter(
        organization_id=step.organization_id, kr_id=step.kr_id, created_at__gte=step.created_at
    ).exists():
        return
    title = KeyResult.objects.filter(pk=step.kr_id).values_list("title", flat=True).first()
    raise ValidationError(
        {
            "answer": [
                f"Nothing was modified: “{title}” has no plan change since this step opened. "
                "Change the plan in the plan editor first, or answer “No change”."
            ]
        }
    )


@transaction.atomic
def step_answer(*, step: Step, actor, answer: str, note: str = "") -> Step:
    validate_text("note", note)
    # the KR's chain first, then the round, then the step: accepting saves the plan, and
    # an upstream save locks the chain before it supersedes the open reviews
    step = locks.step_lock(step.pk)
    if step.state != StepState.OPEN:
        raise ValidationError({"answer": [f"This step is {step.state} already."]})
    if step.assignee_id != actor.pk:
        raise PermissionDenied("Only the person this step is assigned to may answer it.")
    note = (note or "").strip()
    if step.kind == StepKind.CASCADE_REVIEW:
        if answer not in (Answer.ACCEPT, Answer.DECLINE):
            raise ValidationError({"answer": ["Answer a cascade review with accept or decline."]})
        if answer == Answer.DECLINE and not note:
            raise ValidationError({"note": ["Say why you keep your plan (the note is shared)."]})
        if answer == Answer.ACCEPT:
            kr = KeyResult.objects.select_related("cycle", "organization").get(pk=step.kr_id)
            plan = Plan.objects.get(kr=kr)
            source = KeyResult.objects.filter(pk=step.source_kr_id).first()
            plan_services.plan_update(
                kr=kr,
                values=step.proposed_values,
                version=plan.version,
                actor=actor,
                rationale=note
                or f"Accepted the cascade from “{source.title if source else 'upstream'}”.",
                cause=Cause.CASCADE,
                shape=plan.shape,
            )
        state = StepState.DONE if answer == Answer.ACCEPT else StepState.DECLINED
    elif step.kind in (StepKind.ASSESS, StepKind.DOWNWARD_REVIEW, StepKind.DEPENDENCY_REVIEW):
        if answer not in (Answer.NO_CHANGE, Answer.MODIFIED):
            raise ValidationError({"answer": ["Answer with no_change or modified."]})
        if answer == Answer.MODIFIED:
            _require_modified_since(step)
        state = StepState.DONE
    else:
        raise ValidationError(
            {"answer": ["This step is done by acting (the notice, the close, a check-in)."]}
        )
    _step_close(step, actor_id=actor.pk, answer=answer, note=note, state=state)
    if step.round_id:
        event_record(
            step.round,
            RoundEventKind.ASSESSED,
            actor=actor,
            step=step,
            message=note,
            data={"answer": answer, "kr": step.kr_id},
        )
    return step


# --- Reactions to the plans app's events --------------------------------------


def on_plan_changed(event: PlanChanged) -> None:
    """Everything a plan change sets off, in the save's transaction.

    The event says which ancestors are locked, whether a round or a cascade starts and
    whether dependencies expect numbers of this KR, so a change that sets off nothing
    reads nothing; the changed KR itself is loaded only when a message names it."""
    revision = RevisionFacts.of(event)
    parent_facts = event.ancestors.get(event.parent_id) if event.parent_id else None
    locked_ancestors = [i for i in event.ancestor_totals if event.ancestors[i].locked]
    # what to load: who is told is `plan_change_audience`'s decision, below
    may_start_round = (
        event.is_modification
        and revision.cause != Cause.CASCADE
        and parent_facts is not None
        and parent_facts.cross_functional
    )
    cascades = parent_facts is not None and parent_facts.aggregation == Aggregation.SEQUENTIAL
    wanted = set(locked_ancestors) | ({event.parent_id} if may_start_round or cascades else set())
    plans = (
        {
            p.kr_id: p
            for p in Plan.objects.filter(
                organization_id=event.organization_id, kr_id__in=wanted
            ).select_related("kr__owner", "kr__organization", "kr__department")
        }
        if wanted
        else {}
    )

    @functools.cache
    def changed() -> KeyResult:
        return KeyResult.objects.select_related("department", "organization").get(pk=event.kr_id)

    parent = plans[event.parent_id].kr if may_start_round or cascades else None
    joined = (
        round_joined(organization_id=event.organization_id, parent=parent, kr_id=event.kr_id)
        if may_start_round
        else None
    )
    stages, stage_plans = (
        _stage_changes(parent=parent, changed_kr_id=event.kr_id) if cascades else ([], {})
    )
    audience = plan_change_audience(
        actor_id=event.actor_id,
        ancestors=_ancestor_changes(  # drafts are not news: no baseline, no rule to read
            organization_id=event.organization_id,
            totals={i: event.ancestor_totals[i] for i in locked_ancestors},
            plans=plans,
        )
        if locked_ancestors
        else [],
        parent=SharedKR(
            kr_id=parent.pk,
            owner_id=parent.owner_id,
            cross_functional=parent.cross_functional,
            open_round_joined=joined is not None,
        )
        if parent is not None
        else None,
        is_modification=event.is_modification,
        accepted_cascade=revision.cause == Cause.CASCADE,
        stages=stages,
    )
    upward_notices(audience=audience, plans=plans, changed=changed, revision=revision)
    webhooks.thresholds_crossed(
        event=event, audience=audience, plans=plans, changed=changed, revision=revision
    )
    if event.is_modification:
        webhooks.plan_modified(event=event, changed=changed, revision=revision)
    if joined is not None:
        round_join(
            round=joined[0],
            assess=joined[1],
            kr=changed(),
            revision=revision,
            actor_id=event.actor_id,
        )
    elif audience.starts_round:
        round_on_modification(
            kr=changed(), parent=parent, revision=revision, actor_id=event.actor_id
        )
    if cascades:
        cascade_reviews_open(
            parent=parent, changed_kr_id=event.kr_id, audience=audience, plans=stage_plans
        )
    if event.has_expectations:
        dependency_reviews(
            organization_id=event.organization_id, kr_id=event.kr_id, revision=revision
        )
    if event.is_modification and event.has_children:
        downward_reviews(parent=changed(), revision=revision, actor_id=event.actor_id)


def on_checkin_recorded(event: CheckInRecorded) -> None:
    """A check-in ends the chase of its period."""
    Step.objects.filter(
        kind=StepKind.CHECKIN, kr_id=event.kr_id, period=event.period, state=StepState.OPEN
    ).update(state=StepState.DONE, done_at=timezone.now())


# --- Invitations (hierarchy.events) -------------------------------------------------


def _invitation_key(invitation_id: int) -> str:
    return f"invitation:{invitation_id}"


def on_invitation_created(event: InvitationCreated) -> None:
    """Tell the invitee: in the app (their inbox's invitations) and by e-mail, with the
    link. A username that names nobody: nobody to tell (the admin's answer was the same)."""
    invitation = Invitation.objects.select_related("organization", "invited_by").get(
        pk=event.invitation_id
    )
    if invitation.invitee_id is None and not invitation.email:
        return
    by = invitation.invited_by
    who = (by.get_full_name() or by.username) if by else "An admin"
    until = timezone.localtime(invitation.expires_at).strftime("%Y-%m-%d")
    notification_create(
        organization_id=invitation.organization_id,
        user_id=invitation.invitee_id,
        email="" if invitation.invitee_id else invitation.email,
        kind=NotificationKind.INVITATION,
        key=_invitation_key(invitation.pk),
        message=f"{who} invited you to join {invitation.organization.name} as "
        f"{invitation.get_role_display().lower()}. Accept or decline by {until}: "
        f"{settings.SITE_URL}{reverse('invitation-link', args=[invitation.token])}",
    )


def on_invitation_closed(event: InvitationClosed) -> None:
    """Answered: its notification is read. Withdrawn before its e-mail went out: no
    e-mail (the notification goes); after: the link says it was withdrawn."""
    notifications = Notification.objects.filter(
        organization_id=event.organization_id, key=_invitation_key(event.invitation_id)
    )
    if event.withdrawn:
        notifications.filter(emailed_at__isnull=True, email_claimed_at__isnull=True).delete()
    notifications.filter(read_at__isnull=True).update(read_at=timezone.now())


def on_member_duties_asked(event: MemberDutiesAsked) -> None:
    """A member about to leave or to become a viewer: their open steps are still theirs
    to answer (nobody else may: `step_answer`), so they are named."""
    steps = (
        Step.objects.filter(
            organization_id=event.organization_id,
            assignee_id=event.user_id,
            state=StepState.OPEN,
        )
        .select_related("kr")
        .order_by("due_at", "id")
    )
    count = steps.count()
    if count:
        titles = list(dict.fromkeys(f"“{step.kr.title}”" for step in steps[:3]))
        event.duties.append(
            (
                "step",
                f"{event.username} has {count} open step{'s' if count != 1 else ''} "
                f"(on {', '.join(titles)}{' …' if count > 3 else ''})",
            )
        )


def on_krs_archiving(event: KeyResultsArchiving) -> None:
    """KRs about to be archived: an open round on one of them, or an open step (a review,
    an assessment: someone's work that only they may answer), must be finished first. A
    missed check-in's step is not: archiving ends the chase (`on_krs_archived`)."""
    ids = list(event.kr_ids)
    rounds = (
        Round.objects.filter(organization_id=event.organization_id, status=RoundStatus.OPEN)
        .filter(Q(parent_kr_id__in=ids) | Q(modified_kr_id__in=ids))
        .select_related("parent_kr")
        .order_by("started_at", "id")
    )
    for round in rounds[:3]:
        event.refusals.append(
            f"“{round.parent_kr.title}” has an open modification round: close it first "
            "(its combined view), then archive."
        )
    steps = (
        Step.objects.filter(
            organization_id=event.organization_id, kr_id__in=ids, state=StepState.OPEN
        )
        .exclude(kind=StepKind.CHECKIN)
        .exclude(round__in=rounds)  # named with their round above
        .select_related("kr", "assignee")
        .order_by("due_at", "id")
    )
    for step in steps[:3]:
        event.refusals.append(
            f"{step.assignee.username} has an open step on “{step.kr.title}” "
            f"({StepKind(step.kind).label.lower()}): it is answered first, then archive."
        )


def on_krs_archived(event: KeyResultsArchived) -> None:
    """Archived KRs are chased for no more check-ins: their open check-in steps end."""
    Step.objects.filter(
        organization_id=event.organization_id,
        kr_id__in=list(event.kr_ids),
        kind=StepKind.CHECKIN,
        state=StepState.OPEN,
    ).update(state=StepState.SUPERSEDED, done_at=timezone.now())
