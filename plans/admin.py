from django.contrib import admin

from okrplan.lib.admin import ReadOnlyAdmin
from plans.models import CheckIn, HistoryPoint, ImportBatch, Plan, PlanRevision


@admin.register(Plan)
class PlanAdmin(ReadOnlyAdmin):
    list_display = ["kr", "organization", "status", "shape", "version", "updated_at"]
    list_filter = ["organization", "status", "shape"]
    list_select_related = ["kr", "organization"]


@admin.register(PlanRevision)
class PlanRevisionAdmin(ReadOnlyAdmin):
    list_display = ["kr", "version", "cause", "is_modification", "actor", "created_at"]
    list_filter = ["organization", "cause", "is_modification"]
    list_select_related = ["kr", "actor"]


@admin.register(CheckIn)
class CheckInAdmin(ReadOnlyAdmin):
    list_display = ["kr", "period", "value", "author", "created_at"]
    list_filter = ["organization"]
    list_select_related = ["kr", "author"]


@admin.register(ImportBatch)
class ImportBatchAdmin(ReadOnlyAdmin):
    list_display = ["id", "organization", "filename", "rows", "uploaded_by", "created_at"]
    list_filter = ["organization"]


@admin.register(HistoryPoint)
class HistoryPointAdmin(ReadOnlyAdmin):
    list_display = ["kr", "period", "value", "batch"]
    list_filter = ["organization"]
    list_select_related = ["kr"]
