"""Browser pages of the plans app."""

from django.urls import path

from plans import views

urlpatterns = [
    path("o/<slug:org>/cycles/", views.cycle_list, name="cycles"),
    path("o/<slug:org>/cycles/<int:cycle_id>/", views.cycle_tree, name="cycle-tree"),
]
