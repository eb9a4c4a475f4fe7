"""The combined view, the plan preview and steps (API.md)."""

from django.core.exceptions import PermissionDenied
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from hierarchy.models import KeyResult
from hierarchy.permissions import close_require, notice_require, plan_require_edit
from hierarchy.scope import OrgApi
from notifications import selectors, services
from notifications.models import Answer, Downward, Notification, Round, Step, Upward
from notifications.rules import Rule
from notifications.selectors import AlignmentView, Preview
from okrplan.lib import strict
from okrplan.lib.api import paginated, query_flag
from okrplan.lib.errors import StaleVersion
from okrplan.lib.fields import NumberField
from okrplan.lib.numbers import fmt
from plans.alignment import Aggregate, Contribution
from plans.apis import PlanInputSerializer, planned_change
from plans.selectors import kr_get


class CheckSerializer(serializers.Serializer):
    code = serializers.CharField()
    severity = serializers.ChoiceField(choices=["info", "warning", "critical"])
    message = serializers.CharField()
    data = serializers.DictField()


class RoundStepSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    step = serializers.CharField()
    assignee = serializers.CharField()
    department = serializers.CharField(allow_null=True)
    due_at = serializers.DateTimeField()
    done_at = serializers.DateTimeField(allow_null=True)
    state = serializers.CharField()
    answer = serializers.CharField(help_text="no_change, modified, accept, decline or empty")
    note = serializers.CharField()


class RoundSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.IntegerField(help_text="1, 2, 3 … per shared KR")
    status = serializers.CharField()
    orphaned = serializers.BooleanField()
    started_at = serializers.DateTimeField()
    modified_kr = serializers.IntegerField()
    noticed_at = serializers.DateTimeField(allow_null=True)
    notice_message = serializers.CharField()
    closed_at = serializers.DateTimeField(allow_null=True)
    close_note = serializers.CharField()
    closed_target = serializers.CharField(allow_null=True)
    steps = RoundStepSerializer(many=True)


class AlignmentChildSerializer(serializers.Serializer):
    """One contribution of the combined view (API.md): named, so that its `id` can be
    followed (the schema's links) to the child KR's own operations."""

    id = serializers.IntegerField()
    title = serializers.CharField()
    department = serializers.IntegerField()
    department_name = serializers.CharField()
    owner = serializers.CharField()
    target = serializers.CharField()
    unit = serializers.CharField(help_text="the contribution's own: its target and values")
    values = serializers.ListField(child=serializers.CharField())
    plan_status = serializers.CharField()
    centroid = serializers.CharField(allow_null=True)
    # sequential children
    stage = serializers.IntegerField(required=False, allow_null=True)
    implied_target = serializers.CharField(required=False, allow_null=True)
    ratio = serializers.CharField(required=False, allow_null=True)
    historical_ratio = serializers.CharField(required=False, allow_null=True)
    # parallel children
    claimed_impact = serializers.CharField(required=False, allow_null=True)

    def to_representation(self, child: Contribution) -> dict:
        out = {
            "id": child.id,
            "title": child.title,
            "department": child.department,
            "department_name": child.department_name,
            "owner": child.owner,
            "target": fmt(child.target),
            "unit": child.unit,
            "values": [fmt(v) for v in child.values],
            "plan_status": child.plan_status,
            "centroid": fmt(child.centroid),
        }
        aggregation = self.context["aggregation"]
        if aggregation == "sequential":
            out.update(
                stage=child.stage,
                implied_target=fmt(child.implied_target),
                ratio=fmt(child.ratio),
                historical_ratio=fmt(child.historical_ratio),
            )
        if aggregation == "parallel":
            out["claimed_impact"] = fmt(child.claimed_impact)
        return out


def aggregate_data(aggregate: Aggregate) -> dict:
    """The shared figures, only those the KR's aggregation has (API.md)."""
    out = {"values": [fmt(v) for v in aggregate.values], "total": fmt(aggregate.total)}
    if aggregate.implied_output is not None:
        out["implied_output"] = fmt(aggregate.implied_output)
    if aggregate.gap is not None:
        out.update(gap=fmt(aggregate.gap), gap_pct=fmt(aggregate.gap_pct, 2))
    if aggregate.raw_claim is not None:
        out.update(
            raw_claim=fmt(aggregate.raw_claim),
            discounted_claim=fmt(aggregate.discounted_claim),
            needed=fmt(aggregate.needed),
        )
    return out


