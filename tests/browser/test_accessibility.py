"""Every page, at 1280 px and at 390 px (a phone), checked by axe-core and for overflow.

Each page is opened as the person who sees the most of it (the admin for the admin pages
and the cycle tree, the parent owner for the combined view with two open rounds, the lead
for My work, the inbox with unread notifications and the steps, logged out for the login
page and an e-mailed invitation), in some of its htmx states too (live totals, an error
summary swapped in, a step answered with the message shown). axe's `serious` and
`critical` violations fail (tests/browser/axe.py); at 390 px the page itself must not
scroll sideways (a wide table scrolls inside its own region). Every violation of any
impact is written to test-artifacts/axe-<width>.txt, and each page's screenshot to
test-artifacts/screenshots/.

A page route of the URLconf that is neither visited here nor excluded with a reason
fails `test_it_visits_every_page_route`: a new page is checked from the day it exists.
One browser context per person and width, logged in once (its session cookie is made by
Django's test client), keeps the module fast.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.test import Client
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from playwright.sync_api import Page, expect

from hierarchy import services as hs
from notifications import services as ns
from notifications.models import NotificationKind, Step
from tests.browser.axe import axe_violations, describe, failing
from tests.planning import lock, set_plan
from tests.test_permission_matrix_page import page_routes

User = get_user_model()
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
WIDTHS = (1280, 390)


@dataclass(frozen=True)
class Visit:
    name: str  # the URL name
    who: str | None  # a key of `people` below; None: logged out
    path: Callable[[dict], str]  # the URL, from the data of `site`
    label: str = ""  # which state of the page (several visits of one route)
    then: Callable[[Page, dict], None] | None = None  # brings the page to that state

    @property
    def id(self) -> str:
        return f"{self.name}-{self.label}" if self.label else self.name


def _org(rest: str = "") -> Callable[[dict], str]:
    return lambda s: f"/o/acme/{rest.format(**s)}"


def _type_a_period(page: Page, s: dict) -> None:
    """The live totals and the impact preview, swapped in by htmx while typing."""
    page.get_by_label("Jan 2026").fill("950000")
    expect(page.locator("#live-total")).to_contain_text("2,750,000")
    expect(page.locator("#plan-preview")).to_contain_text("4,450,000")


def _notice_without_message(page: Page, s: dict) -> None:
    """The notice form sent empty: the region comes back with the error summary."""
    page.locator(f"#round-{s['round']}").get_by_role(
        "button", name="Send the impact notice"
    ).click()
    expect(page.get_by_role("alert")).to_be_focused()


def _members_controls_on_screen(page: Page, s: dict) -> None:
    """The admin's Role and Remove controls of every member, inside the window."""
    controls = page.locator("#main table select[name=role], #main table button.danger")
    assert controls.count() >= 16, controls.count()  # 8 members (and 2 invitations)
    width = page.viewport_size["width"]
    for i in range(controls.count()):
        box = controls.nth(i).bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= width, (i, box, width)


def _create_a_token(page: Page, s: dict) -> None:
    """A new token, swapped in by htmx: its key shown once, above the list."""
    page.get_by_label("Name", exact=True).fill("Laptop script")
    page.get_by_role("button", name="Create a token").click()
    expect(page.locator("#new-token-key")).to_be_visible()


def _check_a_file(rows: str) -> Callable[[Page, dict], None]:
    """The history import's check of an uploaded file: its rows, or its errors by row."""

    def check(page: Page, s: dict) -> None:
        body = rows.format(**s).encode()
        page.get_by_label("CSV or XLSX file").set_input_files(
            {"name": "history.csv", "mimeType": "text/csv", "buffer": body}
        )
        page.get_by_role("button", name="Check the file").click()
        expect(page.locator("#check-h")).to_be_visible()

    return check


def _reset_link(s: dict) -> str:
    """pat's real password-reset link (made when visited: a login would void it), which
    Django sends on to the set-password form."""
    user = s["people"]["pat"]
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    return f"/accounts/password/reset/{uid}/{default_token_generator.make_token(user)}/"


def _answer_without_choosing(page: Page, s: dict) -> None:
    page.get_by_role("button", name="Send the answer").click()
    expect(page.locator("#answer-errors")).to_be_visible()


def _answer_no_change(page: Page, s: dict) -> None:
    page.get_by_role("radio", name="No change").check()
    page.get_by_role("button", name="Send the answer").click()
    expect(page.locator(".messages")).to_contain_text("Answered")


