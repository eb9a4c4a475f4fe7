"""A company starts its quarter in Chromium, from an empty database, clicking only (issue
14's first "Must show"): the admin signs up from the login page, creates the organization
and follows its setup guide (departments, the first cycle, two leads invited by e-mail);
each lead opens the link of their e-mail, signs up through it and accepts; the admin
writes an objective and a key result in the cycle tree and makes it shared with three
contributions in three departments; one lead pastes a row from a spreadsheet, the other
applies a preset; the admin, the parent owner, locks and exports the combined view as XLSX,
which is opened here with openpyxl.

No address is typed after the login page: the only `page.goto` after it opens the link
taken from an outgoing e-mail (django.core.mail's outbox, as the worker sends it)."""

import calendar
import re
from datetime import date, timedelta
from decimal import Decimal

import openpyxl
import pytest
from django.core import mail
from playwright.sync_api import expect

from hierarchy.models import Department, KeyResult, Membership, Organization
from notifications.services import email_deliver
from okrplan.lib.tenancy import system_scope

ADMIN, LEAD1, LEAD2 = "ada", "lena", "omar"
PASSPHRASE = "a-long-and-unusual-passphrase"
LINK = re.compile(r"(http://\S+/join/[\w-]+/)")


@pytest.fixture(autouse=True)
def _patient_expect():
    """htmx waits after typing, then asks the server: the machine's two cores are shared."""
    expect.set_options(timeout=20_000)
    yield
    expect.set_options(timeout=5_000)


def _months_ahead(day: date, months: int) -> date:
    """The first day of the month `months` after `day`'s."""
    year, month = divmod(day.month - 1 + months, 12)
    return date(day.year + year, month + 1, 1)


def _cycle_days() -> tuple[date, date, list[str]]:
    """A quarter of months starting this month: current today, its periods still open."""
    start = date.today().replace(day=1)
    last = _months_ahead(start, 2)
    end = last.replace(day=calendar.monthrange(last.year, last.month)[1])
    labels = [_months_ahead(start, n).strftime("%b %Y") for n in range(3)]
    return start, end, labels


def _paste(page, selector: str, text: str) -> bool:
    """A paste event carrying `text`, as the browser fires it for Ctrl+V on the input
    (tests/browser/test_plan_paste.py); False when the page handled it itself."""
    data = page.evaluate_handle(
        "text => { const d = new DataTransfer(); d.setData('text/plain', text); return d; }",
        text,
    )
    return page.evaluate(
        """([selector, data]) => {
            const input = document.querySelector(selector);
            input.focus();
            const event = new ClipboardEvent("paste", {
                clipboardData: data, bubbles: true, cancelable: true,
            });
            return input.dispatchEvent(event);
        }""",
        [selector, data],
    )


