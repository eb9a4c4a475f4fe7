"""Outgoing webhooks (API.md §Outgoing webhooks; docs/decisions.md, issue 16).

An organization's admins point webhooks at receivers; each event the webhook takes is
POSTed to it, signed with the webhook's secret.

- **The outbox.** The services that make an event happen (a locked plan modified, a
  threshold crossed, a round opened, noticed, orphaned or closed, a step overdue) call
  `webhook_events_record` inside their own transaction: one `WebhookDelivery` per
  webhook that takes the event, its body frozen then. The event and its deliveries
  commit together or not at all; on commit a task is queued to deliver them (a broker
  that is down loses nothing: the sweep finds them).
- **Delivery.** `webhook_deliver` claims one due delivery at a time (a lease,
  `claimed_until`, and whose attempt it is, `claim`), counts the attempt, POSTs outside
  any transaction (okrplan/lib/outbound.py: the address checked again, the request
  bounded in time), and records the answer. A 2xx: delivered, never sent again. Anything
  else: the next attempt after the wait `WEBHOOK_RETRY_SECONDS` gives for it, or failed
  after the last. A worker killed during an attempt leaves the delivery claimed: another
  takes it after the lease, with the same id.
- **One receiver never holds up the others.** A receiver that does not answer costs one
  attempt per pass: its other deliveries wait for the next pass, and those of every other
  webhook go on. A receiver that answers 2xx again gets its pending deliveries at once,
  oldest first, without waiting out their backoff.
"""

import hashlib
import hmac
import json
import logging
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import connection, transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from notifications.models import (
    DeliveryStatus,
    Webhook,
    WebhookDelivery,
    WebhookEvent,
    WebhookFormat,
)
from okrplan.lib import outbound
from okrplan.lib.numbers import fmt, num
from okrplan.lib.text import one_line

log = logging.getLogger(__name__)

URL_MAX = 2000
RUN_SECONDS = 60  # a pass stops claiming after this: the next sweep goes on
USER_AGENT = "okrplan-webhooks/1"


# --- Webhooks: what admins write ---------------------------------------------------


def secret_new() -> str:
    return secrets.token_urlsafe(32)


def _url_clean(url) -> str:
    url = (url or "").strip() if isinstance(url, str) else url
    if not isinstance(url, str) or not url:
        raise ValidationError({"url": ["Give the receiver's URL (https://…)."]})
    if len(url) > URL_MAX:
        raise ValidationError({"url": [f"A URL has at most {URL_MAX:,} characters."]})
    try:
        URLValidator(schemes=list(outbound.SCHEMES))(url)
    except ValidationError:
        raise ValidationError(
            {"url": ["Enter a full http:// or https:// URL, such as https://example.com/hook."]}
        ) from None
    refusal = outbound.url_refusal(url, allow_private=settings.WEBHOOK_ALLOW_PRIVATE)
    if refusal:
        raise ValidationError({"url": [refusal]})
    return url


def events_clean(events) -> list[str]:
    """The events, each once, in the catalog's order; ValidationError naming `events`."""
    names = ", ".join(WebhookEvent.values)
    if not isinstance(events, list | tuple) or not events:
        raise ValidationError({"events": [f"Choose at least one event: {names}."]})
    unknown = [e for e in events if not isinstance(e, str) or e not in WebhookEvent.values]
    if unknown:
        shown = ", ".join(f"“{one_line(str(e))[:40]}”" for e in unknown[:3])
        raise ValidationError({"events": [f"Not an event: {shown}. The events are {names}."]})
    return [e for e in WebhookEvent.values if e in events]


def _format_clean(format) -> str:
    if format not in WebhookFormat.values:
        raise ValidationError({"format": [f"Choose {', '.join(WebhookFormat.values)}."]})
    return format


@transaction.atomic
def webhook_create(*, org, actor, url: str, events: list[str], format: str = "json") -> Webhook:
    """A webhook of `org` with a new secret (the one time it is shown: the caller's
    answer)."""
    return Webhook.objects.create(
        organization=org,
        url=_url_clean(url),
        events=events_clean(events),
        format=_format_clean(format),
        secret=secret_new(),
        created_by=actor,
    )


