"""The Accounts part of the API: register, token, organizations, members,
departments and organization settings."""

import django_filters
from django.contrib.auth import get_user_model
from django.db import models, transaction
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from hierarchy import selectors, services
from hierarchy.fields import MemberField, OrgRelatedField
from hierarchy.models import (
    Cycle,
    Department,
    Granularity,
    Invitation,
    InvitationStatus,
    Membership,
    Organization,
    Role,
)
from hierarchy.scope import OrgApi
from okrplan.lib import strict
from okrplan.lib.api import FlagFilter, paginated
from okrplan.lib.tenancy import system_view
from okrplan.lib.throttling import (
    LoginRateThrottle,
    LoginThrottled,
    RegisterRateThrottle,
    RegisterThrottled,
)

User = get_user_model()


# --- Accounts ---------------------------------------------------------------


def responses(ok: dict, *codes: int) -> dict:
    """`ok` and the error answers an operation gives (each a documented status)."""
    words = {
        400: "Bad input: `{field: [message]}` (or `{detail}`), nothing written.",
        401: "No credentials.",
        403: "A member who may not do this.",
        404: "Not found, or not in the caller's organizations (or not theirs).",
        429: "Too many attempts from this address: `Retry-After` says how many seconds.",
    }
    return {**ok, **{code: OpenApiResponse(description=words[code]) for code in codes}}


