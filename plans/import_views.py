"""The history import page (SPEC.md §7): upload a CSV or XLSX file, see what it gives and
every error with its row number, then commit it whole or not at all.

The same checks and the same service as the API's `POST imports/` (plans/imports.py):
`history_check` for the preview, `history_import` (which checks the file again) for the
commit; who may import is who may post there (any writer, each row's KR one they may
edit). Between the two steps the checked file travels in the page itself, signed
(docs/decisions.md, issue 14 item 5): nothing is kept on the server, and a file changed
on the way, or checked more than an hour ago, is refused.
"""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core import signing
from django.http import HttpResponseNotAllowed
from django.shortcuts import redirect, render

from hierarchy.models import KeyResult
from hierarchy.permissions import kr_can_edit
from hierarchy.scope import Scope, org_view
from okrplan.lib.forms import Form
from okrplan.lib.spreadsheets import UnreadableWorkbook, is_xlsx, xlsx_as_csv
from plans.checks import num
from plans.imports import (
    COLUMNS_HINT,
    MAX_BYTES,
    MAX_ROWS,
    ImportRejected,
    RowError,
    history_check,
    history_import,
)

SALT = "plans.history-import"
MAX_AGE = 60 * 60  # seconds a checked file may wait for its commit
ROWS_SHOWN = 500  # rows of the preview's table; the rest are counted
KRS_LISTED = 200  # key results (with their ids) listed to write a file for


def _payload_limit() -> int:
    """The signed file goes back in a form field, which Django limits to
    DATA_UPLOAD_MAX_MEMORY_SIZE (files aside): room is left for the other fields."""
    return (settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 4 * MAX_BYTES) - 64 * 1024


def _sign(scope: Scope, filename: str, content: bytes) -> str:
    data = {
        "org": scope.org.pk,
        "user": scope.user.pk,
        "name": filename,
        "csv": content.decode("utf-8"),  # the check passed: UTF-8 text
    }
    return signing.dumps(data, salt=SALT, compress=True)


class UploadForm(Form):
    """The check: a CSV or XLSX file; cleaned, its name and content as CSV (an XLSX
    workbook is read as CSV). An empty file is the checks' to refuse, with its rows'."""

    file = forms.FileField(
        allow_empty_file=True,
        error_messages={
            "required": "Choose a CSV or XLSX file to upload.",
            "invalid": "Choose a CSV or XLSX file to upload.",
            "missing": "Choose a CSV or XLSX file to upload.",
        },
    )

    def clean_file(self) -> tuple[str, bytes]:
        upload = self.cleaned_data["file"]
        content = upload.read(MAX_BYTES + 1)  # one byte more tells "too large"
        if is_xlsx(content) and len(content) <= MAX_BYTES:
            try:
                content = xlsx_as_csv(content, max_rows=MAX_ROWS)
            except UnreadableWorkbook as error:
                raise forms.ValidationError(str(error)) from None
        return upload.name or "", content


class CommitForm(Form):
    """The commit: the checked file as signed by the check (`_sign`), for this person in
    this organization, at most an hour ago; cleaned, its name and content."""

    payload = forms.CharField(required=False, strip=False)

    def __init__(self, *args, scope: Scope, **kwargs):
        super().__init__(*args, **kwargs)
        self.scope = scope

    def clean_payload(self) -> tuple[str, bytes]:
        try:
            data = signing.loads(self.cleaned_data["payload"], salt=SALT, max_age=MAX_AGE)
        except signing.SignatureExpired:
            raise forms.ValidationError(
                "This check is more than an hour old: upload the file again to check it anew."
            ) from None
        except signing.BadSignature:
            raise forms.ValidationError(
                "The checked file could not be verified (it was changed after the check): "
                "upload the file again."
            ) from None
        scope = self.scope
        if (
            not isinstance(data, dict)
            or data.get("org") != scope.org.pk
            or data.get("user") != scope.user.pk
        ):
            raise forms.ValidationError(
                "This check was made by someone else: upload the file yourself."
            )
        return str(data.get("name", "")), str(data.get("csv", "")).encode("utf-8")


def _form_messages(form: forms.Form) -> list[str]:
    return [message for messages_ in form.errors.values() for message in messages_]


