"""The URLconf with a stand-in for the KR structure page another part of issue 14 builds:
the cycle tree links to `kr-structure` only when it resolves."""

from django.http import HttpResponse
from django.urls import path

from okrplan.urls import urlpatterns as main

urlpatterns = [
    *main,
    path(
        "o/<slug:org>/krs/<int:kr_id>/structure/",
        lambda request, org, kr_id: HttpResponse("structure"),
        name="kr-structure",
    ),
]
