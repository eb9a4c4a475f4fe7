"""The benchmark's floors (`bench/floors.py`): included by `okrplan/urls.py` only when
`OKRPLAN_BENCH_URLS=1`, which nothing but `bench/http_load.py` sets."""

from django.urls import path

from bench import floors

urlpatterns = [
    path("orgs/<slug:org>/read/<int:kr_id>/", floors.FloorReadApi.as_view(), name="bench-read"),
    path("orgs/<slug:org>/write/<int:kr_id>/", floors.FloorWriteApi.as_view(), name="bench-write"),
    path("o/<slug:org>/page/<int:kr_id>/", floors.floor_page, name="bench-page"),
    path("o/<slug:org>/tree/<int:cycle_id>/", floors.floor_tree, name="bench-tree"),
]
