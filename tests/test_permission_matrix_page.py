"""Who may open or post what in the browser: every page route × every kind of caller, in
one table (the API's is tests/test_permission_matrix.py).

Routes are discovered from the URLconf (like tests/test_tenant_isolation.py): every route
that is not the API, the Django admin site or the benchmark's is a page, and a page route
the table does not list fails loudly, so a new page cannot ship without deciding who may
open it. Each route is listed with GET and POST (a function view may receive either; the
table says which it serves: 405 for the other), and with `htmx post` where the same POST
answers htmx with a fragment instead of a redirect. Each caller's request runs in a
savepoint that is rolled back, so every caller meets the same data (the `objs` fixture of
tests/matrix.py, shared with the API's table).

The callers, in the column order of the table (as in the API's table):

- `anon`: not logged in: 302 to the login page (for htmx: 204 with `HX-Redirect` to it).
- `outsider`: an admin of another organization (globex): 404 for all of acme, as if
  it did not exist (never 403: nothing of another tenant may be guessed).
- `viewer`: reads only: 403 on every write.
- `member`: a plain member who owns and leads nothing the routes point at.
- `lead`: maya, lead of Marketing (the department of the KR the routes point at, which
  pat owns), assignee of the review step and owner of the notification.
- `owner`: the owner of the shared parent KR: lock, impact notice, close, target.
- `admin`: an admin of acme.

A page that writes answers a successful plain POST with a redirect (302, the
post/redirect/get pattern) and a refused one with 403, 404 or 405 as above.
"""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from hierarchy.models import Membership
from tests.conftest import PASSWORD

ROLES = ("anon", "outsider", "viewer", "member", "lead", "owner", "admin")
NOT_PAGES = ("api/", "admin/", "bench/")  # the API (its own table), Django's admin site

# Rows that recur: the columns are ROLES. 302 in the `anon` column is the login redirect.
READ = (302, 404, 200, 200, 200, 200, 200)  # every member of the organization reads
NOT_SERVED = (302, 404, 405, 405, 405, 405, 405)  # the method the page does not serve
ADMIN_GET = (302, 404, 403, 403, 403, 403, 200)  # the admin pages
ADMIN_POST = (302, 404, 403, 403, 403, 403, 302)
ADMIN_HTMX = (204, 404, 403, 403, 403, 403, 200)  # the changed row
EDITOR_POST = (302, 404, 403, 403, 302, 403, 302)  # the KR's owner, its lead, admins
EDITOR_HTMX = (204, 404, 403, 403, 200, 403, 200)  # live totals, impact preview
PARENT_OWNER_POST = (302, 404, 403, 403, 403, 302, 302)  # lock, notice, close, target
PARENT_OWNER_HTMX = (204, 404, 403, 403, 403, 200, 200)  # the combined view's region
EVERY_MEMBER_POST = (302, 404, 302, 302, 302, 302, 302)  # one's own inbox: viewers too
WRITER_GET = (302, 404, 403, 200, 200, 200, 200)  # a form every member who writes uses
WRITER_POST = (302, 404, 403, 302, 302, 302, 302)
WRITER_HTMX = (204, 404, 403, 200, 200, 200, 200)  # the tree's region
EDITOR_GET = (302, 404, 403, 403, 200, 403, 200)  # a KR's form: its owner, its lead, admins
OBJECTIVE_GET = (302, 404, 403, 403, 403, 200, 200)  # the objective's owner, admins
OBJECTIVE_POST = (302, 404, 403, 403, 403, 302, 302)
OBJECTIVE_HTMX = (204, 404, 403, 403, 403, 200, 200)
ARRANGE_POST = (302, 404, 403, 403, 302, 302, 302)  # a KR's editors and its objective's owner
ARRANGE_HTMX = (204, 404, 403, 403, 200, 200, 200)

