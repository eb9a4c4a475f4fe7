from django.contrib import admin

from hierarchy.models import (
    Cycle,
    Department,
    Dependency,
    Invitation,
    KeyResult,
    Membership,
    Objective,
    Organization,
)
from okrplan.lib.admin import ReadOnlyAdmin


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    can_delete = False
    readonly_fields = ["user", "role", "created_at"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    """Name and settings are editable: the model's validators hold the allowed ranges."""

    list_display = ["name", "slug", "created_at"]
    search_fields = ["name", "slug"]
    readonly_fields = ["slug", "created_at"]
    inlines = [MembershipInline]

    def has_add_permission(self, request):
        return False  # created through the app, which makes its first admin

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Membership)
class MembershipAdmin(ReadOnlyAdmin):
    list_display = ["user", "organization", "role", "created_at"]
    list_filter = ["role", "organization"]
    search_fields = ["user__username"]
    list_select_related = ["user", "organization"]


@admin.register(Invitation)
class InvitationAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "organization", "role", "status", "invited_by", "expires_at"]
    list_filter = ["status", "organization"]
    search_fields = ["username", "email"]
    list_select_related = ["organization", "invited_by"]
    exclude = ["token"]  # the link's secret: not for the admin's screen


@admin.register(Department)
class DepartmentAdmin(ReadOnlyAdmin):
    list_display = ["name", "organization", "lead", "parent"]
    list_filter = ["organization"]
    search_fields = ["name"]
    list_select_related = ["organization", "lead", "parent"]


@admin.register(Cycle)
class CycleAdmin(ReadOnlyAdmin):
    list_display = ["name", "organization", "start", "end", "granularity"]
    list_filter = ["organization", "granularity"]


@admin.register(Objective)
class ObjectiveAdmin(ReadOnlyAdmin):
    list_display = ["title", "organization", "cycle", "owner"]
    list_filter = ["organization"]
    search_fields = ["title"]
    list_select_related = ["organization", "cycle", "owner"]


@admin.register(KeyResult)
class KeyResultAdmin(ReadOnlyAdmin):
    list_display = ["title", "organization", "owner", "department", "aggregation", "parent"]
    list_filter = ["organization", "aggregation", "metric_kind", "cross_functional"]
    search_fields = ["title"]
    list_select_related = ["organization", "owner", "department", "parent"]


@admin.register(Dependency)
class DependencyAdmin(ReadOnlyAdmin):
    list_display = ["upstream", "downstream", "organization", "expected_value", "expected_by"]
    list_filter = ["organization"]
    list_select_related = ["organization", "upstream", "downstream"]
