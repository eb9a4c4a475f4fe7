from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import UserChangeForm

from hierarchy.models import (
    Cycle,
    Department,
    Dependency,
    Invitation,
    KeyResult,
    Membership,
    Objective,
    Organization,
    PersonalToken,
    Profile,
)
from okrplan.lib.admin import ReadOnlyAdmin
from okrplan.lib.text import USER_NAME_FIELDS, validate_one_line


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


@admin.register(Profile)
class ProfileAdmin(ReadOnlyAdmin):
    list_display = ["user", "time_zone", "notify_by", "updated_at"]
    list_filter = ["notify_by"]
    search_fields = ["user__username"]
    list_select_related = ["user"]


@admin.register(PersonalToken)
class PersonalTokenAdmin(ReadOnlyAdmin):
    list_display = ["name", "user", "prefix", "created_at", "last_used_at"]
    search_fields = ["user__username", "name", "prefix"]
    list_select_related = ["user"]
    exclude = ["key_hash"]  # the key's hash: not for the admin's screen


class OneLineNamesUserChangeForm(UserChangeForm):
    """People's first and last names are one line (issue 13): shown in e-mail and pages.
    auth.User's model fields are Django's, so the form carries the validator."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in USER_NAME_FIELDS:
            if name in self.fields:
                self.fields[name].validators.append(validate_one_line)


admin.site.unregister(get_user_model())


@admin.register(get_user_model())
class OneLineNamesUserAdmin(UserAdmin):
    form = OneLineNamesUserChangeForm
