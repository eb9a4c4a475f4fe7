"""The history import page in Chromium (issue 14 item 5): choose a file, see every row and
every error by row number, fix it, commit: all or nothing."""

import pytest
from playwright.sync_api import expect

from plans.models import HistoryPoint
from tests.conftest import PASSWORD


@pytest.mark.parametrize("width", [1280, 390])
def test_it_checks_a_file_shows_its_errors_then_imports_the_fixed_one(
    planning, world, page, live_server, login, screenshot, tmp_path, width
):
    page.set_viewport_size({"width": width, "height": 900})
    kr = planning.marketing_kr
    login(world.marketing_lead.username, PASSWORD)
    expect(page.get_by_role("heading", name="Your organizations")).to_be_visible()
    page.goto(f"{live_server.url}/o/acme/cycles/")
    page.get_by_role("link", name="Import operational history").click()
    expect(page.get_by_role("heading", name="Import operational history")).to_be_visible()
    screenshot(f"form-{width}")

    bad = tmp_path / "history.csv"
    bad.write_text(f"kr,period,value\n{kr.pk},0,1200\n{kr.pk},5,1\n{planning.sales_kr.pk},0,3\n")
    page.get_by_label("CSV or XLSX file").set_input_files(str(bad))
    page.get_by_role("button", name="Check the file").click()
    expect(page.get_by_role("alert")).to_contain_text("This file cannot be imported: 2 problems.")
    errors = page.locator("table.import-errors tbody tr")
    expect(errors).to_have_count(2)
    expect(errors.nth(0)).to_contain_text("3period: 5 is out of range")
    expect(errors.nth(1)).to_contain_text("4kr: you may not import history")
    expect(page.get_by_role("button", name="Import")).to_have_count(0)
    screenshot(f"errors-{width}")

    good = tmp_path / "fixed.csv"
    good.write_text(f"kr,date,value\n{kr.pk},2026-01-10,1200\n{kr.pk},2026-02-10,800.5\n")
    page.get_by_label("CSV or XLSX file").set_input_files(str(good))
    page.get_by_role("button", name="Check the file").click()
    expect(page.locator("#import-ready")).to_contain_text("replaces the whole history")
    rows = page.locator("table.import-rows tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(1)).to_contain_text("Feb 2026")
    expect(rows.nth(1)).to_contain_text("800.5 USD")
    assert not HistoryPoint.objects.exists()
    screenshot(f"preview-{width}")
    page.get_by_role("button", name="Import 2 rows").click()
    expect(page.get_by_role("status")).to_contain_text("Imported 2 rows of “fixed.csv”")
    assert dict(HistoryPoint.objects.filter(kr=kr).values_list("period", "value")) == {
        0: 1200,
        1: 800.5,
    }
