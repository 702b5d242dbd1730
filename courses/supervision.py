"""Supervision: supervisors' observations of practice, and recognised prior learning, both
evidence of competence recorded in the learner's institution's remit."""

import uuid
from datetime import date, datetime, time

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from competencies.models import EvidenceSource
from competencies.services import evidence_record
from courses import selectors, signals
from courses.errors import LearningError
from courses.models import (
    ModulePage,
    ObjectType,
    Observation,
    ProgressEvent,
    ProgressSource,
    ProgressVerb,
)
from courses.progress import _parse_event_id
from lms.models import Institution, Membership
from lms.roles import InstitutionRole

# --- Supervision ------------------------------------------------------------------------------


@transaction.atomic
def observation_record(
    *,
    supervisor,
    learner,
    institution: Institution,
    competency,
    level,
    observed_on,
    notes: str = "",
    module: ModulePage | None = None,
    event_id=None,
) -> Observation:
    """Record a supervisor's sign-off of a learner's competency in practice."""

    if not Membership.objects.filter(
        user=supervisor, institution=institution, role=InstitutionRole.SUPERVISOR
    ).exists():
        raise LearningError(
            _("Only the institution's supervisors record observations."), status=403
        )
    if level.framework_id != competency.framework_id:
        raise LearningError(_("Choose a level of the competency's own framework."))
    if observed_on > timezone.localdate():
        raise LearningError(_("An observation cannot be dated in the future."))
    event_id = _parse_event_id(event_id or uuid.uuid4())
    existing = ProgressEvent.objects.filter(event_id=event_id).first()
    if existing is not None:
        return Observation.objects.get(event=existing)
    course = module.course if module else None
    event = ProgressEvent.objects.create(
        event_id=event_id,
        learner=learner,
        verb=ProgressVerb.OBSERVED,
        object_type=ObjectType.COMPETENCY,
        competency=competency,
        module=module,
        course=course,
        occurred_at=timezone.now(),
        source=ProgressSource.ADMIN,
        extra={"level": level.name, "supervisor_id": supervisor.pk},
    )
    observation = Observation.objects.create(
        learner=learner,
        supervisor=supervisor,
        institution=institution,
        competency=competency,
        level=level,
        module=module,
        observed_on=observed_on,
        notes=notes,
        event=event,
    )
    _observation_evidence_record(observation=observation)
    signals.learning_changed_send(
        sender=Observation, pairs=[(learner.pk, course.pk if course else None)]
    )
    learner_id = learner.pk
    transaction.on_commit(
        lambda: signals.progress_recorded.send(
            sender=ProgressEvent, event_id=event.pk, learner_id=learner_id
        )
    )
    return observation


def observation_record_for_institution(
    *,
    supervisor,
    institution: Institution,
    learner,
    competency,
    level,
    observed_on: date,
    notes: str = "",
    module: ModulePage | None = None,
    event_id=None,
) -> Observation:
    """Record an observation through :func:`observation_record`, within the institution's remit.

    A supervisor signs off only the institution's own learners (enrolled in one of its
    courses), on competencies of the frameworks its courses train against, and modules of its
    courses: anything else is refused with a message and nothing is recorded. Idempotent on
    ``event_id``: a double submit returns the first observation.
    """
    if not selectors.institution_learners(institution=institution).filter(pk=learner.pk).exists():
        raise LearningError(
            _("%(learner)s is not enrolled in any of %(institution)s's courses.")
            % {"learner": learner.get_username(), "institution": institution.name},
            status=403,
        )
    courses = selectors.institution_courses(institution=institution)
    if not courses.filter(framework_id=competency.framework_id).exists():
        raise LearningError(
            _("%(institution)s's courses do not train against this competency's framework.")
            % {"institution": institution.name}
        )
    if module is not None and not courses.filter(pk=module.get_parent().pk).exists():
        raise LearningError(_("This module is not part of your institution's courses."))
    event_id = _parse_event_id(event_id or uuid.uuid4())
    try:
        observation = observation_record(
            supervisor=supervisor,
            learner=learner,
            institution=institution,
            competency=competency,
            level=level,
            observed_on=observed_on,
            notes=notes,
            module=module,
            event_id=event_id,
        )
    except IntegrityError:
        # A parallel request with the same event_id recorded it first: theirs stands.
        observation = Observation.objects.filter(event__event_id=event_id).first()
        if observation is None:
            raise
    if observation.supervisor_id != supervisor.pk or observation.learner_id != learner.pk:
        raise LearningError(_("This event id was already used for another observation."), 409)
    return observation


def _observation_evidence_record(*, observation: Observation) -> None:
    observed = datetime.combine(observation.observed_on, time(12))
    evidence_record(
        learner=observation.learner,
        competency=observation.competency,
        level=observation.level,
        source_kind=EvidenceSource.OBSERVATION,
        source_id=observation.pk,
        source_title=observation.module.title if observation.module else "",
        occurred_at=timezone.make_aware(observed) if settings.USE_TZ else observed,
        recorded_by=observation.supervisor,
        institution=observation.institution,
        notes=observation.notes,
    )


# --- Recognised prior learning ---------------------------------------------------------------


@transaction.atomic
def prior_learning_record(
    *,
    recorded_by,
    institution: Institution,
    learner,
    competency,
    level,
    achieved_on: date,
    title: str,
    notes: str = "",
    evidence_url: str = "",
):
    """Recognise that a learner already has a competency (a diploma, assessed work elsewhere).

    Within the institution's remit, as observations are: a manager or instructor, one of the
    institution's learners, a competency of a framework its courses train against and a level
    of that framework. The recognition becomes evidence (kind ``prior_learning``) in this
    transaction, so attainment and certificate criteria see it at once.
    """

    title = (title or "").strip()
    if not Membership.objects.filter(
        user=recorded_by,
        institution=institution,
        role__in=[InstitutionRole.MANAGER, InstitutionRole.INSTRUCTOR],
    ).exists():
        raise LearningError(
            _("Only the institution's managers and instructors recognise prior learning."),
            status=403,
        )
    if not selectors.institution_learners(institution=institution).filter(pk=learner.pk).exists():
        raise LearningError(
            _("%(learner)s is not enrolled in any of %(institution)s's courses.")
            % {"learner": learner.get_username(), "institution": institution.name},
            status=403,
        )
    if (
        not selectors.institution_courses(institution=institution)
        .filter(framework_id=competency.framework_id)
        .exists()
    ):
        raise LearningError(
            _("%(institution)s's courses do not train against this competency's framework.")
            % {"institution": institution.name}
        )
    if level.framework_id != competency.framework_id:
        raise LearningError(_("Choose a level of the competency's own framework."))
    if achieved_on > timezone.localdate():
        raise LearningError(_("Prior learning cannot be dated in the future."))
    if not title:
        raise LearningError(_("Say what is recognised (e.g. the diploma and its year)."))
    achieved = datetime.combine(achieved_on, time(12))
    recorded = evidence_record(
        learner=learner,
        competency=competency,
        level=level,
        source_kind=EvidenceSource.PRIOR_LEARNING,
        source_id=str(uuid.uuid4()),
        source_uri=evidence_url,
        source_title=title,
        occurred_at=timezone.make_aware(achieved) if settings.USE_TZ else achieved,
        recorded_by=recorded_by,
        institution=institution,
        notes=notes,
    )
    signals.learning_changed_send(sender=Institution, pairs=[(learner.pk, None)])
    return recorded
