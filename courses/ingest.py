"""Writes for other LMSs: enrolments and batches of progress events sent with an API key.

A services module beside :mod:`courses.services` (same conventions), kept apart because it is
the plugin API's: every write acts for one institution, on its own learners (known by their
external ids, see :class:`lms.models.LearnerIdentity`) and its own courses, and every event
goes through :func:`courses.services.progress_events_record` (set-wise, the same checks as
:func:`courses.services.progress_event_record`), so an event from another LMS is applied
exactly as one from our pages: once, with its derived state.
"""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from courses import selectors
from courses.models import (
    CoursePage,
    Enrolment,
    ProgressSource,
    ProgressVerb,
)
from courses.services import (
    LearningError,
    NewProgressEvent,
    RecordedEvent,
    progress_event_record,
    progress_events_record,
)
from lms import selectors as lms_selectors
from lms.models import ApiKey, Institution, LearnerIdentity

#: Most events one request may carry: bigger batches are refused whole, before any is applied.
MAX_BATCH_EVENTS = 1000
#: Verbs another LMS may report. Observations are a supervisor's, recorded on our pages.
API_VERBS = (
    ProgressVerb.ENROLLED,
    ProgressVerb.VIEWED,
    ProgressVerb.COMPLETED,
    ProgressVerb.ATTEMPTED,
    ProgressVerb.PASSED,
    ProgressVerb.FAILED,
)
#: How far ahead of our clock an event's timestamp may be (a phone's clock may run fast).
FUTURE_TOLERANCE = timedelta(hours=1)
#: Namespace of the event ids of API enrolments, derived so that enrolling twice is a no-op.
API_ENROLMENT_NAMESPACE = uuid.UUID("2b0a4c55-0d7e-4f43-8f0b-6a1c9e3d7b18")


class EventStatus(StrEnum):
    APPLIED = "applied"  # recorded now, with its derived state
    DUPLICATE = "duplicate"  # this id was applied before: nothing changed
    REJECTED = "rejected"  # not recorded; ``reason`` says why


class BatchEvent(BaseModel):
    """One progress event as another LMS sends it (the contract shown in the API schema)."""

    model_config = ConfigDict(extra="forbid")

    id: uuid.UUID = Field(
        description="A UUID the client generates once per event and keeps when it retries."
    )
    learner: str = Field(
        max_length=LearnerIdentity._meta.get_field("external_id").max_length,
        description="The learner's external id at your institution.",
    )
    verb: str = Field(
        description="What the learner did.",
        json_schema_extra={"enum": [verb.value for verb in API_VERBS]},
    )
    course_id: int | None = Field(None, description="The course's id (give it or module_id).")
    module_id: int | None = Field(None, description="The module's id (give it or course_id).")
    score: Decimal | None = Field(None, ge=0, le=100, description="Score in percent, 0–100.")
    success: bool | None = Field(None, description="Whether the learner passed.")
    timestamp: datetime | None = Field(
        None,
        description="When it happened (ISO 8601; without an offset, UTC). Default: now.",
    )

    @model_validator(mode="after")
    def _check(self):
        if self.verb not in API_VERBS:
            raise ValueError(
                _("verb must be one of %(verbs)s, not '%(verb)s'")
                % {"verbs": ", ".join(API_VERBS), "verb": self.verb}
            )
        if self.course_id is None and self.module_id is None:
            raise ValueError(_("give course_id or module_id"))
        if self.timestamp is not None:
            if timezone.is_naive(self.timestamp):
                self.timestamp = self.timestamp.replace(tzinfo=UTC)
            if self.timestamp > timezone.now() + FUTURE_TOLERANCE:
                raise ValueError(_("timestamp is in the future"))
        return self


@dataclass(frozen=True)
class EventOutcome:
    id: str | None  # as the client sent it
    status: EventStatus
    reason: str = ""


def _validation_reason(error: ValidationError) -> str:
    parts = []
    for detail in error.errors():
        where = ".".join(str(part) for part in detail["loc"])
        message = detail["msg"].removeprefix("Value error, ")
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)


