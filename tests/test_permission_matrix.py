"""Who may call what: every API route × every kind of caller, in one table.

Routes are discovered from the URLconf (like tests/test_tenant_isolation.py); a route or a
method the table does not list fails loudly, so a new endpoint cannot ship without
deciding who may call it. Each (route, method) is one test; each caller's request runs in
a savepoint that is rolled back, so every caller meets the same data (a DELETE by the
first caller allowed to does not turn the next one's answer into a 404).

The callers, in the column order of the table:

- `anon`: no credentials.
- `outsider`: an admin of another organization (globex): a non-member of acme.
- `viewer`: reads only.
- `member`: a plain member who owns and leads nothing the routes point at.
- `lead`: maya, lead of Marketing, the department of the KR the routes point at (she does
  not own it: pat does), and assignee of the review step and owner of the notification.
- `owner`: the owner of the shared parent KR ("Generate $5M in new pipeline"), who is not
  the owner or lead of the child KR the routes point at (SPEC.md §1: the parent owner
  locks, sends the impact notice and closes the round; the child's plan is its owner's).
- `admin`: an admin of acme.

Expected answers follow API.md: 401 without credentials, 404 for anything outside the
caller's organizations, 403 for a member who may not do this, 2xx for those who may (every
write has a valid body, so an allowed caller really gets through).
"""

import re
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from notifications.models import Round, Step
from tests.conftest import PASSWORD

User = get_user_model()
ROLES = ("anon", "outsider", "viewer", "member", "lead", "owner", "admin")

# Rows that recur: the columns are ROLES.
READ = (401, 404, 200, 200, 200, 200, 200)  # everyone in the organization reads
ADMIN = (401, 404, 403, 403, 403, 403, 200)  # configuration: admins only
ADMIN_201 = (401, 404, 403, 403, 403, 403, 201)
ADMIN_204 = (401, 404, 403, 403, 403, 403, 204)
EDITOR = (401, 404, 403, 403, 200, 403, 200)  # the KR's owner, its department's lead, admins
EDITOR_201 = (401, 404, 403, 403, 201, 403, 201)
EDITOR_204 = (401, 404, 403, 403, 204, 403, 204)
PARENT_OWNER = (401, 404, 403, 403, 403, 200, 200)  # lock, notice, close: parent owner, admins
WRITER_201 = (401, 404, 403, 201, 201, 201, 201)  # any member but a viewer