def _fits(page) -> None:
    width = page.viewport_size["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def _invitation_link(address: str) -> str:
    """The worker sends what is queued; the link is read from the e-mail to `address`."""
    with system_scope():
        email_deliver()
    sent = [m for m in mail.outbox if m.to == [address]]
    assert len(sent) == 1, [m.to for m in mail.outbox]
    found = LINK.findall(sent[0].body)
    assert len(found) == 1, sent[0].body
    return found[0]


def _join(browser, live_server, link: str, username: str, address: str, screenshot_dir):
    """A lead, in a browser of their own: opens the e-mail's link, signs up, accepts."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(link)  # clicking the link in the e-mail
    expect(page.get_by_role("heading", name="Join Initech")).to_be_visible()
    expect(page.get_by_text(f"{ADMIN} invited you to join Initech as member")).to_be_visible()
    expect(page.get_by_label("E-mail address")).to_have_value(address)
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSPHRASE)
    if screenshot_dir is not None:
        page.screenshot(path=str(screenshot_dir), full_page=True)
    page.get_by_role("button", name="Sign up", exact=True).click()
    expect(page.get_by_text(f"Welcome, {username}: now accept or decline.")).to_be_visible()
    page.get_by_role("button", name="Accept and join").click()
    expect(page.get_by_text("You are now a member of Initech.")).to_be_visible()
    expect(page.get_by_role("heading", name="Initech", exact=True)).to_be_visible()
    return page


def test_it_takes_a_company_from_sign_up_to_a_locked_exported_plan(
    transactional_db, page, browser, live_server, settings, screenshot
):
    settings.SITE_URL = live_server.url
    start, end, months = _cycle_days()
    assert not Organization.objects.exists()
    page.set_viewport_size({"width": 1280, "height": 900})

    # 1. the admin-to-be signs up from the login page (the one address typed)
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_role("link", name="Sign up").click()
    expect(page.get_by_role("heading", name="Sign up")).to_be_visible()
    page.get_by_label("Username").fill(ADMIN)
    page.get_by_label("E-mail address").fill("ada@example.test")
    page.get_by_label("Password").fill(PASSPHRASE)
    screenshot("signup-1280")
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_text(f"Welcome to okrplan, {ADMIN}.")).to_be_visible()

    # 2. the organization, and its setup guide
    main = page.get_by_role("main")
    main.get_by_role("link", name="Create an organization").click()
    expect(page.get_by_role("heading", name="New organization")).to_be_visible()
    page.get_by_label("Name", exact=True).fill("Initech")
    expect(page.get_by_label("Address name (slug)")).to_have_value("initech")
    page.get_by_role("button", name="Create the organization").click()
    expect(page.get_by_role("heading", name="Set up Initech")).to_be_visible()
    expect(page.get_by_text("0 of 3 done")).to_be_visible()
    screenshot("guide-start-1280")

    # 3. a department, led by the admin for now (the leads are not members yet)
    page.get_by_role("link", name="Add a department").click()
    page.locator("#add-name").fill("Marketing")
    page.get_by_label("Lead (username of a member)").fill(ADMIN)
    page.get_by_role("button", name="Create department").click()
    expect(page.get_by_text("1 of 3 done")).to_be_visible()
    expect(page.get_by_text(f"Department Marketing created, led by {ADMIN}.")).to_be_visible()

    # 4. the first cycle: this month and the next two, planned now
    page.get_by_role("link", name="Create the cycle").click()
    page.get_by_label("Name", exact=True).fill("Q-now")
    page.get_by_label("Start", exact=True).fill(start.isoformat())
    page.get_by_label("End", exact=True).fill(end.isoformat())
    page.get_by_label("Refine window starts").fill(start.isoformat())
    page.get_by_label("Refine window ends").fill(min(end, date.today() + timedelta(14)).isoformat())
    page.get_by_role("button", name="Create cycle").click()
    expect(page.get_by_text("2 of 3 done")).to_be_visible()

    # 5. two leads invited by e-mail
    page.get_by_role("link", name="Invite someone").click()
    page.get_by_label("Username or e-mail address").fill("lena@example.test")
    page.get_by_role("button", name="Invite", exact=True).click()
    expect(page.get_by_text("3 of 3 done")).to_be_visible()
    expect(page.get_by_text("Initech is ready to plan.")).to_be_visible()
    page.get_by_role("link", name="Invite more people").click()
    page.get_by_label("Username or e-mail address").fill("omar@example.test")
    page.get_by_role("button", name="Invite", exact=True).click()
    expect(page.get_by_text("3 of 3 done")).to_be_visible()
    expect(page.locator(".setup-state-done")).to_have_count(3)
    artifacts = screenshot("guide-done-1280").parent

    # each lead: the e-mail's link, a sign-up through it, accepted
    lena = _join(
        browser, live_server, _invitation_link("lena@example.test"), LEAD1,
        "lena@example.test", artifacts / "journey-invitation-signup-1280.png",
    )  # fmt: skip
    omar = _join(
        browser, live_server, _invitation_link("omar@example.test"), LEAD2,
        "omar@example.test", None,
    )  # fmt: skip
    org = Organization.objects.get()
    members = Membership.objects.filter(organization=org).values_list("user__username", flat=True)
    assert set(members) == {ADMIN, LEAD1, LEAD2}

    # the two other departments, led by the leads now that they are members
    page.get_by_role("navigation", name="Organization").get_by_role("link", name="Admin").click()
    page.get_by_role("navigation", name="Administration").get_by_role(
        "link", name="Departments"
    ).click()
    for name, lead in (("Sales", LEAD1), ("Product", LEAD2)):
        page.locator("#add-name").fill(name)
        page.get_by_label("Lead (username of a member)").fill(lead)
        page.get_by_role("button", name="Create department").click()
        expect(page.get_by_text(f"Department {name} created, led by {lead}.")).to_be_visible()
    assert Department.objects.filter(organization=org).count() == 3

    # 6. the cycle tree: an objective and a key result, written in place
    page.get_by_role("navigation", name="Organization").get_by_role("link", name="Cycles").click()
    page.get_by_role("link", name="Q-now", exact=True).click()
    expect(page.get_by_text("This cycle has no objectives yet.")).to_be_visible()
    page.get_by_role("link", name="Add an objective").click()
    form = page.get_by_role("form", name="Add an objective to Q-now")
    form.get_by_label("Title").fill("Grow new business")
    form.get_by_role("button", name="Add the objective").click()
    expect(page.get_by_role("heading", name="Grow new business")).to_be_visible()
    page.get_by_role("link", name="Add a key result to “Grow new business”").click()
    form = page.get_by_role("form", name="Add a key result to “Grow new business”")
    form.get_by_label("Title").fill("New pipeline")
    form.get_by_label("Department").select_option(label="Marketing")
    form.get_by_label("Unit").fill("USD")
    form.get_by_label("Metric kind").select_option("cumulative")
    form.get_by_label("Target").fill("5,000,000")
    screenshot("tree-authoring-1280")
    form.get_by_role("button", name="Add the key result").click()
    expect(page.get_by_role("status").filter(has_text="Added “New pipeline”")).to_be_visible()
    tree = page.locator("#tree")
    expect(tree.get_by_role("row", name="New pipeline")).to_contain_text("5,000,000 USD")
    screenshot("tree-1280")

    # 7. the structure page: three contributions in three departments
    tree.get_by_role("link", name="Make shared of “New pipeline”").click()
    expect(page.get_by_role("heading", name="New pipeline", exact=True)).to_be_visible()
    add = page.locator("#add-contribution")
    for title, department, owner, target in (
        ("Marketing pipeline", "Marketing", ADMIN, "1,000,000"),
        ("Sales pipeline", "Sales", LEAD1, "3,000,000"),
        ("Product-led pipeline", "Product", LEAD2, "1,000,000"),
    ):
        add.get_by_label("Title").fill(title)
        add.get_by_label("Department").select_option(label=department)
        add.get_by_label("Owner").select_option(owner)
        add.get_by_label("Target").fill(target)
        add.get_by_role("button", name="Add the contribution").click()
        expect(page.get_by_role("status")).to_contain_text(f"Added “{title}” ({department}")
    contributions = page.locator("#contributions")
    expect(contributions.get_by_role("heading")).to_contain_text("3 in 3 departments")
    screenshot("structure-1280")
    parent = KeyResult.objects.get(title="New pipeline")
    children = {c.title: c for c in KeyResult.objects.filter(parent=parent)}
    assert {c.owner.username for c in children.values()} == {ADMIN, LEAD1, LEAD2}
    assert parent.cross_functional

    # 8. lead 1 pastes a row from a spreadsheet into the first period, and saves
    lena.get_by_role("navigation", name="Organization").get_by_role("link", name="My work").click()
    lena.get_by_role("link", name="Edit plan of “Sales pipeline”").click()
    expect(lena.get_by_role("heading", name="Sales pipeline", exact=True)).to_be_visible()
    assert _paste(lena, "#value-0", "100\t200\t300\r\n") is False
    for label, value in zip(months, ("100", "200", "300"), strict=True):
        expect(lena.get_by_label(label)).to_have_value(value)
    expect(lena.locator("#live-total")).to_have_text("600 USD")
    lena.get_by_role("button", name="Save plan").click()
    expect(lena.get_by_role("status").filter(has_text="Saved the plan")).to_be_visible()
    lena.screenshot(path=str(artifacts / "journey-pasted-1280.png"), full_page=True)

    # lead 2 applies a preset (front-loaded) to their target, which saves it
    omar.get_by_role("navigation", name="Organization").get_by_role("link", name="My work").click()
    omar.get_by_role("link", name="Edit plan of “Product-led pipeline”").click()
    expect(omar.get_by_role("heading", name="Product-led pipeline", exact=True)).to_be_visible()
    omar.get_by_label("Shape").select_option(label="Front-loaded")
    omar.get_by_label("Target to reach (USD)").fill("1,000,000")
    omar.get_by_role("button", name="Apply shape").click()
    expect(omar.get_by_role("status").filter(has_text="Saved the plan")).to_be_visible()
    product = KeyResult.objects.get(pk=children["Product-led pipeline"].pk)
    shaped = [Decimal(v) for v in product.plan.values]
    assert sum(shaped) == Decimal(1_000_000) and shaped[0] > shaped[1] > shaped[2]

    # 9. the parent owner opens the combined view, locks, and exports XLSX
    page.reload()  # the structure page as it is now (the admin's own browser)
    page.get_by_role("link", name="Combined view").click()
    table = page.locator("table.contributions")
    expect(table.locator("tbody tr")).to_have_count(3)
    page.get_by_role("button", name="Lock 4 plans").click()
    expect(page.get_by_text("All plans are locked.")).to_be_visible()
    # the shared target per month, split evenly: to the cent, as USD is
    expect(page.locator("tr.target-row")).to_contain_text("1,666,666.67")
    screenshot("combined-locked-1280")
    with page.expect_download() as download:
        page.get_by_role("link", name="Export XLSX").click()
    assert download.value.suggested_filename == "new-pipeline.xlsx"
    saved = artifacts / "journey-new-pipeline.xlsx"
    download.value.save_as(saved)
    book = openpyxl.load_workbook(saved, read_only=True)
    sheet = book.active
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    header = rows[0]
    assert header[:4] == ["Department", "Key result", "KR id", "Owner"]
    assert header[4:7] == months
    by_title = {r[1]: r for r in rows[1:] if r[1] in children}
    assert set(by_title) == set(children)
    assert by_title["Sales pipeline"][0] == "Sales"
    assert by_title["Sales pipeline"][3] == LEAD1
    assert [Decimal(str(v)) for v in by_title["Sales pipeline"][4:7]] == [100, 200, 300]
    assert by_title["Product-led pipeline"][3] == LEAD2
    assert [Decimal(str(v)) for v in by_title["Product-led pipeline"][4:7]] == shaped
    assert by_title["Marketing pipeline"][3] == ADMIN
    parent.refresh_from_db()
    assert parent.plan.is_locked
    assert all(KeyResult.objects.get(pk=c.pk).plan.is_locked for c in children.values())

    # on a phone: the pages of the journey, nothing cut off
    page.set_viewport_size({"width": 390, "height": 844})
    expect(page.get_by_text("All plans are locked.")).to_be_visible()
    _fits(page)
    screenshot("combined-locked-390")
    page.get_by_role("navigation", name="Breadcrumb").get_by_role("link", name="Q-now").click()
    tree = page.locator("#tree")
    expect(tree.get_by_role("row", name="New pipeline")).to_contain_text("5,000,000 USD")
    _fits(page)
    screenshot("tree-390")
    tree.get_by_role("link", name="Contributions of “New pipeline”").click()
    expect(page.locator("#contributions").get_by_role("heading")).to_contain_text(
        "3 in 3 departments"
    )
    _fits(page)
    screenshot("structure-390")
    lena.set_viewport_size({"width": 390, "height": 844})
    expect(lena.get_by_label(months[0])).to_have_value("100")
    _fits(lena)
    lena.screenshot(path=str(artifacts / "journey-pasted-390.png"), full_page=True)
