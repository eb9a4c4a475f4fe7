"""Browser pages of the notifications app (the combined view, …)."""

from django.urls import path

from notifications import views

urlpatterns = [
    path(
        "o/<slug:org>/krs/<int:kr_id>/alignment/",
        views.kr_alignment,
        name="kr-alignment",
    ),
]