def _refuse_a_department_row(page: Page, s: dict) -> None:
    """A department's row refused (a lead nobody has), swapped in by htmx with its error."""
    page.get_by_label("Lead of Sales (username)").fill("nobody-here")
    page.get_by_role("button", name="Save Sales").click()
    expect(page.locator("#main tr.has-errors .errorlist")).to_contain_text("No member")


def _create_a_cycle_without_dates(page: Page, s: dict) -> None:
    """The new cycle's form sent without its dates: the page again, with the errors."""
    page.get_by_label("Name", exact=True).fill("Q9 2026")
    page.get_by_role("button", name="Create cycle").click()
    expect(page.locator("#cycle-start-errors")).to_contain_text("Give the day the cycle starts.")


def _save_a_cycle_without_a_name(page: Page, s: dict) -> None:
    page.get_by_label("Name", exact=True).fill("")
    page.get_by_role("button", name="Save the cycle").click()
    expect(page.locator("#cycle-name-errors")).to_contain_text("Give the cycle a name")


def _refuse_a_threshold(page: Page, s: dict) -> None:
    page.get_by_label("Threshold", exact=True).fill("lots")
    page.get_by_role("button", name="Save default rule").click()
    expect(page.locator("#default-threshold-errors")).to_contain_text("is not a number")


def _add_an_override_without_its_kr(page: Page, s: dict) -> None:
    page.get_by_role("button", name="Save override").click()
    expect(page.locator("#add-kr-errors")).to_contain_text("Choose a key result.")


def _add_a_webhook(page: Page, s: dict) -> None:
    """A webhook added: its secret shown once, above the list."""
    page.get_by_label("Receiver URL").fill("https://hooks.example.test/axe")
    page.get_by_label("A modification round closed").check()
    page.get_by_label("Slack incoming webhook").check()
    page.get_by_role("button", name="Add the webhook").click()
    expect(page.get_by_label("Signing secret")).to_be_visible()


def _add_a_webhook_wrong(page: Page, s: dict) -> None:
    """The form sent without an event: the errors next to the fields."""
    page.get_by_label("Receiver URL").fill("hooks.example.test")
    page.get_by_role("button", name="Add the webhook").click()
    expect(page.locator("#webhook-events-errors")).to_be_visible()


