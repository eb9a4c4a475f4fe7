from django.urls import path

from notifications import report_apis

# Mounted at /api/v1/orgs/<slug:org>/.
urlpatterns = [
    path(
        "reports/quarterly/",
        report_apis.QuarterlyReportApi.as_view(),
        name="api-report-quarterly",
    ),
    path("calendar.ics", report_apis.CalendarApi.as_view(), name="api-calendar"),
]