# fmt: off
#                                               anon outsider viewer member lead owner admin
MATRIX: dict[str, dict[str, tuple[int, ...]]] = {
    # Accounts: no organization in the path.
    "api-register":             {"post":   (201, 201, 201, 201, 201, 201, 201)},  # no auth
    "api-token":                {"post":   (400, 200, 200, 200, 200, 200, 200)},  # own password
    "api-orgs":                 {"get":    (401, 200, 200, 200, 200, 200, 200),
                                 "post":   (401, 201, 201, 201, 201, 201, 201)},  # becomes admin
    "api-org":                  {"get":    READ},
    "api-settings":             {"get":    READ, "patch": ADMIN},
    "api-members":              {"get":    READ, "post": ADMIN_201},
    "api-member":               {"get":    READ, "patch": ADMIN, "delete": ADMIN_204},
    # Invitations: the organization's, for its admins; maya's (from globex) for her alone.
    "api-invitations":          {"get":    ADMIN, "post": ADMIN_201},
    "api-invitation":           {"delete": ADMIN_204},
    "api-my-invitations":       {"get":    (401, 200, 200, 200, 200, 200, 200)},  # one's own
    "api-invitation-accept":    {"post":   (401, 404, 404, 404, 200, 404, 404)},
    "api-invitation-decline":   {"post":   (401, 404, 404, 404, 200, 404, 404)},
    "api-departments":          {"get":    READ, "post": ADMIN_201},
    "api-department":           {"get":    READ, "patch": ADMIN, "delete": ADMIN_204},
    "api-cycles":               {"get":    READ, "post": ADMIN_201},
    "api-cycle":                {"get":    READ, "patch": ADMIN, "delete": ADMIN_204},  # empty
    # Planning.
    "api-objectives":           {"get":    READ, "post": WRITER_201},
    "api-objective":            {"get":    READ,                       # its owner (the parent
                                 "patch":  PARENT_OWNER,               # owner) and admins
                                 "delete": (401, 404, 403, 403, 403, 204, 204)},
    # A child of the owner's KR, for Marketing, owned by maya: her department, and a
    # child of a KR the owner owns; a plain member may create only KRs they will own.
    "api-krs":                  {"get":    READ, "post": (401, 404, 403, 403, 201, 201, 201)},
    "api-kr":                   {"get":    READ, "patch": EDITOR, "delete": EDITOR_204},
    "api-plan":                 {"get":    READ, "put": EDITOR},
    "api-plan-submit":          {"post":   EDITOR},
    "api-plan-preview":         {"post":   EDITOR},
    "api-kr-lock":              {"post":   PARENT_OWNER},
    "api-checkins":             {"get":    READ, "post": EDITOR_201},
    "api-dependencies":         {"get":    READ, "post": EDITOR_201},  # edits the downstream
    "api-dependency":           {"get":    READ, "delete": EDITOR_204},
    # A file naming a KR the caller may not edit is rejected row by row (400 with the
    # rows, SPEC.md §7), like any bad row; a viewer is refused outright.
    "api-imports":              {"post":   (401, 404, 403, 400, 201, 400, 201)},
    "api-kr-history":           {"get":    READ},
    "api-alignment":            {"get":    READ},
    "api-propagation-rules":    {"get":    READ, "put": ADMIN},
    "api-kr-propagation-rule":  {"get":    READ, "put": ADMIN, "delete": ADMIN},
    # Notifications and rounds.
    "api-steps":                {"get":    READ},
    "api-step-answer":          {"post":   (401, 404, 403, 403, 200, 403, 403)},  # assignee
    "api-round":                {"get":    READ},
    "api-round-notice":         {"post":   PARENT_OWNER},
    "api-round-close":          {"post":   PARENT_OWNER},
    "api-notifications":        {"get":    READ},  # the caller's own
    "api-notifications-count":  {"get":    READ},
    "api-notifications-read-all": {"post": READ},  # one's own inbox: viewers too
    # maya's notification: anybody else's is as missing as a foreign one.
    "api-notification-read":    {"post":   (401, 404, 404, 404, 200, 404, 404)},
    "api-report-quarterly":     {"get":    READ},
    "api-calendar":             {"get":    READ},
    # Outgoing webhooks: configuration, admins only.
    "api-webhooks":             {"get":    ADMIN, "post": ADMIN_201},
    "api-webhook":              {"get":    ADMIN, "patch": ADMIN, "delete": ADMIN_204},
    "api-webhook-deliveries":   {"get":    ADMIN},
}
# fmt: on

METHODS = ("get", "post", "put", "patch", "delete")


def _walk(patterns, prefix=""):
    for entry in patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, route)
        elif isinstance(entry, URLPattern):
            yield route, entry


def api_routes() -> list[tuple[str, str, str]]:
    """(route, url name, method) of every API operation in the URLconf."""
    found = []
    for route, pattern in _walk(get_resolver().url_patterns):
        if not route.startswith("api/v1/"):
            continue
        assert pattern.name, f"{route} has no URL name: the matrix is keyed by names"
        view_class = pattern.callback.view_class
        for method in METHODS:
            if hasattr(view_class, method):
                found.append((route, pattern.name, method))
    assert len(found) > 40, "the walk found too few operations: is the URLconf discovered?"
    return found


OPERATIONS = api_routes()


