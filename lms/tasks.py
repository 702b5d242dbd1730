"""Celery tasks of the core app."""

import requests
from celery import shared_task
from django.core.mail import EmailMultiAlternatives
from django.db import transaction

from lms import services


@shared_task(
    bind=True,
    autoretry_for=(OSError,),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=8,
)
def send_email(self, message: dict) -> str:
    """Send one already-rendered e-mail. Retried with backoff when the mail server is away."""
    email = EmailMultiAlternatives(
        subject=message["subject"],
        body=message["body"],
        from_email=message.get("from_email"),
        to=message["to"],
    )
    email.content_subtype = message.get("content_subtype", "plain")
    for alternative in message.get("alternatives", []):
        email.attach_alternative(alternative["content"], alternative["mimetype"])
    email.send()
    return ",".join(message["to"])


@shared_task(
    bind=True,
    autoretry_for=(requests.RequestException, services.WebhookDeliveryError),
    retry_backoff=30,  # 30 s, 1 min, 2 min… with jitter, at most an hour apart
    retry_backoff_max=3600,
    retry_jitter=True,
    max_retries=8,
)
def deliver_webhook(self, delivery_id: int) -> str:
    """Send one logged webhook delivery; retried with backoff while the endpoint fails."""
    delivery = services.webhook_deliver(
        delivery_id=delivery_id, final=self.request.retries >= self.max_retries
    )
    return delivery.status if delivery else "missing"


def deliveries_send_after_commit(sender, *, delivery_ids, **kwargs) -> None:
    """Receiver of :data:`lms.signals.webhook_deliveries_logged` (connected in
    ``LmsConfig.ready``): one :func:`deliver_webhook` task per delivery after commit; robust,
    so that with eager tasks (dev, tests) a failing endpoint does not fail the caller."""
    for delivery_id in delivery_ids:
        transaction.on_commit(_send_later(delivery_id), robust=True)


def _send_later(delivery_id: int):
    def send_webhook_delivery():  # named: Django logs robust on-commit failures by name
        deliver_webhook.delay(delivery_id)

    return send_webhook_delivery
