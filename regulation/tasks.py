"""Celery tasks of the regulation app: idempotent, for the beat."""

from celery import shared_task

from regulation import services


@shared_task
def send_cpd_reminders() -> int:
    """Beat, a few times a day: remind learners behind on CPD 60 and 14 days before a
    period ends (each reminder once)."""
    return services.cpd_reminders_send()


@shared_task
def warm_figures() -> int:
    """Beat, every few minutes: count each body's pages without filters ahead of its
    regulators (see :mod:`regulation.figures_cache`)."""
    from competencies import selectors as competency_selectors
    from regulation import figures, planning, selectors

    bodies = list(selectors.bodies())
    for body in bodies:
        # The heat map's first page: the first framework of the body's jurisdiction.
        framework = competency_selectors.published_frameworks(
            jurisdiction=selectors.jurisdiction_of(body=body)
        ).first()
        everything = figures.Filters()
        figures.by_dimension(body=body, filters=everything, dimension="region", fresh=True)
        figures.by_month(body=body, filters=everything, fresh=True)
        planning.plan(body=body, filters=everything, fresh=True)
        figures.heat_map(body=body, filters=everything, framework=framework, fresh=True)
    return len(bodies)
