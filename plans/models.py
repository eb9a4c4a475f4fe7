"""Numbers over time: plans, their revisions, check-ins and imported history.

Plan values are kept as JSON lists of decimal strings (one per period of the
cycle), read and written through `Plan.values` / `Plan.effective` helpers that
speak `Decimal`.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models

from hierarchy.models import KeyResult, TenantModel, TenantQuerySet


def decimals_from_json(raw: list) -> list[Decimal]:
    return list(map(Decimal, raw))


def decimals_to_json(values: list[Decimal]) -> list[str]:
    return [format(value, "f") for value in values]


class Shape(models.TextChoices):
    UNPLANNED = "unplanned", "Not planned yet"
    LINEAR = "linear", "Linear"
    FRONT_LOADED = "front_loaded", "Front-loaded"
    BACK_LOADED = "back_loaded", "Back-loaded"
    HISTORY = "history", "From history"
    CUSTOM = "custom", "Custom"


class PlanStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Submitted"
    LOCKED = "locked", "Locked"


class Plan(TenantModel):
    """One per KR: a value per period. Saved only by `plans.services`."""

    kr = models.OneToOneField(KeyResult, on_delete=models.CASCADE, related_name="plan")
    values_json = models.JSONField(default=list)
    effective_json = models.JSONField(default=list)
    shape = models.CharField(max_length=12, choices=Shape.choices, default=Shape.UNPLANNED)
    status = models.CharField(max_length=10, choices=PlanStatus.choices, default=PlanStatus.DRAFT)
    version = models.PositiveIntegerField(default=1)
    # Taken at lock: the aggregate total the upward threshold is measured from, and for
    # a sequential stage its target then: the reference ratios are ratios of these,
    # computed unrounded, so a lock never moves a funnel's implied output.
    baseline = models.DecimalField(max_digits=24, decimal_places=6, null=True, blank=True)
    reference_target = models.DecimalField(max_digits=24, decimal_places=6, null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    locked_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "kr"], name="plan_unique_kr"),
        ]

    def __str__(self):
        return f"Plan of {self.kr_id} v{self.version}"

    @property
    def values(self) -> list[Decimal]:
        return decimals_from_json(self.values_json)

    @values.setter
    def values(self, values: list[Decimal]) -> None:
        self.values_json = decimals_to_json(values)

    @property
    def effective_values(self) -> list[Decimal]:
        return decimals_from_json(self.effective_json)

    @effective_values.setter
    def effective_values(self, values: list[Decimal]) -> None:
        self.effective_json = decimals_to_json(values)

    @property
    def is_locked(self) -> bool:
        return self.status == PlanStatus.LOCKED


class Cause(models.TextChoices):
    EDIT = "edit", "Edit"
    CASCADE = "cascade", "Cascade"
    IMPORT = "import", "Import"
    SHAPE = "shape", "Shape"


class ImmutableQuerySet(TenantQuerySet):
    """Rows that are written once: no bulk update or delete through the ORM."""

    def update(self, **kwargs):
        raise TypeError(f"{self.model.__name__} rows are never changed")

    def delete(self):
        raise TypeError(f"{self.model.__name__} rows are never deleted")


class PlanRevision(TenantModel):
    """Every change to a plan, kept for good: never edited, never deleted."""

    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="revisions")
    kr = models.ForeignKey(KeyResult, on_delete=models.PROTECT, related_name="revisions")
    version = models.PositiveIntegerField(help_text="The plan's version after this change.")
    before_values = models.JSONField()
    after_values = models.JSONField()
    before_target = models.DecimalField(max_digits=24, decimal_places=6)
    after_target = models.DecimalField(max_digits=24, decimal_places=6)
    shape = models.CharField(max_length=12, choices=Shape.choices)
    cause = models.CharField(max_length=8, choices=Cause.choices)
    rationale = models.TextField(blank=True, default="")
    is_modification = models.BooleanField(
        default=False, help_text="A change to a locked plan (rationale required)."
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ImmutableQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "plan", "version"], name="revision_unique_version"
            ),
        ]
        indexes = [models.Index(fields=["organization", "kr", "id"], name="revision_org_kr")]

    def __str__(self):
        return f"{self.kr_id} v{self.version} ({self.cause})"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise TypeError("Plan revisions are never edited")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("Plan revisions are never deleted")


class CheckIn(TenantModel):
    """An actual value for a period. The latest check-in of a period counts."""

    kr = models.ForeignKey(KeyResult, on_delete=models.PROTECT, related_name="checkins")
    period = models.PositiveSmallIntegerField()
    value = models.DecimalField(max_digits=24, decimal_places=6)
    note = models.TextField(blank=True, default="", max_length=4000)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="checkins"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["period", "created_at", "id"]
        indexes = [models.Index(fields=["organization", "kr", "period"], name="checkin_org_kr")]

    def __str__(self):
        return f"{self.kr_id} period {self.period}: {self.value}"


class ImportBatch(TenantModel):
    """One uploaded CSV of operational history, imported whole or not at all."""

    filename = models.CharField(max_length=255, blank=True, default="")
    rows = models.PositiveIntegerField()
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"Import {self.pk} ({self.rows} rows)"


class HistoryPoint(TenantModel):
    """Imported operational history of a KR for one period (rows of a period summed)."""

    kr = models.ForeignKey(KeyResult, on_delete=models.CASCADE, related_name="history")
    period = models.PositiveSmallIntegerField()
    value = models.DecimalField(max_digits=24, decimal_places=6)
    batch = models.ForeignKey(ImportBatch, on_delete=models.PROTECT, related_name="points")

    class Meta:
        ordering = ["kr_id", "period"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "kr", "period"], name="history_unique_period"
            ),
        ]

    def __str__(self):
        return f"{self.kr_id} period {self.period}: {self.value}"
