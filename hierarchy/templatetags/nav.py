"""The pages' navigation: breadcrumbs.

`{% crumb label "url-name" arg … %}` is one breadcrumb after the organization's (which
base.html writes first, in the one `<nav class="crumbs">` of every organization page):
a link to that page, or, without a url name, the current page. A page lists its crumbs
in `{% block crumbs %}`.
"""

from django import template
from django.urls import reverse
from django.utils.html import format_html

register = template.Library()

_SEPARATOR = ' <span aria-hidden="true">\u203a</span> '  # a right-pointing angle quote


@register.simple_tag
def crumb(label, url_name: str = "", *args, anchor: str = "") -> str:
    if not url_name:
        return format_html(_SEPARATOR + '<span aria-current="page">{}</span>', label)
    url = reverse(url_name, args=args) + (f"#{anchor}" if anchor else "")
    return format_html(_SEPARATOR + '<a href="{}">{}</a>', url, label)
