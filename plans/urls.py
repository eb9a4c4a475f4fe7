"""Browser pages of the plans app."""

from django.urls import path

from plans import tree_views, views

urlpatterns = [
    path("o/<slug:org>/cycles/", views.cycle_list, name="cycles"),
    path("o/<slug:org>/cycles/<int:cycle_id>/", views.cycle_tree, name="cycle-tree"),
    path("o/<slug:org>/krs/<int:kr_id>/plan/", views.plan_editor, name="plan-editor"),
    path("o/<slug:org>/krs/<int:kr_id>/checkins/", views.kr_checkin, name="kr-checkin"),
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
