"""Celery tasks of the core app."""

from celery import shared_task
from django.core.mail import EmailMultiAlternatives


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
