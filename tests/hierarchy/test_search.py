"""The search selector (hierarchy/search.py), on SQLite and PostgreSQL: case-insensitive
matching through the organization's scope, LIKE's wildcards taken literally, and what
PostgreSQL cannot compare (a NUL) never reaching it."""

from decimal import Decimal

import pytest
from django.db import connection

from hierarchy.models import Department
from hierarchy.scope import scope_resolve
from hierarchy.search import SEARCH_MAX_TERMS, search_list, search_terms
from hierarchy.search_views import SearchForm
from okrplan.lib.text import one_line
from tests.planning import make_kr


def _found(world, query: str, user=None) -> dict[str, list[str]]:
    scope = scope_resolve(user=user or world.viewer, slug=world.org.slug)
    results = search_list(scope=scope, query=query)
    return {
        kind.key: [row.get("title") or row.get("name") for row in kind.rows]
        for kind in results.kinds
    }


def test_it_matches_every_word_in_any_case(planning, world):
    found = _found(world, "SALES pipeLINE")
    assert found["krs"] == ["Sales outbound pipeline"]
    assert found["departments"] == []  # "Sales" has no "pipeline"
    assert _found(world, "sales")["departments"] == ["Sales"]


def test_it_reads_only_the_callers_organization(planning, world):
    Department.objects.create(organization=world.other_org, name="Sales ops", lead=world.outsider)
    assert _found(world, "sales")["departments"] == ["Sales"]
    assert _found(world, "outsider")["people"] == []


def test_it_takes_likes_wildcards_literally(planning, world):
    make_kr(world, planning.objective, title="Win 100% of renewals", target=Decimal(1))
    assert _found(world, "100%")["krs"] == ["Win 100% of renewals"]
    assert _found(world, "%")["krs"] == ["Win 100% of renewals"]
    assert _found(world, "_")["krs"] == []


def test_a_nul_or_a_line_break_separates_words(planning, world):
    form = SearchForm({"q": "sales\x00pipeline"})
    assert not form.is_valid()  # the bare form refuses a NUL; the page's input has none:
    form = SearchForm({"q": one_line("sales\x00pipe\nline")})
    assert form.is_valid()
    assert search_terms(form.cleaned_data["q"]) == ["sales", "pipe", "line"]
    assert _found(world, form.cleaned_data["q"])["krs"] == ["Sales outbound pipeline"]


def test_it_counts_each_word_once_and_at_most_a_few(planning, world):
    assert search_terms("Pipeline pipeline PIPELINE sales") == ["Pipeline", "sales"]
    many = " ".join(f"w{n}" for n in range(SEARCH_MAX_TERMS * 3))
    assert len(search_terms(many)) == SEARCH_MAX_TERMS


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite's LIKE folds the case of ASCII only"
)
def test_it_folds_the_case_of_any_letter_on_postgresql(planning, world):
    make_kr(world, planning.objective, title="Öffnungszeiten in Århus", target=Decimal(1))
    assert _found(world, "öffnungszeiten århus")["krs"] == ["Öffnungszeiten in Århus"]