@transaction.atomic
def webhook_update(
    *, webhook: Webhook, url: str | None = None, events=None, format: str | None = None
) -> Webhook:
    """Change what is given of a webhook (only those columns are written: two admins
    changing different things both keep theirs, and no row lock is needed). Its pending
    deliveries go to the new URL, with the bodies they were recorded with."""
    changed = {}
    if url is not None:
        changed["url"] = _url_clean(url)
    if events is not None:
        changed["events"] = events_clean(events)
    if format is not None:
        changed["format"] = _format_clean(format)
    for name, value in changed.items():
        setattr(webhook, name, value)
    if changed:
        webhook.save(update_fields=list(changed))
    return webhook


@transaction.atomic
def webhook_delete(*, webhook: Webhook) -> None:
    """The webhook and its delivery log; a delivery under way is not marked any more."""
    Webhook.objects.filter(organization_id=webhook.organization_id, pk=webhook.pk).delete()


# --- Events: the outbox ---------------------------------------------------------------


@dataclass(frozen=True)
class Occurrence:
    """One event of one organization: its data (the `json` body's `data`), a sentence
    for people (the chat formats) and the page it is about: a URL name of ours and its
    arguments after the organization's slug."""

    organization_id: int
    event: str
    data: dict
    text: str
    page: tuple[str, tuple]


def page_url(org, page: tuple[str, tuple]) -> str:
    """The page's absolute address (SITE_URL: where people open okrplan)."""
    name, args = page
    return f"{settings.SITE_URL}{reverse(name, args=[org.slug, *args])}"


def moment(at: datetime) -> str:
    """A time in a message read outside the app (no viewer's time zone): the server's."""
    return timezone.localtime(at).strftime("%-d %b %Y, %H:%M %Z")


def iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()


def dec(value: Decimal | None) -> str | None:
    """A figure in a body: a decimal string without trailing zeros ("4500000", "-12.5")."""
    return fmt(value)


def _signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _slack(text: str) -> str:
    """Text for Slack's mrkdwn: its three control characters escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def body_of(hook: Webhook, occurrence: Occurrence, *, event_id: str, at: datetime) -> str:
    """The exact body POSTed for `occurrence` to `hook`, in the webhook's format."""
    title = WebhookEvent(occurrence.event).label
    org = hook.organization
    url = page_url(org, occurrence.page)
    if hook.format == WebhookFormat.SLACK:
        payload = {
            "text": f"{_slack(title)}: {_slack(occurrence.text)} <{url}|Open in okrplan>",
            "blocks": [
                {
                    "type": "section",
                    "text": {
                        "type": "mrkdwn",
                        "text": f"*{_slack(title)}*\n{_slack(occurrence.text)}",
                    },
                },
                {
                    "type": "context",
                    "elements": [
                        {"type": "mrkdwn", "text": f"{_slack(org.name)} · <{url}|Open in okrplan>"}
                    ],
                },
            ],
        }
    elif hook.format == WebhookFormat.TEAMS:
        payload = {
            "type": "message",
            "attachments": [
                {
                    "contentType": "application/vnd.microsoft.card.adaptive",
                    "contentUrl": None,
                    "content": {
                        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                        "type": "AdaptiveCard",
                        "version": "1.4",
                        "body": [
                            {"type": "TextBlock", "text": title, "weight": "Bolder", "wrap": True},
                            {"type": "TextBlock", "text": occurrence.text, "wrap": True},
                            {"type": "TextBlock", "text": org.name, "isSubtle": True, "wrap": True},
                        ],
                        "actions": [
                            {"type": "Action.OpenUrl", "title": "Open in okrplan", "url": url}
                        ],
                    },
                }
            ],
        }
    else:
        payload = {
            "id": event_id,
            "event": occurrence.event,
            "created_at": iso(at),
            "organization": {"slug": org.slug, "name": org.name},
            "data": {**occurrence.data, "url": url},
        }
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


