"""The Planning part of the API: objectives, key results, plans, check-ins,
dependencies and history. Each API parses input, calls one service, renders."""

from decimal import Decimal

import django_filters
from django.core.exceptions import ValidationError
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from hierarchy import services as hierarchy_services
from hierarchy.fields import MemberField, OrgRelatedField
from hierarchy.models import (
    Aggregation,
    Cycle,
    Department,
    Dependency,
    KeyResult,
    MetricKind,
    Objective,
)
from hierarchy.permissions import (
    kr_require_create,
    kr_require_edit,
    lock_require,
    objective_require_create,
    objective_require_edit,
    plan_require_edit,
    target_require_change,
)
from hierarchy.scope import OrgApi
from okrplan.lib import strict
from okrplan.lib.api import FlagFilter, IdFilter, paginated
from okrplan.lib.fields import NumberField, NumberListField
from plans import selectors, services
from plans.models import CheckIn, Plan, PlanStatus, Shape
from plans.shapes import centroid

# --- Key results ------------------------------------------------------------


class KrOutputSerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.username")
    target = NumberField()
    start_value = NumberField()
    weight = NumberField()
    historical_ratio = NumberField(allow_null=True)
    claimed_impact = NumberField(allow_null=True)
    status = serializers.SerializerMethodField()
    progress_pct = serializers.SerializerMethodField()
    plan_status = serializers.CharField(source="plan.status")
    plan_version = serializers.IntegerField(source="plan.version")

    class Meta:
        model = KeyResult
        fields = [
            "id",
            "objective",
            "cycle",
            "title",
            "owner",
            "department",
            "unit",
            "decimals",
            "metric_kind",
            "start_value",
            "target",
            "weight",
            "parent",
            "aggregation",
            "stage",
            "historical_ratio",
            "claimed_impact",
            "cross_functional",
            "status",
            "progress_pct",
            "plan_status",
            "plan_version",
            "position",
            "archived_at",
            "created_at",
        ]

    def _progress(self, kr):
        """The KR's progress, computed once for the whole page of a list (a shared KR's
        from its contributions: their rows and check-ins read once for all)."""
        cache = self.context.setdefault("_progress", {})
        if kr.pk not in cache:
            page = getattr(self.parent, "instance", None) if self.parent is not None else None
            krs = [k for k in page if k.pk not in cache] if page else [kr]
            if kr not in krs:
                krs.append(kr)
            cache.update(selectors.progress_map(organization_id=kr.organization_id, krs=krs))
        return cache[kr.pk]

    def get_status(self, kr) -> str:
        return self._progress(kr).status

    def get_progress_pct(self, kr) -> str | None:  # a decimal string, like every number
        value = self._progress(kr).progress_pct
        return None if value is None else format(value, "f")


class KrInputSerializer(strict.InputSerializer):
    objective = OrgRelatedField(Objective)
    title = strict.TextField(max_length=300)
    owner = MemberField()
    department = OrgRelatedField(Department)
    unit = strict.TextField(max_length=40)
    decimals = strict.IntegerField(min_value=0, max_value=6, required=False)
    metric_kind = serializers.ChoiceField(choices=MetricKind.choices)
    start_value = NumberField(required=False)
    target = NumberField()
    weight = NumberField(required=False)
    parent = OrgRelatedField(KeyResult, required=False, allow_null=True)
    aggregation = serializers.ChoiceField(choices=Aggregation.choices, required=False)
    stage = strict.IntegerField(min_value=1, max_value=50, required=False, allow_null=True)
    historical_ratio = NumberField(required=False, allow_null=True)
    claimed_impact = NumberField(required=False, allow_null=True)


class KrFilter(django_filters.FilterSet):
    cycle = IdFilter(field_name="cycle_id")
    parent = IdFilter(field_name="parent_id")
    department = IdFilter(field_name="department_id")
    objective = IdFilter(field_name="objective_id")
    owner = django_filters.CharFilter(field_name="owner__username")
    root = FlagFilter(field_name="parent", lookup_expr="isnull")

    class Meta:
        model = KeyResult
        fields = ["cycle", "parent", "department", "objective", "owner", "root"]


