"""Browser pages of the notifications app (the combined view, the inbox, …)."""

from django.urls import path

from notifications import views

urlpatterns = [
    path(
        "o/<slug:org>/krs/<int:kr_id>/alignment/",
        views.kr_alignment,
        name="kr-alignment",
    ),
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