def progress_batch_record(
    *, institution: Institution, events: list[Any], recorded_by: ApiKey | None = None
) -> list[EventOutcome]:
    """Apply a batch of progress events for ``institution``; one outcome per event, in order.

    Idempotent per event: an event id applied before (in an earlier batch or earlier in this
    one) is a ``duplicate`` and changes nothing, so a replayed batch changes nothing at all.
    The batch is applied set-wise in one transaction (see
    :func:`courses.services.progress_events_record`): a bad event is ``rejected`` with the
    reason and leaves no trace, and never blocks the others; when two batches collide the
    events are applied one by one, each in its own savepoint. Learners and courses are looked
    up among the institution's own only, so another institution's are as unknown as made-up
    ones.
    More than :data:`MAX_BATCH_EVENTS` events raises :class:`LearningError` before any work.
    """
    if len(events) > MAX_BATCH_EVENTS:
        raise LearningError(
            ngettext(
                "A batch holds at most %(max)d events; this one has %(count)d. "
                "Send it in smaller batches.",
                "A batch holds at most %(max)d events; this one has %(count)d. "
                "Send it in smaller batches.",
                len(events),
            )
            % {"max": MAX_BATCH_EVENTS, "count": len(events)}
        )
    parsed: list[BatchEvent | EventOutcome] = []
    for raw in events:
        try:
            parsed.append(BatchEvent.model_validate(raw))
        except ValidationError as error:
            raw_id = raw.get("id") if isinstance(raw, dict) else None
            parsed.append(
                EventOutcome(
                    id=None if raw_id is None else str(raw_id),
                    status=EventStatus.REJECTED,
                    reason=_validation_reason(error),
                )
            )
    valid = [event for event in parsed if isinstance(event, BatchEvent)]
    learners = lms_selectors.learners_by_external_id(
        institution=institution, external_ids={event.learner for event in valid}
    )
    courses, modules = selectors.institution_live_pages(
        institution=institution,
        course_ids={e.course_id for e in valid if e.course_id is not None},
        module_ids={e.module_id for e in valid if e.module_id is not None},
    )
    outcomes: list[EventOutcome | None] = []
    checked: list[tuple[int, BatchEvent, NewProgressEvent]] = []
    for event in parsed:
        if isinstance(event, BatchEvent):
            event = _batch_event_check(
                event=event,
                learners=learners,
                courses=courses,
                modules=modules,
                recorded_by=recorded_by,
            )
        if isinstance(event, EventOutcome):
            outcomes.append(event)
        else:
            checked.append((len(outcomes), *event))
            outcomes.append(None)
    recorded = progress_events_record(events=[new for _i, _event, new in checked])
    for (index, event, new), result in zip(checked, recorded, strict=True):
        outcomes[index] = _batch_event_outcome(event=event, new=new, result=result)
    return outcomes


def _batch_event_check(*, event: BatchEvent, learners, courses, modules, recorded_by):
    """The event as the progress service takes it, or why it is rejected before that."""

    def rejected(reason: str) -> EventOutcome:
        return EventOutcome(id=str(event.id), status=EventStatus.REJECTED, reason=reason)

    learner = learners.get(event.learner)
    if learner is None:
        return rejected(
            _("No learner with external id '%s' at your institution: create them first.")
            % event.learner
        )
    course = module = None
    if event.module_id is not None:
        if event.module_id not in modules:
            return rejected(
                _("No module %s among your institution's published courses.") % event.module_id
            )
        module, course = modules[event.module_id]
        # Either id may be a translation's: compare the originals they stand for.
        named = courses.get(event.course_id) if event.course_id is not None else course
        if named is None or named.pk != course.pk:
            return rejected(_("This module does not belong to that course."))
    else:
        course = courses.get(event.course_id)
        if course is None:
            return rejected(
                _("No course %s among your institution's published courses.") % event.course_id
            )
    return event, NewProgressEvent(
        event_id=event.id,
        learner=learner,
        verb=event.verb,
        course=course,
        module=module,
        score=event.score,
        success=event.success,
        occurred_at=event.timestamp,
        source=ProgressSource.API,
        recorded_by=recorded_by,
    )


def _batch_event_outcome(
    *, event: BatchEvent, new: NewProgressEvent, result: RecordedEvent | LearningError
) -> EventOutcome:
    if isinstance(result, LearningError):
        return EventOutcome(id=str(event.id), status=EventStatus.REJECTED, reason=str(result))
    if result.created:
        return EventOutcome(id=str(event.id), status=EventStatus.APPLIED)
    earlier = result.event
    if (earlier.verb, earlier.course_id, earlier.module_id) != (
        event.verb,
        new.course.pk,
        new.module.pk if new.module else None,
    ):
        return EventOutcome(
            id=str(event.id),
            status=EventStatus.REJECTED,
            reason=_("This event id was already used for a different event."),
        )
    return EventOutcome(id=str(event.id), status=EventStatus.DUPLICATE)


@dataclass(frozen=True)
class InstitutionEnrolment:
    enrolment: Enrolment
    created: bool  # False: the learner was enrolled in the course already


def learner_enrol_by_institution(
    *,
    institution: Institution,
    learner,
    course_id: int,
    recorded_by: ApiKey | None = None,
) -> InstitutionEnrolment:
    """Enrol one of the institution's learners in one of its own published courses.

    Idempotent: a learner enrolled already stays as they are; the event id is derived from
    the institution, learner and course, so two parallel requests record one enrolment.
    Self-enrolment settings do not apply: the institution enrols its own learners.
    """
    course: CoursePage | None = (
        selectors.institution_courses(institution=institution).filter(pk=course_id).first()
    )
    if course is None:
        raise LearningError(
            _("No course %s among your institution's published courses.") % course_id, status=404
        )
    existing = Enrolment.objects.filter(learner=learner, course=course).first()
    if existing is not None:
        return InstitutionEnrolment(existing, created=False)
    progress_event_record(
        event_id=uuid.uuid5(API_ENROLMENT_NAMESPACE, f"{institution.pk}:{learner.pk}:{course.pk}"),
        learner=learner,
        verb=ProgressVerb.ENROLLED,
        course=course,
        source=ProgressSource.API,
        recorded_by=recorded_by,
    )
    return InstitutionEnrolment(
        Enrolment.objects.select_related("course").get(learner=learner, course=course),
        created=True,
    )