class StaleVersionSerializer(serializers.Serializer):
    """The 409 body (okrplan/lib/api.py): what happened, and the current version."""

    detail = serializers.CharField()
    version = serializers.IntegerField()


class KrListCreateApi(OrgApi):
    @extend_schema(
        parameters=[
            OpenApiParameter("cycle", int),
            OpenApiParameter("parent", int),
            OpenApiParameter("department", int),
            OpenApiParameter("objective", int),
            OpenApiParameter("owner", str, description="username"),
            OpenApiParameter("root", bool, description="only KRs without a parent"),
        ],
        responses={200: KrOutputSerializer(many=True)},
    )
    def get(self, request, org):
        filters = KrFilter(request.GET, queryset=selectors.kr_queryset(self.scope.org))
        if not filters.is_valid():
            raise ValidationError(filters.errors)
        return paginated(self, filters.qs.order_by("id"), KrOutputSerializer)

    @extend_schema(request=KrInputSerializer, responses={201: KrOutputSerializer})
    def post(self, request, org):
        self.scope.require_writer()
        data = KrInputSerializer(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        fields = {k: v for k, v in data.validated_data.items() if v is not None}
        kr_require_create(
            self.scope,
            department=fields["department"],
            owner_id=fields["owner"].pk,
            parent=fields.get("parent"),
        )
        kr = hierarchy_services.kr_create(org=self.scope.org, **fields)
        return Response(
            KrOutputSerializer(selectors.kr_get(org=self.scope.org, id=kr.pk)).data, status=201
        )


class KrDetailApi(OrgApi):
    class PatchSerializer(strict.InputSerializer):
        objective = OrgRelatedField(Objective, required=False)
        title = strict.TextField(max_length=300, required=False)
        owner = MemberField(required=False)
        department = OrgRelatedField(Department, required=False)
        unit = strict.TextField(max_length=40, required=False)
        # What the KR measures: changed while no plan is saved and no check-in recorded.
        decimals = strict.IntegerField(min_value=0, max_value=6, required=False)
        metric_kind = serializers.ChoiceField(choices=MetricKind.choices, required=False)
        start_value = NumberField(required=False)
        weight = NumberField(required=False)
        parent = OrgRelatedField(KeyResult, required=False, allow_null=True)
        aggregation = serializers.ChoiceField(choices=Aggregation.choices, required=False)
        stage = strict.IntegerField(min_value=1, max_value=50, required=False, allow_null=True)
        historical_ratio = NumberField(required=False, allow_null=True)
        claimed_impact = NumberField(required=False, allow_null=True)
        target = NumberField(required=False)
        rationale = strict.TextField(required=False, allow_blank=True, max_length=4000)
        version = strict.IntegerField(
            required=False,
            min_value=1,
            help_text="the `plan_version` the change was made from: 409 when the plan has "
            "changed since (whatever the PATCH changes)",
        )

    @extend_schema(responses={200: KrOutputSerializer})
    def get(self, request, org, kr_id):
        return Response(KrOutputSerializer(selectors.kr_get(org=self.scope.org, id=kr_id)).data)

    @extend_schema(
        request=PatchSerializer,
        responses={
            200: KrOutputSerializer,
            409: OpenApiResponse(
                StaleVersionSerializer,
                description="`version` is not the plan's current version (sent in the body).",
            ),
        },
    )
    def patch(self, request, org, kr_id):
        kr = selectors.kr_get(org=self.scope.org, id=kr_id)
        kr_require_edit(self.scope, kr)
        data = self.PatchSerializer(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        if "target" in fields:
            target_require_change(self.scope, kr)
        target = fields.pop("target", None)
        rationale = fields.pop("rationale", None)
        version = fields.pop("version", None)
        services.kr_change(
            kr=kr,
            actor=request.user,
            fields=fields,
            target=target,
            rationale=rationale,
            version=version,
        )
        return Response(KrOutputSerializer(selectors.kr_get(org=self.scope.org, id=kr_id)).data)

    @extend_schema(responses={204: None})
    def delete(self, request, org, kr_id):
        kr = selectors.kr_get(org=self.scope.org, id=kr_id)
        kr_require_edit(self.scope, kr)
        hierarchy_services.kr_delete(kr=kr)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Plans ------------------------------------------------------------------


# A plain serializer: a `ModelSerializer` builds its fields from the model again for
# every instance, and this one answers every plan save.
class PlanOutputSerializer(serializers.Serializer):
    kr = serializers.IntegerField(source="kr_id", read_only=True)
    values = NumberListField()
    target = NumberField(source="kr.target")
    total = serializers.SerializerMethodField()
    shape = serializers.ChoiceField(choices=Shape.choices, read_only=True)
    status = serializers.ChoiceField(choices=PlanStatus.choices, read_only=True)
    version = serializers.IntegerField(read_only=True)
    effective_values = NumberListField()
    centroid = serializers.SerializerMethodField()
    periods = serializers.SerializerMethodField()
    submitted_at = serializers.DateTimeField(read_only=True, allow_null=True)
    locked_at = serializers.DateTimeField(read_only=True, allow_null=True)

    def get_total(self, plan) -> str:
        return format(sum(plan.values, Decimal(0)), "f")

    def get_centroid(self, plan) -> str | None:
        value = centroid(plan.values)
        return None if value is None else format(value.quantize(Decimal("0.0001")), "f")

    def get_periods(self, plan) -> list[str]:
        return [p.label for p in plan.kr.cycle.periods]


class PlanInputSerializer(strict.InputSerializer):
    values = NumberListField(required=False)
    shape = serializers.ChoiceField(
        choices=[Shape.LINEAR, Shape.FRONT_LOADED, Shape.BACK_LOADED, Shape.HISTORY],
        required=False,
    )
    target = NumberField(required=False)
    version = strict.IntegerField(min_value=1)
    rationale = strict.TextField(required=False, allow_blank=True, max_length=4000)

    def validate(self, attrs):
        if "values" in attrs and "shape" in attrs:
            raise serializers.ValidationError(
                {"shape": ["Send either values or a shape with a target, not both."]}
            )
        if "values" not in attrs and "shape" not in attrs:
            raise serializers.ValidationError(
                {"values": ["Send the values (one per period), or a shape with a target."]}
            )
        if "shape" in attrs and "target" not in attrs:
            raise serializers.ValidationError({"target": ["A shape needs the target to reach."]})
        return attrs


def plan_get(api: OrgApi, kr_id) -> tuple[KeyResult, Plan]:
    kr = selectors.kr_get(org=api.scope.org, id=kr_id)
    return kr, kr.plan


def planned_change(kr: KeyResult, data: dict) -> services.PlannedChange:
    """The PUT's body (`{values}` or `{shape, target}`) as the change it saves: what the
    preview of the same body shows too (notifications.apis.PlanPreviewApi)."""
    if "values" in data:
        return services.planned_change(kr, values=data["values"])
    return services.planned_change(kr, shape=data["shape"], target=data["target"])


def plan_save(kr: KeyResult, data: dict, actor) -> Plan:
    return services.plan_save(
        kr=kr,
        change=planned_change(kr, data),
        version=data["version"],
        actor=actor,
        rationale=data.get("rationale"),
    )


class PlanApi(OrgApi):
    @extend_schema(responses={200: PlanOutputSerializer})
    def get(self, request, org, kr_id):
        _, plan = plan_get(self, kr_id)
        return Response(PlanOutputSerializer(plan).data)

    @extend_schema(request=PlanInputSerializer, responses={200: PlanOutputSerializer})
    def put(self, request, org, kr_id):
        kr, _ = plan_get(self, kr_id)
        plan_require_edit(self.scope, kr)
        data = PlanInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        plan = plan_save(kr, data.validated_data, request.user)
        # plan.kr is the row plan_update locked and wrote, its target the new one.
        return Response(PlanOutputSerializer(plan).data)


class PlanSubmitApi(OrgApi):
    @extend_schema(request=None, responses={200: PlanOutputSerializer})
    def post(self, request, org, kr_id):
        kr, _ = plan_get(self, kr_id)
        plan_require_edit(self.scope, kr)
        plan = services.plan_submit(kr=kr, actor=request.user)
        return Response(PlanOutputSerializer(plan).data)


class KrLockApi(OrgApi):
    @extend_schema(request=None, responses={200: PlanOutputSerializer})
    def post(self, request, org, kr_id):
        kr, _ = plan_get(self, kr_id)
        lock_require(self.scope, kr)
        plan = services.plan_lock(kr=kr, actor=request.user)
        return Response(PlanOutputSerializer(plan).data)


# --- Check-ins --------------------------------------------------------------


class CheckInOutputSerializer(serializers.ModelSerializer):
    author = serializers.CharField(source="author.username")
    value = NumberField()

    class Meta:
        model = CheckIn
        fields = ["id", "kr", "period", "value", "note", "author", "created_at"]


class CheckInListCreateApi(OrgApi):
    class InputSerializer(strict.InputSerializer):
        period = strict.IntegerField(min_value=0, max_value=1000)
        value = NumberField()
        note = strict.TextField(required=False, allow_blank=True, max_length=4000)

    @extend_schema(responses={200: CheckInOutputSerializer(many=True)})
    def get(self, request, org, kr_id):
        kr = self.scope.get(KeyResult, kr_id)
        checkins = (
            self.scope.queryset(CheckIn)
            .filter(kr=kr)
            .select_related("author")
            .order_by("period", "created_at", "id")
        )
        return paginated(self, checkins, CheckInOutputSerializer)

    @extend_schema(request=InputSerializer, responses={201: CheckInOutputSerializer})
    def post(self, request, org, kr_id):
        kr = self.scope.get(KeyResult.objects.select_related("cycle", "department"), kr_id)
        kr_require_edit(self.scope, kr)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        checkin = services.checkin_create(kr=kr, author=request.user, **data.validated_data)
        return Response(CheckInOutputSerializer(checkin).data, status=201)


# --- Objectives -------------------------------------------------------------


class ObjectiveOutputSerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.username")
    progress_pct = serializers.SerializerMethodField()
    key_results = serializers.SerializerMethodField()

    class Meta:
        model = Objective
        fields = [
            "id",
            "cycle",
            "title",
            "owner",
            "department",
            "progress_pct",
            "key_results",
            "position",
            "archived_at",
        ]

    def get_progress_pct(self, objective) -> str | None:
        # computed once for the whole page of a list (plans/selectors.py)
        cache = self.context.setdefault("_objective_progress", {})
        if objective.pk not in cache:
            page = getattr(self.parent, "instance", None) if self.parent is not None else None
            objectives = [o for o in page if o.pk not in cache] if page else []
            if objective not in objectives:
                objectives.append(objective)
            cache.update(selectors.objectives_progress(objectives))
        value = cache[objective.pk]
        return None if value is None else format(value, "f")

    def get_key_results(self, objective) -> list[int]:
        return [kr.pk for kr in objective.key_results.all()]


class ObjectiveInputSerializer(strict.InputSerializer):
    cycle = OrgRelatedField(Cycle)
    title = strict.TextField(max_length=300)
    owner = MemberField(required=False)
    department = OrgRelatedField(Department, required=False, allow_null=True)


class ObjectiveFilter(django_filters.FilterSet):
    cycle = IdFilter(field_name="cycle_id")

    class Meta:
        model = Objective
        fields = ["cycle"]


class ObjectiveListCreateApi(OrgApi):
    @extend_schema(
        parameters=[OpenApiParameter("cycle", int)],
        responses={200: ObjectiveOutputSerializer(many=True)},
    )
    def get(self, request, org):
        filters = ObjectiveFilter(
            request.GET, queryset=selectors.objective_queryset(self.scope.org)
        )
        if not filters.is_valid():
            raise ValidationError(filters.errors)
        return paginated(self, filters.qs.order_by("id"), ObjectiveOutputSerializer)

    @extend_schema(request=ObjectiveInputSerializer, responses={201: ObjectiveOutputSerializer})
    def post(self, request, org):
        objective_require_create(self.scope)
        data = ObjectiveInputSerializer(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        fields.setdefault("owner", request.user)
        objective = hierarchy_services.objective_create(org=self.scope.org, **fields)
        objective = self.scope.get(selectors.objective_queryset(self.scope.org), objective.pk)
        return Response(ObjectiveOutputSerializer(objective).data, status=201)


class ObjectiveDetailApi(OrgApi):
    class PatchSerializer(strict.InputSerializer):
        title = strict.TextField(max_length=300, required=False)
        owner = MemberField(required=False)
        department = OrgRelatedField(Department, required=False, allow_null=True)

    def _objective(self, objective_id) -> Objective:
        return self.scope.get(selectors.objective_queryset(self.scope.org), objective_id)

    @extend_schema(responses={200: ObjectiveOutputSerializer})
    def get(self, request, org, objective_id):
        return Response(ObjectiveOutputSerializer(self._objective(objective_id)).data)

    @extend_schema(request=PatchSerializer, responses={200: ObjectiveOutputSerializer})
    def patch(self, request, org, objective_id):
        objective = self._objective(objective_id)
        objective_require_edit(self.scope, objective)
        data = self.PatchSerializer(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        hierarchy_services.objective_update(objective=objective, **data.validated_data)
        return Response(ObjectiveOutputSerializer(self._objective(objective_id)).data)

    @extend_schema(responses={204: None})
    def delete(self, request, org, objective_id):
        objective = self._objective(objective_id)
        objective_require_edit(self.scope, objective)
        hierarchy_services.objective_delete(objective=objective)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Dependencies -----------------------------------------------------------


class DependencyOutputSerializer(serializers.ModelSerializer):
    expected_value = NumberField(allow_null=True)
    created_by = serializers.CharField(source="created_by.username", allow_null=True)
    upstream_planned_by = serializers.SerializerMethodField()
    expectation_holds = serializers.SerializerMethodField()

    class Meta:
        model = Dependency
        fields = [
            "id",
            "upstream",
            "downstream",
            "assumption",
            "expected_value",
            "expected_by",
            "upstream_planned_by",
            "expectation_holds",
            "created_by",
            "created_at",
        ]

    def get_upstream_planned_by(self, dependency) -> str | None:
        value = services.dependency_planned_by(dependency)
        return None if value is None else format(value, "f")

    def get_expectation_holds(self, dependency) -> bool | None:
        return services.dependency_holds(dependency)


class DependencyInputSerializer(strict.InputSerializer):
    upstream = OrgRelatedField(KeyResult)
    downstream = OrgRelatedField(KeyResult)
    assumption = strict.TextField(max_length=2000)
    expected_value = NumberField(required=False, allow_null=True)
    expected_by = serializers.DateField(required=False, allow_null=True)


def dependency_queryset(api: OrgApi):
    return api.scope.queryset(Dependency).select_related(
        "created_by", "upstream__plan", "upstream__cycle"
    )


class DependencyListCreateApi(OrgApi):
    @extend_schema(responses={200: DependencyOutputSerializer(many=True)})
    def get(self, request, org):
        return paginated(self, dependency_queryset(self).order_by("id"), DependencyOutputSerializer)

    @extend_schema(request=DependencyInputSerializer, responses={201: DependencyOutputSerializer})
    def post(self, request, org):
        self.scope.require_writer()
        data = DependencyInputSerializer(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        kr_require_edit(self.scope, data.validated_data["downstream"])
        dependency = hierarchy_services.dependency_create(
            org=self.scope.org, actor=request.user, **data.validated_data
        )
        dependency = self.scope.get(dependency_queryset(self), dependency.pk)
        return Response(DependencyOutputSerializer(dependency).data, status=201)


class DependencyDetailApi(OrgApi):
    @extend_schema(responses={200: DependencyOutputSerializer})
    def get(self, request, org, dependency_id):
        dependency = self.scope.get(dependency_queryset(self), dependency_id)
        return Response(DependencyOutputSerializer(dependency).data)

    @extend_schema(responses={204: None})
    def delete(self, request, org, dependency_id):
        dependency = self.scope.get(
            dependency_queryset(self).select_related("downstream__department"), dependency_id
        )
        kr_require_edit(self.scope, dependency.downstream)
        hierarchy_services.dependency_delete(dependency=dependency)
        return Response(status=status.HTTP_204_NO_CONTENT)
