"""Who must know and by when: propagation rules, modification rounds and their
steps, the rounds' history, and the notifications people receive."""

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
