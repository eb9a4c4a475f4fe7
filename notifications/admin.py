from django.contrib import admin

from notifications.models import (
    Digest,
    Notification,
    PropagationRule,
    Round,
    RoundEvent,
    Step,
    Webhook,
    WebhookDelivery,
)
from okrplan.lib.admin import ReadOnlyAdmin


@admin.register(PropagationRule)
class PropagationRuleAdmin(ReadOnlyAdmin):
    list_display = ["organization", "kr", "upward", "threshold_pct", "downward"]
    list_filter = ["organization", "upward", "downward"]


class StepInline(admin.TabularInline):
    model = Step
    extra = 0
    can_delete = False
    fields = ["kind", "assignee", "due_at", "state", "answer", "done_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Round)
class RoundAdmin(ReadOnlyAdmin):
    list_display = ["id", "organization", "parent_kr", "modified_kr", "status", "orphaned"]
    list_filter = ["organization", "status", "orphaned"]
    list_select_related = ["organization", "parent_kr", "modified_kr"]
    inlines = [StepInline]


@admin.register(Step)
class StepAdmin(ReadOnlyAdmin):
    list_display = ["kind", "kr", "assignee", "due_at", "state"]
    list_filter = ["organization", "kind", "state"]
    list_select_related = ["kr", "assignee"]


@admin.register(RoundEvent)
class RoundEventAdmin(ReadOnlyAdmin):
    list_display = ["round", "kind", "at", "actor"]
    list_filter = ["organization", "kind"]


class EmailStateFilter(admin.SimpleListFilter):
    title = "e-mail"
    parameter_name = "email"

    def lookups(self, request, model_admin):
        return [("sent", "Sent"), ("pending", "Not sent yet"), ("failed", "Failed")]

    def queryset(self, request, queryset):
        if self.value() == "sent":
            return queryset.filter(emailed_at__isnull=False)
        if self.value() == "pending":
            return queryset.filter(emailed_at__isnull=True, email_failed_at__isnull=True)
        if self.value() == "failed":
            return queryset.filter(email_failed_at__isnull=False)
        return queryset


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    """Failed e-mail shows here with its reason (filter "e-mail: Failed")."""

    list_display = [
        "user",
        "kind",
        "organization",
        "created_at",
        "read_at",
        "emailed_at",
        "email_failed_at",
        "email_attempts",
        "email_error",
    ]
    list_filter = [EmailStateFilter, "organization", "kind"]
    list_select_related = ["user", "organization"]


@admin.register(Digest)
class DigestAdmin(ReadOnlyAdmin):
    """Daily digests: whose, which day, and how their e-mail went (filter "e-mail")."""

    list_display = [
        "user",
        "day",
        "notification_count",
        "created_at",
        "emailed_at",
        "email_failed_at",
        "email_attempts",
        "email_error",
    ]
    list_filter = [EmailStateFilter, "day"]
    list_select_related = ["user"]
    search_fields = ["user__username"]


@admin.register(Webhook)
class WebhookAdmin(ReadOnlyAdmin):
    """Never the secret: shown once, to the admin who added the webhook."""

    list_display = ["id", "organization", "format", "url", "created_at"]
    list_filter = ["organization", "format"]
    list_select_related = ["organization"]
    exclude = ["secret"]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "organization",
        "webhook",
        "event",
        "status",
        "attempts",
        "last_status_code",
        "last_error",
        "created_at",
        "delivered_at",
    ]
    list_filter = ["status", "organization", "event"]
    list_select_related = ["organization", "webhook"]