# fmt: off
#                             anon outsider viewer member lead owner admin
MATRIX: dict[str, dict[str, tuple[int, ...]]] = {
    # No organization in the path.
    "home":                     {"get":  (302, 200, 200, 200, 200, 200, 200),  # one's own
                                 "post": (302, 405, 405, 405, 405, 405, 405)},
    "login":                    {"get":  (200, 200, 200, 200, 200, 200, 200),
                                 # each with their own password; anon guesses (the form again)
                                 "post": (200, 302, 302, 302, 302, 302, 302)},
    "logout":                   {"get":  (405, 405, 405, 405, 405, 405, 405),  # POST only
                                 "post": (302, 302, 302, 302, 302, 302, 302)},
    # anyone logged in creates an organization (and is its admin): then its setup guide
    "org-create":               {"get":  (302, 200, 200, 200, 200, 200, 200),
                                 "post": (302, 302, 302, 302, 302, 302, 302)},
    # maya's invitation (from globex): she alone answers it; to the others it is missing.
    "invitation-accept":        {"get":  (302, 405, 405, 405, 405, 405, 405),  # POST only
                                 "post": (302, 404, 404, 404, 302, 404, 404),
                                 "htmx post": (302, 404, 404, 404, 200, 404, 404)},
    "invitation-decline":       {"get":  (302, 405, 405, 405, 405, 405, 405),
                                 "post": (302, 404, 404, 404, 302, 404, 404),
                                 "htmx post": (302, 404, 404, 404, 200, 404, 404)},
    # its e-mailed link: anyone with it sees the page (login or sign up); maya answers
    "invitation-link":          {"get":  (200, 404, 404, 404, 200, 404, 404),
                                 "post": (302, 404, 404, 404, 302, 404, 404)},
    # sign-up through it: for an invitation by e-mail only (maya's is by username: 400)
    "invitation-signup":        {"get":  (405, 405, 405, 405, 405, 405, 405),
                                 "post": (400, 404, 404, 404, 302, 404, 404)},
    # One's own account (hierarchy/account_views.py): sign-up and password reset for
    # anybody (a logged-in caller is sent home from the sign-up); the profile, the
    # password change and one's tokens once logged in. maya's token: to the others missing.
    "signup":                   {"get":  (200, 302, 302, 302, 302, 302, 302),
                                 "post": (302, 302, 302, 302, 302, 302, 302)},
    "password-reset":           {"get":  (200, 200, 200, 200, 200, 200, 200),
                                 "post": (302, 302, 302, 302, 302, 302, 302)},
    "password-reset-done":      {"get":  (200, 200, 200, 200, 200, 200, 200),
                                 "post": (405, 405, 405, 405, 405, 405, 405)},
    # a made-up link: the page says it does not work, whoever opens it
    "password-reset-confirm":   {"get":  (200, 200, 200, 200, 200, 200, 200),
                                 "post": (200, 200, 200, 200, 200, 200, 200)},
    "password-reset-complete":  {"get":  (200, 200, 200, 200, 200, 200, 200),
                                 "post": (405, 405, 405, 405, 405, 405, 405)},
    "password-change":          {"get":  (302, 200, 200, 200, 200, 200, 200),
                                 "post": (302, 302, 302, 302, 302, 302, 302)},
    "profile":                  {"get":  (302, 200, 200, 200, 200, 200, 200),
                                 "post": (302, 302, 302, 302, 302, 302, 302)},
    # the new key is the answer (200): it is stored as a hash, nothing to redirect to
    "personal-token-create":    {"get":  (302, 405, 405, 405, 405, 405, 405),
                                 "post": (302, 200, 200, 200, 200, 200, 200),
                                 "htmx post": (302, 200, 200, 200, 200, 200, 200)},
    "personal-token-revoke":    {"get":  (302, 405, 405, 405, 405, 405, 405),
                                 "post": (302, 404, 404, 404, 302, 404, 404),
                                 "htmx post": (302, 404, 404, 404, 200, 404, 404)},
    # Everyone of the organization reads.
    "org-home":                 {"get": READ, "post": NOT_SERVED},
    "search":                   {"get": READ, "post": NOT_SERVED},
    "cycles":                   {"get": READ, "post": NOT_SERVED},
    "cycle-tree":               {"get": READ, "post": NOT_SERVED},
    "kr-alignment":             {"get": READ, "post": NOT_SERVED},
    "kr-history":               {"get": READ, "post": NOT_SERVED},
    "kr-agenda":                {"get": READ, "post": NOT_SERVED},
    "my-home":                  {"get": READ, "post": NOT_SERVED},
    "org-dashboard":            {"get": READ, "post": NOT_SERVED},
    "inbox":                    {"get": READ, "post": NOT_SERVED},
    "planning-calendar":        {"get": READ, "post": NOT_SERVED},
    "quarterly-report":         {"get": READ, "post": NOT_SERVED},
    # Spreadsheets of what everyone reads (issue 14 item 5): the same readers.
    "cycle-tree-export":        {"get": READ, "post": NOT_SERVED},
    "kr-alignment-export":      {"get": READ, "post": NOT_SERVED},
    "quarterly-report-export":  {"get": READ, "post": NOT_SERVED},
    # The history import: every writer, as the API's; each row's KR must be theirs to edit
    # (the file names pat's Marketing KR: its lead and admins; the others see the row's error).
    "history-import":           {"get":  (302, 404, 403, 200, 200, 200, 200),
                                 "post": (302, 404, 403, 400, 200, 400, 200)},
    # The department lead's pages: everyone reads, the KR's editors write.
    "plan-editor":              {"get": READ, "post": EDITOR_POST, "htmx post": EDITOR_HTMX},
    "kr-checkin":               {"get": NOT_SERVED, "post": EDITOR_POST},
    "plan-preview-page":        {"get": NOT_SERVED, "htmx post": EDITOR_HTMX,
                                 "post": (302, 404, 403, 403, 200, 403, 200)},  # a fragment
    # maya's review step: everyone reads it, its assignee answers it.
    "step":                     {"get": READ, "post": (302, 404, 403, 403, 302, 403, 403)},
    # maya's notification: anybody else's is as missing as a foreign one.
    "inbox-read":               {"get": NOT_SERVED,
                                 "post": (302, 404, 404, 404, 302, 404, 404),
                                 "htmx post": (204, 404, 404, 404, 200, 404, 404)},
    "inbox-read-all":           {"get": NOT_SERVED, "post": EVERY_MEMBER_POST},
    # The parent owner's actions on the combined view.
    "kr-lock":                  {"get": NOT_SERVED, "post": PARENT_OWNER_POST,
                                 "htmx post": PARENT_OWNER_HTMX},
    "kr-target":                {"get": NOT_SERVED, "post": PARENT_OWNER_POST},
    "round-notice":             {"get": NOT_SERVED, "post": PARENT_OWNER_POST},
    "round-close":              {"get": NOT_SERVED, "post": PARENT_OWNER_POST,
                                 "htmx post": PARENT_OWNER_HTMX},
    # A KR's structure (plans/structure_views.py): everyone reads; the KR's owner and
    # admins shape it (the routes point at KRs of the owner's: `KR_OF`); a contribution's
    # figures are also its editors' (pat's stage of Marketing: maya leads it); a KR's
    # dependencies are its editors' (pat's KR of Marketing).
    "kr-structure":             {"get": READ, "post": NOT_SERVED},
    "kr-aggregation":           {"get": NOT_SERVED, "post": PARENT_OWNER_POST,
                                 "htmx post": PARENT_OWNER_HTMX},
    "kr-contribution-add":      {"get": NOT_SERVED, "post": PARENT_OWNER_POST,
                                 "htmx post": PARENT_OWNER_HTMX},
    "kr-contribution-update":   {"get": NOT_SERVED, "post": (302, 404, 403, 403, 302, 302, 302),
                                 "htmx post": (204, 404, 403, 403, 200, 200, 200)},
    "kr-stage-move":            {"get": NOT_SERVED, "post": PARENT_OWNER_POST,
                                 "htmx post": PARENT_OWNER_HTMX},
    "kr-contribution-remove":   {"get": NOT_SERVED, "post": PARENT_OWNER_POST,
                                 "htmx post": PARENT_OWNER_HTMX},
    "kr-dependency-add":        {"get": NOT_SERVED, "post": EDITOR_POST, "htmx post": EDITOR_HTMX},
    "kr-dependency-remove":     {"get": NOT_SERVED, "post": EDITOR_POST, "htmx post": EDITOR_HTMX},
    # Writing objectives and KRs in the cycle tree (plans/tree_views.py): the objective
    # is the owner's, the KR pat's in Marketing (maya leads it) in the owner's objective.
    "objective-create":         {"get": WRITER_GET, "post": WRITER_POST, "htmx post": WRITER_HTMX},
    "objective-edit":           {"get": OBJECTIVE_GET, "post": OBJECTIVE_POST,
                                 "htmx post": OBJECTIVE_HTMX},
    "objective-move":           {"get": NOT_SERVED, "post": OBJECTIVE_POST,
                                 "htmx post": OBJECTIVE_HTMX},
    "objective-archive":        {"get": NOT_SERVED, "post": OBJECTIVE_POST,
                                 "htmx post": OBJECTIVE_HTMX},
    "objective-restore":        {"get": NOT_SERVED, "post": OBJECTIVE_POST,
                                 "htmx post": OBJECTIVE_HTMX},
    # a KR one will own, in Marketing: every member who writes may
    "kr-create":                {"get": WRITER_GET, "post": WRITER_POST, "htmx post": WRITER_HTMX},
    "kr-edit":                  {"get": EDITOR_GET, "post": EDITOR_POST, "htmx post": EDITOR_HTMX},
    "kr-move":                  {"get": NOT_SERVED, "post": ARRANGE_POST,
                                 "htmx post": ARRANGE_HTMX},
    # a KR without children (pat's, in Marketing, at the top of the objective)
    "kr-archive":               {"get": NOT_SERVED, "post": EDITOR_POST, "htmx post": EDITOR_HTMX},
    "kr-restore":               {"get": NOT_SERVED, "post": EDITOR_POST, "htmx post": EDITOR_HTMX},
    # Admins configure.
    "org-setup":                {"get": ADMIN_GET, "post": NOT_SERVED},
    "admin-members":            {"get": ADMIN_GET, "post": ADMIN_POST},
    "admin-member-role":        {"get": NOT_SERVED, "post": ADMIN_POST, "htmx post": ADMIN_HTMX},
    "admin-member-remove":      {"get": NOT_SERVED, "post": ADMIN_POST},
    "admin-invitation-withdraw": {"get": NOT_SERVED, "post": ADMIN_POST},
    "admin-departments":        {"get": ADMIN_GET, "post": ADMIN_POST},
    "admin-department-update":  {"get": NOT_SERVED, "post": ADMIN_POST, "htmx post": ADMIN_HTMX},
    # archive, restore, delete: a message and the list again, done or refused (the
    # department is empty: archived and deleted; restoring one in use is refused)
    "admin-department-archive": {"get": NOT_SERVED, "post": ADMIN_POST},
    "admin-department-restore": {"get": NOT_SERVED, "post": ADMIN_POST},
    "admin-department-delete":  {"get": NOT_SERVED, "post": ADMIN_POST},
    "admin-cycles":             {"get": ADMIN_GET, "post": ADMIN_POST},
    "admin-cycle-edit":         {"get": ADMIN_GET, "post": ADMIN_POST},
    # the cycle has objectives: archived; deleting it and restoring it are refused
    "admin-cycle-archive":      {"get": NOT_SERVED, "post": ADMIN_POST},
    "admin-cycle-restore":      {"get": NOT_SERVED, "post": ADMIN_POST},
    "admin-cycle-delete":       {"get": NOT_SERVED, "post": ADMIN_POST},
    "admin-settings":           {"get": ADMIN_GET, "post": ADMIN_POST},
    "admin-rules":              {"get": ADMIN_GET, "post": ADMIN_POST},
    "admin-rule-override":      {"get": NOT_SERVED, "post": ADMIN_POST},
    "admin-rule-override-remove": {"get": NOT_SERVED, "post": ADMIN_POST},
    # the webhook added is the answer (200): its secret is shown in it only
    "admin-webhooks":           {"get": ADMIN_GET, "post": (302, 404, 403, 403, 403, 403, 200)},
    "admin-webhook":            {"get": ADMIN_GET, "post": NOT_SERVED},  # the delivery log
    "admin-webhook-delete":     {"get": NOT_SERVED, "post": ADMIN_POST, "htmx post": ADMIN_HTMX},
}
# fmt: on