# fmt: off
VISITS = (
    Visit("login", None, lambda s: "/accounts/login/"),
    Visit("signup", None, lambda s: "/accounts/signup/"),
    Visit("password-reset", None, lambda s: "/accounts/password/reset/"),
    Visit("password-reset-done", None, lambda s: "/accounts/password/reset/sent/"),
    Visit("password-reset-confirm", None, _reset_link, "set-password"),
    Visit("password-reset-confirm", None, lambda s: "/accounts/password/reset/MQ/made-up/",
          "invalid"),
    Visit("password-reset-complete", None, lambda s: "/accounts/password/reset/complete/"),
    Visit("invitation-link", None, lambda s: f"/join/{s['email_token']}/", "sign-up"),
    Visit("invitation-link", "maya", lambda s: f"/join/{s['maya_token']}/", "answer"),
    Visit("home", "maya", lambda s: "/"),  # her organizations and a pending invitation
    Visit("profile", "maya", lambda s: "/accounts/profile/", "tokens"),  # one listed
    Visit("profile", "maya", lambda s: "/accounts/profile/", "new-token", _create_a_token),
    Visit("password-change", "maya", lambda s: "/accounts/password/change/"),
    Visit("org-create", "maya", lambda s: "/orgs/new/"),
    Visit("org-setup", "admin", lambda s: f"/o/{s['fresh_org']}/setup/"),  # one step of 3
    Visit("search", "admin", _org("search/?q=pipeline")),
    Visit("org-home", "admin", _org()),
    Visit("cycles", "admin", _org("cycles/")),
    Visit("cycle-tree", "admin", _org("cycles/{cycle}/")),
    Visit("objective-create", "admin", _org("cycles/{cycle}/objectives/new/")),
    Visit("objective-edit", "admin", _org("objectives/{objective}/edit/")),
    Visit("kr-create", "admin", _org("objectives/{objective}/krs/new/")),
    Visit("kr-edit", "admin", _org("krs/{draft_kr}/edit/")),
    Visit("kr-structure", "owner", _org("krs/{pipeline}/structure/"), "shared"),
    Visit("kr-structure", "owner", _org("krs/{funnel}/structure/"), "funnel"),
    Visit("history-import", "maya", _org("imports/"), "form"),
    Visit("history-import", "maya", _org("imports/"), "errors",
          _check_a_file("kr,period,value\n{marketing_kr},0,1200\n{marketing_kr},9,1\n")),
    Visit("history-import", "maya", _org("imports/"), "preview",
          _check_a_file("kr,period,value\n{marketing_kr},0,1200\n{marketing_kr},1,800.5\n")),
    Visit("kr-alignment", "owner", _org("krs/{pipeline}/alignment/"), "two-rounds"),
    Visit("kr-alignment", "owner", _org("krs/{pipeline}/alignment/"), "notice-error",
          _notice_without_message),
    Visit("kr-history", "owner", _org("krs/{pipeline}/history/")),
    Visit("kr-agenda", "owner", _org("krs/{pipeline}/agenda/")),
    Visit("my-home", "maya", _org("me/")),
    Visit("org-dashboard", "owner", _org("dashboard/")),
    Visit("inbox", "maya", _org("notifications/"), "unread"),
    Visit("planning-calendar", "maya", _org("calendar/")),
    Visit("quarterly-report", "admin", _org("reports/quarterly/")),
    Visit("plan-editor", "maya", _org("krs/{marketing_kr}/plan/"), "locked-live",
          _type_a_period),
    Visit("plan-editor", "maya", _org("krs/{draft_kr}/plan/"), "draft"),
    Visit("step", "sam", _org("steps/{cascade_step}/"), "cascade"),
    Visit("step", "maya", _org("steps/{review_step}/"), "error", _answer_without_choosing),
    Visit("step", "maya", _org("steps/{review_step}/"), "answered", _answer_no_change),
    Visit("admin-members", "admin", _org("admin/members/"), then=_members_controls_on_screen),
    Visit("admin-departments", "admin", _org("admin/departments/")),
    Visit("admin-departments", "admin", _org("admin/departments/"), "row-error",
          _refuse_a_department_row),
    Visit("admin-cycles", "admin", _org("admin/cycles/")),
    Visit("admin-cycles", "admin", _org("admin/cycles/"), "errors", _create_a_cycle_without_dates),
    Visit("admin-cycle-edit", "admin", _org("admin/cycles/{cycle}/")),
    Visit("admin-cycle-edit", "admin", _org("admin/cycles/{cycle}/"), "errors",
          _save_a_cycle_without_a_name),
    Visit("admin-settings", "admin", _org("admin/settings/")),
    Visit("admin-rules", "admin", _org("admin/rules/")),
    Visit("admin-rules", "admin", _org("admin/rules/"), "default-error", _refuse_a_threshold),
    Visit("admin-rules", "admin", _org("admin/rules/"), "override-error",
          _add_an_override_without_its_kr),
    Visit("admin-webhooks", "admin", _org("admin/webhooks/")),
    Visit("admin-webhooks", "admin", _org("admin/webhooks/"), "added", _add_a_webhook),
    Visit("admin-webhooks", "admin", _org("admin/webhooks/"), "error", _add_a_webhook_wrong),
    Visit("admin-webhook", "admin", _org("admin/webhooks/{webhook}/")),  # its delivery log
)

