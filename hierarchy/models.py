"""Who and what: organizations (tenants), their members and departments."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models


class Organization(models.Model):
    """The tenant. Its settings (tolerances, overlap factor, protocol hours) live here."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(
        max_length=50,
        unique=True,
        validators=[
            RegexValidator(
                r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$",
                "Use lower-case letters, digits and inner hyphens.",
            )
        ],
    )
    created_at = models.DateTimeField(auto_now_add=True)

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
        validators=[MinValueValidator(Decimal("0.000001")), MaxValueValidator(Decimal(8760))],
    )
    assess_hours = models.DecimalField(
        max_digits=12,
        decimal_places=6,
        default=Decimal("48"),
        validators=[MinValueValidator(Decimal("0.000001")), MaxValueValidator(Decimal(8760))],
    )
    close_hours = models.DecimalField(
        max_digits=12,
        decimal_places=6,
        default=Decimal("72"),
        validators=[MinValueValidator(Decimal("0.000001")), MaxValueValidator(Decimal(8760))],
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


class Department(TenantModel):
    name = models.CharField(max_length=200)
    lead = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="led_departments",
    )
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="department_unique_name"),
        ]

    def __str__(self):
        return self.name