class _DeliverSoon:
    """The commit hook of a transaction that recorded deliveries: one task for all."""

    def __init__(self):
        self.ids: list[str] = []

    def __call__(self) -> None:
        from notifications.tasks import webhook_deliver_enqueue

        webhook_deliver_enqueue(self.ids)


def _deliver_soon(ids: list[str]) -> None:
    for _, func, _ in connection.run_on_commit:
        if isinstance(func, _DeliverSoon):
            func.ids += ids
            return
    soon = _DeliverSoon()
    soon.ids += ids
    transaction.on_commit(soon)


def hooks_for(org_ids, event: str) -> dict[int, list[Webhook]]:
    """The webhooks of these organizations that take `event`, by organization (one
    query): empty, and the caller loads nothing more for the event's data."""
    hooks: dict[int, list[Webhook]] = {}
    for hook in Webhook.objects.filter(organization_id__in=set(org_ids)).select_related(
        "organization"
    ):
        if event in hook.events:
            hooks.setdefault(hook.organization_id, []).append(hook)
    return hooks


def webhook_events_record(
    *, occurrences: list[Occurrence], hooks: dict[int, list[Webhook]], now: datetime | None = None
) -> int:
    """The outbox: a delivery for each of `hooks` (`hooks_for`) of an occurrence's
    organization that takes its event, in the caller's transaction, queued for delivery
    when it commits; how many were recorded. One statement."""
    now = now or timezone.now()
    deliveries = []
    for occurrence in occurrences:
        event_id = str(uuid.uuid4())  # the same for every webhook told of it
        for hook in hooks.get(occurrence.organization_id, []):
            if occurrence.event not in hook.events:
                continue
            deliveries.append(
                WebhookDelivery(
                    organization_id=hook.organization_id,
                    webhook=hook,
                    event=occurrence.event,
                    body=body_of(hook, occurrence, event_id=event_id, at=now),
                    created_at=now,
                    next_attempt_at=now,
                )
            )
    if deliveries:
        WebhookDelivery.objects.bulk_create(deliveries)
        _deliver_soon([str(d.pk) for d in deliveries])
    return len(deliveries)


# --- Delivery -------------------------------------------------------------------------


def retry_wait(attempts: int, schedule=None) -> timedelta | None:
    """The wait after the `attempts`-th failed attempt, or None: that was the last."""
    schedule = settings.WEBHOOK_RETRY_SECONDS if schedule is None else schedule
    if attempts > len(schedule):
        return None
    return timedelta(seconds=float(schedule[attempts - 1]))


@dataclass
class DeliverReport:
    delivered: int = 0
    retried: int = 0
    failed: int = 0
    answers: list = field(default_factory=list)  # (delivery id, Answer), in order


def _claim(
    *, ids, alive: set, dead: set, now: datetime
) -> tuple[WebhookDelivery, uuid.UUID] | None:
    """One delivery to attempt now, claimed (its lease), its attempt counted; or None.

    Due, and free (never claimed, or its lease ran out: a worker killed during its
    attempt). A delivery of a webhook that answered 2xx in this pass is due at once; one
    of a webhook that did not answer waits for the next pass."""
    due = Q(next_attempt_at__lte=now)
    if alive:
        due |= Q(webhook_id__in=alive)
    with transaction.atomic():
        rows = (
            WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(due, status=DeliveryStatus.PENDING)
            .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
            .exclude(webhook_id__in=dead)
            .order_by("next_attempt_at", "created_at")
        )
        if ids is not None:
            rows = rows.filter(pk__in=ids)
        delivery = rows.select_related("webhook").first()
        if delivery is None:
            return None
        claim = uuid.uuid4()
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            claimed_until=now + timedelta(seconds=float(settings.WEBHOOK_LEASE_SECONDS)),
            claim=claim,
            attempts=F("attempts") + 1,
        )
        delivery.attempts += 1
    return delivery, claim