# Page routes that are no page of their own: each answers a form of a page visited above
# (with a redirect to it, the fragment it swaps in, or the page again with the errors).
NOT_VISITED = {
    "logout": "POST only: the topbar's form, back to the login page",
    "invitation-accept": "POST only: the home page's and inbox's invitation buttons",
    "invitation-decline": "POST only: the home page's and inbox's invitation buttons",
    "invitation-signup": "POST only: the invitation page's sign-up form (its errors: that page)",
    "kr-checkin": "POST only: the plan editor's check-in form",
    "plan-preview-page": "POST only: the plan editor's impact preview (visited, live)",
    "inbox-read": "POST only: the inbox row, swapped by htmx",
    "inbox-read-all": "POST only: the inbox's button",
    "kr-lock": "POST only: the combined view's lock form",
    "kr-target": "POST only: the combined view's target form",
    "round-notice": "POST only: the combined view's notice form (its error state: visited)",
    "round-close": "POST only: the combined view's close form",
    "admin-member-role": "POST only: the members page's row",
    "admin-member-remove": "POST only: the members page's row",
    "admin-invitation-withdraw": "POST only: the members page's pending invitations",
    "admin-department-update": "POST only: the departments page's row",
    "admin-rule-override": "POST only: the rules page's forms",
    "admin-rule-override-remove": "POST only: the rules page's row",
    "admin-webhook-delete": "POST only: the webhooks page's row",
    "admin-department-archive": "POST only: the departments page's row",
    "admin-department-restore": "POST only: the departments page's archived row",
    "admin-department-delete": "POST only: the departments page's row",
    "admin-cycle-archive": "POST only: the cycle's admin page",
    "admin-cycle-restore": "POST only: the cycles page's archived row",
    "admin-cycle-delete": "POST only: the cycle's admin page",
    "personal-token-create": "POST only: the profile's token form (its answer: visited)",
    "personal-token-revoke": "POST only: the profile's token row",
    "kr-aggregation": "POST only: the structure page's aggregation form",
    "kr-contribution-add": "POST only: the structure page's contribution form",
    "kr-contribution-update": "POST only: the structure page's contribution row",
    "kr-stage-move": "POST only: the structure page's stage order buttons",
    "kr-contribution-remove": "POST only: the structure page's contribution row",
    "kr-dependency-add": "POST only: the structure page's dependency form",
    "kr-dependency-remove": "POST only: the structure page's dependency row",
    "objective-move": "POST only: the cycle tree's order buttons",
    "objective-archive": "POST only: the cycle tree's objective actions",
    "objective-restore": "POST only: the cycle tree's archived objective",
    "kr-move": "POST only: the cycle tree's order buttons",
    "kr-archive": "POST only: the cycle tree's KR actions",
    "kr-restore": "POST only: the cycle tree's archived KR",
    "cycle-tree-export": "a download (CSV or XLSX): tests/plans/test_cycle_tree_export_page.py",
    "kr-alignment-export": "a download: tests/notifications/test_alignment_export_page.py",
    "quarterly-report-export": "a download: tests/notifications/test_quarterly_report_export_page.py",  # noqa: E501
}
# fmt: on


def test_it_visits_every_page_route():
    routes = {name for _, name in page_routes()}
    visited = {visit.name for visit in VISITS}
    assert routes - visited - NOT_VISITED.keys() == set(), (
        "page routes axe does not check: add a Visit (or a reason to NOT_VISITED)"
    )
    assert (visited | NOT_VISITED.keys()) - routes == set(), "routes that no longer exist"
    assert visited.isdisjoint(NOT_VISITED)
    assert len({visit.id for visit in VISITS}) == len(VISITS), "two visits of one name"


@pytest.fixture
def site(objs, funnel, nps):
    """The matrix's objects (an open round on the shared pipeline, maya's review step and
    notification, invitations) and more of what the pages show: a second open round,
    a cascade review, unread notifications, an e-mailed invitation, a KR's override."""
    world, planning = objs["world"], objs["planning"]
    # Marketing modifies too: a second open round on the pipeline (two notice forms).
    set_plan(planning.marketing_kr, [900000, 900000, 900000], rationale="Events budget moved")
    # The funnel: a cascade review for Sales' lead (the proposal table).
    lock(funnel.parent)
    set_plan(funnel.visitors, [2400, 2400, 3200], rationale="Paid search budget cut")
    cascade = Step.objects.get(kind="cascade_review", kr=funnel.paid)
    Step.objects.filter(pk=cascade.pk).update(due_at=timezone.now() - timedelta(hours=2))
    for i, (kind, message) in enumerate(
        [
            (NotificationKind.CHANGE, "“Generate $5M in new pipeline” changed its target."),
            (NotificationKind.REMINDER, "Reminder: assess the impact on “Sales pipeline”."),
        ]
    ):
        ns.notification_create(
            organization_id=world.org.pk,
            user_id=world.marketing_lead.pk,
            kind=kind,
            key=f"axe:{i}",
            message=message,
        )
    emailed = hs.invitation_create(
        org=world.org, actor=world.admin, role="member", email="newcomer@example.test"
    )
    ns.rule_set(org=world.org, kr=planning.pipeline, upward="notify", downward="none")
    path = objs["path"]
    # A new organization of the admin's, one step of its setup guide done (a department).
    fresh = hs.organization_create(name="Fresh Start", slug="fresh", actor=world.admin)
    hs.department_create(org=fresh, name="Operations", lead=world.admin)
    return {
        "fresh_org": fresh.slug,
        "objective": path["objective_id"],
        "funnel": objs["funnel"].pk,
        "cycle": planning.cycle.pk,
        "pipeline": planning.pipeline.pk,
        "marketing_kr": planning.marketing_kr.pk,
        "draft_kr": objs["kr"].pk,
        "round": path["round_id"],
        "webhook": path["webhook_id"],
        "review_step": path["step_id"],
        "cascade_step": cascade.pk,
        "email_token": emailed.token,
        "maya_token": path["token"],
        "people": {
            "admin": world.admin,
            "owner": world.owner,
            "maya": world.marketing_lead,
            "sam": world.sales_lead,
            "pat": User.objects.get(username="pat"),
        },
    }


