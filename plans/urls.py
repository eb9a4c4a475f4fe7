"""Browser pages of the plans app."""

from django.urls import path

from plans import views

urlpatterns = [
    path("o/<slug:org>/cycles/", views.cycle_list, name="cycles"),
    path("o/<slug:org>/cycles/<int:cycle_id>/", views.cycle_tree, name="cycle-tree"),
    path("o/<slug:org>/krs/<int:kr_id>/plan/", views.plan_editor, name="plan-editor"),
    path("o/<slug:org>/krs/<int:kr_id>/checkins/", views.kr_checkin, name="kr-checkin"),
]