def _round_data(r: Round) -> dict:
    return {
        "id": r.pk,
        "number": r.number,
        "status": r.status,
        "orphaned": r.orphaned,
        "started_at": r.started_at,
        "modified_kr": r.modified_kr_id,
        "noticed_at": r.noticed_at,
        "notice_message": r.notice_message,
        "closed_at": r.closed_at,
        "close_note": r.close_note,
        "closed_target": fmt(r.closed_target),
        "steps": [
            {
                "id": s.pk,
                "step": s.kind,
                "assignee": s.assignee.username,
                "department": s.department.name if s.department else None,
                "due_at": s.due_at,
                "done_at": s.done_at,
                "state": s.state,
                "answer": s.answer,
                "note": s.note,
            }
            for s in r.steps.all()
        ],
    }


class AlignmentSerializer(serializers.Serializer):
    kr = serializers.DictField()
    periods = serializers.ListField(child=serializers.DictField())
    children = AlignmentChildSerializer(many=True)
    aggregate = serializers.DictField()
    baseline = serializers.CharField(allow_null=True)
    checks = CheckSerializer(many=True)
    rounds = RoundSerializer(many=True)

    def to_representation(self, view: AlignmentView) -> dict:
        """The figures written once, here (`fmt`); datetimes as the JSON renderer
        writes them."""
        kr, inputs, alignment = view.kr, view.inputs, view.alignment
        children = AlignmentChildSerializer(
            alignment.children, many=True, context={"aggregation": kr.aggregation}
        )
        return {
            "kr": {
                "id": kr.pk,
                "title": kr.title,
                "owner": kr.owner.username,
                "target": fmt(inputs.target),
                "start_value": fmt(inputs.start_value),
                "unit": kr.unit,
                "metric_kind": kr.metric_kind,
                "aggregation": kr.aggregation,
                "cross_functional": kr.cross_functional,
                "plan_status": kr.plan.status,
            },
            "periods": [
                {"index": p.index, "label": p.label, "start": p.start, "end": p.end}
                for p in view.periods
            ],
            "children": children.data,
            "aggregate": aggregate_data(alignment.aggregate),
            "baseline": fmt(inputs.baseline),
            "checks": [
                {"code": c.code, "severity": c.severity, "message": c.message, "data": c.data}
                for c in alignment.checks
            ],
            "rounds": [_round_data(r) for r in view.rounds],
        }


class NotifiedSerializer(serializers.Serializer):
    username = serializers.CharField()
    kind = serializers.CharField()
    reason = serializers.CharField()


class PreviewSerializer(AlignmentSerializer):
    would_notify = NotifiedSerializer(many=True)
    before = serializers.DictField()
    requires_rationale = serializers.BooleanField()

    def to_representation(self, preview: Preview) -> dict:
        before = aggregate_data(preview.before.aggregate)
        return {
            **super().to_representation(preview),
            "would_notify": preview.would_notify,
            "before": {
                "total": fmt(preview.before.total),
                "gap": before.get("gap"),
                "gap_pct": before.get("gap_pct"),
                "checks": [c.code for c in preview.before.checks],
            },
            "requires_rationale": preview.requires_rationale,
        }


def kr_for_view(api: OrgApi, kr_id) -> KeyResult:
    return kr_get(org=api.scope.org, id=kr_id)


class AlignmentApi(OrgApi):
    @extend_schema(responses={200: AlignmentSerializer})
    def get(self, request, org, kr_id):
        kr = kr_for_view(self, kr_id)
        return Response(
            AlignmentSerializer(selectors.alignment_view(org=self.scope.org, kr=kr)).data
        )


class PlanPreviewApi(OrgApi):
    """What a plan change would do to the shared KR, before it is saved: nothing written."""

    @extend_schema(request=PlanInputSerializer, responses={200: PreviewSerializer})
    def post(self, request, org, kr_id):
        kr = kr_for_view(self, kr_id)
        plan_require_edit(self.scope, kr)
        data = PlanInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        data = data.validated_data
        if data["version"] != kr.plan.version:
            raise StaleVersion(kr.plan.version)
        change = planned_change(kr, data)
        preview = selectors.plan_preview_of(
            org=self.scope.org, kr=kr, values=change.values, actor_id=request.user.pk
        )
        return Response(PreviewSerializer(preview).data)


class StepOutputSerializer(serializers.ModelSerializer):
    assignee = serializers.CharField(source="assignee.username")
    kr_title = serializers.CharField(source="kr.title")
    proposed_target = NumberField(allow_null=True)
    proposed_values = serializers.ListField(
        child=serializers.CharField(), allow_null=True, source="proposed_json"
    )

    class Meta:
        model = Step
        fields = [
            "id",
            "round",
            "kind",
            "kr",
            "kr_title",
            "source_kr",
            "department",
            "assignee",
            "due_at",
            "state",
            "answer",
            "note",
            "proposed_target",
            "proposed_values",
            "period",
            "created_at",
            "done_at",
        ]


