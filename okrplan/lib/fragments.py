"""htmx fragments that need nothing of the page around them."""

from django.http import HttpResponse
from django.template.loader import render_to_string


def fragment_response(template_name: str, context: dict) -> HttpResponse:
    """Render a named fragment without the request's context processors.

    For fragments asked for as one types (the plan editor's totals and preview): they
    show no navigation, so the unread badge's two queries would be spent for nothing
    on every pause in typing. A fragment that shows the badge uses `render`."""
    return HttpResponse(render_to_string(template_name, context))
