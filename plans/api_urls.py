from django.urls import path

from plans import apis
from plans.import_api import HistoryImportApi

# Mounted at /api/v1/orgs/<slug:org>/.
urlpatterns = [
    path("objectives/", apis.ObjectiveListCreateApi.as_view(), name="api-objectives"),
    path(
        "objectives/<int:objective_id>/",
        apis.ObjectiveDetailApi.as_view(),
        name="api-objective",
    ),
    path("krs/", apis.KrListCreateApi.as_view(), name="api-krs"),
    path("krs/<int:kr_id>/", apis.KrDetailApi.as_view(), name="api-kr"),
    path("krs/<int:kr_id>/plan/", apis.PlanApi.as_view(), name="api-plan"),
    path("krs/<int:kr_id>/plan/submit/", apis.PlanSubmitApi.as_view(), name="api-plan-submit"),
    path("krs/<int:kr_id>/lock/", apis.KrLockApi.as_view(), name="api-kr-lock"),
    path("krs/<int:kr_id>/checkins/", apis.CheckInListCreateApi.as_view(), name="api-checkins"),
    path("dependencies/", apis.DependencyListCreateApi.as_view(), name="api-dependencies"),
    path(
        "dependencies/<int:dependency_id>/",
        apis.DependencyDetailApi.as_view(),
        name="api-dependency",
    ),
    path("imports/", HistoryImportApi.as_view(), name="api-imports"),
]