class StepListApi(OrgApi):
    @extend_schema(
        parameters=[
            OpenApiParameter("mine", bool, description="only steps assigned to me"),
            OpenApiParameter("open", bool, description="only steps still open"),
        ],
        responses={200: StepOutputSerializer(many=True)},
    )
    def get(self, request, org):
        steps = selectors.steps_for(
            org=self.scope.org,
            user=request.user if query_flag(request, "mine") else None,
            open_only=query_flag(request, "open"),
        )
        return paginated(self, steps, StepOutputSerializer)


class StepAnswerApi(OrgApi):
    class InputSerializer(strict.InputSerializer):
        answer = serializers.ChoiceField(choices=Answer.choices)
        note = strict.TextField(required=False, allow_blank=True, max_length=4000)

    @extend_schema(request=InputSerializer, responses={200: StepOutputSerializer})
    def post(self, request, org, step_id):
        step = self.scope.get(Step.objects.select_related("assignee", "kr"), step_id)
        self.scope.require_writer()
        if step.assignee_id != request.user.pk:
            raise PermissionDenied("Only the person this step is assigned to may answer it.")
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        step = services.step_answer(step=step, actor=request.user, **data.validated_data)
        step = self.scope.get(Step.objects.select_related("assignee", "kr"), step.pk)
        return Response(StepOutputSerializer(step).data)


# --- Rounds -------------------------------------------------------------------


def round_get(api: OrgApi, round_id) -> Round:
    return api.scope.get(Round.objects.select_related("parent_kr"), round_id)


class RoundOutputSerializer(serializers.ModelSerializer):
    parent_kr = serializers.IntegerField(source="parent_kr_id")
    modified_kr = serializers.IntegerField(source="modified_kr_id")
    closed_target = NumberField(allow_null=True)

    class Meta:
        model = Round
        fields = [
            "id",
            "number",
            "parent_kr",
            "modified_kr",
            "status",
            "orphaned",
            "started_at",
            "noticed_at",
            "notice_message",
            "closed_at",
            "close_note",
            "closed_target",
        ]


class RoundNoticeApi(OrgApi):
    class InputSerializer(strict.InputSerializer):
        message = strict.TextField(max_length=8000)
        department_messages = serializers.DictField(
            child=strict.TextField(max_length=4000, allow_blank=True),
            required=False,
            help_text="optional: department id → a line for that department only",
        )

    @extend_schema(request=InputSerializer, responses={200: RoundOutputSerializer})
    def post(self, request, org, round_id):
        round = round_get(self, round_id)
        notice_require(self.scope, round.parent_kr)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        round = services.round_notice(round=round, actor=request.user, **data.validated_data)
        return Response(RoundOutputSerializer(round).data)


class RoundCloseApi(OrgApi):
    class InputSerializer(strict.InputSerializer):
        note = strict.TextField(max_length=8000)
        target = NumberField(required=False)

    @extend_schema(request=InputSerializer, responses={200: RoundOutputSerializer})
    def post(self, request, org, round_id):
        round = round_get(self, round_id)
        close_require(self.scope, round.parent_kr)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        round = services.round_close(round=round, actor=request.user, **data.validated_data)
        return Response(RoundOutputSerializer(round).data)


class RoundDetailApi(OrgApi):
    @extend_schema(responses={200: RoundOutputSerializer})
    def get(self, request, org, round_id):
        return Response(RoundOutputSerializer(round_get(self, round_id)).data)


# --- Notifications ------------------------------------------------------------


class NotificationOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Notification
        fields = ["id", "kind", "kr", "round", "step", "message", "created_at", "read_at"]


class NotificationListApi(OrgApi):
    @extend_schema(
        parameters=[OpenApiParameter("unread", bool, description="only unread notifications")],
        responses={200: NotificationOutputSerializer(many=True)},
    )
    def get(self, request, org):
        # a reminder folded into a newer one about the same step: that one stands for it
        notifications = self.scope.queryset(Notification).filter(
            user=request.user, grouped_into__isnull=True
        )
        if query_flag(request, "unread"):
            notifications = notifications.filter(read_at__isnull=True)
        return paginated(
            self, notifications.order_by("-created_at", "-id"), NotificationOutputSerializer
        )


class NotificationCountApi(OrgApi):
    @extend_schema(
        responses={200: inline_serializer("UnreadCount", {"unread": serializers.IntegerField()})}
    )
    def get(self, request, org):
        unread = (
            self.scope.queryset(Notification)
            .filter(user=request.user, read_at__isnull=True)
            .count()
        )
        return Response({"unread": unread})


