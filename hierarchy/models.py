"""Who and what: organizations (tenants), their members and departments."""

import hashlib
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models

from okrplan.lib.text import OneLineFields, validate_one_line
from okrplan.lib.validators import MoreThan

ORG_SLUG_PATTERN = r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$"


class Organization(OneLineFields, models.Model):
    """The tenant. Its settings (tolerances, overlap factor, protocol hours) live here."""

    # What its admin may set (the settings page and PATCH .../settings/ alike).
    SETTINGS_FIELDS = (
        "gap_tolerance_pct",
        "funnel_tolerance_pct",
        "timing_tolerance",
        "overlap_factor",
        "notify_hours",
        "assess_hours",
        "close_hours",
        "checkin_grace_hours",
    )

    name = models.CharField(max_length=200, validators=[validate_one_line])
    slug = models.SlugField(
        max_length=50,
        unique=True,
        validators=[
            RegexValidator(ORG_SLUG_PATTERN, "Use lower-case letters, digits and inner hyphens.")
        ],
    )
    created_at = models.DateTimeField(auto_now_add=True)

    checkin_grace_hours = models.DecimalField(
        max_digits=12,
        decimal_places=6,
        default=Decimal("48"),
        validators=[MoreThan(Decimal(0)), MaxValueValidator(Decimal(8760))],
        help_text="A period ended without a check-in: reminder at once, escalation after this.",
    )
    gap_tolerance_pct = models.DecimalField(
        max_digits=7,
        decimal_places=4,
        default=Decimal("1"),
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(100))],
        help_text="Additive and sequential gaps above this percentage of the target are flagged.",
    )
    funnel_tolerance_pct = models.DecimalField(
        max_digits=7,
        decimal_places=4,
        default=Decimal("10"),
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(1000))],
        help_text="A stage ratio further than this from its historical ratio is flagged.",
    )
    timing_tolerance = models.DecimalField(
        max_digits=5,
        decimal_places=4,
        default=Decimal("0.25"),
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(1))],
        help_text="Linked plans whose centroids differ by more than this are flagged.",
    )
    overlap_factor = models.DecimalField(
        max_digits=5,
        decimal_places=4,
        default=Decimal("0.75"),
        validators=[MinValueValidator(Decimal("0.5")), MaxValueValidator(Decimal("1.0"))],
        help_text="Parallel claims are discounted by this factor for overlap.",
    )
    notify_hours = models.DecimalField(
        max_digits=12,
        decimal_places=6,
        default=Decimal("24"),
        validators=[MoreThan(Decimal(0)), MaxValueValidator(Decimal(8760))],
    )
    assess_hours = models.DecimalField(
        max_digits=12,
        decimal_places=6,
        default=Decimal("48"),
        validators=[MoreThan(Decimal(0)), MaxValueValidator(Decimal(8760))],
    )
    close_hours = models.DecimalField(
        max_digits=12,
        decimal_places=6,
        default=Decimal("72"),
        validators=[MoreThan(Decimal(0)), MaxValueValidator(Decimal(8760))],
    )

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class TenantQuerySet(models.QuerySet):
    def for_org(self, org: Organization):
        return self.filter(organization=org)


