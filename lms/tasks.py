"""Celery tasks of the core app."""

import requests
from celery import shared_task
from django.core.mail import EmailMultiAlternatives

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
