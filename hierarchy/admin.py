from django.contrib import admin

from hierarchy.models import Department, Membership, Organization


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ["user"]


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "created_at"]
    search_fields = ["name", "slug"]
    inlines = [MembershipInline]


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ["name", "organization", "lead", "parent"]
    list_filter = ["organization"]
    search_fields = ["name"]
    list_select_related = ["organization", "lead", "parent"]
    raw_id_fields = ["lead", "parent"]
