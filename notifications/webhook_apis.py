"""Outgoing webhooks (API.md §Outgoing webhooks): an organization's admins add, change
and remove them and read their delivery log. Admins only: 403 for the other members,
404 for everyone outside the organization (the scope) and for another's ids."""

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.response import Response

from hierarchy.apis import responses
from hierarchy.scope import OrgApi
from notifications import webhooks
from notifications.models import Webhook, WebhookDelivery, WebhookEvent, WebhookFormat
from okrplan.lib import strict
from okrplan.lib.api import paginated
from okrplan.lib.forms import validated

EVENTS_SCHEMA = {
    "type": "array",
    "items": {"type": "string", "enum": WebhookEvent.values},
    "minItems": 1,
    "uniqueItems": True,
    "description": "The events POSTed to the webhook: " + ", ".join(WebhookEvent.values),
}


@extend_schema_field(EVENTS_SCHEMA)
class EventsField(serializers.Field):
    """A list of event names, refused as a whole with one message naming `events` (DRF's
    ListField answers per item, `{"events": {"0": [...]}}`)."""

    def to_internal_value(self, data):
        try:
            return webhooks.events_clean(data)
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.message_dict["events"]) from None

    def to_representation(self, value):
        return list(value)


URL_MESSAGES = {
    "required": "Give the receiver's URL (https://…).",
    "blank": "Give the receiver's URL (https://…).",
    "max_length": f"A URL has at most {webhooks.URL_MAX:,} characters.",
    "null": "Give the receiver's URL (https://…).",
}
FORMAT_MESSAGES = {
    "invalid_choice": "Choose json, slack or teams.",
    "null": "Choose json, slack or teams.",
}
EVENTS_MESSAGES = {
    "required": f"Choose at least one event: {', '.join(WebhookEvent.values)}.",
    "null": f"Choose at least one event: {', '.join(WebhookEvent.values)}.",
}


class WebhookOutputSerializer(serializers.ModelSerializer):
    """A webhook as its admins see it: never its secret."""

    events = EventsField()

    class Meta:
        model = Webhook
        fields = ["id", "url", "events", "format", "created_at"]


class WebhookCreatedSerializer(WebhookOutputSerializer):
    """A webhook just added, with its secret: the one time it is shown."""

    class Meta(WebhookOutputSerializer.Meta):
        fields = [*WebhookOutputSerializer.Meta.fields, "secret"]


class WebhookDeliveryOutputSerializer(serializers.ModelSerializer):
    """One event for the webhook: `id` is the X-Okrplan-Delivery header it is sent with."""

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "event",
            "status",
            "attempts",
            "last_status_code",
            "last_error",
            "created_at",
            "next_attempt_at",
            "delivered_at",
        ]

    def to_representation(self, instance):
        body = super().to_representation(instance)
        if instance.status != "pending":
            body["next_attempt_at"] = None  # delivered or failed: nothing is next
        return body


class WebhookListCreateApi(OrgApi):
    class InputSerializer(strict.InputSerializer):
        url = strict.TextField(max_length=webhooks.URL_MAX, error_messages=URL_MESSAGES)
        events = EventsField(error_messages=EVENTS_MESSAGES)
        format = serializers.ChoiceField(
            choices=WebhookFormat.choices,
            default=WebhookFormat.JSON,
            error_messages=FORMAT_MESSAGES,
        )

    @extend_schema(responses=responses({200: WebhookOutputSerializer(many=True)}, 401, 403, 404))
    def get(self, request, org):
        self.scope.require_admin()
        hooks = self.scope.queryset(Webhook).order_by("created_at", "id")
        return paginated(self, hooks, WebhookOutputSerializer)

    @extend_schema(
        request=InputSerializer,
        responses=responses({201: WebhookCreatedSerializer}, 400, 401, 403, 404),
        description="Adds a webhook: the events it takes are POSTed to `url`, signed with "
        "its `secret` (HMAC-SHA256 of the raw body, header `X-Okrplan-Signature: "
        "sha256=<hex>`). The secret is in this answer only. A `url` on a private, loopback "
        "or link-local network is refused (400) unless WEBHOOK_ALLOW_PRIVATE is on.",
    )
    def post(self, request, org):
        self.scope.require_admin()
        data = validated(self.InputSerializer(data=request.data))
        hook = webhooks.webhook_create(org=self.scope.org, actor=request.user, **data)
        return Response(WebhookCreatedSerializer(hook).data, status=status.HTTP_201_CREATED)


class WebhookDetailApi(OrgApi):
    class PatchSerializer(strict.InputSerializer):
        url = strict.TextField(
            max_length=webhooks.URL_MAX, required=False, error_messages=URL_MESSAGES
        )
        events = EventsField(required=False, error_messages=EVENTS_MESSAGES)
        format = serializers.ChoiceField(
            choices=WebhookFormat.choices, required=False, error_messages=FORMAT_MESSAGES
        )

    def _webhook(self, webhook_id) -> Webhook:
        self.scope.require_admin()
        return self.scope.get(Webhook, webhook_id)

    @extend_schema(responses=responses({200: WebhookOutputSerializer}, 401, 403, 404))
    def get(self, request, org, webhook_id):
        return Response(WebhookOutputSerializer(self._webhook(webhook_id)).data)

    @extend_schema(
        request=PatchSerializer,
        responses=responses({200: WebhookOutputSerializer}, 400, 401, 403, 404),
        description="Changes the URL, the events or the format. Deliveries not made yet go "
        "to the new URL with the bodies they were recorded with.",
    )
    def patch(self, request, org, webhook_id):
        hook = self._webhook(webhook_id)
        data = validated(self.PatchSerializer(data=request.data))
        hook = webhooks.webhook_update(webhook=hook, **data)
        return Response(WebhookOutputSerializer(hook).data)

    @extend_schema(
        responses=responses({204: None}, 401, 403, 404),
        description="Removes the webhook and its delivery log.",
    )
    def delete(self, request, org, webhook_id):
        webhooks.webhook_delete(webhook=self._webhook(webhook_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookDeliveryListApi(OrgApi):
    @extend_schema(
        responses=responses({200: WebhookDeliveryOutputSerializer(many=True)}, 401, 403, 404),
        description="The webhook's deliveries, newest first: `pending` (to be tried at "
        "`next_attempt_at`), `delivered` (a 2xx answer; never sent again) or `failed` "
        "(no 2xx by the last retry). `last_status_code` is null when the receiver did not "
        "answer (refused, unreachable, timed out: `last_error` says).",
    )
    def get(self, request, org, webhook_id):
        self.scope.require_admin()
        hook = self.scope.get(Webhook, webhook_id)
        deliveries = (
            self.scope.queryset(WebhookDelivery)
            .filter(webhook=hook)
            .defer("body")
            .order_by("-created_at", "-id")
        )
        return paginated(self, deliveries, WebhookDeliveryOutputSerializer)
