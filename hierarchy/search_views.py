"""The search page of an organization (`/o/<org>/search/?q=`), which the top bar's
search box sends to: key results, objectives, people and departments, each a link to
where it is read."""

from django import forms
from django.shortcuts import render
from django.views.decorators.http import require_GET

from hierarchy.scope import Scope, org_view
from hierarchy.search import SEARCH_LIMIT, SEARCH_MAX_LENGTH, search_list
from okrplan.lib.forms import Form
from okrplan.lib.text import one_line


class SearchForm(Form):
    q = forms.CharField(
        label="Search key results, objectives, people and departments",
        required=False,
        max_length=SEARCH_MAX_LENGTH,
        error_messages={
            "max_length": f"Search for at most {SEARCH_MAX_LENGTH} characters: a word or "
            "two of a title or a name."
        },
    )

    @classmethod
    def of_request(cls, request) -> "SearchForm":
        # Line breaks, NUL and other control characters separate words, like spaces
        # (PostgreSQL cannot even compare a NUL: refusing it would be a 400 for nothing).
        return cls({"q": one_line(request.GET.get("q", ""))})


@org_view
@require_GET
def search(request, scope: Scope):
    form = SearchForm.of_request(request)
    results = search_list(scope=scope, query=form.cleaned_data["q"]) if form.is_valid() else None
    return render(
        request,
        "hierarchy/search.html",
        {
            "scope": scope,
            "org": scope.org,
            "form": form,
            "query": results.query if results else "",
            "results": results,
            "limit": SEARCH_LIMIT,
            "search_max_length": SEARCH_MAX_LENGTH,
        },
        status=200 if results is not None else 400,
    )
