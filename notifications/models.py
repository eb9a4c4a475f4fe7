"""Who must know and by when: propagation rules, modification rounds and their
steps, the rounds' history, and the notifications people receive."""

import uuid
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from hierarchy.models import Department, KeyResult, TenantModel
from plans.models import ImmutableQuerySet, PlanRevision, decimals_from_json


class Upward(models.TextChoices):
    NONE = "none", "None"
    NOTIFY = "notify", "Notify on every change"
    THRESHOLD = "threshold", "Notify past a threshold"


class Downward(models.TextChoices):
    NONE = "none", "None"
    NOTIFY = "notify", "Notify the child owners"
    REVIEW_REQUIRED = "review_required", "Child owners must review"


class PropagationRule(TenantModel):
    """The organization's default (no KR) or a KR's override."""

    kr = models.ForeignKey(
        KeyResult, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    upward = models.CharField(max_length=10, choices=Upward.choices, default=Upward.THRESHOLD)
    threshold_pct = models.DecimalField(
        max_digits=7,
        decimal_places=3,
        default=Decimal(10),
        validators=[MinValueValidator(Decimal("0.001")), MaxValueValidator(Decimal(1000))],
    )
    downward = models.CharField(max_length=16, choices=Downward.choices, default=Downward.NOTIFY)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization"],
                condition=models.Q(kr__isnull=True),
                name="rule_one_default",
            ),
            models.UniqueConstraint(
                fields=["organization", "kr"],
                condition=models.Q(kr__isnull=False),
                name="rule_one_per_kr",
            ),
        ]

    def __str__(self):
        return f"{self.kr_id or 'default'}: up {self.upward}, down {self.downward}"


class RoundStatus(models.TextChoices):
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"


def round_label(number: int) -> str:
    """How people name a round: "Round 2" (of its shared KR, `Round.number`)."""
    return f"Round {number}"


class Round(TenantModel):
    """A modification round (SPEC.md §5): from a change to a locked plan to its close."""

    parent_kr = models.ForeignKey(KeyResult, on_delete=models.PROTECT, related_name="rounds")
    modified_kr = models.ForeignKey(KeyResult, on_delete=models.PROTECT, related_name="+")
    revision = models.ForeignKey(
        PlanRevision, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # 1, 2, 3 … per shared KR, given when the round starts (`services.round_on_modification`,
    # under the shared KR's chain lock): what every page, message and export calls it
    # (`label`); the API keeps `id` and adds `number` (docs/decisions.md, issue 16 §5)
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(max_length=6, choices=RoundStatus.choices, default=RoundStatus.OPEN)
    orphaned = models.BooleanField(default=False)
    orphaned_at = models.DateTimeField(null=True, blank=True)
    notice_message = models.TextField(blank=True, default="")
    noticed_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    close_note = models.TextField(blank=True, default="")
    closed_target = models.DecimalField(max_digits=24, decimal_places=6, null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [
            models.Index(fields=["organization", "parent_kr", "status"], name="round_org_parent"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "parent_kr", "number"], name="round_number_per_kr"
            ),
        ]

    def __str__(self):
        return f"{self.label} of {self.parent_kr_id} ({self.status})"

    @property
    def label(self) -> str:
        return round_label(self.number)


class StepKind(models.TextChoices):
    NOTIFY = "notify", "Send the impact notice"
    ASSESS = "assess", "Assess the impact"
    CLOSE = "close", "Close the round"
    CASCADE_REVIEW = "cascade_review", "Review a cascade from upstream"
    DOWNWARD_REVIEW = "downward_review", "Review a change of the parent"
    DEPENDENCY_REVIEW = "dependency_review", "Review a dependency"
    CHECKIN = "checkin", "Check in"


class RoundEventKind(models.TextChoices):
    """What a round's history entry records."""

    STARTED = "started", "Round started"
    ASSESSED = "assessed", "Impact assessed"
    MODIFIED_AGAIN = "modified_again", "Plan changed again"
    NOTICE_SENT = "notice_sent", "Impact notice sent"
    REMINDER = "reminder", "Reminder"
    ESCALATION = "escalation", "Escalation"
    ORPHANED = "orphaned", "No notice by the deadline"
    ORPHAN_NOTICE = "orphan_notice", "Automatic notice"
    CLOSED = "closed", "Round closed"


class StepState(models.TextChoices):
    OPEN = "open", "Open"
    DONE = "done", "Done"
    DECLINED = "declined", "Declined"
    SUPERSEDED = "superseded", "Superseded"


class Answer(models.TextChoices):
    NO_CHANGE = "no_change", "No change"
    MODIFIED = "modified", "Modified"
    ACCEPT = "accept", "Accept"
    DECLINE = "decline", "Decline"


class Step(TenantModel):
    """Something one person must do by a time: a protocol step or a review request."""

    round = models.ForeignKey(
        Round, null=True, blank=True, on_delete=models.PROTECT, related_name="steps"
    )
    kind = models.CharField(max_length=20, choices=StepKind.choices)
    kr = models.ForeignKey(KeyResult, on_delete=models.CASCADE, related_name="steps")
    source_kr = models.ForeignKey(
        KeyResult, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="steps"
    )
    due_at = models.DateTimeField()
    state = models.CharField(max_length=10, choices=StepState.choices, default=StepState.OPEN)
    answer = models.CharField(max_length=10, choices=Answer.choices, blank=True, default="")
    note = models.TextField(blank=True, default="")
    proposed_target = models.DecimalField(max_digits=24, decimal_places=6, null=True, blank=True)
    proposed_json = models.JSONField(null=True, blank=True)
    period = models.PositiveSmallIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # The deadline scan's bookkeeping: when to remind, and what was done (claimed once).
    remind_at = models.DateTimeField()
    reminded_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["due_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "kr", "period"],
                condition=models.Q(kind="checkin"),
                name="step_one_checkin_chase",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "assignee", "state"], name="step_org_assignee"),
            models.Index(fields=["organization", "kr", "state"], name="step_org_kr"),
            models.Index(
                fields=["remind_at"],
                condition=models.Q(state="open", reminded_at__isnull=True),
                name="step_reminder_due",
            ),
            models.Index(
                fields=["due_at"],
                condition=models.Q(state="open", escalated_at__isnull=True),
                name="step_escalation_due",
            ),
        ]

    def __str__(self):
        return f"{self.kind} of {self.kr_id} for {self.assignee_id} by {self.due_at:%Y-%m-%d %H:%M}"

    @property
    def proposed_values(self):
        return None if self.proposed_json is None else decimals_from_json(self.proposed_json)