def headers_of(delivery: WebhookDelivery, body: bytes) -> dict:
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Okrplan-Event": delivery.event,
        "X-Okrplan-Delivery": str(delivery.pk),
        "X-Okrplan-Signature": _signature(delivery.webhook.secret, body),
    }


def _record(delivery: WebhookDelivery, claim: uuid.UUID, answer: outbound.Answer) -> str:
    """Record an attempt's answer: the delivery's status after it."""
    now = timezone.now()
    this = WebhookDelivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.PENDING)
    if answer.ok:  # whoever's attempt it was: it is delivered, and never sent again
        this.update(
            status=DeliveryStatus.DELIVERED,
            delivered_at=now,
            last_status_code=answer.status,
            last_error="",
            claimed_until=None,
            claim=None,
        )
        return DeliveryStatus.DELIVERED
    wait = retry_wait(delivery.attempts)
    reason = one_line(answer.error)[:500]
    if wait is None:
        reason = one_line(f"Gave up after {delivery.attempts} attempts. {reason}")[:500]
    this.filter(claim=claim).update(  # not if its lease ran out and another took it
        status=DeliveryStatus.PENDING if wait else DeliveryStatus.FAILED,
        last_status_code=answer.status,
        last_error=reason,
        next_attempt_at=now + wait if wait else F("next_attempt_at"),
        claimed_until=None,
        claim=None,
    )
    return DeliveryStatus.PENDING if wait else DeliveryStatus.FAILED


def webhook_deliver(*, ids: list | None = None, seconds: float = RUN_SECONDS) -> DeliverReport:
    """Attempt every delivery due (with `ids`: those of them), one at a time, for at most
    `seconds`; what came of it. Safe to run in several workers at once."""
    report = DeliverReport()
    alive: set[int] = set()
    dead: set[int] = set()
    stop = time.monotonic() + seconds
    while time.monotonic() < stop:
        claimed = _claim(ids=ids, alive=alive, dead=dead, now=timezone.now())
        if claimed is None:
            break
        delivery, claim = claimed
        try:
            body = delivery.body.encode()
            answer = outbound.post(
                delivery.webhook.url,
                body=body,
                headers=headers_of(delivery, body),
                timeout=float(settings.WEBHOOK_TIMEOUT_SECONDS),
                allow_private=settings.WEBHOOK_ALLOW_PRIVATE,
            )
            status = _record(delivery, claim, answer)
        except Exception:  # one delivery's trouble (the database gone a moment) is its own
            log.exception("webhook delivery %s: the attempt could not be recorded", delivery.pk)
            dead.add(delivery.webhook_id)  # left claimed: tried again after the lease
            continue
        report.answers.append((delivery.pk, answer))
        if answer.ok:
            alive.add(delivery.webhook_id)
            report.delivered += 1
        else:
            if answer.status is None:
                dead.add(delivery.webhook_id)
            alive.discard(delivery.webhook_id)
            report.retried += status == DeliveryStatus.PENDING
            report.failed += status == DeliveryStatus.FAILED
            log.warning(
                "webhook delivery %s (%s) attempt %s: %s",
                delivery.pk,
                delivery.event,
                delivery.attempts,
                "given up" if status == DeliveryStatus.FAILED else answer.error[:200],
            )
    return report


# --- The events (called by the services, in their transactions) --------------------


def _kr(kr) -> dict:
    return {"id": kr.pk, "title": kr.title, "unit": kr.unit}


def plan_modified(*, event, changed: Callable, revision) -> None:
    """A locked plan was modified (PlanChanged with `is_modification`)."""
    hooks = hooks_for([event.organization_id], WebhookEvent.PLAN_MODIFIED)
    if not hooks:
        return
    kr = changed()
    why = f": “{revision.rationale}”" if revision.rationale else ""
    webhook_events_record(
        occurrences=[
            Occurrence(
                organization_id=event.organization_id,
                event=WebhookEvent.PLAN_MODIFIED,
                data={
                    "kr": {**_kr(kr), "department": kr.department.name},
                    "revision": revision.pk,
                    "cause": revision.cause,
                    "rationale": revision.rationale,
                    "before_target": dec(revision.before_target),
                    "after_target": dec(revision.after_target),
                    "before_values": [dec(v) for v in revision.before_values],
                    "after_values": [dec(v) for v in revision.after_values],
                },
                text=f"{kr.department.name} modified the locked plan “{kr.title}” "
                f"({num(revision.before_target)} → {num(revision.after_target)} {kr.unit}){why}.",
                page=("kr-history", (kr.pk,)),
            )
        ],
        hooks=hooks,
    )


