"""Celery tasks of the regulation app: idempotent, for the beat."""

from celery import shared_task

from regulation import services


@shared_task
def send_cpd_reminders() -> int:
    """Beat, a few times a day: remind learners behind on CPD 60 and 14 days before a
    period ends (each reminder once)."""
    return services.cpd_reminders_send()


@shared_task
def count_figures(country: str) -> float:
    """Count one country's workforce figures afresh (see :mod:`regulation.counting`); the
    seconds it took."""
    from regulation import counting

    return counting.figures_count(country=country).seconds


@shared_task
def count_all_figures() -> int:
    """Beat, every few minutes: count the figures of every country a body regulates, so
    the workspace's pages show figures a few minutes old at most."""
    from regulation import counting, selectors

    countries = sorted({body.country for body in selectors.bodies()})
    for country in countries:
        counting.figures_count(country=country)
    return len(countries)