def _walk(patterns, prefix=""):
    for entry in patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, route)
        elif isinstance(entry, URLPattern):
            yield route, entry


def page_routes() -> list[tuple[str, str]]:
    """(route, url name) of every page in the URLconf."""
    found = []
    for route, pattern in _walk(get_resolver().url_patterns):
        if route.startswith(NOT_PAGES) or route == "healthz":
            continue
        assert pattern.name, f"{route} has no URL name: the matrix is keyed by names"
        found.append((route, pattern.name))
    assert len(found) > 30, "the walk found too few pages: is the URLconf discovered?"
    return found


ROUTES = page_routes()
CASES = [(route, name, how) for route, name in ROUTES for how in MATRIX.get(name, {"get": 0})]


def test_the_table_lists_every_page_and_nothing_else():
    in_urlconf = {name for _, name in ROUTES}
    assert in_urlconf - MATRIX.keys() == set(), "pages the table does not list: add them"
    assert MATRIX.keys() - in_urlconf == set(), "the table lists pages that do not exist"
    for name, rows in MATRIX.items():
        assert {"get", "post"} <= rows.keys(), f"{name}: say what GET and POST answer"
        assert all(len(row) == len(ROLES) for row in rows.values()), name


# --- The requests -------------------------------------------------------------------


