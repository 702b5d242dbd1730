"""Celery tasks of the regulation app: idempotent, for the beat."""

from celery import shared_task

from regulation import services


@shared_task
def send_cpd_reminders() -> int:
    """Beat, a few times a day: remind learners behind on CPD 60 and 14 days before a
    period ends (each reminder once)."""
    return services.cpd_reminders_send()
