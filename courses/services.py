"""Writes of the courses app: sections, enrolment, progress, quizzes, cohorts, observations.

Every learning record starts as a :class:`ProgressEvent` keyed by a client-generated UUID.
:func:`progress_event_record` applies an event exactly once — a retry, a double click or an
offline phone syncing twice finds the event already there and changes nothing — and updates
the derived records (enrolment, completion, quiz attempt) in the same transaction. Database
constraints back this up when two requests race.

After commit, :data:`courses.signals.progress_recorded` tells other apps (competencies,
certificates) that a learner's progress changed; this app knows nothing of them.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from courses import signals
from courses.models import (
    CourseIndexPage,
    CoursePage,
    Enrolment,
    EnrolmentStatus,
    InstitutionPage,
    ModuleCompletion,
    ModulePage,
    ObjectType,
    Observation,
    ProgressEvent,
    ProgressSource,
    ProgressVerb,
    QuizAttempt,
)
from lms.models import Institution
from lms.services import institution_root_page_set


class LearningError(Exception):
    """A learning action that cannot be done; the message says why, for the learner."""

    def __init__(self, message: str, *, status: int = 400):
        super().__init__(message)
        self.status = status


@transaction.atomic
def institution_page_create(
    *, institution: Institution, catalogue: CourseIndexPage, intro: str = ""
) -> InstitutionPage:
    """Give an institution its section of the catalogue and make it its staff's working area."""
    page = InstitutionPage(
        title=institution.name, slug=institution.slug, institution=institution, intro=intro
    )
    catalogue.add_child(instance=page)
    page.save_revision().publish()
    institution_root_page_set(institution=institution, page=page)
    return page


# --- Progress events ----------------------------------------------------------------------


@dataclass(frozen=True)
class RecordedEvent:
    event: ProgressEvent
    created: bool  # False: the same event_id was applied before; nothing changed


def _parse_event_id(event_id) -> uuid.UUID:
    try:
        return event_id if isinstance(event_id, uuid.UUID) else uuid.UUID(str(event_id))
    except ValueError:
        raise LearningError(_("The event id must be a UUID.")) from None


def progress_event_record(
    *,
    event_id,
    learner,
    verb: str,
    course: CoursePage | None = None,
    module: ModulePage | None = None,
    score: Decimal | None = None,
    success: bool | None = None,
    occurred_at: datetime | None = None,
    source: str = ProgressSource.WEB,
    recorded_by=None,
    extra: dict | None = None,
) -> RecordedEvent:
    """Apply one progress event exactly once, with its derived state, atomically.

    Idempotent: a second call with the same ``event_id`` returns the first event and changes
    nothing. Raises :class:`LearningError` for an event that does not fit (e.g. a module of a
    course the learner is not enrolled in) — and then nothing is recorded.
    """
    event_id = _parse_event_id(event_id)
    existing = ProgressEvent.objects.filter(event_id=event_id).first()
    if existing is not None:
        _check_same_learner(existing, learner)
        return RecordedEvent(existing, created=False)
    if verb not in ProgressVerb.values:
        raise LearningError(_("Unknown verb: %s") % verb)
    if module is not None:
        course = module.course if course is None else course
        if module.get_parent().pk != course.pk:
            raise LearningError(_("This module does not belong to that course."))
    if course is None:
        raise LearningError(_("A progress event needs a course or a module."))
    try:
        with transaction.atomic():
            event = _apply_event(
                event_id=event_id,
                learner=learner,
                verb=verb,
                course=course,
                module=module,
                score=score,
                success=success,
                occurred_at=occurred_at or timezone.now(),
                source=source,
                recorded_by=recorded_by,
                extra=extra or {},
            )
    except IntegrityError:
        # A parallel request applied the same event_id first: theirs stands.
        existing = ProgressEvent.objects.filter(event_id=event_id).first()
        if existing is None:
            raise
        _check_same_learner(existing, learner)
        return RecordedEvent(existing, created=False)
    learner_id = learner.pk
    transaction.on_commit(
        lambda: signals.progress_recorded.send(
            sender=ProgressEvent, event_id=event.pk, learner_id=learner_id
        )
    )
    return RecordedEvent(event, created=True)


def _check_same_learner(event: ProgressEvent, learner) -> None:
    if event.learner_id != learner.pk:
        raise LearningError(_("This event id was already used for another learner."), status=409)


def _apply_event(
    *,
    event_id,
    learner,
    verb,
    course,
    module,
    score,
    success,
    occurred_at,
    source,
    recorded_by,
    extra,
) -> ProgressEvent:
    enrolment = Enrolment.objects.select_for_update().filter(learner=learner, course=course).first()
    if verb == ProgressVerb.ENROLLED:
        if enrolment is None:
            # get_or_create survives a parallel enrolment with another event id.
            enrolment, _created = Enrolment.objects.get_or_create(
                learner=learner,
                course=course,
                defaults={"enrolled_at": occurred_at, "cohort_id": extra.get("cohort_id")},
            )
    elif enrolment is None or enrolment.status == EnrolmentStatus.WITHDRAWN:
        raise LearningError(
            _("You are not enrolled in “%(course)s”.") % {"course": course.title}, status=403
        )
    event = ProgressEvent.objects.create(
        event_id=event_id,
        learner=learner,
        verb=verb,
        object_type=ObjectType.MODULE if module else ObjectType.COURSE,
        course=course,
        module=module,
        score=score,
        success=success,
        revision_id=(module or course).live_revision_id,
        occurred_at=occurred_at,
        source=source,
        recorded_by=recorded_by,
        extra=extra,
    )
    completes_module = module is not None and (
        verb == ProgressVerb.COMPLETED or (verb == ProgressVerb.PASSED and success is not False)
    )
    if completes_module:
        _complete_module(learner=learner, module=module, course=course, event=event)
        _complete_course_if_done(enrolment=enrolment, at=occurred_at)
    return event