def _version(kr) -> str:
    kr.plan.refresh_from_db()
    return str(kr.plan.version)


def _body(name: str, objs: dict, user) -> dict:
    """A valid form for one page's POST (what its own form sends)."""
    planning, kr = objs["planning"], objs["kr"]
    pipeline = planning.pipeline
    bodies = {
        "login": lambda: {
            "username": user.username if user else "maya",
            "password": PASSWORD if user else "guessed",
        },
        "plan-editor": lambda: {"values": ["10", "20", "30"], "version": _version(kr)},
        "plan-editor htmx": lambda: {"values": ["10", "20"], "live": "1", "version": "1"},
        "plan-preview-page": lambda: {"values": ["10", "20", "30"], "version": _version(kr)},
        "kr-checkin": lambda: {"period": "0", "value": "5"},
        "step": lambda: {"answer": "no_change", "note": "Still fine"},
        "kr-target": lambda: {
            "target": "5100000",
            "version": _version(pipeline),
            "rationale": "A bigger market",
        },
        "round-notice": lambda: {"message": "Sales cut 300k: please assess."},
        "round-close": lambda: {"note": "We accept the lower total."},
        "admin-members": lambda: {"who": "newcomer", "role": "member"},
        "invitation-link": lambda: {"answer": "accept"},
        "invitation-signup": lambda: {
            "username": "newbie",
            "email": "newbie@example.test",
            "password": "a-long-and-unusual-passphrase",
        },
        "signup": lambda: {
            "username": "newbie",
            "email": "newbie@example.test",
            "password": "a-long-and-unusual-passphrase",
        },
        "password-reset": lambda: {"email": user.email if user else "maya@example.test"},
        "password-change": lambda: {
            "old_password": PASSWORD,
            "new_password1": "a-long-and-unusual-passphrase",
            "new_password2": "a-long-and-unusual-passphrase",
        },
        "profile": lambda: {
            "first_name": "New",
            "last_name": "Name",
            "email": "renamed@example.test",
            "time_zone": "Europe/Berlin",
            "notify_by": "in_app",
        },
        "personal-token-create": lambda: {"name": "CI pipeline"},
        "admin-member-role": lambda: {"role": "viewer"},
        "admin-departments": lambda: {"name": "Ops", "lead": "member"},
        "admin-department-update": lambda: {"name": "Field events"},
        "admin-cycles": lambda: {
            "name": "Q2 2026",
            "start": "2026-04-01",
            "end": "2026-06-30",
            "granularity": "month",
        },
        "history-import": lambda: {
            "file": SimpleUploadedFile("history.csv", f"kr,period,value\n{kr.pk},0,5\n".encode())
        },
        "admin-cycle-edit": lambda: {"name": "Q1 2026 (renamed)"},
        "org-create": lambda: {"name": "Initech", "slug": ""},  # the slug made from the name
        "admin-settings": lambda: {"gap_tolerance_pct": "2"},
        "objective-create": lambda: {"title": "Hire well"},
        "objective-edit": lambda: {"title": "Spare parts"},
        "objective-move": lambda: {"direction": "up"},
        "kr-create": lambda: {
            "title": "Webinar signups",
            "owner": user.username if user else "maya",
            "department": str(objs["world"].marketing.pk),
            "unit": "signups",
            "metric_kind": "cumulative",
            "target": "1,200",
        },
        "kr-edit": lambda: {"title": "Marketing events pipeline, EMEA"},
        "kr-move": lambda: {"direction": "down"},
        "admin-rules": lambda: {"upward": "notify", "downward": "none"},
        "kr-aggregation": lambda: {"aggregation": "sequential"},
        "kr-contribution-add": lambda: {
            "title": "Trade fair pipeline",
            "department": str(objs["world"].marketing.pk),
            "unit": "USD",
            "metric_kind": "cumulative",
            "target": "1,000",
        },
        "kr-contribution-update": lambda: {"historical_ratio": "0.5"},
        "kr-stage-move": lambda: {"direction": "down"},
        "kr-dependency-add": lambda: {
            "other_is": "upstream",
            "other": str(planning.partnerships_kr.pk),
            "assumption": "Partners bring the exhibitors",
        },
        "admin-webhooks": lambda: {
            "url": "https://hooks.example.test/okrplan",
            "events": ["round.opened", "round.closed"],
            "format": "slack",
        },
        "admin-rule-override": lambda: {
            "kr": str(pipeline.pk),
            "upward": "notify",
            "downward": "none",
        },
    }
    return bodies.get(name, dict)()


