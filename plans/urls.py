"""Browser pages of the plans app."""

from django.urls import path

from plans import import_views, structure_views, tree_views, views

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
    # A KR's structure: its contributions, how they combine, its dependencies
    # (plans/structure_views.py). The contribution routes name the contribution.
    path(
        "o/<slug:org>/krs/<int:kr_id>/structure/",
        structure_views.kr_structure,
        name="kr-structure",
    ),
    path(
        "o/<slug:org>/krs/<int:kr_id>/structure/aggregation/",
        structure_views.kr_aggregation,
        name="kr-aggregation",
    ),
    path(
        "o/<slug:org>/krs/<int:kr_id>/structure/contributions/",
        structure_views.kr_contribution_add,
        name="kr-contribution-add",
    ),
    path(
        "o/<slug:org>/krs/<int:kr_id>/structure/dependencies/",
        structure_views.kr_dependency_add,
        name="kr-dependency-add",
    ),
    path(
        "o/<slug:org>/krs/<int:kr_id>/structure/dependencies/<int:dependency_id>/remove/",
        structure_views.kr_dependency_remove,
        name="kr-dependency-remove",
    ),
    path(
        "o/<slug:org>/krs/<int:kr_id>/contribution/",
        structure_views.kr_contribution_update,
        name="kr-contribution-update",
    ),
    path(
        "o/<slug:org>/krs/<int:kr_id>/contribution/move/",
        structure_views.kr_stage_move,
        name="kr-stage-move",
    ),
    path(
        "o/<slug:org>/krs/<int:kr_id>/contribution/remove/",
        structure_views.kr_contribution_remove,
        name="kr-contribution-remove",
    ),
    path("o/<slug:org>/imports/", import_views.history_import_page, name="history-import"),
    # Writing objectives and KRs in the cycle tree (plans/tree_views.py)
    path(
        "o/<slug:org>/cycles/<int:cycle_id>/objectives/new/",
        tree_views.objective_create,
        name="objective-create",
    ),
    path(
        "o/<slug:org>/objectives/<int:objective_id>/edit/",
        tree_views.objective_edit,
        name="objective-edit",
    ),
    path(
        "o/<slug:org>/objectives/<int:objective_id>/move/",
        tree_views.objective_move,
        name="objective-move",
    ),
    path(
        "o/<slug:org>/objectives/<int:objective_id>/archive/",
        tree_views.objective_archive,
        name="objective-archive",
    ),
    path(
        "o/<slug:org>/objectives/<int:objective_id>/restore/",
        tree_views.objective_restore,
        name="objective-restore",
    ),
    path(
        "o/<slug:org>/objectives/<int:objective_id>/krs/new/",
        tree_views.kr_create,
        name="kr-create",
    ),
    path("o/<slug:org>/krs/<int:kr_id>/edit/", tree_views.kr_edit, name="kr-edit"),
    path("o/<slug:org>/krs/<int:kr_id>/move/", tree_views.kr_move, name="kr-move"),
    path("o/<slug:org>/krs/<int:kr_id>/archive/", tree_views.kr_archive, name="kr-archive"),
    path("o/<slug:org>/krs/<int:kr_id>/restore/", tree_views.kr_restore, name="kr-restore"),
]
