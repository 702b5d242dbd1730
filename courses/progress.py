"""Progress: events applied exactly once with their derived state, and what learners do.

Every learning record starts as a :class:`ProgressEvent` keyed by a client-generated UUID.
:func:`progress_event_record` applies an event exactly once — a retry, a double click or an
offline phone syncing twice finds the event already there and changes nothing — and updates
the derived records (enrolment, completion, quiz attempt, competency evidence) in the same
transaction. Database constraints back this up when two requests race.
:func:`progress_events_record` does the same for a batch, set-wise. After commit,
:data:`courses.signals.progress_recorded` tells other apps that a learner's progress changed.
"""

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import partial
from typing import Any

from django.db import IntegrityError, OperationalError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from competencies.models import EvidenceSource
from competencies.services import NewEvidence, new_sources_evidence_record
from courses import selectors, signals
from courses.errors import LearningError, ProgressWriteClash
from courses.models import (
    CoursePage,
    Enrolment,
    EnrolmentStatus,
    ModuleCompletion,
    ModulePage,
    ObjectType,
    ProgressEvent,
    ProgressSource,
    ProgressVerb,
    QuizAttempt,
)
from lms.links import page_url
from lms.models import WebhookEvent
from lms.services import (
    WebhookNotice,
    webhooks_dispatch_many,
)

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
    batch = _EventBatch(events)
    outcomes = [batch.apply(e) for e in events]
    batch.write()
    return outcomes


