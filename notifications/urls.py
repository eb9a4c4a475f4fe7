"""Browser pages of the notifications app (the combined view, the inbox, …)."""

from django.urls import path

from notifications import views

urlpatterns = [
    path(
        "o/<slug:org>/krs/<int:kr_id>/alignment/",
        views.kr_alignment,
        name="kr-alignment",
    ),
    path(
        "o/<slug:org>/krs/<int:kr_id>/plan/preview/",
        views.plan_preview_page,
        name="plan-preview-page",
    ),
    path("o/<slug:org>/me/", views.my_home, name="my-home"),
    path("o/<slug:org>/steps/<int:step_id>/", views.step_page, name="step"),
    path("o/<slug:org>/notifications/", views.inbox, name="inbox"),
    path(
        "o/<slug:org>/notifications/<int:notification_id>/read/",
        views.inbox_read,
        name="inbox-read",
    ),
    path(
        "o/<slug:org>/notifications/read-all/",
        views.inbox_read_all,
        name="inbox-read-all",
    ),
]