def _complete_module(*, learner, module, course, event) -> None:
    if ModuleCompletion.objects.filter(learner=learner, module=module).exists():
        return
    # The enrolment row lock serialises a learner's events; the constraint is the backstop.
    try:
        with transaction.atomic():
            ModuleCompletion.objects.create(
                learner=learner,
                module=module,
                course=course,
                event=event,
                revision_id=event.revision_id,
                completed_at=event.occurred_at,
            )
    except IntegrityError:
        pass  # completed by a parallel request: one completion stands


def _complete_course_if_done(*, enrolment: Enrolment, at) -> None:
    from courses.selectors import required_module_ids

    required = required_module_ids(course=enrolment.course)
    done = set(
        ModuleCompletion.objects.filter(
            learner=enrolment.learner, module_id__in=required
        ).values_list("module_id", flat=True)
    )
    if required and done >= set(required) and enrolment.status == EnrolmentStatus.ACTIVE:
        enrolment.status = EnrolmentStatus.COMPLETED
        enrolment.completed_at = at
        enrolment.save(update_fields=["status", "completed_at"])


# --- What learners do -------------------------------------------------------------------------


def enrol(
    *,
    learner,
    course: CoursePage,
    event_id=None,
    by_institution: bool = False,
    cohort=None,
    source: str = ProgressSource.WEB,
) -> Enrolment:
    """Enrol a learner in a course (self-enrolment only where the course allows it)."""
    if not course.live:
        raise LearningError(_("This course is not open."), status=404)
    if not by_institution and not course.self_enrolment:
        raise LearningError(
            _("Learners are enrolled in this course by the institution."), status=403
        )
    progress_event_record(
        event_id=event_id or uuid.uuid4(),
        learner=learner,
        verb=ProgressVerb.ENROLLED,
        course=course,
        source=source,
        extra={"cohort_id": cohort.pk} if cohort else {},
    )
    return Enrolment.objects.get(learner=learner, course=course)


def module_complete(
    *, learner, module: ModulePage, event_id, source: str = ProgressSource.WEB
) -> RecordedEvent:
    """Mark a module without a quiz as done. A module with a quiz is done by passing it."""
    if module.quiz_block() is not None:
        raise LearningError(_("Pass this module's quiz to complete it."))
    return progress_event_record(
        event_id=event_id,
        learner=learner,
        verb=ProgressVerb.COMPLETED,
        module=module,
        source=source,
    )


@dataclass
class QuizResult:
    attempt: QuizAttempt
    created: bool
    feedback: dict  # question id -> {"correct": bool, "answers": {answer id: feedback}}


def quiz_submit(
    *,
    learner,
    module: ModulePage,
    answers: dict[str, list[str]],
    event_id,
    source: str = ProgressSource.WEB,
) -> QuizResult:
    """Score a quiz on the server and record the attempt; a pass completes the module.

    ``answers`` maps each question's block id to the chosen answers' block ids. Answers to
    another module's quiz, unknown ids, or a second answer to a one-answer question are
    refused with a message, and nothing is recorded.
    """
    from courses.selectors import quiz_attempts_left, score_quiz

    event_id = _parse_event_id(event_id)
    existing = ProgressEvent.objects.filter(event_id=event_id).first()
    if existing is not None:
        _check_same_learner(existing, learner)
        attempt = QuizAttempt.objects.get(event=existing)
        quiz = module.quiz_block()
        return QuizResult(attempt, False, score_quiz(quiz, attempt.answers).feedback)
    quiz = module.quiz_block()
    if quiz is None:
        raise LearningError(_("This module has no quiz."))
    scored = score_quiz(quiz, answers)  # raises LearningError for foreign or unknown ids
    if quiz_attempts_left(learner=learner, module=module) == 0:
        raise LearningError(_("You have used all your attempts at this quiz."), status=403)
    with transaction.atomic():
        recorded = progress_event_record(
            event_id=event_id,
            learner=learner,
            verb=ProgressVerb.PASSED if scored.passed else ProgressVerb.FAILED,
            module=module,
            score=scored.score,
            success=scored.passed,
            source=source,
        )
        if not recorded.created:  # a parallel request with the same event_id won
            attempt = QuizAttempt.objects.get(event=recorded.event)
            return QuizResult(attempt, False, scored.feedback)
        attempt = QuizAttempt.objects.create(
            learner=learner,
            module=module,
            quiz_block_id=quiz.id,
            revision_id=recorded.event.revision_id,
            answers=scored.answers,
            score=scored.score,
            passed=scored.passed,
            attempted_at=recorded.event.occurred_at,
            event=recorded.event,
        )
    return QuizResult(attempt, True, scored.feedback)


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
    from lms.models import Membership
    from lms.roles import InstitutionRole

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
    learner_id = learner.pk
    transaction.on_commit(
        lambda: signals.progress_recorded.send(
            sender=ProgressEvent, event_id=event.pk, learner_id=learner_id
        )
    )
    return observation