def _editable_krs(scope: Scope) -> list[KeyResult]:
    """The key results the caller may import history for, newest cycle first (their ids
    are what the file's `kr` column names)."""
    krs = (
        scope.queryset(KeyResult)
        .select_related("cycle", "department")
        .order_by("-cycle__start", "cycle_id", "id")
    )
    found = []
    for kr in krs.iterator(chunk_size=500):
        if kr_can_edit(scope, kr):
            found.append(kr)
            if len(found) > KRS_LISTED:
                break
    return found


def _page(request, scope: Scope, *, status: int = 200, **context):
    editable = _editable_krs(scope)
    return render(
        request,
        "plans/history_import.html",
        {
            "scope": scope,
            "org": scope.org,
            "columns_hint": COLUMNS_HINT,
            "max_mb": MAX_BYTES // 1024 // 1024,
            "editable": editable[:KRS_LISTED],
            "editable_more": len(editable) > KRS_LISTED,
            **context,
        },
        status=status,
    )


def _preview(scope: Scope, filename: str, content: bytes) -> dict:
    """What the page shows of a checked file: its rows, its errors, and (when it has none)
    the signed file to commit."""
    checked = history_check(scope=scope, content=content)
    parsed, krs = checked.parsed, checked.krs
    errors = list(parsed.errors)
    rows = [
        {
            "row": line.row,
            "kr": krs[line.kr],
            "period": krs[line.kr].cycle.periods[line.period].label,
            "value": num(line.value),
        }
        for line in parsed.accepted[:ROWS_SHOWN]
    ]
    replaced = sorted({line.kr for line in parsed.accepted})
    payload = ""
    if not errors:
        payload = _sign(scope, filename, content)
        if len(payload) > _payload_limit():
            errors.append(
                RowError(
                    0,
                    "This file is too large to import from this page: split it into smaller "
                    "files, or send it to the API (POST imports/).",
                )
            )
            payload = ""
    return {
        "filename": filename,
        "data_rows": parsed.rows,
        "rows": rows,
        "rows_more": max(0, len(parsed.accepted) - ROWS_SHOWN),
        "errors": errors,
        "replaced": [krs[kr_id] for kr_id in replaced],
        "payload": payload,
    }


@org_view
def history_import_page(request, scope: Scope):
    """GET: the upload form. POST `check` (the default): the preview of the uploaded
    file, nothing written. POST `commit`: the checked file, imported whole or not at all
    (checked again), then back here (post/redirect/get)."""
    scope.require_writer()  # as the API: viewers read only
    if request.method == "GET":
        return _page(request, scope)
    if request.method != "POST":
        return HttpResponseNotAllowed(["GET", "POST"])
    if request.POST.get("action") == "commit":
        return _commit(request, scope)
    form = UploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return _page(request, scope, file_errors=_form_messages(form), status=400)
    filename, content = form.cleaned_data["file"]
    check = _preview(scope, filename, content)
    return _page(request, scope, check=check, status=400 if check["errors"] else 200)


def _commit(request, scope: Scope):
    form = CommitForm(request.POST, scope=scope)
    if not form.is_valid():
        return _page(request, scope, file_errors=_form_messages(form), status=400)
    filename, content = form.cleaned_data["payload"]
    try:
        result = history_import(
            org=scope.org, actor=request.user, scope=scope, filename=filename, content=content
        )
    except ImportRejected:
        # Something changed since the check (a KR, a permission): show the file anew.
        check = _preview(scope, filename, content)
        return _page(request, scope, check=check, committed_late=True, status=400)
    krs = len(result.krs)
    text = (
        f"Imported {result.rows:,} row{'s' if result.rows != 1 else ''} of “{filename}”: "
        f"the history of {krs} key result{'s' if krs != 1 else ''} was replaced."
    )
    if result.ratios:
        text += f" Historical ratios updated for {len(result.ratios)} funnel stage(s)."
    for skipped in result.skipped_ratios:
        text += f" Key result {skipped['kr']}: no ratio ({skipped['reason']})"
    messages.success(request, text)
    return redirect("history-import", scope.org.slug)