class RoundEvent(TenantModel):
    """One entry of a round's history: never edited, never deleted."""

    round = models.ForeignKey(Round, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=30, choices=RoundEventKind.choices)
    at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    step = models.ForeignKey(
        Step, null=True, blank=True, on_delete=models.PROTECT, related_name="events"
    )
    message = models.TextField(blank=True, default="")
    data = models.JSONField(default=dict, blank=True)

    objects = ImmutableQuerySet.as_manager()

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["organization", "round", "at"], name="event_org_round")]

    def __str__(self):
        return f"{self.kind} of round {self.round_id}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise TypeError("Round events are never edited")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("Round events are never deleted")


class NotificationKind(models.TextChoices):
    THRESHOLD = "threshold", "Threshold crossed"
    CHANGE = "change", "Change"
    STEP = "step", "Step assigned"
    REVIEW = "review", "Review requested"
    REMINDER = "reminder", "Reminder"
    ESCALATION = "escalation", "Escalation"
    IMPACT_NOTICE = "impact_notice", "Impact notice"
    ORPHAN_NOTICE = "orphan_notice", "Orphaned modification"
    ROUND_CLOSED = "round_closed", "Round closed"
    INVITATION = "invitation", "Invitation"


class Notification(TenantModel):
    """A message to one person, in the app and by e-mail.

    `key` makes it exactly-once: each reminder, escalation and notice is recorded
    under a key unique in its organization before it is sent.
    """

    # None only for an invitation by e-mail to someone without an account yet: `email`.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    email = models.EmailField(blank=True, default="")
    kind = models.CharField(max_length=16, choices=NotificationKind.choices)
    kr = models.ForeignKey(
        KeyResult, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    round = models.ForeignKey(
        Round, null=True, blank=True, on_delete=models.SET_NULL, related_name="notifications"
    )
    step = models.ForeignKey(
        Step, null=True, blank=True, on_delete=models.SET_NULL, related_name="notifications"
    )
    key = models.CharField(max_length=200)
    message = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)
    email_claimed_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    # A message that could not be sent (notifications.services.email_deliver): how many
    # times it was tried, why the last try failed, and when delivery gave up on it.
    email_attempts = models.PositiveSmallIntegerField(default=0)
    email_error = models.CharField(max_length=500, blank=True, default="")
    email_failed_at = models.DateTimeField(null=True, blank=True)
    # The daily digest (`Digest`): the recipient's local day of the digest this went out
    # in (with `user`, the digest's unique key); set when it is composed.
    digest_day = models.DateField(null=True, blank=True)
    # A reminder or escalation folded into a newer one about the same step for the same
    # person while it was still unread (`notifications.services.reminders_group`): not
    # listed in the inbox, not e-mailed on its own.
    grouped_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "key"], name="notification_unique_key"),
        ]
        indexes = [
            models.Index(fields=["organization", "user", "read_at"], name="notification_org_user"),
            models.Index(
                fields=["emailed_at"],
                condition=models.Q(emailed_at__isnull=True),
                name="notification_unsent",
            ),
        ]

    def __str__(self):
        return f"{self.kind} for {self.user_id or self.email}: {self.message[:40]}"

    @property
    def recipient_email(self) -> str:
        return self.user.email if self.user_id else self.email


