"""Django admin helpers: the admin reads; the app writes, so the rules always apply."""

from django.contrib import admin


class ReadOnlyAdmin(admin.ModelAdmin):
    """Browse and search, never add, change or delete: writes go through the services,
    which validate, keep revisions and roll up."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
