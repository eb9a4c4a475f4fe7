"""Browser pages of the notifications app (the combined view, the inbox, …)."""

from django.urls import path

from notifications import admin_views, report_views, views

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
    # Admin: propagation rules (admins only; see notifications/admin_views.py)
    path("o/<slug:org>/admin/rules/", admin_views.admin_rules, name="admin-rules"),
    path(
        "o/<slug:org>/admin/rules/krs/",
        admin_views.admin_rule_override,
        name="admin-rule-override",
    ),
    path(
        "o/<slug:org>/admin/rules/krs/<int:kr_id>/remove/",
        admin_views.admin_rule_override_remove,
        name="admin-rule-override-remove",
    ),
    # Everyone: the planning calendar and the quarterly review report
    path("o/<slug:org>/calendar/", report_views.planning_calendar, name="planning-calendar"),
    path(
        "o/<slug:org>/reports/quarterly/",
        report_views.quarterly_report,
        name="quarterly-report",
    ),
]
