"""The import API: operational history from a CSV file (SPEC.md §7, API.md)."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from hierarchy.scope import OrgApi
from okrplan.lib import strict
from plans.imports import COLUMNS_HINT, MAX_BYTES, ImportRejected, history_import


class HistoryRatioSerializer(serializers.Serializer):
    kr = serializers.IntegerField()
    historical_ratio = serializers.DecimalField(max_digits=9, decimal_places=6)


class HistoryRatioSkippedSerializer(serializers.Serializer):
    kr = serializers.IntegerField()
    reason = serializers.CharField()


class HistoryRowErrorSerializer(serializers.Serializer):
    row = serializers.IntegerField(help_text="Row 1 is the header; 0 is the file as a whole.")
    message = serializers.CharField()


class HistoryImportApi(OrgApi):
    """Import operational history from a CSV file: the whole file or nothing."""

    parser_classes = [MultiPartParser]

    class InputSerializer(strict.InputSerializer):
        file = serializers.FileField(
            allow_empty_file=True,  # an empty file is reported like any bad file
            help_text=(
                f"CSV, UTF-8: a header row with the columns {COLUMNS_HINT}, then one row "
                "per key result and period (index from 0) or date (YYYY-MM-DD)."
            ),
        )

    class OutputSerializer(serializers.Serializer):
        batch = serializers.IntegerField()
        rows = serializers.IntegerField(help_text="Data rows imported (the header not counted).")
        krs = serializers.ListField(
            child=serializers.IntegerField(), help_text="Key results whose history was replaced."
        )
        ratios = HistoryRatioSerializer(
            many=True, help_text="Funnel stages whose historical ratio was updated."
        )
        skipped_ratios = HistoryRatioSkippedSerializer(
            many=True, help_text="Funnel stages whose ratio from history is not in (0, 1]."
        )

    class RejectedSerializer(serializers.Serializer):
        errors = HistoryRowErrorSerializer(
            many=True, required=False, help_text="Why the file was rejected, row by row."
        )
        file = serializers.ListField(
            child=serializers.CharField(), required=False, help_text="No file was sent."
        )

    @extend_schema(
        request={"multipart/form-data": InputSerializer},
        responses={
            201: OutputSerializer,
            400: OpenApiResponse(
                RejectedSerializer, description="The file was rejected; nothing was imported."
            ),
        },
    )
    def post(self, request, org):
        self.scope.require_writer()
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        try:
            result = history_import(
                org=self.scope.org,
                actor=self.scope.user,
                scope=self.scope,
                filename=upload.name or "",
                content=upload.read(MAX_BYTES + 1),  # one byte more tells "too large"
            )
        except ImportRejected as rejected:
            errors = [{"row": error.row, "message": error.message} for error in rejected.errors]
            return Response({"errors": errors}, status=400)
        body = {
            "batch": result.batch_id,
            "rows": result.rows,
            "krs": result.krs,
            "ratios": result.ratios,
            "skipped_ratios": result.skipped_ratios,
        }
        return Response(self.OutputSerializer(body).data, status=201)
