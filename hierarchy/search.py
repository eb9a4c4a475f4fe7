"""Search in one organization: its key results, objectives, people and departments.

One query per kind, through the organization's scope, whatever the number of matches:
each kind returns at most `SEARCH_LIMIT` rows (and says whether there are more). The
words of the query must each appear (case-insensitively, `icontains`: the same on
SQLite and PostgreSQL, no full-text index; docs/decisions.md) in a title or a name; a
person matches by username, first or last name, each word in any of them.
"""

from dataclasses import dataclass, field

from django.db.models import Exists, OuterRef, Q

from hierarchy.models import Department, KeyResult, Membership, Objective
from hierarchy.scope import Scope

SEARCH_LIMIT = 20  # rows shown per kind
SEARCH_MAX_LENGTH = 200  # characters of a query
SEARCH_MAX_TERMS = 8  # words of a query that count; the others are ignored


@dataclass(frozen=True)
class SearchKind:
    """The matches of one kind: at most SEARCH_LIMIT rows, `more` when there are others."""

    key: str
    title: str
    rows: list[dict]
    more: bool


@dataclass(frozen=True)
class SearchResults:
    query: str
    terms: list[str]
    kinds: list[SearchKind] = field(default_factory=list)

    @property
    def count(self) -> int:
        return sum(len(kind.rows) for kind in self.kinds)


def search_terms(query: str) -> list[str]:
    """The words of a query, each once, in order (at most SEARCH_MAX_TERMS)."""
    terms: list[str] = []
    for word in query.split():
        if word.casefold() not in (t.casefold() for t in terms):
            terms.append(word)
    return terms[:SEARCH_MAX_TERMS]


def _all(terms: list[str], *fields: str) -> Q:
    """Every term in one of `fields`."""
    condition = Q()
    for term in terms:
        either = Q()
        for name in fields:
            either |= Q(**{f"{name}__icontains": term})
        condition &= either
    return condition


def _bounded(queryset) -> tuple[list[dict], bool]:
    rows = list(queryset[: SEARCH_LIMIT + 1])
    return rows[:SEARCH_LIMIT], len(rows) > SEARCH_LIMIT


def _person(row: dict, prefix: str) -> str:
    first, last = row.pop(f"{prefix}first_name"), row.pop(f"{prefix}last_name")
    username = row.pop(f"{prefix}username")
    return f"{first} {last}".strip() or username


def search_list(*, scope: Scope, query: str) -> SearchResults:
    """What `query` finds in the caller's organization: four queries (none without a
    word), each kind newest cycle first or by name."""
    terms = search_terms(query)
    if not terms:
        return SearchResults(query=query, terms=[])
    owner = ("owner__first_name", "owner__last_name", "owner__username")
    lead = ("lead__first_name", "lead__last_name", "lead__username")

    children = KeyResult.objects.filter(organization=scope.org, parent=OuterRef("pk"))
    krs, more_krs = _bounded(
        scope.queryset(KeyResult)
        .filter(_all(terms, "title"))
        .annotate(has_children=Exists(children))
        .order_by("-cycle__start", "title", "id")
        .values("id", "title", "has_children", "cycle__name", "department__name", "unit", *owner)
    )
    objectives, more_objectives = _bounded(
        scope.queryset(Objective)
        .filter(_all(terms, "title"))
        .order_by("-cycle__start", "title", "id")
        .values("id", "title", "cycle_id", "cycle__name", "department__name", *owner)
    )
    people, more_people = _bounded(
        scope.queryset(Membership)
        .filter(_all(terms, "user__username", "user__first_name", "user__last_name"))
        .order_by("user__username")
        .values("id", "role", "user__first_name", "user__last_name", "user__username")
    )
    departments, more_departments = _bounded(
        scope.queryset(Department)
        .filter(_all(terms, "name"))
        .order_by("name", "id")
        .values("id", "name", "parent__name", *lead)
    )
    for row in krs + objectives:
        row["owner"] = _person(row, "owner__")
    for row in people:
        row["username"] = row["user__username"]
        row["name"] = _person(row, "user__")
    for row in departments:
        row["lead"] = _person(row, "lead__")
    return SearchResults(
        query=query,
        terms=terms,
        kinds=[
            SearchKind("krs", "Key results", krs, more_krs),
            SearchKind("objectives", "Objectives", objectives, more_objectives),
            SearchKind("people", "People", people, more_people),
            SearchKind("departments", "Departments", departments, more_departments),
        ],
    )