def test_the_table_lists_every_api_operation_and_nothing_else():
    in_urlconf = {(name, method) for _, name, method in OPERATIONS}
    in_table = {(name, method) for name, methods in MATRIX.items() for method in methods}
    assert in_urlconf - in_table == set(), "operations the table does not list: add them"
    assert in_table - in_urlconf == set(), "the table lists operations that do not exist"
    assert all(len(row) == len(ROLES) for m in MATRIX.values() for row in m.values())


# The objects the routes point at: the `objs` fixture (tests/matrix.py), shared with the
# pages' matrix (tests/test_page_permission_matrix.py).


def _version(kr) -> int:
    kr.plan.refresh_from_db()
    return kr.plan.version


def _body(name: str, method: str, objs: dict, user) -> tuple[dict, str]:
    """A valid body for one operation: (data, format)."""
    world, planning, kr = objs["world"], objs["planning"], objs["kr"]
    bodies = {
        ("api-register", "post"): lambda: {
            "username": "newbie",
            "email": "newbie@example.test",
            "password": "a-long-and-unusual-passphrase",
        },
        ("api-token", "post"): lambda: {
            "username": user.username if user else "maya",
            "password": PASSWORD if user else "guessed",
        },
        ("api-orgs", "post"): lambda: {"name": "Initech", "slug": "initech"},
        ("api-settings", "patch"): lambda: {"gap_tolerance_pct": "2"},
        ("api-members", "post"): lambda: {"username": "newcomer", "role": "member"},
        ("api-invitations", "post"): lambda: {"email": "new@example.test", "role": "member"},
        ("api-member", "patch"): lambda: {"role": "viewer"},
        ("api-departments", "post"): lambda: {"name": "Ops", "lead": "member"},
        ("api-department", "patch"): lambda: {"name": "Field events"},
        ("api-cycles", "post"): lambda: {
            "name": "Q2 2026",
            "start": "2026-04-01",
            "end": "2026-06-30",
            "granularity": "month",
        },
        ("api-cycle", "patch"): lambda: {"name": "Q1 (renamed)"},
        ("api-objectives", "post"): lambda: {"cycle": planning.cycle.pk, "title": "Retain"},
        ("api-objective", "patch"): lambda: {"title": "Spare, renamed"},
        ("api-krs", "post"): lambda: {
            "objective": planning.objective.pk,
            "title": "Webinar pipeline",
            "owner": "maya",
            "department": world.marketing.pk,
            "unit": "USD",
            "metric_kind": "cumulative",
            "target": 0,
            "parent": planning.pipeline.pk,
        },
        ("api-kr", "patch"): lambda: {"title": "Marketing events and fairs"},
        ("api-plan", "put"): lambda: {"values": [10, 20, 30], "version": _version(kr)},
        ("api-plan-preview", "post"): lambda: {"values": [10, 20, 30], "version": _version(kr)},
        ("api-checkins", "post"): lambda: {"period": 0, "value": 5},
        ("api-dependencies", "post"): lambda: {
            "upstream": planning.marketing_kr.pk,
            "downstream": kr.pk,
            "assumption": "Marketing's leads come first",
        },
        ("api-imports", "post"): lambda: (
            {"file": SimpleUploadedFile("h.csv", f"kr,period,value\n{kr.pk},0,12\n".encode())},
            "multipart",
        ),
        ("api-propagation-rules", "put"): lambda: {"upward": "notify", "downward": "none"},
        ("api-kr-propagation-rule", "put"): lambda: {"upward": "notify", "downward": "none"},
        ("api-step-answer", "post"): lambda: {"answer": "no_change", "note": "Still fine"},
        ("api-round-notice", "post"): lambda: {"message": "Sales cut 300k: please assess."},
        ("api-round-close", "post"): lambda: {"note": "We accept the lower total."},
        ("api-webhooks", "post"): lambda: {
            "url": "https://hooks.example.test/okrplan",
            "events": ["round.opened", "round.closed"],
        },
        ("api-webhook", "patch"): lambda: {"format": "slack"},
    }
    body = bodies.get((name, method), dict)()
    return body if isinstance(body, tuple) else (body, "json")