class _EventBatch:
    """Events checked one by one against the state read for all of them at once, and what
    they change so far: new events, enrolments and completions, and enrolments completed."""

    def __init__(self, events: list[NewProgressEvent]):
        self.courses = _courses_of_modules(
            [e.module for e in events if e.module is not None and e.course is None]
        )
        for e in events:
            if e.course is not None:
                self.courses.setdefault(e.course.path, e.course)
        # Each course's live required modules, when an event completes a module (read once
        # per change of the structure, see courses.caches.STRUCTURE).
        completing = {e.module.pk for e in events if _completes_module(e)}
        self.required = (
            selectors.courses_required_modules(courses=self.courses.values()) if completing else {}
        )
        # The enrolment row locks serialise a learner's events (the constraints are the
        # backstop).
        state = selectors.progress_state(
            event_ids=[e.event_id for e in events],
            learner_ids={e.learner.pk for e in events},
            course_ids=[c.pk for c in self.courses.values()],
            module_ids={*completing, *(pk for pks in self.required.values() for pk in pks)},
        )
        self.known, self.done = state.known, state.completed
        self.enrolments = {(row.learner_id, row.course_id): row for row in state.enrolments}
        self.new_events: list[ProgressEvent] = []
        self.new_enrolments: list[Enrolment] = []
        self.completed_enrolments: dict[int, Enrolment] = {}
        self.completions: list[tuple[ModuleCompletion, ModulePage, CoursePage]] = []

    def apply(self, e: NewProgressEvent) -> RecordedEvent | LearningError:
        """The event's outcome; a new event that fits is added to what :meth:`write` writes."""
        earlier = self.known.get(e.event_id)
        if earlier is not None:
            if earlier.learner_id != e.learner.pk:
                return LearningError(
                    _("This event id was already used for another learner."), status=409
                )
            return RecordedEvent(earlier, created=False)
        if e.verb not in _VERBS:
            return LearningError(_("Unknown verb: %s") % e.verb)
        course = self._course_of(e)
        if isinstance(course, LearningError):
            return course
        occurred_at = e.occurred_at or timezone.now()
        enrolment = self._enrolment_for(e, course, occurred_at)
        if isinstance(enrolment, LearningError):
            return enrolment
        event = ProgressEvent(
            event_id=e.event_id,
            learner=e.learner,
            verb=e.verb,
            object_type=ObjectType.MODULE if e.module else ObjectType.COURSE,
            course=course,
            module=e.module,
            score=e.score,
            success=e.success,
            revision_id=(e.module or course).live_revision_id,
            occurred_at=occurred_at,
            source=e.source,
            recorded_by=e.recorded_by,
            extra=e.extra,
        )
        self.known[e.event_id] = event
        self.new_events.append(event)
        if _completes_module(e) and e.module.pk not in self.done[e.learner.pk]:
            self._complete(event, course=course, enrolment=enrolment)
        return RecordedEvent(event, created=True)

    def _course_of(self, e: NewProgressEvent) -> CoursePage | LearningError:
        course, module = e.course, e.module
        if module is not None:
            parent_path = module.path[: -module.steplen]
            course = course or self.courses.get(parent_path)
            if course is None or course.path != parent_path:
                return LearningError(_("This module does not belong to that course."))
        if course is None:
            return LearningError(_("A progress event needs a course or a module."))
        return course

    def _enrolment_for(self, e: NewProgressEvent, course, occurred_at) -> Enrolment | LearningError:
        """The learner's enrolment in ``course``: a new one for an ``enrolled`` event."""
        enrolment = self.enrolments.get((e.learner.pk, course.pk))
        if e.verb == ProgressVerb.ENROLLED:
            if enrolment is None:
                enrolment = Enrolment(
                    learner=e.learner,
                    course=course,
                    enrolled_at=occurred_at,
                    cohort_id=e.extra.get("cohort_id"),
                )
                self.enrolments[e.learner.pk, course.pk] = enrolment
                self.new_enrolments.append(enrolment)
        elif enrolment is None or enrolment.status == EnrolmentStatus.WITHDRAWN:
            return LearningError(
                _("You are not enrolled in “%(course)s”.") % {"course": course.title},
                status=403,
            )
        return enrolment

    def _complete(self, event: ProgressEvent, *, course, enrolment: Enrolment) -> None:
        """The event's module is completed; so is the course when every required module is."""
        module, learner_done = event.module, self.done[event.learner.pk]
        learner_done.add(module.pk)
        completion = ModuleCompletion(
            learner=event.learner,
            module=module,
            course=course,
            event=event,
            revision_id=event.revision_id,
            completed_at=event.occurred_at,
        )
        self.completions.append((completion, module, course))
        course_required = self.required[course.pk]
        if (
            course_required
            and course_required <= learner_done
            and enrolment.status == EnrolmentStatus.ACTIVE
        ):
            enrolment.status = EnrolmentStatus.COMPLETED
            enrolment.completed_at = event.occurred_at
            if enrolment.pk is not None:
                self.completed_enrolments[enrolment.pk] = enrolment

    def write(self) -> None:
        if self.new_events:
            _events_write(
                events=self.new_events,
                enrolments=self.new_enrolments,
                completed_enrolments=list(self.completed_enrolments.values()),
                completions=self.completions,
            )


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
        signals.learners_enrolled.send(
            sender=Enrolment,
            learner_ids=sorted({enrolment.learner_id for enrolment in enrolments}),
        )
    recorded = [(event.pk, event.learner_id) for event in events]

    def send_progress_recorded():
        for event_id, learner_id in recorded:
            signals.progress_recorded.send(
                sender=ProgressEvent, event_id=event_id, learner_id=learner_id
            )

    transaction.on_commit(send_progress_recorded)


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

    event_id = _parse_event_id(event_id)
    existing = ProgressEvent.objects.filter(event_id=event_id).first()
    if existing is not None:
        _check_same_learner(existing, learner)
        attempt = QuizAttempt.objects.get(event=existing)
        quiz = module.quiz_block()
        return QuizResult(attempt, False, selectors.score_quiz(quiz, attempt.answers).feedback)
    quiz = module.quiz_block()
    if quiz is None:
        raise LearningError(_("This module has no quiz."))
    scored = selectors.score_quiz(quiz, answers)  # raises LearningError for foreign or unknown ids
    if selectors.quiz_attempts_left(learner=learner, module=module) == 0:
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
