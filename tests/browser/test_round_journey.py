"""A modification round in the browser (SPEC.md §5, §8 $5M pipeline): Marketing's lead
modifies the locked plan with a rationale, the parent owner hears of it and sends the
impact notice, Sales answers, the parent owner closes the round."""

import re

from playwright.sync_api import expect

from notifications.models import Notification, NotificationKind, Round, Step, StepKind
from tests.conftest import PASSWORD
from tests.planning import lock


def test_it_plays_a_round_from_modification_to_close(
    planning, world, page, live_server, login, screenshot
):
    lock(planning.pipeline)
    page.set_viewport_size({"width": 1366, "height": 900})

    # Marketing's lead modifies the locked plan, with the rationale, in the plan editor.
    login(world.marketing_lead.username, PASSWORD)
    expect(page.get_by_role("heading", name="Your organizations")).to_be_visible()
    page.goto(f"{live_server.url}/o/acme/me/")
    page.get_by_role("link", name=re.compile("Edit plan of .Marketing")).click()
    expect(page.get_by_role("heading", name="Modify the locked plan")).to_be_visible()
    for label in ("Jan 2026", "Feb 2026", "Mar 2026"):
        page.get_by_label(label).fill("800000")
    expect(page.locator("#plan-preview")).to_contain_text("600,000 USD (12.00%)")
    page.get_by_label("Rationale").fill("Channel algorithm change")
    screenshot("0-modification")
    page.get_by_role("button", name="Save the modification").click()
    expect(page.get_by_role("status").filter(has_text="Saved the modification")).to_be_visible()
    round = Round.objects.get(parent_kr=planning.pipeline)

    # The parent owner logs in and sees the unread badge, then the notification.
    login(world.owner.username, PASSWORD)
    expect(page.get_by_role("heading", name="Your organizations")).to_be_visible()
    page.goto(f"{live_server.url}/o/acme/")
    expect(page.get_by_label("2 unread notifications")).to_have_text("2")
    page.get_by_role("navigation", name="Organization").get_by_role(
        "link", name=re.compile("Inbox")
    ).click()
    step_note = page.locator("li.inbox-row.unread", has_text="modified its locked plan")
    expect(step_note).to_contain_text("Channel algorithm change")
    screenshot("1-inbox")

    # The combined view: the gap, the open round and its steps.
    step_note.get_by_role("link", name=re.compile("Combined view of")).click()
    expect(page.get_by_role("heading", name="Generate $5M in new pipeline")).to_be_visible()
    expect(page.get_by_text("600,000 short (12.00%)")).to_be_visible()
    article = page.locator(f"#round-{round.pk}")
    expect(article).to_contain_text("No impact notice yet.")
    screenshot("2-combined-view")

    # The impact notice, sent with htmx (no full reload).
    page.evaluate("window.__noReload = true")
    notice = article.get_by_role("form", name="Send the impact notice")
    expect(notice).to_contain_text("Sends one message to Sales (sam), Partnerships (pat)")
    notice.get_by_role("button", name="Send the impact notice").click()
    expect(page.get_by_text("Write the impact notice the departments will read.")).to_be_visible()
    expect(page.get_by_role("alert")).to_be_focused()  # the error summary, for keyboards
    message = "Marketing's MQL volume is down 20%. Sales, does this affect your conversion plan?"
    article = page.locator(f"#round-{round.pk}")
    article.get_by_label("Message").fill(message)
    article.get_by_text("Add a line for one department").click()
    article.get_by_label("Only for Sales (optional)").fill(
        "Your current plan assumes 60% of leads come from Marketing MQLs."
    )
    article.get_by_role("button", name="Send the impact notice").click()
    expect(page.get_by_role("status").filter(has_text="Impact notice sent")).to_be_visible()
    sam = Notification.objects.get(user=world.sales_lead, kind=NotificationKind.IMPACT_NOTICE)
    assert "For Sales: Your current plan assumes 60% of leads" in sam.message
    assert page.evaluate("window.__noReload") is True
    article = page.locator(f"#round-{round.pk}")
    expect(article).to_contain_text("Impact notice sent")
    expect(article.locator("tr", has_text="Assess the impact")).to_have_count(2)
    screenshot("3-notice-sent")

    # Sales' lead finds the assess step on My work and answers it.
    step = Step.objects.get(round=round, kind=StepKind.ASSESS, kr=planning.sales_kr)
    login(world.sales_lead.username, PASSWORD)
    expect(page.get_by_role("heading", name="Your organizations")).to_be_visible()
    page.goto(f"{live_server.url}/o/acme/me/")
    page.locator(f"#step-{step.pk}").get_by_role("link", name=re.compile("Answer")).click()
    page.get_by_role("radio", name=re.compile("No change")).check()
    page.get_by_role("textbox", name="Note").fill("Outbound covers it")
    page.get_by_role("button", name="Send the answer").click()
    expect(page.get_by_role("status").filter(has_text="Answered")).to_be_visible()
    screenshot("3b-sales-answered")
    step.refresh_from_db()
    assert (step.state, step.answer, step.note) == ("done", "no_change", "Outbound covers it")

    # The parent owner comes back to the combined view.
    login(world.owner.username, PASSWORD)
    expect(page.get_by_role("heading", name="Your organizations")).to_be_visible()
    page.goto(f"{live_server.url}/o/acme/krs/{planning.pipeline.pk}/alignment/")

    # The parent owner sees the answer, and closes the round.
    article = page.locator(f"#round-{round.pk}")
    expect(article.locator("tr", has_text="sam")).to_contain_text("No change")
    close = article.get_by_role("form", name="Close the round")
    close.get_by_label("Decision").fill("Sales absorbs part of the drop; target stays for now.")
    close.get_by_role("button", name=f"Close round {round.number}").click()
    expect(page.get_by_role("status").filter(has_text=f"{round.label} is closed")).to_be_visible()
    expect(page.get_by_text("No open rounds.")).to_be_visible()
    expect(page.locator(f"#round-{round.pk}")).to_contain_text("closed")
    screenshot("4-round-closed")

    # The audit trail holds the whole round, and the page reads well on a tablet.
    page.get_by_role("link", name="History").click()
    expect(page.get_by_role("heading", name=re.compile("History of"))).to_be_visible()
    expect(page.locator("tr[data-event='closed']")).to_have_count(1)
    screenshot("5-history")
    page.set_viewport_size({"width": 820, "height": 1180})
    page.goto(f"{live_server.url}/o/acme/krs/{planning.pipeline.pk}/alignment/")
    expect(page.get_by_role("heading", name="Generate $5M in new pipeline")).to_be_visible()
    expect(page.get_by_text("No open rounds.")).to_be_visible()
    screenshot("6-combined-view-tablet")
    page.get_by_role("link", name="Alignment meeting agenda").click()
    expect(page.get_by_role("button", name="Print")).to_be_visible()
    screenshot("7-agenda-tablet")
    page.emulate_media(media="print")
    expect(page.get_by_role("button", name="Print")).to_be_hidden()
    expect(page.locator(".topbar")).to_be_hidden()
    last_item = page.get_by_role("heading", name=re.compile("Agree on the modification"))
    expect(last_item).to_be_visible()
    screenshot("8-agenda-print")
