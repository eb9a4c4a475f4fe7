"""The Content-Security-Policy header on every response (settings.CONTENT_SECURITY_POLICY).

The pages load scripts and style sheets from our own static files only (htmx, Swagger UI
from drf-spectacular-sidecar), with no inline `<script>` or `<style>`. A few elements carry
a computed `style` attribute (a bar's width, a tree row's depth, a legend swatch's
colour): `style-src-attr 'unsafe-inline'` allows those and nothing else (an attribute
cannot run script; `<style>` elements stay restricted to our files).
"""

from django.conf import settings


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        policy = settings.CONTENT_SECURITY_POLICY
        # Django's technical error pages (DEBUG only) are made of inline styles and scripts.
        debug_page = settings.DEBUG and response.status_code in (404, 500)
        if policy and not debug_page:
            response.headers.setdefault("Content-Security-Policy", policy)
        return response
