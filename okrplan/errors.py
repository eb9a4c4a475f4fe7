"""What a request answers when something failed that no view handled (`handler500`).

A request that cannot reach the database (PostgreSQL restarting, a failover, the
connection limit reached) answers 503 with `Retry-After`, so that clients and load
balancers retry, instead of a 500 that says the request itself was wrong. The next
request connects again (`CONN_MAX_AGE` with `conn_health_checks`): no restart needed.
Anything else is a plain 500. Neither answer touches the database or the templates'
context processors (which read it).

Under /api/ every answer is JSON: `ApiErrorsMiddleware` turns the error pages Django
itself answers there (a 404 of an address no route matches, such as a malformed id,
a 400 of a bad Host, their DEBUG pages) into `{"detail": ...}` with the same status.
"""

import logging
import sys
from http import HTTPStatus

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse

log = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = 5

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title} · okrplan</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><main><h1>{title}</h1><p>{message}</p></main></body></html>
"""


def _answer(request, status: int, title: str, message: str) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": message}, status=status)
    page = _PAGE.format(title=title, message=message)
    return HttpResponse(page, status=status, content_type="text/html; charset=utf-8")


def server_error(request) -> HttpResponse:
    error = sys.exc_info()[1]
    if isinstance(error, OperationalError | InterfaceError):
        log.warning(
            "database unreachable: %s %s answered 503 (%s)", request.method, request.path, error
        )
        response = _answer(
            request,
            503,
            "Back in a moment",
            "okrplan cannot reach its database right now. Nothing was changed; "
            f"try again in {RETRY_AFTER_SECONDS} seconds.",
        )
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    return _answer(
        request,
        500,
        "Something went wrong",
        "This request failed on our side and nothing was changed. It has been logged.",
    )


_API_MESSAGES = {
    400: "This request is malformed and could not be read.",
    404: "Not found: no such address in the API (ids are whole numbers, see /api/schema/).",
    413: "This request is too large.",
}


class ApiErrorsMiddleware:
    """Client errors under /api/ answer JSON, whoever made them (issue 13 item 7)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        status = response.status_code
        if (
            request.path.startswith("/api/")
            and 400 <= status < 500
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            message = _API_MESSAGES.get(status) or f"{HTTPStatus(status).phrase}."
            answer = _answer(request, status, "", message)
            for header in ("Allow", "Retry-After", "WWW-Authenticate"):
                if header in response:
                    answer[header] = response[header]
            return answer
        return response
