"""The pages' navigation: breadcrumbs, and links to pages that may not exist.

`{% crumb label "url-name" arg … %}` is one breadcrumb after the organization's (which
base.html writes first, in the one `<nav class="crumbs">` of every organization page):
a link to that page, or, without a url name, the current page. A page lists its crumbs
in `{% block crumbs %}`.

`{% url_or_none "url-name" arg … as name %}` is the address, or None when no such page
is routed: an empty state links to a page another part of the app provides (the KR's
structure, the organization's creation) only once it exists.
"""

from django import template
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html

register = template.Library()

_SEPARATOR = ' <span aria-hidden="true">\u203a</span> '  # a right-pointing angle quote


@register.simple_tag
def crumb(label, url_name: str = "", *args, anchor: str = "") -> str:
    if not url_name:
        return format_html(_SEPARATOR + '<span aria-current="page">{}</span>', label)
    url = reverse(url_name, args=args) + (f"#{anchor}" if anchor else "")
    return format_html(_SEPARATOR + '<a href="{}">{}</a>', url, label)


@register.simple_tag
def url_or_none(url_name: str, *args) -> str | None:
    try:
        return reverse(url_name, args=args)
    except NoReverseMatch:
        return None
