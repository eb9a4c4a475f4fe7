"""Browser pages of the notifications app (the combined view, the inbox, …)."""

from django.urls import path

from notifications import (
    admin_views,
    agenda_views,
    alignment_views,
    dashboard_views,
    history_views,
    home_views,
    inbox_views,
    preview_views,
    report_views,
    step_views,
    webhook_views,
)

urlpatterns = [
    path(
        "o/<slug:org>/krs/<int:kr_id>/alignment/",
        alignment_views.kr_alignment,
        name="kr-alignment",
    ),
    path(
        "o/<slug:org>/krs/<int:kr_id>/alignment/export.<sheet:fmt>",
        alignment_views.kr_alignment_export,
        name="kr-alignment-export",
    ),
    # The parent owner's actions on the combined view (POST; htmx or plain forms).
    path("o/<slug:org>/krs/<int:kr_id>/lock/", alignment_views.kr_lock, name="kr-lock"),
    path("o/<slug:org>/krs/<int:kr_id>/target/", alignment_views.kr_target, name="kr-target"),
    path(
        "o/<slug:org>/rounds/<int:round_id>/notice/",
        alignment_views.round_notice,
        name="round-notice",
    ),
    path(
        "o/<slug:org>/rounds/<int:round_id>/close/", alignment_views.round_close, name="round-close"
    ),
    # The KR's records: its audit trail and its alignment meeting agenda.
    path("o/<slug:org>/krs/<int:kr_id>/history/", history_views.kr_history_page, name="kr-history"),
    path("o/<slug:org>/krs/<int:kr_id>/agenda/", agenda_views.kr_agenda, name="kr-agenda"),
    path(
        "o/<slug:org>/krs/<int:kr_id>/plan/preview/",
        preview_views.plan_preview_page,
        name="plan-preview-page",
    ),
    path("o/<slug:org>/me/", home_views.my_home, name="my-home"),
    path("o/<slug:org>/dashboard/", dashboard_views.org_dashboard, name="org-dashboard"),
    path("o/<slug:org>/steps/<int:step_id>/", step_views.step_page, name="step"),
    path("o/<slug:org>/notifications/", inbox_views.inbox, name="inbox"),
    path(
        "o/<slug:org>/notifications/<int:notification_id>/read/",
        inbox_views.inbox_read,
        name="inbox-read",
    ),
    path(
        "o/<slug:org>/notifications/read-all/",
        inbox_views.inbox_read_all,
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
    path(
        "o/<slug:org>/reports/quarterly/export.<sheet:fmt>",
        report_views.quarterly_report_export,
        name="quarterly-report-export",
    ),
    # Admin: outgoing webhooks (admins only; see notifications/webhook_views.py)
    path("o/<slug:org>/admin/webhooks/", webhook_views.admin_webhooks, name="admin-webhooks"),
    path(
        "o/<slug:org>/admin/webhooks/<int:webhook_id>/",
        webhook_views.admin_webhook,
        name="admin-webhook",
    ),
    path(
        "o/<slug:org>/admin/webhooks/<int:webhook_id>/delete/",
        webhook_views.admin_webhook_delete,
        name="admin-webhook-delete",
    ),
]
