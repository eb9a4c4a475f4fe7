"""An admin adds a webhook in the browser, copies its secret (shown once), reads the
delivery log after a real event reached a real receiver on 127.0.0.1, and removes it;
axe-core finds nothing serious at 1280 and 390 px."""

import json

from playwright.sync_api import expect

from notifications import webhooks
from notifications.models import Webhook, WebhookDelivery
from tests.browser.axe import assert_no_serious_violations
from tests.conftest import PASSWORD
from tests.planning import lock, set_plan
from tests.receiver import Receiver


def test_an_admin_adds_a_webhook_reads_its_log_and_removes_it(
    planning, world, page, live_server, login, screenshot
):
    with Receiver(answers=[204, 503]) as receiver:
        login(world.admin.username, PASSWORD)
        expect(page.get_by_role("heading", name="Your organizations")).to_be_visible()
        page.goto(f"{live_server.url}/o/acme/admin/members/")
        page.get_by_role("navigation", name="Administration").get_by_role(
            "link", name="Webhooks"
        ).click()
        expect(page.get_by_role("heading", name="Webhooks", level=1)).to_be_visible()
        expect(page.get_by_text("No webhooks yet.")).to_be_visible()
        assert_no_serious_violations(page)
        screenshot("empty-1280")

        # refused first: no event chosen; what was typed stays
        page.get_by_label("Receiver URL").fill(receiver.url)
        page.get_by_role("button", name="Add the webhook").click()
        expect(page.locator("#webhook-events-errors")).to_have_text("Choose at least one event.")
        expect(page.get_by_label("Receiver URL")).to_have_value(receiver.url)
        assert_no_serious_violations(page)
        screenshot("error-1280")

        page.get_by_label("A modification round opened").check()
        page.get_by_label("A locked plan was modified").check()
        page.get_by_label("JSON (signed, for your own receiver)").check()
        page.get_by_role("button", name="Add the webhook").click()
        added = page.get_by_role("status").filter(has_text="Webhook added")
        expect(added).to_be_visible()
        hook = Webhook.objects.get()
        expect(page.get_by_label("Signing secret")).to_have_value(hook.secret)
        assert hook.events == ["plan.modified", "round.opened"]
        assert_no_serious_violations(page)
        screenshot("added-1280")
        page.set_viewport_size({"width": 390, "height": 844})
        assert_no_serious_violations(page)
        screenshot("added-390")
        page.set_viewport_size({"width": 1280, "height": 900})

        # a real event: a locked plan modified (two deliveries); the receiver answers 204, then 503
        lock(planning.pipeline)
        set_plan(planning.marketing_kr, [800000, 800000, 800000], rationale="Channel change")
        webhooks.webhook_deliver()
        page.goto(f"{live_server.url}/o/acme/admin/webhooks/")
        expect(page.get_by_label("Signing secret")).to_have_count(0)  # shown once only
        row = page.locator(f"#webhook-{hook.pk}")
        expect(row).to_contain_text("1 delivered, 1 pending")
        row.get_by_role("link", name="Delivery log").click()
        expect(page.get_by_role("heading", name="Delivery log", level=1)).to_be_visible()
        log = page.locator(".delivery-table")
        expect(log).to_contain_text("HTTP 503")
        expect(log).to_contain_text("Delivered")
        expect(log).to_contain_text("next try")
        for delivery in WebhookDelivery.objects.all():
            expect(log).to_contain_text(str(delivery.pk))
        assert_no_serious_violations(page)
        screenshot("log-1280")
        page.set_viewport_size({"width": 390, "height": 844})
        assert_no_serious_violations(page)
        assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
        screenshot("log-390")
        page.set_viewport_size({"width": 1280, "height": 900})

        received = [json.loads(r.body)["event"] for r in receiver.received]
        assert sorted(received) == ["plan.modified", "round.opened"]
        assert all(r.signed_with(hook.secret) for r in receiver.received)

        page.get_by_role("link", name="← All webhooks").click()
        page.once("dialog", lambda dialog: dialog.accept())
        page.get_by_role("button", name=f"Remove the webhook to {receiver.url}").click()
        expect(page.get_by_role("status").filter(has_text="is removed")).to_be_visible()
        expect(page.get_by_text("No webhooks yet.")).to_be_visible()
        assert not Webhook.objects.exists() and not WebhookDelivery.objects.exists()