def _url(route: str, name: str, method: str, objs: dict) -> str:
    override = objs["override"]
    params = {**objs["path"], **override.get(name, {}), **override.get((name, method), {})}
    kwargs = {p: params[p] for p in re.findall(r"<(?:\w+:)?(\w+)>", route)}
    url = reverse(name, kwargs=kwargs)
    if name == "api-report-quarterly":
        url += f"?cycle={objs['path']['cycle_id']}"
    return url


@pytest.mark.parametrize(
    ("route", "name", "method"), OPERATIONS, ids=[f"{m.upper()} {r}" for r, _, m in OPERATIONS]
)
def test_it_answers_each_caller_as_the_table_says(objs, api, route, name, method):
    world = objs["world"]
    users = {
        "anon": None,
        "outsider": world.outsider,
        "viewer": world.viewer,
        "member": world.member,
        "lead": world.marketing_lead,
        "owner": world.owner,
        "admin": world.admin,
    }
    clients = {role: api(user) for role, user in users.items()}  # tokens made outside
    url = _url(route, name, method, objs)
    expected = dict(zip(ROLES, MATRIX[name][method], strict=True))
    answered = {}
    for role in ROLES:
        with transaction.atomic():
            data, fmt = _body(name, method, objs, users[role])
            response = getattr(clients[role], method)(url, data, format=fmt)
            answered[role] = response.status_code
            if response.status_code != expected[role]:
                detail = getattr(response, "data", None)
                answered[role] = f"{response.status_code} {detail}"
            transaction.set_rollback(True)
    assert answered == expected, f"{method.upper()} {url}"


def test_the_fixture_is_what_the_table_assumes(objs):
    """The round is open, the step is maya's, and the KR's owner is neither maya nor
    the parent owner: otherwise the `lead` and `owner` columns would prove nothing."""
    world, kr = objs["world"], objs["kr"]
    assert kr.owner_id not in (world.marketing_lead.pk, world.owner.pk)
    assert kr.department.lead_id == world.marketing_lead.pk
    assert kr.parent.owner_id == world.owner.pk
    assert Round.objects.get(pk=objs["path"]["round_id"]).status == "open"
    assert Step.objects.get(pk=objs["path"]["step_id"]).assignee_id == world.marketing_lead.pk
    kr.plan.refresh_from_db()
    assert kr.plan.values == [Decimal(100)] * 3
    assert kr.plan.status == "draft"


# --- The lead of the parent's department ----------------------------------------------
# sam leads Sales, the department of the shared pipeline (and of `lockable` and of
# `events`, the parent of the KR the other table points at), and owns none of them:
# SPEC.md §1 gives the parent owner's actions (lock, impact notice, close, change the
# parent target, also through the parent's own plan, and submitting that plan) to its
# owner and admins only. maya leads Marketing, the department of children of both
# parents (she owns the pipeline's, pat owns `events`'): a child's plan is its lead's too.
# Columns: the parent's department lead, a child's department lead, the parent owner, an
# admin.
PARENT_LEAD_ROLES = ("parent_lead", "child_lead", "owner", "admin")


def _written(*krs) -> list:
    """What a refused call must leave as it was: each KR's target, plan version, status."""
    found = []
    for kr in krs:
        kr.plan.refresh_from_db()
        found.append((type(kr).objects.get(pk=kr.pk).target, kr.plan.version, kr.plan.status))
    return found


def _pipeline_version(objs) -> int:
    return _version(objs["planning"].pipeline)