class NotificationReadApi(OrgApi):
    @extend_schema(request=None, responses={200: NotificationOutputSerializer})
    def post(self, request, org, notification_id):
        notification = self.scope.get(
            Notification.objects.filter(user=request.user), notification_id
        )
        notification = services.notification_mark_read(notification=notification)
        return Response(NotificationOutputSerializer(notification).data)


class NotificationReadAllApi(OrgApi):
    @extend_schema(
        request=None,
        responses={200: inline_serializer("MarkedRead", {"marked": serializers.IntegerField()})},
    )
    def post(self, request, org):
        marked = services.notifications_mark_all_read(
            organization_id=self.scope.org.pk, user=request.user
        )
        return Response({"marked": marked})


# --- Propagation rules --------------------------------------------------------


class RuleSerializer(strict.InputSerializer):
    upward = serializers.ChoiceField(choices=Upward.choices)
    threshold_pct = NumberField(required=False)
    downward = serializers.ChoiceField(choices=Downward.choices)
    inherited = serializers.BooleanField(read_only=True)
    # the threshold's range is `rule_set`'s (the page's form calls it too)


def rule_render(rule: Rule, inherited: bool) -> dict:
    return {
        "upward": rule.upward,
        "threshold_pct": fmt(rule.threshold_pct),
        "downward": rule.downward,
        "inherited": inherited,
    }


class PropagationRuleApi(OrgApi):
    """The organization's default rule."""

    @extend_schema(responses={200: RuleSerializer})
    def get(self, request, org):
        rule = selectors.rule_default(org=self.scope.org)
        return Response(rule_render(rule, inherited=False))

    @extend_schema(request=RuleSerializer, responses={200: RuleSerializer})
    def put(self, request, org):
        self.scope.require_admin()
        data = RuleSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        rule = services.rule_set(org=self.scope.org, kr=None, **data.validated_data)
        return Response(rule_render(rule, inherited=False))


class KrPropagationRuleApi(OrgApi):
    """A KR's override; without one, the organization's default (`inherited`)."""

    @extend_schema(responses={200: RuleSerializer})
    def get(self, request, org, kr_id):
        kr = self.scope.get(KeyResult, kr_id)
        rule, inherited = selectors.rule_for_kr(org=self.scope.org, kr=kr)
        return Response(rule_render(rule, inherited=inherited))

    @extend_schema(request=RuleSerializer, responses={200: RuleSerializer})
    def put(self, request, org, kr_id):
        kr = self.scope.get(KeyResult, kr_id)
        self.scope.require_admin()
        data = RuleSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        rule = services.rule_set(org=self.scope.org, kr=kr, **data.validated_data)
        return Response(rule_render(rule, inherited=False))

    @extend_schema(responses={200: RuleSerializer})
    def delete(self, request, org, kr_id):
        kr = self.scope.get(KeyResult, kr_id)
        self.scope.require_admin()
        services.rule_clear(org=self.scope.org, kr=kr)
        rule, inherited = selectors.rule_for_kr(org=self.scope.org, kr=kr)
        return Response(rule_render(rule, inherited=inherited))


# --- History: plan revisions and round events -----------------------------------


class HistoryEntrySerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["revision", "round_event"])
    id = serializers.IntegerField()
    at = serializers.DateTimeField()
    actor = serializers.CharField(allow_null=True)
    message = serializers.CharField()
    round = serializers.IntegerField(allow_null=True)
    round_number = serializers.IntegerField(allow_null=True, help_text="1, 2, 3 … per shared KR")
    event = serializers.CharField(allow_null=True, help_text="round events: what happened")
    version = serializers.IntegerField(allow_null=True)
    cause = serializers.CharField(allow_null=True)
    shape = serializers.CharField(allow_null=True)
    rationale = serializers.CharField(allow_null=True)
    is_modification = serializers.BooleanField(allow_null=True)
    before_values = serializers.ListField(child=serializers.CharField(), allow_null=True)
    after_values = serializers.ListField(child=serializers.CharField(), allow_null=True)
    before_target = NumberField(allow_null=True)
    after_target = NumberField(allow_null=True)


class KrHistoryApi(OrgApi):
    @extend_schema(responses={200: HistoryEntrySerializer(many=True)})
    def get(self, request, org, kr_id):
        kr = self.scope.get(KeyResult, kr_id)
        entries = selectors.kr_history(org=self.scope.org, kr=kr)
        return paginated(self, entries, HistoryEntrySerializer)
