"""Outbound webhooks: an institution's endpoints hear about its learners' progress.

Deliveries are logged rows, written in the transaction of the event and sent by
:func:`lms.tasks.deliver_webhook` after commit (see :data:`lms.signals.webhook_deliveries_logged`).
"""

import hashlib
import hmac
import json
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import requests
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from lms import signals
from lms.caches import WEBHOOKS
from lms.models import (
    DeliveryStatus,
    Institution,
    Webhook,
    WebhookDelivery,
    WebhookEvent,
)

# --- Outbound webhooks ----------------------------------------------------------------------
# An institution's endpoints hear about its learners' progress. Deliveries are logged rows,
# written in the transaction of the event and sent by lms.tasks.deliver_webhook after commit.

WEBHOOK_SECRET_PREFIX = "whsec"
WEBHOOK_TIMEOUT_SECONDS = 10
SIGNATURE_HEADER = "X-SSW-Signature"
EVENT_HEADER = "X-SSW-Event"
DELIVERY_HEADER = "X-SSW-Delivery"


class WebhookError(Exception):
    pass


class WebhookDeliveryError(WebhookError):
    """The endpoint answered, but not with a 2xx status: the delivery is retried."""


@transaction.atomic
def webhook_create(
    *, institution: Institution, url: str, events: list[str] | None = None
) -> tuple[Webhook, str]:
    """Create a webhook and return it with its signing secret, to show the manager once."""
    url = url.strip()
    try:
        URLValidator(schemes=["https", "http"])(url)
    except ValidationError:
        raise WebhookError(_("Enter an http:// or https:// URL.")) from None
    events = list(dict.fromkeys(events)) if events else list(WebhookEvent.values)
    unknown = sorted(set(events) - set(WebhookEvent.values))
    if unknown:
        raise WebhookError(_("Unknown events: %s") % ", ".join(unknown))
    secret = f"{WEBHOOK_SECRET_PREFIX}_{secrets.token_urlsafe(32)}"
    webhook = Webhook.objects.create(institution=institution, url=url, secret=secret, events=events)
    return webhook, secret


def webhook_set_active(*, webhook: Webhook, active: bool) -> Webhook:
    """Pause or resume a webhook; paused ones are sent nothing (pending deliveries fail)."""
    Webhook.objects.filter(pk=webhook.pk).update(active=active)
    WEBHOOKS.changed()  # an update sends no signal
    webhook.active = active
    return webhook


def _active_webhooks(institution_ids: Iterable[int]) -> dict[int, list[tuple[int, tuple]]]:
    """Each institution's active webhooks as ``(id, events)``, oldest first; one query for the
    institutions this process has not read since their webhooks last changed, else none."""
    memo = WEBHOOKS.memo()
    missing = {pk for pk in institution_ids if pk not in memo}
    if missing:
        found: dict[int, list[tuple[int, tuple]]] = {pk: [] for pk in missing}
        for pk, institution_id, events in (
            Webhook.objects.filter(institution__in=missing, active=True)
            .order_by("created_at", "pk")
            .values_list("pk", "institution_id", "events")
        ):
            found[institution_id].append((pk, tuple(events)))
        memo.update(found)
    return {pk: memo[pk] for pk in institution_ids}


def webhook_signature(*, secret: str, body: bytes) -> str:
    """The value of ``X-SSW-Signature``: an HMAC-SHA256 of the exact body bytes, in hex."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def webhooks_dispatch(
    *, institution: Institution | int | QuerySet | None, event: str, payload: dict
) -> list[WebhookDelivery]:
    """Log a delivery of ``event`` to each of the institution's active webhooks that wants it,
    and send each once the caller's transaction commits (nothing is sent if it rolls back).

    ``institution`` may be a one-column subquery of its id, so callers that know the
    institution only through other rows spend a single query here.
    """

    if institution is None:
        return []
    if isinstance(institution, QuerySet):
        webhooks = [
            (webhook.pk, webhook.events)
            for webhook in Webhook.objects.filter(institution=institution, active=True)
        ]
    else:
        institution_id = getattr(institution, "pk", institution)
        webhooks = _active_webhooks([institution_id])[institution_id]
    wanted = [pk for pk, events in webhooks if event in events]
    if not wanted:
        return []
    deliveries = WebhookDelivery.objects.bulk_create(
        WebhookDelivery(webhook_id=pk, event=event, payload=payload) for pk in wanted
    )
    signals.webhook_deliveries_logged.send(
        sender=WebhookDelivery, delivery_ids=[delivery.pk for delivery in deliveries]
    )
    return deliveries


@dataclass(frozen=True)
class WebhookNotice:
    """One event for :func:`webhooks_dispatch_many`. ``payload`` may be a callable that builds
    it: it is called only when one of the institution's webhooks wants the event."""

    institution_id: int | None
    event: str
    payload: dict | Callable[[], dict]