# fmt: off
PARENT_LEAD_MATRIX = {
    # (url name, method, what): (the KR the route points at, body, answers)
    ("api-kr", "patch", "target"): (
        "pipeline",
        lambda o: {"target": "5100000", "rationale": "A bigger market",
                   "version": _pipeline_version(o)},
        (403, 403, 200, 200)),
    ("api-plan", "put", "values"): (
        "pipeline",
        lambda o: {"values": [1700000, 1700000, 1700000], "rationale": "A bigger market",
                   "version": _pipeline_version(o)},
        (403, 403, 200, 200)),
    ("api-plan", "put", "shape"): (
        "pipeline",
        lambda o: {"shape": "linear", "target": "5100000", "rationale": "A bigger market",
                   "version": _pipeline_version(o)},
        (403, 403, 200, 200)),
    ("api-plan-preview", "post", "values"): (
        "pipeline",
        lambda o: {"values": [1700000, 1700000, 1700000], "version": _pipeline_version(o)},
        (403, 403, 200, 200)),
    ("api-kr-lock", "post", "lock"): ("lockable", lambda o: {}, (403, 403, 200, 200)),
    ("api-round-notice", "post", "notice"): (
        None, lambda o: {"message": "Sales cut 300k: please assess."}, (403, 403, 200, 200)),
    ("api-round-close", "post", "close"): (
        None, lambda o: {"note": "We accept the lower total."}, (403, 403, 200, 200)),
    # Submitting a plan is editing it (`plan_require_edit`): the parent's is its owner's,
    # a child's is its department lead's too (not the parent owner's).
    ("api-plan-submit", "post", "parent"): ("events", lambda o: {}, (403, 403, 200, 200)),
    ("api-plan-submit", "post", "child"): ("kr", lambda o: {}, (403, 200, 403, 200)),
    # What stays the lead's: what the parent KR is, and its check-ins.
    ("api-kr", "patch", "title"): (
        "pipeline", lambda o: {"title": "Generate $5M in new pipeline (EMEA)"},
        (200, 403, 200, 200)),
    ("api-checkins", "post", "checkin"): (
        "pipeline", lambda o: {"period": 0, "value": 5}, (201, 403, 201, 201)),
}
# fmt: on


@pytest.mark.parametrize(
    ("name", "method", "what"),
    list(PARENT_LEAD_MATRIX),
    ids=[" ".join(k) for k in PARENT_LEAD_MATRIX],
)
def test_it_keeps_the_parent_owners_actions_from_the_parents_department_lead(
    objs, api, name, method, what
):
    world, planning = objs["world"], objs["planning"]
    pipeline = planning.pipeline
    assert pipeline.department.lead_id == world.sales_lead.pk != pipeline.owner_id
    assert objs["lockable"].department.lead_id == world.sales_lead.pk
    which, body, answers = PARENT_LEAD_MATRIX[(name, method, what)]
    assert objs["events"].department.lead_id == world.sales_lead.pk
    assert objs["kr"].department.lead_id == world.marketing_lead.pk
    users = {
        "parent_lead": world.sales_lead,
        "child_lead": world.marketing_lead,
        "owner": world.owner,
        "admin": world.admin,
    }
    clients = {role: api(user) for role, user in users.items()}
    params = dict(objs["path"])
    pointed = objs.get(which, pipeline)
    if which is not None:
        params["kr_id"] = pointed.pk
    route = next(r for r, n, m in OPERATIONS if n == name and m == method)
    kwargs = {p: params[p] for p in re.findall(r"<(?:\w+:)?(\w+)>", route)}
    url = reverse(name, kwargs=kwargs)
    expected = dict(zip(PARENT_LEAD_ROLES, answers, strict=True))
    answered = {}
    for role in PARENT_LEAD_ROLES:
        with transaction.atomic():
            before = _written(pipeline, pointed)
            response = getattr(clients[role], method)(url, body(objs), format="json")
            answered[role] = response.status_code
            if response.status_code != expected[role]:
                answered[role] = f"{response.status_code} {getattr(response, 'data', None)}"
            elif response.status_code == 403:  # nothing written
                assert _written(pipeline, pointed) == before
            transaction.set_rollback(True)
    assert answered == expected, f"{method.upper()} {url}"
