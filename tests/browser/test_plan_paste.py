"""Paste a row from a spreadsheet into the plan editor (issue 14 item 5), in Chromium: the
periods fill from the field pasted into, and the live totals follow."""

import pytest
from playwright.sync_api import expect

from plans.models import PlanRevision
from tests.conftest import PASSWORD


@pytest.fixture(autouse=True)
def _patient_expect():
    """htmx waits 300 ms, then asks the server: on a loaded machine that can take a while."""
    expect.set_options(timeout=20_000)
    yield
    expect.set_options(timeout=5_000)


def open_editor(page, live_server, login, world, kr):
    login(world.marketing_lead.username, PASSWORD)
    expect(page.get_by_role("heading", name="Your organizations")).to_be_visible()
    page.goto(f"{live_server.url}/o/acme/krs/{kr.pk}/plan/")
    expect(page.get_by_role("heading", name=kr.title, exact=True)).to_be_visible()


def paste(page, selector: str, text: str) -> bool:
    """Fire a paste event carrying `text` on the input, as the browser does for Ctrl+V;
    True when the page let the browser paste it itself (nothing prevented)."""
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


@pytest.mark.parametrize("width", [1280, 390])
def test_it_fills_the_periods_from_a_pasted_row_and_updates_the_total(
    planning, world, page, live_server, login, screenshot, width
):
    page.set_viewport_size({"width": width, "height": 900})
    kr = planning.marketing_kr
    open_editor(page, live_server, login, world, kr)
    total = page.locator("#live-total")
    expect(total).to_have_text("3,000,000 USD")
    page.evaluate("window.__noReload = true")

    # A row copied from Excel or Google Sheets: tabs between cells, a line break after.
    assert paste(page, "#value-0", "1200000\t900000\t600000\r\n") is False
    expect(page.get_by_label("Jan 2026")).to_have_value("1200000")
    expect(page.get_by_label("Feb 2026")).to_have_value("900000")
    expect(page.get_by_label("Mar 2026")).to_have_value("600000")
    expect(total).to_have_text("2,700,000 USD")
    expect(page.locator("#live-centroid")).to_have_text("0.39")  # (0.9 + 2·0.6) / (2·2.7)
    expect(page.locator("#plan-preview")).to_contain_text("4,700,000 USD")  # the shared total
    expect(page.locator("#paste-note")).to_have_text("Pasted 3 values into Jan 2026 to Mar 2026.")
    assert page.evaluate("window.__noReload") is True  # filled in place: no page load
    page.locator("#paste-note").scroll_into_view_if_needed()
    screenshot(f"pasted-{width}")

    page.get_by_role("button", name="Save plan").click()
    expect(page.get_by_role("status").filter(has_text="Saved the plan")).to_be_visible()
    revision = PlanRevision.objects.filter(kr=kr).latest("version")
    assert [str(v) for v in revision.after_values] == ["1200000", "900000", "600000"]


def test_it_fills_what_fits_says_what_was_left_out_and_names_a_bad_cell(
    planning, world, page, live_server, login, screenshot
):
    page.set_viewport_size({"width": 390, "height": 900})
    open_editor(page, live_server, login, world, planning.marketing_kr)

    # Into February, a column of four: two fit, two are left out, and said so.
    assert paste(page, "#value-1", "10\n20\n30\n40\n") is False
    expect(page.get_by_label("Jan 2026")).to_have_value("1000000")  # before the field: kept
    expect(page.get_by_label("Feb 2026")).to_have_value("10")
    expect(page.get_by_label("Mar 2026")).to_have_value("20")
    note = page.locator("#paste-note")
    expect(note).to_have_text(
        "Pasted 2 of 4 values, into Feb 2026 to Mar 2026: the plan has no period after "
        "Mar 2026, so 2 were left out (30, 40)."
    )
    expect(note).to_have_class("paste-note paste-note-warning")
    expect(page.locator("#live-total")).to_have_text("1,000,030 USD")
    note.scroll_into_view_if_needed()
    screenshot("too-many")

    # Semicolons (the list separator where the comma is decimal): "1,5" is no number here.
    assert paste(page, "#value-0", "7;1,5;9") is False
    expect(page.get_by_label("Feb 2026")).to_have_value("1,5")
    expect(page.locator("#live-problem")).to_contain_text(
        "Feb 2026 (value 2): “1,5” is not a number"
    )

    # Commas: a list; but one number with thousands separators is one number.
    assert paste(page, "#value-0", "5,6,7") is False
    expect(page.get_by_label("Mar 2026")).to_have_value("7")
    expect(page.locator("#live-total")).to_have_text("18 USD")
    assert paste(page, "#value-0", "1,000,000") is True  # the browser's own paste
    assert paste(page, "#value-0", "42") is True
    expect(page.get_by_label("Feb 2026")).to_have_value("6")  # untouched


def test_it_takes_a_real_ctrl_v_from_the_clipboard(
    planning, world, page, context, live_server, login
):
    """The same through the system clipboard and the keyboard: a trusted paste event."""
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    open_editor(page, live_server, login, world, planning.marketing_kr)
    page.evaluate("navigator.clipboard.writeText('5\\t6\\t7\\n')")
    page.get_by_label("Jan 2026").click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Control+V")
    expect(page.get_by_label("Feb 2026")).to_have_value("6")
    expect(page.get_by_label("Mar 2026")).to_have_value("7")
    expect(page.locator("#live-total")).to_have_text("18 USD")
