"""Celery tasks of the courses app (ids in, idempotent, enqueued after commit)."""

from collections import Counter

from celery import shared_task
from django.db import OperationalError, transaction

from competencies import recompute
from competencies.models import AttainmentRecompute
from courses import mapping_changes, xapi


@shared_task(
    bind=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=5,
)
def replay_xapi_statements(self, learner_ids: list[int]) -> dict:
    """Apply the learners' stored xAPI statements that found no learner or enrolment when
    they arrived (see :func:`courses.xapi.statements_replay`). Idempotent: a statement applied
    before is not looked at again, and its progress event is keyed by the statement id.

    Returns how many statements ended with each progress status."""
    statuses: Counter = Counter()
    for learner_id in learner_ids:
        statuses += xapi.learner_statements_replay(learner_id=learner_id)
    return dict(statuses)


@shared_task(
    bind=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=5,
)
def module_mappings_apply(self, module_id: int, recompute_id: int) -> dict:
    """After a module's competency mapping changed: its past completions show the newly
    mapped competencies, then the learners concerned are recomputed (see
    :mod:`courses.mapping_changes`). Idempotent: evidence is recorded once per completion and
    competency, and a finished recomputation is not run again."""
    added = mapping_changes.past_completions_evidence_add(module_id=module_id)
    record = AttainmentRecompute.objects.get(pk=recompute_id)
    if added:
        recompute.evidence_added(recompute=record, count=record.evidence_added + added)
    done = recompute.recompute_run(recompute_id=recompute_id)
    return {"evidence_added": added, "learners": done.learners_done}


def xapi_replay_after_enrolment(sender, *, learner_ids, **kwargs) -> None:
    """Receiver of :data:`courses.signals.learners_enrolled` (connected in
    ``CoursesConfig.ready``): one :func:`replay_xapi_statements` task after commit."""
    ids = list(learner_ids)

    def replay_xapi_statements_later():  # named: Django logs robust on-commit failures
        replay_xapi_statements.delay(ids)

    transaction.on_commit(replay_xapi_statements_later, robust=True)