class Digest(models.Model):
    """One person's daily digest e-mail (issue 16 §4): everything since the last one,
    for the day `day` in their time zone, composed once and then delivered.

    Composed in one transaction with marking its notifications (`Notification.digest_day`):
    a worker killed while composing leaves neither. `(user, day)` is unique: a second
    composer (a re-run, a second worker) finds the day's digest made and stops. The text
    and headers are stored, so a delivery tried again sends the same message, with the
    same Message-ID (notifications.services.digests_deliver).

    A person's, not an organization's (it gathers all of their organizations): no
    tenant column, not in the organization export, like `hierarchy.Profile`."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    # What it holds: every notification created before this moment (08:00 of `day` local,
    # settings.DIGEST_HOUR) not e-mailed and not in an earlier digest.
    cutoff = models.DateTimeField()
    subject = models.CharField(max_length=200)
    body = models.TextField()
    message_id = models.CharField(max_length=200, unique=True)
    notification_count = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    # Delivery: the outbox columns of `Notification`, with the same lease and retries.
    email_claimed_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    email_attempts = models.PositiveSmallIntegerField(default=0)
    email_error = models.CharField(max_length=500, blank=True, default="")
    email_failed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-day", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "day"], name="digest_one_per_day"),
        ]
        indexes = [
            models.Index(
                fields=["id"],
                condition=models.Q(emailed_at__isnull=True, email_failed_at__isnull=True),
                name="digest_unsent",
            ),
        ]

    def __str__(self):
        return f"digest of {self.user_id} for {self.day}"


# --- Outgoing webhooks (API.md §Outgoing webhooks, notifications/webhooks.py) -----------


class WebhookEvent(models.TextChoices):
    PLAN_MODIFIED = "plan.modified", "A locked plan was modified"
    THRESHOLD_CROSSED = "threshold.crossed", "A shared total crossed its threshold"
    ROUND_OPENED = "round.opened", "A modification round opened"
    ROUND_NOTICE_SENT = "round.notice_sent", "An impact notice was sent"
    STEP_OVERDUE = "step.overdue", "A step is overdue"
    ROUND_ORPHANED = "round.orphaned", "A round got no impact notice in time"
    ROUND_CLOSED = "round.closed", "A modification round closed"


class WebhookFormat(models.TextChoices):
    JSON = "json", "JSON (signed, for your own receiver)"
    SLACK = "slack", "Slack incoming webhook"
    TEAMS = "teams", "Microsoft Teams incoming webhook"


class Webhook(TenantModel):
    """Where an organization's events are POSTed. `secret` signs every body (HMAC-SHA256):
    kept as it is, since signing needs it, and shown once, when the webhook is added."""

    url = models.URLField(max_length=2000)
    events = models.JSONField(default=list)  # WebhookEvent values, each once
    format = models.CharField(max_length=5, choices=WebhookFormat.choices, default="json")
    secret = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["organization", "created_at"], name="webhook_org")]

    def __str__(self):
        return f"{self.format} webhook {self.pk} to {self.url[:60]}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"


class WebhookDelivery(TenantModel):
    """One event for one webhook: recorded in the event's own transaction (the outbox),
    its body frozen then, and POSTed until a 2xx answer or the last retry.

    `id` is the X-Okrplan-Delivery header: the same on every attempt. A worker claims a
    delivery by setting `claimed_until` (a lease) and `claim` (whose attempt it is); a
    worker killed meanwhile leaves it to the next after the lease."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=30, choices=WebhookEvent.choices)
    body = models.TextField()  # the exact bytes POSTed (UTF-8), signed as they are
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True, default="")
    next_attempt_at = models.DateTimeField()
    claimed_until = models.DateTimeField(null=True, blank=True)
    claim = models.UUIDField(null=True, blank=True)
    created_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["organization", "webhook", "-created_at"], name="delivery_org_webhook"
            ),
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(status="pending"),
                name="delivery_due",
            ),
        ]

    def __str__(self):
        return f"{self.event} to webhook {self.webhook_id}: {self.status}"
