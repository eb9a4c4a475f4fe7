"""The URLconf of a server started with OKRPLAN_BENCH_URLS=1: okrplan's, plus /bench/."""

from django.urls import include, path

from okrplan.urls import urlpatterns as okrplan_urlpatterns

urlpatterns = [path("bench/", include("bench.urls")), *okrplan_urlpatterns]
