"""The quarterly review report and the planning calendar feed (API.md)."""

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import renderers, serializers
from rest_framework.response import Response

from hierarchy.models import Cycle
from hierarchy.scope import OrgApi
from notifications import reports
from okrplan.lib import strict

CALENDAR_CONTENT_TYPE = "text/calendar; charset=utf-8"


# --- The quarterly review report ----------------------------------------------------


class ReportKrSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    owner = serializers.CharField()
    department = serializers.CharField()


class ReportModifiedKrSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    department = serializers.CharField()


class ReportStepSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    step = serializers.CharField(help_text="notify, assess or close")
    department = serializers.CharField(allow_null=True)
    assignee = serializers.CharField()
    due_at = serializers.DateTimeField()
    done_at = serializers.DateTimeField(allow_null=True, help_text="null unless done or declined")
    state = serializers.CharField()
    answer = serializers.CharField(allow_blank=True)
    duration_hours = serializers.CharField(
        allow_null=True, help_text="hours from the step's start to done_at, 2 decimals"
    )
    missed = serializers.BooleanField(help_text="not done by due_at")


class ReportRoundSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.IntegerField(help_text="1, 2, 3 … per shared KR")
    status = serializers.CharField()
    orphaned = serializers.BooleanField()
    started_at = serializers.DateTimeField()
    modified_kr = ReportModifiedKrSerializer()
    rationale = serializers.CharField(allow_null=True)
    noticed_at = serializers.DateTimeField(allow_null=True)
    closed_at = serializers.DateTimeField(allow_null=True)
    steps = ReportStepSerializer(many=True)
    notify_hours = serializers.CharField(allow_null=True, help_text="T0 to the impact notice")
    close_hours = serializers.CharField(allow_null=True, help_text="T0 to the close")
    missed = serializers.ListField(child=serializers.CharField(), help_text="missed step kinds")
    reminders = serializers.IntegerField()
    escalations = serializers.IntegerField()


class ReportSharedKrSerializer(serializers.Serializer):
    kr = ReportKrSerializer()
    rounds = ReportRoundSerializer(many=True)


class ReportCycleSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    start = serializers.DateField()
    end = serializers.DateField()


class ReportSummarySerializer(serializers.Serializer):
    rounds = serializers.IntegerField()
    closed = serializers.IntegerField()
    orphaned = serializers.IntegerField()
    missed_steps = serializers.IntegerField()
    median_notify_hours = serializers.CharField(allow_null=True)
    median_close_hours = serializers.CharField(allow_null=True)


class QuarterlyReportSerializer(serializers.Serializer):
    cycle = ReportCycleSerializer()
    krs = ReportSharedKrSerializer(many=True)
    summary = ReportSummarySerializer()


class QuarterlyReportApi(OrgApi):
    """Each round of each shared KR of a cycle: how long each step took, what was missed."""

    class FilterSerializer(strict.InputSerializer):
        cycle = strict.IntegerField(min_value=1, max_value=2**63 - 1)

    @extend_schema(
        parameters=[OpenApiParameter("cycle", int, required=True, description="the cycle's id")],
        responses={200: QuarterlyReportSerializer},
    )
    def get(self, request, org):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        cycle = self.scope.get(Cycle, filters.validated_data["cycle"])
        return Response(reports.quarterly_report(org=self.scope.org, cycle=cycle))


# --- The planning calendar ----------------------------------------------------------


class CalendarRenderer(renderers.BaseRenderer):
    """Lets content negotiation accept `text/calendar`; the feed itself is already bytes."""

    media_type = "text/calendar"
    format = "ics"
    charset = "utf-8"
    render_style = "binary"

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        return data if isinstance(data, bytes) else b""


class CalendarApi(OrgApi):
    """The organization's planning calendar: cycles, alignment meetings, mid-cycle
    checks and open deadlines, as iCalendar."""

    renderer_classes = [CalendarRenderer]

    @extend_schema(
        operation_id="v1_orgs_calendar_retrieve",
        responses={
            (200, "text/calendar"): OpenApiResponse(
                response=OpenApiTypes.STR, description="An iCalendar (RFC 5545) feed."
            )
        },
    )
    def get(self, request, org):
        body = reports.calendar_ics(org=self.scope.org, user=request.user)
        return HttpResponse(body, content_type=CALENDAR_CONTENT_TYPE)

    def finalize_response(self, request, response, *args, **kwargs):
        """Errors (401, 404, ...) are JSON like everywhere else, whatever was asked for."""
        if isinstance(response, Response) and response.status_code >= 400:
            request.accepted_renderer = renderers.JSONRenderer()
            request.accepted_media_type = request.accepted_renderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)
