from django.urls import path

from notifications import apis, webhook_apis

# Mounted at /api/v1/orgs/<slug:org>/.
urlpatterns = [
    path("krs/<int:kr_id>/history/", apis.KrHistoryApi.as_view(), name="api-kr-history"),
    path("krs/<int:kr_id>/alignment/", apis.AlignmentApi.as_view(), name="api-alignment"),
    path("krs/<int:kr_id>/plan/preview/", apis.PlanPreviewApi.as_view(), name="api-plan-preview"),
    path(
        "krs/<int:kr_id>/propagation-rule/",
        apis.KrPropagationRuleApi.as_view(),
        name="api-kr-propagation-rule",
    ),
    path("propagation-rules/", apis.PropagationRuleApi.as_view(), name="api-propagation-rules"),
    path("steps/", apis.StepListApi.as_view(), name="api-steps"),
    path("steps/<int:step_id>/answer/", apis.StepAnswerApi.as_view(), name="api-step-answer"),
    path("rounds/<int:round_id>/", apis.RoundDetailApi.as_view(), name="api-round"),
    path("rounds/<int:round_id>/notice/", apis.RoundNoticeApi.as_view(), name="api-round-notice"),
    path("rounds/<int:round_id>/close/", apis.RoundCloseApi.as_view(), name="api-round-close"),
    path("notifications/", apis.NotificationListApi.as_view(), name="api-notifications"),
    path(
        "notifications/unread-count/",
        apis.NotificationCountApi.as_view(),
        name="api-notifications-count",
    ),
    path(
        "notifications/read-all/",
        apis.NotificationReadAllApi.as_view(),
        name="api-notifications-read-all",
    ),
    path(
        "notifications/<int:notification_id>/read/",
        apis.NotificationReadApi.as_view(),
        name="api-notification-read",
    ),
    path("webhooks/", webhook_apis.WebhookListCreateApi.as_view(), name="api-webhooks"),
    path("webhooks/<int:webhook_id>/", webhook_apis.WebhookDetailApi.as_view(), name="api-webhook"),
    path(
        "webhooks/<int:webhook_id>/deliveries/",
        webhook_apis.WebhookDeliveryListApi.as_view(),
        name="api-webhook-deliveries",
    ),
]