# Pages pointed at another KR than the default (Marketing's, owned by pat): the combined
# view, its agenda and the target are the shared pipeline's; the lock a KR of the owner
# that is not locked yet; the override removed the pipeline's; the structure's routes the
# owner's KRs (a contribution's routes name the contribution: a stage of the owner's
# funnel, a child of the owner's without history).
KR_OF = {
    "kr-alignment": "pipeline",
    "kr-agenda": "pipeline",
    "kr-alignment-export": "pipeline",
    "kr-target": "pipeline",
    "kr-lock": "lockable",
    "admin-rule-override-remove": "pipeline",
    "kr-aggregation": "lockable",
    "kr-contribution-add": "events",
    "kr-contribution-update": "stage",
    "kr-stage-move": "stage",
    "kr-contribution-remove": "unplanned",
    "kr-archive": "archivable",
    "kr-restore": "archivable",
}


def _url(route: str, name: str, objs: dict) -> str:
    params = dict(objs["path"])
    which = KR_OF.get(name)
    if which == "pipeline":
        params["kr_id"] = objs["planning"].pipeline.pk
    elif which is not None:  # "lockable", "archivable", "events", "stage", "unplanned"
        params["kr_id"] = objs[which].pk
    if name in ("invitation-accept", "invitation-decline"):
        params["invitation_id"] = objs["mine"].pk  # maya's, not acme's
    if name == "password-reset-confirm":  # a link nobody was sent
        params |= {"uidb64": "MQ", "token": "made-up-token"}
    params["fmt"] = "xlsx"  # the exports' format
    kwargs = {p: params[p] for p in re.findall(r"<(?:\w+:)?(\w+)>", route)}
    return reverse(name, kwargs=kwargs)


