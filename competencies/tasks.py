"""Celery tasks of the competencies app (ids in, idempotent, enqueued after commit)."""

from celery import shared_task
from django.db import OperationalError

from competencies import recompute


@shared_task(
    bind=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=5,
)
def attainment_recompute(self, recompute_id: int) -> dict:
    """Recompute the learners of one :class:`~competencies.models.AttainmentRecompute`
    (see :mod:`competencies.recompute`); a finished one is left as it is."""
    done = recompute.recompute_run(recompute_id=recompute_id)
    return {"status": done.status, "learners": done.learners_done}
