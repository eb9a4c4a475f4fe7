"""The project's URLconf plus stand-ins for pages another part of the app provides (the
KR's structure, the organization's creation), for the tests of the empty states that link
to them once they exist (`url_or_none`). A name already routed keeps its real page."""

from django.http import HttpResponse
from django.urls import get_resolver, path

from okrplan.urls import urlpatterns as project


def _stand_in(request, **kwargs):
    return HttpResponse("stand-in")


STAND_INS = {
    "kr-structure": "o/<slug:org>/krs/<int:kr_id>/structure/",
    "org-create": "orgs/new/",
}
routed = get_resolver("okrplan.urls").reverse_dict
urlpatterns = [*project] + [
    path(route, _stand_in, name=name) for name, route in STAND_INS.items() if name not in routed
]
