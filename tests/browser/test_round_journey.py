"""A modification round in the browser (SPEC.md §5, §8 $5M pipeline): the parent
owner hears of Marketing's change, sends the impact notice, Sales answers, the
parent owner closes the round."""

import re

from playwright.sync_api import expect

from notifications.models import Notification, NotificationKind, Round, Step, StepKind
from notifications.services import step_answer
from tests.conftest import PASSWORD
from tests.planning import lock, set_plan


def test_it_plays_a_round_from_modification_to_close(
    planning, world, page, live_server, login, screenshot
):
    # TODO(integrator): Marketing's lead modifies through the plan editor page
    # (built on branch ui-lead); until then, through the service it calls.
    lock(planning.pipeline)
    set_plan(planning.marketing_kr, [800000, 800000, 800000], rationale="Channel algorithm change")
    round = Round.objects.get(parent_kr=planning.pipeline)
    page.set_viewport_size({"width": 1366, "height": 900})

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

    # Sales answers its assess step.
    # TODO(integrator): through POST /o/<org>/steps/<id>/ (the step-answer page is built on
    # branch ui-lead and is not in this tree); until then, through the service it calls.
    step = Step.objects.get(round=round, kind=StepKind.ASSESS, kr=planning.sales_kr)
    step_answer(step=step, actor=world.sales_lead, answer="no_change", note="Outbound covers it")

    # The parent owner reloads, sees the answer, and closes the round.
    page.reload()
    article = page.locator(f"#round-{round.pk}")
    expect(article.locator("tr", has_text="sam")).to_contain_text("No change")
    close = article.get_by_role("form", name="Close the round")
    close.get_by_label("Decision").fill("Sales absorbs part of the drop; target stays for now.")
    close.get_by_role("button", name=f"Close round {round.pk}").click()
    expect(
        page.get_by_role("status").filter(has_text=f"Round {round.pk} is closed")
    ).to_be_visible()
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
