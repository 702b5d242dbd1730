"""Attainment recomputed by itself after the changes that move it.

Attainment is kept up to date as evidence arrives. A few changes move it for learners who
send nothing new: a framework published (its rules and crosswalks take effect) or retired,
a module's competency mapping changed (an "all mapped modules" rule then needs other
modules; past completions show the newly mapped competencies), a module or course taken
offline. Each such change records an :class:`~competencies.models.AttainmentRecompute`
naming the competencies concerned, and a Celery task, enqueued once the change commits,
recomputes every learner with evidence or attainment in them
(:func:`competencies.services.attainment_rebuild`, the same work as ``manage.py
rebuild_attainment``). The record shows its progress to the person who made the change and,
on each framework it touched, when attainment was last recomputed.

A run is idempotent: a finished one is not run again, and an interrupted one runs again from
the start (rebuilding a learner twice gives the same rows).
"""

from celery import current_app
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from competencies.models import (
    AttainmentRecompute,
    CompetencyAssociation,
    CompetencyAttainment,
    CompetencyEvidence,
    CompetencyItem,
    Framework,
    FrameworkStatus,
    RecomputeStatus,
)
from competencies.services import attainment_rebuild

#: Found by name in the Celery app's registry (``competencies.tasks`` imports this module).
RECOMPUTE_TASK = "competencies.tasks.attainment_recompute"

#: Learners rebuilt between two updates of a run's progress.
PROGRESS_EVERY = 25


def recompute_record(
    *, reason: str, competency_ids, source_url: str = "", requested_by=None
) -> AttainmentRecompute:
    """Record a recomputation of the learners of ``competency_ids``, not yet enqueued: for a
    caller whose own task does work first (courses adds the evidence of past completions).
    ``source_url``: the admin page of the change, which the record links back to."""
    competency_ids = sorted(set(competency_ids))
    recompute = AttainmentRecompute.objects.create(
        reason=reason[:300],
        competency_ids=competency_ids,
        source_url=source_url[:500],
        requested_by=requested_by,
    )
    frameworks = CompetencyItem.objects.filter(pk__in=competency_ids).values("framework_id")
    recompute.frameworks.set(Framework.objects.filter(pk__in=frameworks))
    return recompute


def recompute_enqueue(*, recompute: AttainmentRecompute) -> None:
    """Run it in a worker once the caller's transaction commits."""
    pk = recompute.pk
    transaction.on_commit(lambda: current_app.tasks[RECOMPUTE_TASK].delay(pk))


def framework_recompute_request(*, framework: Framework, requested_by=None):
    """After ``framework`` was published or retired: its learners, and those of every
    framework crosswalked to it, are recomputed."""
    reason = {
        FrameworkStatus.PUBLISHED: _("“%(framework)s” was published"),
        FrameworkStatus.RETIRED: _("“%(framework)s” was retired"),
    }.get(framework.status, _("“%(framework)s” changed")) % {"framework": framework.title}
    own = set(CompetencyItem.objects.filter(framework=framework).values_list("pk", flat=True))
    linked = CompetencyAssociation.objects.filter(
        Q(origin__framework=framework) | Q(destination__framework=framework)
    ).values_list("origin_id", "destination_id")
    # An association may name an item outside this site (by identifier only): no id then.
    competency_ids = own | {pk for pair in linked for pk in pair if pk is not None}
    recompute = recompute_record(
        reason=reason,
        competency_ids=competency_ids,
        source_url=reverse("competencies_framework", args=[framework.pk]),
        requested_by=requested_by,
    )
    recompute.frameworks.add(framework)
    recompute_enqueue(recompute=recompute)
    return recompute


def recompute_run(*, recompute_id: int) -> AttainmentRecompute:
    """Recompute the attainment of every learner with evidence or attainment in the
    record's competencies, counting progress as it goes; nothing if it finished before."""
    with transaction.atomic():
        recompute = AttainmentRecompute.objects.select_for_update().get(pk=recompute_id)
        if recompute.status == RecomputeStatus.DONE:
            return recompute
        scope = recompute.competency_ids
        learner_ids = sorted(
            set(
                CompetencyEvidence.objects.filter(competency_id__in=scope).values_list(
                    "learner_id", flat=True
                )
            )
            | set(
                CompetencyAttainment.objects.filter(competency_id__in=scope).values_list(
                    "learner_id", flat=True
                )
            )
        )
        recompute.status = RecomputeStatus.RUNNING
        recompute.started_at = timezone.now()
        recompute.learners_total = len(learner_ids)
        recompute.learners_done = 0
        recompute.save(update_fields=["status", "started_at", "learners_total", "learners_done"])
    try:
        _learners_rebuild(recompute=recompute, learner_ids=learner_ids)
    except Exception:
        AttainmentRecompute.objects.filter(pk=recompute.pk).update(status=RecomputeStatus.FAILED)
        raise
    recompute.status = RecomputeStatus.DONE
    recompute.learners_done = len(learner_ids)
    recompute.finished_at = timezone.now()
    recompute.save(update_fields=["status", "learners_done", "finished_at"])
    return recompute


def _learners_rebuild(*, recompute: AttainmentRecompute, learner_ids: list[int]) -> None:
    done = 0
    for start in range(0, len(learner_ids), PROGRESS_EVERY):
        chunk = learner_ids[start : start + PROGRESS_EVERY]
        for learner in get_user_model().objects.filter(pk__in=chunk).order_by("pk"):
            attainment_rebuild(learner=learner)
        done += len(chunk)
        AttainmentRecompute.objects.filter(pk=recompute.pk).update(learners_done=done)


def evidence_added(*, recompute: AttainmentRecompute, count: int) -> None:
    """Count the evidence a caller added for the run (shown with its progress)."""
    AttainmentRecompute.objects.filter(pk=recompute.pk).update(evidence_added=count)


def framework_last_recompute(*, framework: Framework) -> AttainmentRecompute | None:
    """The newest recomputation that touched ``framework`` (shown on its pages)."""
    return AttainmentRecompute.objects.filter(frameworks=framework).first()


def recompute_for_change(*, source_url: str, requested_by, since) -> AttainmentRecompute | None:
    """The recomputation that ``requested_by``'s change at ``source_url``, made at ``since``,
    has recorded (None when that change moved nobody's attainment)."""
    return AttainmentRecompute.objects.filter(
        source_url=source_url, requested_by=requested_by, requested_at__gte=since
    ).first()