class RegisterApi(APIView):
    """A new account. Sign-ups are limited per client address (REGISTER_RATE)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [RegisterRateThrottle]

    class InputSerializer(strict.InputSerializer):
        username = strict.TextField(max_length=150)
        email = strict.EmailField()
        password = strict.TextField(max_length=128, trim_whitespace=False)
        invitation = strict.TextField(
            max_length=64,
            required=False,
            help_text="The token of an e-mailed invitation link: the invitation becomes "
            "the new account's, to accept or decline (GET /api/v1/invitations/).",
        )

        def validate_username(self, value):
            User.username_validator(value)
            return value

    class OutputSerializer(serializers.Serializer):
        username = serializers.CharField()
        token = serializers.CharField()

    def throttled(self, request, wait):
        raise RegisterThrottled(wait=LoginRateThrottle.seconds(wait))

    @extend_schema(
        request=InputSerializer, responses=responses({201: OutputSerializer}, 400, 429), auth=[]
    )
    @system_view  # an invitation's link is looked up across organizations, by its token
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        token = fields.pop("invitation", None)
        user, token = services.user_register(**fields, invitation_token=token)
        return Response({"username": user.username, "token": token}, status=201)


class TokenApi(APIView):
    """A user's token for their username and password; attempts are limited (LOGIN_RATE)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [LoginRateThrottle]

    class InputSerializer(strict.InputSerializer, AuthTokenSerializer):
        # DRF's, reading its username and password strictly
        username = strict.TextField(label="Username", write_only=True)
        password = strict.TextField(
            label="Password",
            style={"input_type": "password"},
            trim_whitespace=False,
            write_only=True,
        )

    class OutputSerializer(serializers.Serializer):
        token = serializers.CharField()

    def throttled(self, request, wait):
        raise LoginThrottled(wait=LoginRateThrottle.seconds(wait))

    @extend_schema(
        request=InputSerializer,
        responses={
            200: OutputSerializer,
            429: OpenApiResponse(
                description="Too many attempts for this username from this address: "
                "`Retry-After` says how many seconds to wait."
            ),
        },
        auth=[],
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        token, _ = Token.objects.get_or_create(user=data.validated_data["user"])
        return Response({"token": token.key})


# --- Organizations ----------------------------------------------------------


class OrganizationOutputSerializer(serializers.ModelSerializer):
    role = serializers.SerializerMethodField()

    class Meta:
        model = Organization
        fields = ["id", "name", "slug", "role", "created_at"]

    def get_role(self, org) -> str:
        return self.context["roles"].get(org.pk, "")


class OrganizationListCreateApi(APIView):
    class InputSerializer(strict.InputSerializer):
        name = strict.TextField(max_length=200)
        slug = strict.SlugField(max_length=50)

    # The caller's organizations, all of them: filtered by the caller here, not by the
    # row-level security of one organization (okrplan/lib/tenancy.py).
    @extend_schema(responses={200: OrganizationOutputSerializer(many=True)})
    @system_view
    def get(self, request):
        memberships = Membership.objects.filter(user=request.user)
        roles = dict(memberships.values_list("organization_id", "role"))
        orgs = Organization.objects.filter(pk__in=roles.keys()).order_by("name", "id")
        return paginated(self, orgs, OrganizationOutputSerializer, {"roles": roles})

    @extend_schema(request=InputSerializer, responses={201: OrganizationOutputSerializer})
    @system_view
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        org = services.organization_create(**data.validated_data, actor=request.user)
        body = OrganizationOutputSerializer(org, context={"roles": {org.pk: Role.ADMIN}}).data
        return Response(body, status=201)


class OrganizationDetailApi(OrgApi):
    @extend_schema(responses={200: OrganizationOutputSerializer})
    def get(self, request, org):
        roles = {self.scope.org.pk: self.scope.membership.role}
        return Response(OrganizationOutputSerializer(self.scope.org, context={"roles": roles}).data)


class SettingsSerializer(strict.InputModelSerializer):
    class Meta:
        model = Organization
        fields = list(Organization.SETTINGS_FIELDS)


class SettingsApi(OrgApi):
    @extend_schema(responses={200: SettingsSerializer})
    def get(self, request, org):
        return Response(SettingsSerializer(self.scope.org).data)

    @extend_schema(request=SettingsSerializer, responses={200: SettingsSerializer})
    def patch(self, request, org):
        self.scope.require_admin()
        data = SettingsSerializer(self.scope.org, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        updated = services.organization_settings_update(org=self.scope.org, **data.validated_data)
        return Response(SettingsSerializer(updated).data)


# --- Members ----------------------------------------------------------------


class MembershipOutputSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username")
    email = serializers.EmailField(source="user.email")
    name = serializers.SerializerMethodField()

    class Meta:
        model = Membership
        fields = ["id", "username", "email", "name", "role", "created_at"]

    def get_name(self, membership) -> str:
        return membership.user.get_full_name()


class MemberListCreateApi(OrgApi):
    class InputSerializer(strict.InputSerializer):
        username = strict.TextField(max_length=150)
        role = serializers.ChoiceField(choices=Role.choices)

    @extend_schema(responses={200: MembershipOutputSerializer(many=True)})
    def get(self, request, org):
        members = self.scope.queryset(Membership).select_related("user").order_by("user__username")
        return paginated(self, members, MembershipOutputSerializer)

    class InvitationOutputSerializer(serializers.ModelSerializer):
        """An invitation, not a member: nothing of the person until they accept."""

        status = serializers.CharField(source="state")

        class Meta:
            model = Invitation
            fields = ["id", "username", "role", "status", "expires_at"]

    @extend_schema(
        request=InputSerializer,
        responses=responses({201: InvitationOutputSerializer}, 400, 401, 403, 404),
        description="Invites the person named `username` (API.md §Invitations): a pending "
        "invitation, the same answer whether or not the name exists; they become a member "
        "when they accept. A current member: 400.",
    )
    def post(self, request, org):
        self.scope.require_admin()
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        invitation = services.invitation_create(
            org=self.scope.org, actor=request.user, **data.validated_data
        )
        return Response(self.InvitationOutputSerializer(invitation).data, status=201)


class MemberDetailApi(OrgApi):
    class InputSerializer(strict.InputSerializer):
        role = serializers.ChoiceField(choices=Role.choices)

    def _membership(self, member_id) -> Membership:
        return self.scope.get(Membership.objects.select_related("user"), member_id)

    @extend_schema(responses={200: MembershipOutputSerializer})
    def get(self, request, org, member_id):
        return Response(MembershipOutputSerializer(self._membership(member_id)).data)

    @extend_schema(request=InputSerializer, responses={200: MembershipOutputSerializer})
    def patch(self, request, org, member_id):
        membership = self._membership(member_id)
        self.scope.require_admin()
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        membership = services.membership_update(membership=membership, **data.validated_data)
        return Response(MembershipOutputSerializer(membership).data)

    @extend_schema(responses={204: None})
    def delete(self, request, org, member_id):
        membership = self._membership(member_id)
        self.scope.require_admin()
        services.membership_delete(membership=membership)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Invitations (API.md §Invitations) -------------------------------------------


class InvitationOutputSerializer(serializers.ModelSerializer):
    """What the organization sees of an invitation: what its admin typed, and the answer."""

    username = serializers.CharField(allow_null=True)
    email = serializers.CharField(allow_null=True)
    status = serializers.ChoiceField(
        source="state", choices=[s for s in InvitationStatus.values if s != "withdrawn"]
    )
    invited_by = serializers.CharField(source="invited_by.username", allow_null=True)

    class Meta:
        model = Invitation
        fields = [
            "id",
            "username",
            "email",
            "role",
            "status",
            "invited_by",
            "created_at",
            "expires_at",
            "answered_at",
        ]

    def to_representation(self, instance):
        body = super().to_representation(instance)
        return {**body, "username": body["username"] or None, "email": body["email"] or None}


def invitations_of_org(scope) -> models.QuerySet:
    """The organization's invitations an admin sees: all but the withdrawn ones."""
    return (
        scope.queryset(Invitation)
        .exclude(status=InvitationStatus.WITHDRAWN)
        .select_related("invited_by")
        .order_by("-created_at", "-id")
    )


class InvitationListCreateApi(OrgApi):
    class InputSerializer(strict.InputSerializer):
        email = strict.EmailField(max_length=254)
        role = serializers.ChoiceField(choices=Role.choices)

    @extend_schema(responses=responses({200: InvitationOutputSerializer(many=True)}, 401, 403, 404))
    def get(self, request, org):
        self.scope.require_admin()
        return paginated(self, invitations_of_org(self.scope), InvitationOutputSerializer)

    @extend_schema(
        request=InputSerializer,
        responses=responses({201: InvitationOutputSerializer}, 400, 401, 403, 404),
        description="Invites an e-mail address: an e-mail with a link goes out; someone who "
        "signs up through the link joins on accepting.",
    )
    def post(self, request, org):
        self.scope.require_admin()
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        invitation = services.invitation_create(
            org=self.scope.org, actor=request.user, **data.validated_data
        )
        return Response(InvitationOutputSerializer(invitation).data, status=201)


class InvitationDetailApi(OrgApi):
    @extend_schema(
        responses=responses({204: None}, 400, 401, 403, 404),
        description="Withdraws a pending invitation (400 for one answered or expired).",
    )
    def delete(self, request, org, invitation_id):
        invitation = self.scope.get(invitations_of_org(self.scope), invitation_id)
        self.scope.require_admin()
        services.invitation_withdraw(invitation=invitation)
        return Response(status=status.HTTP_204_NO_CONTENT)


class InvitationOrganizationSerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()


class MyInvitationOutputSerializer(serializers.ModelSerializer):
    """One of the caller's invitations, as the invitee sees it."""

    organization = InvitationOrganizationSerializer()
    invited_by = serializers.CharField(source="invited_by.username", allow_null=True)

    class Meta:
        model = Invitation
        fields = ["id", "organization", "role", "invited_by", "expires_at"]


class MyInvitationListApi(APIView):
    """The caller's pending invitations, from every organization."""

    @extend_schema(responses=responses({200: MyInvitationOutputSerializer(many=True)}, 401))
    @system_view  # across organizations: filtered by the caller (hierarchy/selectors.py)
    def get(self, request):
        invitations = selectors.invitation_pending_queryset(user=request.user)
        return paginated(self, invitations, MyInvitationOutputSerializer)


class InvitationAnswerOutputSerializer(serializers.Serializer):
    organization = InvitationOrganizationSerializer()
    role = serializers.CharField()
    status = serializers.CharField()


class _InvitationAnswerApi(APIView):
    accept: bool

    @system_view  # the invitee is not a member of the organization (yet)
    def post(self, request, invitation_id):
        invitation = selectors.invitation_of_invitee(user=request.user, invitation_id=invitation_id)
        invitation = services.invitation_answer(
            invitation=invitation, user=request.user, accept=self.accept
        )
        org = invitation.organization
        body = {
            "organization": {"slug": org.slug, "name": org.name},
            "role": invitation.role,
            "status": invitation.status,
        }
        return Response(body)


class InvitationAcceptApi(_InvitationAnswerApi):
    accept = True

    @extend_schema(
        request=None,
        responses=responses({200: InvitationAnswerOutputSerializer}, 400, 401, 404),
        description="The invitee accepts: the membership exists from now on. 400 for an "
        "invitation answered, withdrawn or expired already.",
    )
    def post(self, request, invitation_id):
        return super().post(request, invitation_id)


class InvitationDeclineApi(_InvitationAnswerApi):
    accept = False

    @extend_schema(
        request=None,
        responses=responses({200: InvitationAnswerOutputSerializer}, 400, 401, 404),
        description="The invitee declines.",
    )
    def post(self, request, invitation_id):
        return super().post(request, invitation_id)


# --- Departments ------------------------------------------------------------


class DepartmentOutputSerializer(serializers.ModelSerializer):
    lead = serializers.CharField(source="lead.username")

    class Meta:
        model = Department
        fields = ["id", "name", "lead", "parent", "archived_at"]
        extra_kwargs = {
            "archived_at": {"help_text": "When it was archived; null while it is in use."}
        }


class DepartmentInputSerializer(strict.InputSerializer):
    name = strict.TextField(max_length=200)
    lead = MemberField()
    parent = OrgRelatedField(Department, allow_null=True, required=False)


class DepartmentPatchInputSerializer(DepartmentInputSerializer):
    archived = serializers.BooleanField(
        required=False,
        help_text="true archives it (out of the lists that pick a department; what it has "
        "stays readable), false restores it.",
    )


ARCHIVED_PARAMETER = OpenApiParameter(
    "archived",
    bool,
    description="true: only the archived ones; false: only those in use; absent: all",
)


class ArchivedFilter(django_filters.FilterSet):
    archived = FlagFilter(field_name="archived_at", lookup_expr="isnull", exclude=True)


def archived_filtered(queryset, request):
    """`queryset` filtered by the query's `archived` flag (400 naming it when unreadable)."""
    filters = ArchivedFilter(request.GET, queryset=queryset)
    if not filters.is_valid():
        raise ValidationError(filters.errors)
    return filters.qs


def set_archived(obj, archived: bool | None, *, archive, restore):
    """PATCH's `archived`: `archive(obj)` or `restore(obj)` when it changes what `obj`
    is (the same answer when it is so already)."""
    if archived is None or archived == (obj.archived_at is not None):
        return obj
    return archive(obj) if archived else restore(obj)


class DepartmentListCreateApi(OrgApi):
    @extend_schema(
        parameters=[ARCHIVED_PARAMETER],
        responses={200: DepartmentOutputSerializer(many=True)},
    )
    def get(self, request, org):
        departments = self.scope.queryset(Department).select_related("lead").order_by("name")
        return paginated(self, archived_filtered(departments, request), DepartmentOutputSerializer)

    @extend_schema(request=DepartmentInputSerializer, responses={201: DepartmentOutputSerializer})
    def post(self, request, org):
        self.scope.require_admin()
        data = DepartmentInputSerializer(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        department = services.department_create(org=self.scope.org, **data.validated_data)
        return Response(DepartmentOutputSerializer(department).data, status=201)


class DepartmentDetailApi(OrgApi):
    def _department(self, department_id) -> Department:
        return self.scope.get(Department.objects.select_related("lead"), department_id)

    @extend_schema(responses={200: DepartmentOutputSerializer})
    def get(self, request, org, department_id):
        return Response(DepartmentOutputSerializer(self._department(department_id)).data)

    @extend_schema(
        request=DepartmentPatchInputSerializer, responses={200: DepartmentOutputSerializer}
    )
    def patch(self, request, org, department_id):
        department = self._department(department_id)
        self.scope.require_admin()
        data = DepartmentPatchInputSerializer(
            data=request.data, partial=True, context=self.get_serializer_context()
        )
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        archived = fields.pop("archived", None)
        with transaction.atomic():
            if fields:
                department = services.department_update(department=department, **fields)
            department = set_archived(
                department,
                archived,
                archive=lambda d: services.department_archive(department=d),
                restore=lambda d: services.department_restore(department=d),
            )
        return Response(DepartmentOutputSerializer(department).data)

    @extend_schema(
        responses={204: None},
        description="Deletes an empty department: one with sub-departments, key results or "
        "objectives is refused (400; archive it instead).",
    )
    def delete(self, request, org, department_id):
        department = self._department(department_id)
        self.scope.require_admin()
        services.department_delete(department=department)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Cycles -----------------------------------------------------------------


class PeriodSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    start = serializers.DateField()
    end = serializers.DateField()
    label = serializers.CharField()


class CycleOutputSerializer(serializers.ModelSerializer):
    periods = PeriodSerializer(many=True, read_only=True)

    class Meta:
        model = Cycle
        fields = [
            "id",
            "name",
            "start",
            "end",
            "granularity",
            "refine_start",
            "refine_end",
            "alignment_meeting",
            "midcycle_check",
            "periods",
            "archived_at",
        ]
        extra_kwargs = {
            "archived_at": {"help_text": "When it was archived; null while it is in use."}
        }


class CycleWriteOutputSerializer(CycleOutputSerializer):
    """A cycle just created or changed, with what it overlaps (allowed, but said)."""

    warnings = serializers.SerializerMethodField(
        help_text="Non-blocking: the other cycles (not archived) this one overlaps."
    )

    class Meta(CycleOutputSerializer.Meta):
        fields = [*CycleOutputSerializer.Meta.fields, "warnings"]

    def get_warnings(self, cycle) -> list[str]:
        if cycle.archived_at is not None:
            return []
        return [
            cycle_overlap_warning(cycle, other)
            for other in selectors.cycle_overlapping(cycle=cycle)
        ]


def cycle_overlap_warning(cycle: Cycle, other: Cycle) -> str:
    """What the API and the admin page say of two cycles that overlap."""
    return (
        f"{cycle.name} overlaps {other.name} ({other.start} to {other.end}): both are open "
        "on the days they share; the current cycle on those days is the one that started "
        "last."
    )


class CycleInputSerializer(strict.InputSerializer):
    name = strict.TextField(max_length=100)
    start = serializers.DateField()
    end = serializers.DateField()
    granularity = serializers.ChoiceField(choices=Granularity.choices)
    refine_start = serializers.DateField(required=False, allow_null=True)
    refine_end = serializers.DateField(required=False, allow_null=True)
    alignment_meeting = serializers.DateField(required=False, allow_null=True)
    midcycle_check = serializers.DateField(required=False, allow_null=True)


class CyclePatchInputSerializer(CycleInputSerializer):
    archived = serializers.BooleanField(
        required=False,
        help_text="true archives it (out of the cycle lists by default, never current; what "
        "it has stays readable), false restores it.",
    )


class CycleListCreateApi(OrgApi):
    @extend_schema(
        parameters=[ARCHIVED_PARAMETER], responses={200: CycleOutputSerializer(many=True)}
    )
    def get(self, request, org):
        cycles = archived_filtered(self.scope.queryset(Cycle).order_by("-start"), request)
        return paginated(self, cycles, CycleOutputSerializer)

    @extend_schema(
        request=CycleInputSerializer,
        responses={201: CycleWriteOutputSerializer},
        description="An exact duplicate of another cycle's dates (same start and end) is "
        "refused (400 naming `start`); a cycle that only overlaps another is created, with "
        "`warnings` saying so.",
    )
    def post(self, request, org):
        self.scope.require_admin()
        data = CycleInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        cycle = services.cycle_create(org=self.scope.org, **data.validated_data)
        return Response(CycleWriteOutputSerializer(cycle).data, status=201)


class CycleDetailApi(OrgApi):
    @extend_schema(responses={200: CycleOutputSerializer})
    def get(self, request, org, cycle_id):
        return Response(CycleOutputSerializer(self.scope.get(Cycle, cycle_id)).data)

    @extend_schema(request=CyclePatchInputSerializer, responses={200: CycleWriteOutputSerializer})
    def patch(self, request, org, cycle_id):
        cycle = self.scope.get(Cycle, cycle_id)
        self.scope.require_admin()
        data = CyclePatchInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        archived = fields.pop("archived", None)
        for field in ("alignment_meeting", "midcycle_check"):
            if field in fields and fields[field] is None:
                fields.pop(field)
        with transaction.atomic():
            if fields:
                cycle = services.cycle_update(cycle=cycle, **fields)
            cycle = set_archived(
                cycle,
                archived,
                archive=lambda c: services.cycle_archive(cycle=c),
                restore=lambda c: services.cycle_restore(cycle=c),
            )
        return Response(CycleWriteOutputSerializer(cycle).data)

    @extend_schema(
        responses=responses({204: None}, 400, 401, 403, 404),
        description="Deletes an empty cycle: one with objectives is refused (400; archive "
        "it instead).",
    )
    def delete(self, request, org, cycle_id):
        cycle = self.scope.get(Cycle, cycle_id)
        self.scope.require_admin()
        services.cycle_delete(cycle=cycle)
        return Response(status=status.HTTP_204_NO_CONTENT)