class TenantModel(models.Model):
    """Every tenant-owned row carries its organization, and is read through it."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")

    objects = TenantQuerySet.as_manager()

    class Meta:
        abstract = True


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    MEMBER = "member", "Member"
    VIEWER = "viewer", "Viewer"


class Membership(TenantModel):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["organization_id", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "user"], name="membership_unique_user"),
        ]

    def __str__(self):
        return f"{self.user} in {self.organization_id} as {self.role}"

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def can_write(self) -> bool:
        return self.role != Role.VIEWER


class Department(OneLineFields, TenantModel):
    name = models.CharField(max_length=200, validators=[validate_one_line])
    lead = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="led_departments",
    )
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    # Archived: out of the lists that pick a department (forms, the admin's list by
    # default), its key results and objectives still read (docs/decisions.md, issue 14).
    archived_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="department_unique_name"),
        ]

    def __str__(self):
        return self.name


class Granularity(models.TextChoices):
    MONTH = "month", "Monthly"
    WEEK = "week", "Weekly"


# The days a cycle's dates may fall on (docs/decisions.md, issue 13 item 7): far enough
# from date.max that every day derived from them (the default meetings 10 and 35 days on,
# a calendar entry's exclusive end, a check-in's deadline) fits in a date.
CYCLE_FIRST_DAY = date(1900, 1, 1)
CYCLE_LAST_DAY = date(9000, 12, 31)
CYCLE_DAY_MESSAGE = f"Must be between {CYCLE_FIRST_DAY} and {CYCLE_LAST_DAY}."


def validate_cycle_day(value) -> None:
    if isinstance(value, date) and not CYCLE_FIRST_DAY <= value <= CYCLE_LAST_DAY:
        raise ValidationError(CYCLE_DAY_MESSAGE, code="cycle_day")


class Cycle(OneLineFields, TenantModel):
    """A planning period, usually a quarter. Its periods are derived, not stored."""

    name = models.CharField(max_length=100, validators=[validate_one_line])
    start = models.DateField(validators=[validate_cycle_day])
    end = models.DateField(validators=[validate_cycle_day])
    granularity = models.CharField(
        max_length=5, choices=Granularity.choices, default=Granularity.MONTH
    )
    refine_start = models.DateField(null=True, blank=True, validators=[validate_cycle_day])
    refine_end = models.DateField(null=True, blank=True, validators=[validate_cycle_day])
    alignment_meeting = models.DateField(validators=[validate_cycle_day])
    midcycle_check = models.DateField(validators=[validate_cycle_day])
    created_at = models.DateTimeField(auto_now_add=True)
    # Archived: out of the cycle lists by default and never current; its objectives,
    # KRs and plans still read (docs/decisions.md, issue 14).
    archived_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-start", "name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="cycle_unique_name"),
            models.CheckConstraint(
                condition=models.Q(end__gte=models.F("start")), name="cycle_end_after_start"
            ),
        ]
        indexes = [models.Index(fields=["organization", "start"], name="cycle_org_start")]

    def __str__(self):
        return self.name

    @property
    def periods(self):
        from hierarchy.periods import periods_derive

        cached = getattr(self, "_periods", None)
        key = (self.start, self.end, self.granularity)
        if cached is None or cached[0] != key:
            cached = (key, periods_derive(self.start, self.end, self.granularity))
            self._periods = cached
        return cached[1]


class Objective(OneLineFields, TenantModel):
    cycle = models.ForeignKey(Cycle, on_delete=models.PROTECT, related_name="objectives")
    title = models.CharField(max_length=300, validators=[validate_one_line])
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="objectives"
    )
    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.PROTECT, related_name="objectives"
    )
    # Where the cycle tree shows it among the cycle's objectives (then by id); the API's
    # lists stay in id order (docs/decisions.md, issue 14 item 3).
    position = models.PositiveIntegerField(default=0)
    # Archived: out of the cycle tree and My work, with its key results; restorable.
    archived_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["organization", "cycle"], name="objective_org_cycle")]

    def __str__(self):
        return self.title


class MetricKind(models.TextChoices):
    CUMULATIVE = "cumulative", "Cumulative (a flow counted over the cycle)"
    LEVEL = "level", "Level (measured at a moment)"


class Aggregation(models.TextChoices):
    ADDITIVE = "additive", "Additive"
    SEQUENTIAL = "sequential", "Sequential (funnel)"
    PARALLEL = "parallel", "Parallel (shared impact)"


class KeyResult(OneLineFields, TenantModel):
    objective = models.ForeignKey(Objective, on_delete=models.PROTECT, related_name="key_results")
    cycle = models.ForeignKey(Cycle, on_delete=models.PROTECT, related_name="key_results")
    title = models.CharField(max_length=300, validators=[validate_one_line])
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="key_results"
    )
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="key_results")
    unit = models.CharField(max_length=40, validators=[validate_one_line])
    decimals = models.PositiveSmallIntegerField(
        default=0,
        validators=[MaxValueValidator(6)],
        help_text="The unit's precision: plan values are kept to this many decimal places.",
    )
    metric_kind = models.CharField(max_length=10, choices=MetricKind.choices)
    start_value = models.DecimalField(max_digits=24, decimal_places=6, default=Decimal(0))
    target = models.DecimalField(max_digits=24, decimal_places=6)
    weight = models.DecimalField(max_digits=8, decimal_places=4, default=Decimal(1))
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    # Ids of the ancestors, root first, as "12/45/" (empty for a root): the rollup
    # loads and locks a chain in one query, root first.
    path = models.CharField(max_length=400, blank=True, default="", editable=False)
    aggregation = models.CharField(
        max_length=10, choices=Aggregation.choices, default=Aggregation.ADDITIVE
    )
    stage = models.PositiveSmallIntegerField(null=True, blank=True)
    historical_ratio = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    claimed_impact = models.DecimalField(max_digits=24, decimal_places=6, null=True, blank=True)
    # Children in two or more departments: kept by the services that add, move or remove children.
    cross_functional = models.BooleanField(default=False, editable=False)
    # Where the cycle tree shows it among its siblings (then by id; a funnel's stages are
    # in stage order); archived with its subtree, restorable (docs/decisions.md, issue 14
    # item 3).
    position = models.PositiveIntegerField(default=0)
    archived_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "parent", "stage"],
                condition=models.Q(stage__isnull=False),
                name="kr_unique_stage_in_funnel",
            ),
            models.CheckConstraint(
                condition=models.Q(historical_ratio__isnull=True)
                | (models.Q(historical_ratio__gt=0) & models.Q(historical_ratio__lte=1)),
                name="kr_historical_ratio_range",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "cycle"], name="kr_org_cycle"),
            models.Index(fields=["organization", "parent"], name="kr_org_parent"),
            models.Index(fields=["organization", "department"], name="kr_org_department"),
            models.Index(fields=["organization", "owner"], name="kr_org_owner"),
        ]

    def __str__(self):
        return self.title

    @property
    def ancestor_ids(self) -> list[int]:
        return [int(part) for part in self.path.split("/") if part]


class Dependency(TenantModel):
    """Upstream KR → downstream KR, with the assumption the downstream plan rests on."""

    upstream = models.ForeignKey(KeyResult, on_delete=models.CASCADE, related_name="dependents")
    downstream = models.ForeignKey(KeyResult, on_delete=models.CASCADE, related_name="dependencies")
    assumption = models.TextField(max_length=2000)
    expected_value = models.DecimalField(max_digits=24, decimal_places=6, null=True, blank=True)
    expected_by = models.DateField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "upstream", "downstream"], name="dependency_unique_pair"
            ),
            models.CheckConstraint(
                condition=~models.Q(upstream=models.F("downstream")), name="dependency_not_self"
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "downstream"], name="dependency_org_downstream"),
        ]

    def __str__(self):
        return f"{self.upstream_id} → {self.downstream_id}"


class InvitationStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    ACCEPTED = "accepted", "Accepted"
    DECLINED = "declined", "Declined"
    WITHDRAWN = "withdrawn", "Withdrawn"
    # not stored: a pending invitation past its `expires_at` is shown as expired
    EXPIRED = "expired", "Expired"


class Invitation(TenantModel):
    """An admin's offer of membership; nobody is a member before saying yes.

    By username (`username` as the admin typed it; `invitee` is the account it names, if
    any: never shown to the organization) or by e-mail (`email`; `invitee` is whoever
    opens the e-mailed link, or signs up through it, logged in). The token is the link's.
    """

    username = models.CharField(max_length=150, blank=True, default="")
    email = models.EmailField(blank=True, default="")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    invitee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="invitations",
    )
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    token = models.CharField(max_length=64, unique=True, editable=False)
    status = models.CharField(
        max_length=10, choices=InvitationStatus.choices, default=InvitationStatus.PENDING
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(username="") & ~models.Q(email=""))
                | (~models.Q(username="") & models.Q(email="")),
                name="invitation_username_or_email",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="expired"), name="invitation_expired_not_stored"
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "status"], name="invitation_org_status"),
            models.Index(fields=["invitee", "status"], name="invitation_invitee_status"),
        ]

    def __str__(self):
        return f"{self.username or self.email} to {self.organization_id} ({self.status})"

    @property
    def state(self) -> str:
        """The status as people see it: a pending invitation past its time is expired."""
        from django.utils import timezone

        if self.status == InvitationStatus.PENDING and self.expires_at <= timezone.now():
            return InvitationStatus.EXPIRED
        return self.status

    def get_state_display(self) -> str:
        return InvitationStatus(self.state).label


# --- A person's own settings (not an organization's): accounts ---------------------


class NotifyBy(models.TextChoices):
    """How a person wants to hear of their notifications (all land in the inbox)."""

    IN_APP = "in_app", "In the app only"
    EMAIL = "email", "By e-mail at once"
    DIGEST = "digest", "A daily digest by e-mail"


class Profile(models.Model):
    """A person's settings, one per user, created the first time they are saved (a
    person without one has the defaults: the server's time zone, e-mail at once).

    Not tenant data: a person's own, the same in each of their organizations. The display
    name is auth.User's first and last name (the pages show `get_full_name`)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile"
    )
    # An IANA zone name ("Europe/Berlin"); empty: the server's TIME_ZONE.
    time_zone = models.CharField(max_length=64, blank=True, default="")
    notify_by = models.CharField(max_length=10, choices=NotifyBy.choices, default=NotifyBy.EMAIL)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"profile of {self.user_id}"


PERSONAL_TOKEN_PREFIX = "okrp_"  # nosec B105  # a public prefix, not a secret (DRF keys: 40 hex)


class PersonalToken(OneLineFields, models.Model):
    """A personal API token: named, as many as one likes, revoked by deleting it. Only
    the SHA-256 of its key is stored; the key is shown once, when it is made, and
    `prefix` (its first characters) tells the tokens apart in the list."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="personal_tokens"
    )
    name = models.CharField(max_length=100, validators=[validate_one_line])
    prefix = models.CharField(max_length=16, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "created_at"], name="personal_token_user")]

    def __str__(self):
        return f"{self.name} ({self.prefix}…) of {self.user_id}"

    @staticmethod
    def digest(key: str) -> str:
        """The stored form of a key: its SHA-256 (the key is random, 256 bits: a slow
        password hash would add nothing but time to every API request)."""
        return hashlib.sha256(key.encode()).hexdigest()
