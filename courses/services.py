"""Writes of the courses app: sections, enrolment, progress, quizzes, cohorts, observations.

Every learning record starts as a :class:`ProgressEvent` keyed by a client-generated UUID.
:func:`progress_event_record` applies an event exactly once — a retry, a double click or an
offline phone syncing twice finds the event already there and changes nothing — and updates
the derived records (enrolment, completion, quiz attempt) in the same transaction. Database
constraints back this up when two requests race. :func:`progress_events_record` does the same
for a batch, set-wise: a fixed number of queries however many events (see its docstring).

After commit, :data:`courses.signals.progress_recorded` tells other apps (competencies,
certificates) that a learner's progress changed; this app knows nothing of them.
"""

import secrets
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from functools import partial
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, OperationalError, transaction
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _

from competencies.models import EvidenceSource
from competencies.services import NewEvidence, evidence_record, new_sources_evidence_record
from courses import selectors, signals
from courses.models import (
    Cohort,
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
from lms.links import page_url
from lms.models import Institution, LearnerProfile, WebhookEvent
from lms.services import (
    WebhookNotice,
    institution_root_page_set,
    learner_profile_save,
    webhooks_dispatch_many,
)


class LearningError(Exception):
    """A learning action that cannot be done; the message says why, for the learner."""

    def __init__(self, message: str, *, status: int = 400):
        super().__init__(message)
        self.status = status


class ProgressWriteClash(Exception):
    """Writing progress events failed part-way (a parallel request wrote one of the same rows
    first, a deadlock, or derived state refused), in a caller's transaction that gave them no
    savepoint: the caller rolls back whole and tries again (see
    :func:`progress_events_record_or_clash`)."""


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


@dataclass(frozen=True)
class NewProgressEvent:
    """One event for :func:`progress_events_record`: the arguments of
    :func:`progress_event_record`."""

    event_id: uuid.UUID
    learner: Any
    verb: str
    course: CoursePage | None = None
    module: ModulePage | None = None
    score: Decimal | None = None
    success: bool | None = None
    occurred_at: datetime | None = None
    source: str = ProgressSource.WEB
    recorded_by: Any = None
    extra: dict = field(default_factory=dict)


#: How often an event that collided with a parallel request is tried again on its own.
CLASH_ATTEMPTS = 3


def _parse_event_id(event_id) -> uuid.UUID:
    try:
        return event_id if isinstance(event_id, uuid.UUID) else uuid.UUID(str(event_id))
    except ValueError:
        raise LearningError(_("The event id must be a UUID.")) from None


def progress_event_record(**fields) -> RecordedEvent:
    """Apply one progress event exactly once, with its derived state, atomically.

    ``fields``: those of :class:`NewProgressEvent` (``event_id`` may be a string).
    Idempotent: a second call with the same ``event_id`` returns the first event and changes
    nothing. Raises :class:`LearningError` for an event that does not fit (e.g. a module of a
    course the learner is not enrolled in) — and then nothing is recorded.
    """
    return _outcome(progress_events_record(events=[_new_event(**fields)])[0])


def progress_event_record_or_clash(**fields) -> RecordedEvent:
    """:func:`progress_event_record` in the caller's transaction, for a caller that tries its
    whole transaction again on :class:`ProgressWriteClash` (see
    :func:`progress_events_record_or_clash`)."""
    return _outcome(progress_events_record_or_clash(events=[_new_event(**fields)])[0])


def _new_event(*, event_id, extra: dict | None = None, **fields) -> NewProgressEvent:
    return NewProgressEvent(event_id=_parse_event_id(event_id), extra=extra or {}, **fields)


def _outcome(outcome: RecordedEvent | LearningError) -> RecordedEvent:
    if isinstance(outcome, LearningError):
        raise outcome
    return outcome


def progress_events_record(
    *, events: list[NewProgressEvent]
) -> list[RecordedEvent | LearningError]:
    """Apply events in order, each exactly once and with its derived state, set-wise.

    One outcome per event, in order: a :class:`RecordedEvent` (``created=False`` when its id
    was applied before, or earlier in the list: nothing changed), or the
    :class:`LearningError` saying why it does not fit — and then nothing of it is recorded.
    Events are checked against what the learners' enrolments and completions were before
    the call plus the events before them in the list, as if applied one by one.

    The events are checked in memory against state read in a few queries and written with
    bulk inserts, so the number of queries does not grow with the number of events (what
    rarely changes, such as pages, mappings and webhooks, is read once per change: see
    :data:`courses.selectors.STRUCTURE`). If writing fails because a parallel request wrote
    one of the same rows first (a unique constraint, or a deadlock between the two), or
    because writing derived state raised :class:`LearningError`, that attempt is rolled back
    whole and the events are applied one at a time, each in its own savepoint: one that
    collided is tried again (and then sees what the other request committed: a
    ``duplicate``, a completion already there), one that fails is refused alone.
    """
    if not events:
        return []
    try:
        # A transaction of its own, or a savepoint in the caller's.
        with transaction.atomic():
            return _events_apply(events)
    except (IntegrityError, OperationalError, LearningError) as error:
        if isinstance(error, OperationalError) and not _is_deadlock(error):
            raise
    with transaction.atomic():
        return [_event_apply_alone(event) for event in events]


def progress_events_record_or_clash(
    *, events: list[NewProgressEvent]
) -> list[RecordedEvent | LearningError]:
    """:func:`progress_events_record` in the caller's transaction, without a savepoint of its
    own: a failure in writing (a clash with a parallel request, a deadlock, derived state
    refused) raises :class:`ProgressWriteClash`, and the caller rolls its whole transaction
    back and tries again with :func:`progress_events_record`. For callers whose other rows
    must be stored with the progress or not at all (xAPI statements)."""
    if not events:
        return []
    try:
        with transaction.atomic(savepoint=False):
            return _events_apply(events)
    except (IntegrityError, OperationalError, LearningError) as error:
        if isinstance(error, OperationalError) and not _is_deadlock(error):
            raise
        raise ProgressWriteClash(str(error)) from error


def _is_deadlock(error: OperationalError) -> bool:
    return getattr(error.__cause__, "sqlstate", None) == "40P01"


def _event_apply_alone(event: NewProgressEvent) -> RecordedEvent | LearningError:
    for _attempt in range(CLASH_ATTEMPTS):
        try:
            with transaction.atomic():
                return _events_apply([event])[0]
        except LearningError as error:
            return error
        except IntegrityError:
            continue  # a parallel request wrote the same row: try again, seeing theirs
        except OperationalError as error:
            if not _is_deadlock(error):
                raise
    return LearningError(
        _("This event clashed with one recorded at the same moment; resend it."), status=409
    )


def _check_same_learner(event: ProgressEvent, learner) -> None:
    if event.learner_id != learner.pk:
        raise LearningError(_("This event id was already used for another learner."), status=409)


def _completes_module(event: NewProgressEvent) -> bool:
    return event.module is not None and (
        event.verb == ProgressVerb.COMPLETED
        or (event.verb == ProgressVerb.PASSED and event.success is not False)
    )


#: The verbs an event may have (``ProgressVerb.values`` builds a new list on every use).
_VERBS = frozenset(ProgressVerb.values)


def _events_apply(events: list[NewProgressEvent]) -> list[RecordedEvent | LearningError]:
    """Check each event against the state so far, in order, then write what they change."""
    courses = _courses_of_modules(
        [e.module for e in events if e.module is not None and e.course is None]
    )
    for e in events:
        if e.course is not None:
            courses.setdefault(e.course.path, e.course)
    learner_ids = {e.learner.pk for e in events}
    # Each course's live required modules, when an event completes a module (read once per
    # change of the structure, see courses.selectors.STRUCTURE).
    completing = {e.module.pk for e in events if _completes_module(e)}
    required = selectors.courses_required_modules(courses=courses.values()) if completing else {}
    # The enrolment row locks serialise a learner's events (the constraints are the backstop).
    state = selectors.progress_state(
        event_ids=[e.event_id for e in events],
        learner_ids=learner_ids,
        course_ids=[c.pk for c in courses.values()],
        module_ids={*completing, *(pk for pks in required.values() for pk in pks)},
    )
    known, done = state.known, state.completed
    enrolments = {(row.learner_id, row.course_id): row for row in state.enrolments}
    outcomes: list[RecordedEvent | LearningError] = []
    new_events: list[ProgressEvent] = []
    new_enrolments: list[Enrolment] = []
    completed_enrolments: dict[int, Enrolment] = {}
    completions: list[tuple[ModuleCompletion, ModulePage, CoursePage]] = []
    for e in events:
        earlier = known.get(e.event_id)
        if earlier is not None:
            if earlier.learner_id != e.learner.pk:
                outcomes.append(
                    LearningError(
                        _("This event id was already used for another learner."), status=409
                    )
                )
            else:
                outcomes.append(RecordedEvent(earlier, created=False))
            continue
        if e.verb not in _VERBS:
            outcomes.append(LearningError(_("Unknown verb: %s") % e.verb))
            continue
        course, module = e.course, e.module
        if module is not None:
            parent_path = module.path[: -module.steplen]
            course = course or courses.get(parent_path)
            if course is None or course.path != parent_path:
                outcomes.append(LearningError(_("This module does not belong to that course.")))
                continue
        if course is None:
            outcomes.append(LearningError(_("A progress event needs a course or a module.")))
            continue
        occurred_at = e.occurred_at or timezone.now()
        enrolment = enrolments.get((e.learner.pk, course.pk))
        if e.verb == ProgressVerb.ENROLLED:
            if enrolment is None:
                enrolment = Enrolment(
                    learner=e.learner,
                    course=course,
                    enrolled_at=occurred_at,
                    cohort_id=e.extra.get("cohort_id"),
                )
                enrolments[e.learner.pk, course.pk] = enrolment
                new_enrolments.append(enrolment)
        elif enrolment is None or enrolment.status == EnrolmentStatus.WITHDRAWN:
            outcomes.append(
                LearningError(
                    _("You are not enrolled in “%(course)s”.") % {"course": course.title},
                    status=403,
                )
            )
            continue
        event = ProgressEvent(
            event_id=e.event_id,
            learner=e.learner,
            verb=e.verb,
            object_type=ObjectType.MODULE if module else ObjectType.COURSE,
            course=course,
            module=module,
            score=e.score,
            success=e.success,
            revision_id=(module or course).live_revision_id,
            occurred_at=occurred_at,
            source=e.source,
            recorded_by=e.recorded_by,
            extra=e.extra,
        )
        known[e.event_id] = event
        new_events.append(event)
        outcomes.append(RecordedEvent(event, created=True))
        learner_done = done[e.learner.pk]
        if not _completes_module(e) or module.pk in learner_done:
            continue
        learner_done.add(module.pk)
        completion = ModuleCompletion(
            learner=e.learner,
            module=module,
            course=course,
            event=event,
            revision_id=event.revision_id,
            completed_at=occurred_at,
        )
        completions.append((completion, module, course))
        course_required = required[course.pk]
        if (
            course_required
            and course_required <= learner_done
            and enrolment.status == EnrolmentStatus.ACTIVE
        ):
            enrolment.status = EnrolmentStatus.COMPLETED
            enrolment.completed_at = occurred_at
            if enrolment.pk is not None:
                completed_enrolments[enrolment.pk] = enrolment
    if new_events:
        _events_write(
            events=new_events,
            enrolments=new_enrolments,
            completed_enrolments=list(completed_enrolments.values()),
            completions=completions,
        )
    return outcomes


def _courses_of_modules(modules: list[ModulePage]) -> dict[str, CoursePage]:
    """The courses of modules given without one, by path (one query, none when all have one)."""
    paths = {module.path[: -module.steplen] for module in modules}
    if not paths:
        return {}
    return {course.path: course for course in CoursePage.objects.filter(path__in=paths)}


def _events_write(*, events, enrolments, completed_enrolments, completions) -> None:
    """Write checked events with their derived state; tell other apps (see courses.signals)."""
    Enrolment.objects.bulk_create(enrolments)
    ProgressEvent.objects.bulk_create(events)
    ModuleCompletion.objects.bulk_create([completion for completion, _m, _c in completions])
    # A bulk update as an upsert on the primary key (the rows exist and are locked): one
    # INSERT … ON CONFLICT, which Django builds far faster than bulk_update's CASE WHENs.
    Enrolment.objects.bulk_create(
        completed_enrolments,
        update_conflicts=True,
        unique_fields=["pk"],
        update_fields=["status", "completed_at"],
    )
    if completions:
        notices = _completion_webhook_notices(completions=completions)
        notices += _completions_evidence_record(completions=completions)
        webhooks_dispatch_many(notices=notices)
        signals.learning_changed_send(
            sender=ProgressEvent,
            pairs=[(completion.learner_id, course.pk) for completion, _m, course in completions],
        )
    if enrolments:
        _xapi_replay_on_commit(learner_ids={enrolment.learner_id for enrolment in enrolments})
    recorded = [(event.pk, event.learner_id) for event in events]

    def send_progress_recorded():
        for event_id, learner_id in recorded:
            signals.progress_recorded.send(
                sender=ProgressEvent, event_id=event_id, learner_id=learner_id
            )

    transaction.on_commit(send_progress_recorded)


def _xapi_replay_on_commit(*, learner_ids: set[int]) -> None:
    """Newly enrolled learners (on the web, by a cohort, through the plugin API or in a
    batch): the xAPI statements their LMS sent before, kept without progress for want of a
    learner or an enrolment, are applied by one task after commit (see courses.xapi)."""
    from courses.tasks import replay_xapi_statements

    ids = sorted(learner_ids)

    def replay_xapi_statements_later():  # named: Django logs robust on-commit failures
        replay_xapi_statements.delay(ids)

    transaction.on_commit(replay_xapi_statements_later, robust=True)


def _completion_webhook_notices(*, completions) -> list[WebhookNotice]:
    """A ``module_completed`` notice per completion, to the course's institution (see
    :func:`courses.selectors.section_institutions`); payloads are built only for institutions
    with such a webhook."""
    institution_of = selectors.section_institutions(
        paths={course.path[: -course.steplen] for _c, _m, course in completions}
    )
    urls: dict[int, str] = {}

    def payload(completion, module, course) -> dict:
        if module.pk not in urls:
            urls[module.pk] = page_url(module) or ""
        return {
            "learner": {"id": completion.learner.pk, "username": completion.learner.username},
            "module": {"id": module.pk, "title": module.title, "url": urls[module.pk]},
            "course": {"id": course.pk, "title": course.title},
            "completed_at": completion.completed_at.isoformat(),
            "event_id": str(completion.event.event_id),
        }

    return [
        WebhookNotice(
            institution_id=institution_of.get(course.path[: -course.steplen]),
            event=WebhookEvent.MODULE_COMPLETED,
            payload=partial(payload, completion, module, course),
        )
        for completion, module, course in completions
    ]


# --- Competency evidence ----------------------------------------------------------------------
# What a learner does becomes evidence of competence in the same transaction: competencies
# derives attainment from it (its services, never its tables; it knows nothing of courses).


def _completions_evidence_record(*, completions) -> list[WebhookNotice]:
    """Each competency a completed module is mapped to is shown at the mapping's target level.

    The completions were written just now, so their evidence is of new sources (see
    :func:`competencies.services.new_sources_evidence_record`). Returns the
    ``competency_attained`` notices, for the caller to log with its own."""
    mappings = selectors.modules_competency_mappings(
        module_ids={module.pk for _c, module, _course in completions}
    )
    urls: dict[int, str] = {}
    evidence = []
    for completion, module, _course in completions:
        for mapping in mappings[module.pk]:
            if module.pk not in urls:
                urls[module.pk] = module.url or ""
            evidence.append(
                NewEvidence(
                    learner=completion.learner,
                    competency=mapping.competency,
                    level=mapping.target_level,
                    source_kind=EvidenceSource.MODULE_COMPLETION,
                    source_id=completion.pk,
                    source_uri=urls[module.pk],
                    source_title=module.title,
                    occurred_at=completion.completed_at,
                )
            )
    return new_sources_evidence_record(evidence=evidence)


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


# --- What learners do -------------------------------------------------------------------------


def enrol(
    *,
    learner,
    course: CoursePage,
    event_id=None,
    by_institution: bool = False,
    cohort=None,
    source: str = ProgressSource.WEB,
    recorded_by=None,
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
        recorded_by=recorded_by,
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
        if attempt.passed:  # a criterion of its own ("every quiz passed"), now recorded
            signals.learning_changed_send(
                sender=QuizAttempt, pairs=[(learner.pk, module.course.pk)]
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


# --- Cohorts ----------------------------------------------------------------------------------

#: Namespace of the event ids of cohort enrolments, derived so that enrolling again is a no-op.
COHORT_ENROLMENT_NAMESPACE = uuid.UUID("6f1d3c0e-9a43-4b57-9a57-0b8f5c2f4e21")


def cohort_create(
    *,
    institution: Institution,
    course: CoursePage,
    name: str,
    starts_on: date | None = None,
    ends_on: date | None = None,
) -> Cohort:
    """Create a cohort of ``institution`` on one of the institution's own live courses."""
    name = name.strip()
    if not selectors.institution_courses(institution=institution).filter(pk=course.pk).exists():
        raise LearningError(_("Choose one of your institution's published courses."), status=403)
    if starts_on and ends_on and ends_on < starts_on:
        raise LearningError(_("A cohort cannot end before it starts."))
    taken = _("%(institution)s already has a cohort called “%(name)s”.") % {
        "institution": institution.name,
        "name": name,
    }
    if Cohort.objects.filter(institution=institution, name__iexact=name).exists():
        raise LearningError(taken)
    try:
        with transaction.atomic():
            return Cohort.objects.create(
                institution=institution,
                course=course,
                name=name,
                starts_on=starts_on,
                ends_on=ends_on,
            )
    except IntegrityError:  # created by someone else a moment ago
        raise LearningError(taken) from None


@dataclass(frozen=True)
class CohortEnrolment:
    enrolled: int  # learners enrolled now
    already: int  # learners who were enrolled in the course before


def _cohort_enrolment_event_id(cohort: Cohort, learner) -> uuid.UUID:
    return uuid.uuid5(
        COHORT_ENROLMENT_NAMESPACE,
        f"{cohort.institution_id}:{cohort.pk}:{cohort.name}:{cohort.course_id}:{learner.pk}",
    )


@transaction.atomic
def cohort_enrol(*, cohort: Cohort, learners=None) -> CohortEnrolment:
    """Enrol the cohort's learners (or just ``learners``) in the cohort's course.

    Idempotent: learners already enrolled in the course are left as they are, and each
    enrolment's event id is derived from the cohort and the learner, so two managers pressing
    the button at once still enrol everyone exactly once.
    """
    course = cohort.course
    if not course.live:
        raise LearningError(
            _("“%(course)s” is not published: publish it before enrolling learners.")
            % {"course": course.title}
        )
    learners = list(cohort.learners.all() if learners is None else learners)
    already = set(
        Enrolment.objects.filter(course=course, learner__in=learners).values_list(
            "learner_id", flat=True
        )
    )
    for learner in learners:
        if learner.pk not in already:
            enrol(
                learner=learner,
                course=course,
                event_id=_cohort_enrolment_event_id(cohort, learner),
                by_institution=True,
                cohort=cohort,
                source=ProgressSource.ADMIN,
            )
    return CohortEnrolment(enrolled=len(learners) - len(already), already=len(already))


class CohortImportError(LearningError):
    """A learner list that cannot be imported; ``errors`` names every problem, by line."""

    def __init__(self, errors: list[str]):
        super().__init__("\n".join(errors))
        self.errors = errors


@dataclass
class NewAccount:
    user: object
    full_name: str
    one_time_password: str = ""  # only for learners without e-mail; shown once, never stored


@dataclass
class CohortImport:
    created: list[NewAccount] = field(default_factory=list)
    existing: list = field(default_factory=list)  # learners there before: added, not changed
    enrolment: CohortEnrolment | None = None

    @property
    def invited(self) -> list[NewAccount]:
        return [account for account in self.created if not account.one_time_password]

    @property
    def with_password(self) -> list[NewAccount]:
        return [account for account in self.created if account.one_time_password]


def cohort_learners_import(*, cohort: Cohort, data: bytes) -> CohortImport:
    """Create, profile, add to the cohort and enrol the learners of a CSV file. All or nothing.

    The whole file is checked first (see :mod:`courses.cohorts`), then against existing
    accounts; any problem raises :class:`CohortImportError` listing them all, and nothing is
    written. Otherwise, in one transaction: accounts that do not exist are created — those
    with an e-mail address get an invitation to choose their password (sent after commit),
    the others a one-time password returned here for the institution to hand over — with
    their learner profiles; existing accounts (matched by username) are added and enrolled
    as they are. Importing the same file again changes nothing.

    A username may name an existing account only if it is a learner of this institution:

    * a learner: not a superuser, not Django staff, not a regulator, and staff of no
      institution (this one included: staff enrol themselves if they wish);
    * of this institution: it has a learner identity of this institution (the institution's
      LMS registered it through the API), or it is in one of the institution's cohorts, or
      enrolled in one of its courses — and it is not an account that only other
      institutions' LMSs registered (learner identities, none of them this institution's).

    Any other existing account makes its row refused with "this username belongs to an account
    this institution cannot enrol", and nothing more about it (not whose it is). A file never
    writes to an existing account: a learner of this institution keeps their profile (or
    their lack of one) as it is, whatever the file says; only new accounts get the file's
    profile.
    """
    from courses.cohorts import LearnerFileError, parse_learners_csv

    try:
        rows = parse_learners_csv(data)
    except LearnerFileError as error:
        raise CohortImportError(error.errors) from None
    if not cohort.course.live:
        raise CohortImportError(
            [
                _("“%(course)s” is not published: publish it before enrolling learners.")
                % {"course": cohort.course.title}
            ]
        )
    User = get_user_model()
    existing = {
        user.username_lower: user
        for user in User.objects.annotate(username_lower=Lower("username")).filter(
            username_lower__in={row.username.lower() for row in rows}
        )
    }
    enrollable = selectors.learners_the_institution_may_enrol(
        institution=cohort.institution, user_ids=[user.pk for user in existing.values()]
    )
    errors = _learner_account_errors(rows, existing=existing, enrollable=enrollable)
    if errors:
        raise CohortImportError(errors)
    try:
        with transaction.atomic():
            return _learners_import(cohort=cohort, rows=rows, existing=existing)
    except IntegrityError:
        raise CohortImportError(
            [
                _(
                    "Some of these accounts changed while the file was imported; nothing was "
                    "imported. Upload the file again."
                )
            ]
        ) from None


def _learner_account_errors(rows, *, existing: dict, enrollable: set[int]) -> list[str]:
    """Existing accounts the institution may not enrol, and clashes of the file's new accounts
    and profiles with those already registered."""
    from allauth.account.models import EmailAddress

    new_rows = [row for row in rows if row.username.lower() not in existing]
    emails = {row.email.lower() for row in new_rows if row.email}
    taken_emails = set()
    if emails:
        User = get_user_model()
        taken_emails = {
            email.lower()
            for email in User.objects.annotate(email_lower=Lower("email"))
            .filter(email_lower__in=emails)
            .values_list("email", flat=True)
        } | {
            email.lower()
            for email in EmailAddress.objects.annotate(email_lower=Lower("email"))
            .filter(email_lower__in=emails)
            .values_list("email", flat=True)
        }
    taken_numbers = set(
        LearnerProfile.objects.filter(
            worker_registration_number__in={
                row.worker_registration_number for row in new_rows if row.worker_registration_number
            }
        ).values_list("country", "worker_registration_number")
    )
    errors = []
    for row in rows:
        account = existing.get(row.username.lower())
        if account is not None:
            errors.extend(_existing_account_errors(row, account=account, enrollable=enrollable))
            continue
        if row.email and row.email.lower() in taken_emails:
            errors.append(
                _("line %(line)d: e-mail '%(email)s' is already used by another account")
                % {"line": row.line, "email": row.email}
            )
        number = (row.country, row.worker_registration_number)
        if row.worker_registration_number and number in taken_numbers:
            errors.append(
                _(
                    "line %(line)d: worker registration number '%(number)s' is already "
                    "registered to another learner in %(country)s"
                )
                % {"line": row.line, "number": number[1], "country": row.country}
            )
    return errors


def _existing_account_errors(row, *, account, enrollable: set[int]) -> list[str]:
    if account.pk not in enrollable:
        # Says nothing of the account (whose staff or learner it is): only that it is not ours.
        return [
            _(
                "line %(line)d: username '%(username)s' belongs to an account this "
                "institution cannot enrol"
            )
            % {"line": row.line, "username": row.username}
        ]
    if row.email and account.email and row.email.lower() != account.email.lower():
        # Probably someone else with the same username: do not enrol the wrong person.
        return [
            _(
                "line %(line)d: username '%(username)s' belongs to an existing account "
                "with another e-mail address"
            )
            % {"line": row.line, "username": row.username}
        ]
    return []


def _learners_import(*, cohort: Cohort, rows, existing: dict) -> CohortImport:
    from allauth.account.models import EmailAddress

    User = get_user_model()
    result = CohortImport()
    learners = []
    for row in rows:
        user = existing.get(row.username.lower())
        if user is None:
            password = "" if row.email else _one_time_password()
            user = User.objects.create_user(
                username=row.username, email=row.email.lower(), password=password or None
            )
            if row.email:
                EmailAddress.objects.create(
                    user=user, email=row.email.lower(), primary=True, verified=False
                )
            learner_profile_save(user=user, **row.profile_fields())
            result.created.append(NewAccount(user, row.full_name, password))
        else:
            result.existing.append(user)  # added and enrolled; their profile is theirs
        learners.append(user)
    cohort.learners.add(*learners)
    result.enrolment = cohort_enrol(cohort=cohort, learners=learners)
    for account in result.invited:
        _cohort_invitation_send(cohort=cohort, account=account)
    return result


def _one_time_password() -> str:
    """Twelve easy-to-read characters in three groups, e.g. ``k7mp-2xqa-9fhr`` (about 59 bits)."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(3))


def _cohort_invitation_send(*, cohort: Cohort, account: NewAccount) -> None:
    """E-mail a new learner a link to choose their password: allauth's password-reset link.

    allauth's adapter sends it after the import commits. Must run during a request (allauth
    builds the link's address from it).
    """
    from allauth.account.adapter import get_adapter
    from allauth.account.forms import default_token_generator
    from allauth.account.utils import user_pk_to_url_str

    user = account.user
    adapter = get_adapter()
    key = f"{user_pk_to_url_str(user)}-{default_token_generator.make_token(user)}"
    adapter.send_mail(
        "courses/email/cohort_invitation",
        user.email,
        {
            "username": user.get_username(),
            "full_name": account.full_name,
            "institution": cohort.institution,
            "course": cohort.course,
            "password_reset_url": adapter.get_reset_password_from_key_url(key),
            "link_days": max(1, settings.PASSWORD_RESET_TIMEOUT // (24 * 3600)),
        },
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
    from lms.models import Membership
    from lms.roles import InstitutionRole

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