def webhooks_dispatch_many(*, notices: Iterable[WebhookNotice]) -> list[WebhookDelivery]:
    """:func:`webhooks_dispatch` for many events at once, in order: one query finds the
    webhooks of all the institutions named (none when this process knows them already, see
    :data:`WEBHOOKS`), one insert logs every delivery.

    Payloads given as callables are built only for events some webhook wants, so a batch
    whose institutions have no webhook costs one query and builds nothing.
    """

    notices = [notice for notice in notices if notice.institution_id is not None]
    if not notices:
        return []
    webhooks_of = _active_webhooks({notice.institution_id for notice in notices})
    deliveries = []
    for notice in notices:
        wanted = [pk for pk, events in webhooks_of[notice.institution_id] if notice.event in events]
        if not wanted:
            continue
        payload = notice.payload() if callable(notice.payload) else notice.payload
        deliveries.extend(
            WebhookDelivery(webhook_id=pk, event=notice.event, payload=payload) for pk in wanted
        )
    if not deliveries:
        return []
    deliveries = WebhookDelivery.objects.bulk_create(deliveries)
    signals.webhook_deliveries_logged.send(
        sender=WebhookDelivery, delivery_ids=[delivery.pk for delivery in deliveries]
    )
    return deliveries


def webhook_body(*, delivery: WebhookDelivery) -> bytes:
    """The request body: the same bytes on every attempt, so a signature can be checked."""
    envelope = {
        "id": str(delivery.uuid),
        "event": delivery.event,
        "created_at": delivery.created_at.isoformat(),
        "data": delivery.payload,
    }
    return json.dumps(envelope, sort_keys=True, separators=(",", ":")).encode()


def webhook_deliver(*, delivery_id: int, final: bool = False) -> WebhookDelivery | None:
    """Send one delivery. Idempotent: a delivered one is not sent again.

    Raises ``requests.RequestException`` or :class:`WebhookDeliveryError` when the endpoint
    cannot be reached or refuses, for the task to retry; ``final`` marks the last attempt,
    after which the delivery is logged as failed. No transaction is held open during the request.
    """

    delivery = WebhookDelivery.objects.select_related("webhook").filter(pk=delivery_id).first()
    if delivery is None or delivery.status == DeliveryStatus.DELIVERED:
        return delivery
    webhook = delivery.webhook
    if not webhook.active:
        delivery.status, delivery.last_error = DeliveryStatus.FAILED, _("The webhook is disabled.")
        delivery.save(update_fields=["status", "last_error"])
        return delivery
    body = webhook_body(delivery=delivery)
    delivery.attempts += 1
    try:
        response = requests.post(
            webhook.url,
            data=body,
            headers={
                "Content-Type": "application/json",
                SIGNATURE_HEADER: webhook_signature(secret=webhook.secret, body=body),
                EVENT_HEADER: delivery.event,
                DELIVERY_HEADER: str(delivery.uuid),
            },
            timeout=WEBHOOK_TIMEOUT_SECONDS,
            allow_redirects=False,
        )
        if not 200 <= response.status_code < 300:
            raise WebhookDeliveryError(f"HTTP {response.status_code}: {response.text[:500]}")
    except (requests.RequestException, WebhookDeliveryError) as error:
        delivery.last_error = str(error)[:2000] or error.__class__.__name__
        if final:
            delivery.status = DeliveryStatus.FAILED
        delivery.save(update_fields=["attempts", "last_error", "status"])
        raise
    delivery.status, delivery.delivered_at, delivery.last_error = (
        DeliveryStatus.DELIVERED,
        timezone.now(),
        "",
    )
    delivery.save(update_fields=["attempts", "status", "delivered_at", "last_error"])
    return delivery