# Pages whose plain POST sends a caller who is not logged in elsewhere than the login:
# home after logging out or signing up, "check your e-mail" after asking for a reset.
NOT_TO_LOGIN = ("logout", "signup", "password-reset")


def _clients(objs: dict) -> dict[str, tuple[Client, object]]:
    """One logged-in client per caller (logged in outside the savepoints: a session made
    inside one would be rolled back with it)."""
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
    clients = {}
    for role, user in users.items():
        client = Client()
        if user is not None:
            client.force_login(user)
        clients[role] = (client, user)
    return clients


def _request(client: Client, how: str, url: str, data: dict):
    if how == "get":
        return client.get(url)
    headers = {"HX-Request": "true", "HX-Current-URL": f"http://testserver{url}"}
    return client.post(url, data, headers=headers if how == "htmx post" else {})


@pytest.mark.parametrize(
    ("route", "name", "how"), CASES, ids=[f"{how.upper()} {route}" for route, _, how in CASES]
)
def test_it_answers_each_caller_as_the_table_says(objs, route, name, how):
    clients = _clients(objs)
    url = _url(route, name, objs)
    expected = dict(zip(ROLES, MATRIX[name][how], strict=True))
    answered = {}
    for role in ROLES:
        client, user = clients[role]
        with transaction.atomic():
            body_name = f"{name} htmx" if how == "htmx post" and name == "plan-editor" else name
            response = _request(client, how, url, _body(body_name, objs, user))
            answered[role] = response.status_code
            if response.status_code != expected[role]:
                answered[role] = f"{response.status_code} {response.get('Location', '')}"
            elif role == "anon" and response.status_code == 302 and name not in NOT_TO_LOGIN:
                # not logged in: to the login page, and back here after it
                assert response["Location"].startswith("/accounts/login/?next="), url
            elif role == "anon" and response.status_code == 204:
                assert response["HX-Redirect"].startswith("/accounts/login/?next="), url
            transaction.set_rollback(True)
    assert answered == expected, f"{how.upper()} {url}"