def thresholds_crossed(*, event, audience, plans: dict, changed: Callable, revision) -> None:
    """Ancestors whose total crossed the threshold of their rule (each one's baseline was
    reset by the notice), whoever is told of it."""
    crossed = [
        (ancestor_id, decision)
        for ancestor_id, decision in audience.decisions.items()
        if decision.notify and decision.kind == "threshold"
    ]
    if not crossed:
        return
    hooks = hooks_for([event.organization_id], WebhookEvent.THRESHOLD_CROSSED)
    if not hooks:
        return
    kr = changed()
    occurrences = []
    for ancestor_id, decision in crossed:
        ancestor = plans[ancestor_id].kr
        before, after = event.ancestor_totals[ancestor_id]
        moved = f", {decision.moved_pct:+}% from its baseline" if decision.moved_pct else ""
        occurrences.append(
            Occurrence(
                organization_id=event.organization_id,
                event=WebhookEvent.THRESHOLD_CROSSED,
                data={
                    "kr": _kr(ancestor),
                    "before_total": dec(before),
                    "after_total": dec(after),
                    "moved_pct": dec(decision.moved_pct),
                    "changed_kr": {**_kr(kr), "department": kr.department.name},
                    "revision": revision.pk,
                    "rationale": revision.rationale,
                },
                text=f"“{ancestor.title}” now adds up to {num(after)} {ancestor.unit} "
                f"(was {num(before)}{moved}): {kr.department.name} changed “{kr.title}”.",
                page=("kr-alignment", (ancestor.pk,)),
            )
        )
    webhook_events_record(occurrences=occurrences, hooks=hooks)


def _round(round) -> dict:
    return {
        "id": round.pk,
        "parent_kr": _kr(round.parent_kr),
        "modified_kr": {**_kr(round.modified_kr), "department": round.modified_kr.department.name},
        "started_at": iso(round.started_at),
    }


def round_event(round, event: str, *, text: str, at: datetime, **data) -> None:
    """A round opened, was noticed, orphaned or closed (`round` with its KRs loaded, or
    they are loaded when a webhook takes the event)."""
    hooks = hooks_for([round.organization_id], event)
    if not hooks:
        return
    webhook_events_record(
        occurrences=[
            Occurrence(
                organization_id=round.organization_id,
                event=event,
                data={"round": _round(round), "at": iso(at), **data},
                text=text,
                page=("kr-alignment", (round.parent_kr_id,)),
            )
        ],
        hooks=hooks,
        now=at,
    )


def steps_overdue(steps: list, *, messages: dict[int, str], now: datetime) -> None:
    """Steps escalated by the deadline scan (`steps` with kr, assignee and round loaded;
    `messages`: the escalation's sentence of each)."""
    if not steps:
        return
    hooks = hooks_for({s.organization_id for s in steps}, WebhookEvent.STEP_OVERDUE)
    if not hooks:
        return
    occurrences = [
        Occurrence(
            organization_id=s.organization_id,
            event=WebhookEvent.STEP_OVERDUE,
            data={
                "step": {
                    "id": s.pk,
                    "kind": s.kind,
                    "assignee": s.assignee.username,
                    "due_at": iso(s.due_at),
                    "round": s.round_id,
                    "period": s.period,
                },
                "kr": _kr(s.kr),
            },
            text=messages[s.pk],
            page=("step", (s.pk,)),
        )
        for s in steps
        if s.organization_id in hooks
    ]
    webhook_events_record(occurrences=occurrences, hooks=hooks, now=now)