def _overflow(page: Page) -> int:
    """How far the page scrolls sideways (0: it fits the window)."""
    return page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")


def _sticking_out(page: Page) -> list[str]:
    """What sticks out of its card's content box, into its padding or beyond its edge
    (the page need not scroll for that): the card's heading, the element, by how much.
    What scrolls inside a box of its own (a wide table) and screen-reader text do not."""
    return page.evaluate(
        r"""() => {
            const found = [];
            for (const card of document.querySelectorAll("main .card")) {
                const box = card.getBoundingClientRect();
                const right = box.right - parseFloat(getComputedStyle(card).paddingRight)
                    - parseFloat(getComputedStyle(card).borderRightWidth);
                for (const el of card.querySelectorAll("*")) {
                    if (el.closest(".table-scroll, .sr-only, [hidden]")) continue;
                    const r = el.getBoundingClientRect();
                    if (r.width && r.right > right + 1) {
                        const head = card.querySelector("h1, h2, h3");
                        const name = card.id || (head ? head.textContent.trim() : "a card");
                        const what = el.id ? `#${el.id}` : el.tagName.toLowerCase()
                            + (el.className && typeof el.className === "string"
                               ? "." + el.className.trim().split(/\s+/).join(".") : "");
                        const by = Math.round(r.right - right);
                        found.push(`${name.slice(0, 40)} > ${what}: ${by} px`);
                        break;
                    }
                }
            }
            return found;
        }"""
    )


def _uncued_scrolling(page: Page) -> list[str]:
    """The table boxes that scroll sideways without the hint above them, or that the
    keyboard cannot reach (static/js/scroll-regions.js does both)."""
    return page.evaluate(
        """() => [...document.querySelectorAll(".table-scroll")]
            .filter((box) => box.scrollWidth > box.clientWidth + 1)
            .filter((box) => box.getAttribute("tabindex") !== "0" || !box.getAttribute("aria-label")
                || !(box.previousElementSibling
                     && box.previousElementSibling.classList.contains("scroll-hint")))
            .map((box) => box.querySelector("table").className || "a table")"""
    )


@pytest.mark.parametrize("width", WIDTHS)
def test_it_finds_no_serious_violation_on_any_page(site, browser, live_server, width):
    contexts = {}

    def page_of(who: str | None) -> Page:
        if who not in contexts:
            context = browser.new_context(
                viewport={"width": width, "height": 900}, base_url=live_server.url
            )
            if who is not None:
                client = Client()
                client.force_login(site["people"][who])
                name = settings.SESSION_COOKIE_NAME
                cookie = client.cookies[name].value
                context.add_cookies([{"name": name, "value": cookie, "url": live_server.url}])
            contexts[who] = context.new_page()
        return contexts[who]

    failures, report = [], []
    shots = ARTIFACTS / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    try:
        for visit in VISITS:
            page = page_of(visit.who)
            response = page.goto(visit.path(site))
            assert response.status == 200, f"{visit.id}: {response.status} at {page.url}"
            if visit.then is not None:
                visit.then(page, site)
            found = axe_violations(page)
            where = f"{visit.id} @{width}: "
            if found:
                report.append(describe(found, where))
            if serious := failing(found):
                failures.append(describe(serious, where))
            if width < 700 and (overflow := _overflow(page)) > 0:
                failures.append(f"{where}the page scrolls sideways by {overflow} px")
            if cards := _sticking_out(page):
                failures.append(f"{where}wider than their card: {', '.join(cards)}")
            if boxes := _uncued_scrolling(page):
                failures.append(f"{where}scrolls sideways without the cue: {', '.join(boxes)}")
            page.screenshot(path=str(shots / f"axe-{width}-{visit.id}.png"), full_page=True)
    finally:
        for page in contexts.values():
            page.context.close()
        (ARTIFACTS / f"axe-{width}.txt").write_text("\n".join(report) + "\n")
    assert not failures, "\n".join(failures)