def test_the_fixture_is_what_the_table_assumes(objs):
    """The callers are who the columns say: otherwise the table would prove nothing."""
    world, kr = objs["world"], objs["kr"]
    assert kr.owner_id not in (world.marketing_lead.pk, world.owner.pk)
    assert kr.department.lead_id == world.marketing_lead.pk
    assert objs["planning"].pipeline.owner_id == world.owner.pk
    assert objs["lockable"].owner_id == world.owner.pk
    assert not Membership.objects.filter(user=world.outsider, organization=world.org).exists()


ORG_ROUTES = [(route, name) for route, name in ROUTES if route.startswith("o/<slug:org>/")]


@pytest.mark.parametrize(("route", "name"), ORG_ROUTES, ids=[r for r, _ in ORG_ROUTES])
def test_it_sends_an_htmx_request_without_a_session_to_the_login_page(objs, route, name):
    """After the session expired, an htmx request (a fragment, live totals) answers 204
    with `HX-Redirect`: htmx then loads the login page as a whole page, with `next` the
    page the user was on, not the login form inside the fragment's box."""
    url = _url(route, name, objs)
    on = reverse("org-home", args=["acme"])
    headers = {"HX-Request": "true", "HX-Current-URL": f"http://testserver{on}"}
    for method in ("get", "post"):
        response = getattr(Client(), method)(url, headers=headers)
        assert response.status_code == 204, f"{method.upper()} {url}"
        assert response["HX-Redirect"] == f"/accounts/login/?next={on}", url


# --- The lead of the parent's department ----------------------------------------------
# sam leads Sales, the department of the shared pipeline (and of `lockable` and
# `events`), and owns none of them: the parent owner's actions are its owner's and admins'
# on the pages as in the API (tests/test_permission_matrix.py), through the same functions
# (hierarchy/permissions.py). maya leads Marketing, the department of children of both
# parents: a child's plan is its lead's too. Columns: the parent's department lead, a
# child's department lead, the parent owner, an admin.
PARENT_LEAD_ROLES = ("parent_lead", "child_lead", "owner", "admin")


def _written(*krs) -> list:
    """What a refused post must leave as it was: each KR's target, plan version, status."""
    found = []
    for kr in krs:
        kr.plan.refresh_from_db()
        found.append((type(kr).objects.get(pk=kr.pk).target, kr.plan.version, kr.plan.status))
    return found


