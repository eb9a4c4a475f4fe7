"""Browser pages of the plans app."""

from django.urls import path

from plans import import_views, views

urlpatterns = [
    path("o/<slug:org>/cycles/", views.cycle_list, name="cycles"),
    path("o/<slug:org>/cycles/<int:cycle_id>/", views.cycle_tree, name="cycle-tree"),
    path(
        "o/<slug:org>/cycles/<int:cycle_id>/export.<sheet:fmt>",
        views.cycle_tree_export,
        name="cycle-tree-export",
    ),
    path("o/<slug:org>/krs/<int:kr_id>/plan/", views.plan_editor, name="plan-editor"),
    path("o/<slug:org>/krs/<int:kr_id>/checkins/", views.kr_checkin, name="kr-checkin"),
    path("o/<slug:org>/imports/", import_views.history_import_page, name="history-import"),
]