# fmt: off
PARENT_LEAD_MATRIX = {
    # (url name, what): (the KR the page is about, form, answers)
    ("plan-editor", "values"): (
        "pipeline",
        lambda o: {"values": ["1700000", "1700000", "1700000"], "rationale": "A bigger market",
                   "version": _version(o["planning"].pipeline)},
        (403, 403, 302, 302)),
    ("plan-editor", "shape"): (
        "pipeline",
        lambda o: {"action": "shape", "shape": "linear", "target": "5100000",
                   "rationale": "A bigger market", "version": _version(o["planning"].pipeline)},
        (403, 403, 302, 302)),
    ("plan-preview-page", "values"): (
        "pipeline",
        lambda o: {"values": ["1700000", "1700000", "1700000"],
                   "version": _version(o["planning"].pipeline)},
        (403, 403, 200, 200)),
    ("kr-target", "target"): (
        "pipeline",
        lambda o: {"target": "5100000", "rationale": "A bigger market",
                   "version": _version(o["planning"].pipeline)},
        (403, 403, 302, 302)),
    ("kr-lock", "lock"): ("lockable", lambda o: {}, (403, 403, 302, 302)),
    ("round-notice", "notice"): (
        None, lambda o: {"message": "Sales cut 300k: please assess."}, (403, 403, 302, 302)),
    ("round-close", "close"): (
        None, lambda o: {"note": "We accept the lower total."}, (403, 403, 302, 302)),
    # Submitting a plan is editing it (`plan_require_edit`): the parent's is its owner's,
    # a child's is its department lead's too (not the parent owner's).
    ("plan-editor", "submit the parent's"): (
        "events", lambda o: {"action": "submit"}, (403, 403, 302, 302)),
    ("plan-editor", "submit a child's"): (
        "kr", lambda o: {"action": "submit"}, (403, 302, 403, 302)),
    # What stays the lead's: the parent's check-ins.
    ("kr-checkin", "checkin"): ("pipeline", lambda o: {"period": "0", "value": "5"},
                                (302, 403, 302, 302)),
}
# fmt: on


@pytest.mark.parametrize(
    ("name", "what"), list(PARENT_LEAD_MATRIX), ids=[" ".join(k) for k in PARENT_LEAD_MATRIX]
)
def test_it_keeps_the_parent_owners_actions_from_the_parents_department_lead(objs, name, what):
    world, pipeline = objs["world"], objs["planning"].pipeline
    assert pipeline.department.lead_id == world.sales_lead.pk != pipeline.owner_id
    which, body, answers = PARENT_LEAD_MATRIX[(name, what)]
    assert objs["events"].department.lead_id == world.sales_lead.pk
    assert objs["kr"].department.lead_id == world.marketing_lead.pk
    users = {
        "parent_lead": world.sales_lead,
        "child_lead": world.marketing_lead,
        "owner": world.owner,
        "admin": world.admin,
    }
    params = dict(objs["path"])
    pointed = objs.get(which, pipeline)
    if which is not None:
        params["kr_id"] = pointed.pk
    route = next(r for r, n in ROUTES if n == name)
    url = reverse(name, kwargs={p: params[p] for p in re.findall(r"<(?:\w+:)?(\w+)>", route)})
    expected = dict(zip(PARENT_LEAD_ROLES, answers, strict=True))
    answered = {}
    for role in PARENT_LEAD_ROLES:
        client = Client()
        client.force_login(users[role])
        with transaction.atomic():
            before = _written(pipeline, pointed)
            response = client.post(url, body(objs))
            answered[role] = response.status_code
            if response.status_code == 403:  # nothing written
                assert _written(pipeline, pointed) == before
            transaction.set_rollback(True)
    assert answered == expected, f"POST {url}"


def test_it_offers_the_parents_plan_editor_only_to_who_may_save_it(objs):
    """The page shows the editor to the parent owner, not to the lead of its department,
    who still sees the check-in form (a KR's check-ins are its lead's too)."""
    world, pipeline = objs["world"], objs["planning"].pipeline
    url = reverse("plan-editor", args=[world.org.slug, pipeline.pk])
    for user, editor in ((world.sales_lead, False), (world.owner, True)):
        client = Client()
        client.force_login(user)
        page = client.get(url).content.decode()
        offered = "Edit the plan" in page or "Modify the locked plan" in page
        assert offered is editor, user.username
        assert 'class="checkin-form"' in page, user.username
