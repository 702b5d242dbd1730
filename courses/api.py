"""The plugin API for other LMSs (/api/v1/learners…, /api/v1/progress/events).

Another LMS (Moodle, Kolibri, Open edX…) acts for one institution with that institution's API
key, and only with a key: these endpoints refuse browser sessions (401), even a manager's,
because they are for systems, and because a key names exactly one institution. A key reaches
only its institution's learners (by the external ids it gave them) and its institution's
courses: another institution's learner or course is answered as if it did not exist (404, or
a rejected event), so a key cannot even learn which ids exist elsewhere.
"""

from datetime import datetime
from http import HTTPStatus
from typing import Annotated, Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils.translation import gettext as _
from ninja import Router, Schema
from ninja.errors import HttpError
from ninja.responses import Status
from pydantic import ConfigDict, Field, WithJsonSchema
from wagtail import hooks

from courses import ingest, selectors
from courses.services import LearningError
from lms import selectors as lms_selectors
from lms import services as lms_services
from lms.api_auth import api_key_auth
from lms.api_common import JSON_VALUE, ErrorOut, error_body
from lms.models import Cadre, LearnerIdentity, LearnerProfile, Sector

router = Router(tags=["learners and progress (for other LMSs)"], auth=api_key_auth)


# --- schemas ------------------------------------------------------------------------------


def _longest(model, name: str) -> int:
    """The most characters the model's field stores: the schema refuses longer (400)."""
    return model._meta.get_field(name).max_length


def _account_longest(name: str) -> int:
    return _longest(get_user_model(), name)


#: Input schemas refuse properties they do not define (400 naming each): a misspelt field
#: is not silently ignored, and the schema tells clients exactly what is read.
STRICT = ConfigDict(extra="forbid")


class LearnerIn(Schema):
    model_config = STRICT

    external_id: str = Field(
        pattern=lms_services.EXTERNAL_ID_PATTERN,
        max_length=_longest(LearnerIdentity, "external_id"),
        description="The learner's id in your LMS, or their worker registration number: "
        "1–100 characters, no slashes or spaces. Unique within your institution.",
    )
    full_name: str | None = Field(
        None,
        max_length=_longest(LearnerProfile, "full_name"),
        description="As printed on certificates. Needed to create.",
    )
    email: str | None = Field(
        None,
        max_length=_account_longest("email"),
        description="Only used when the account is created.",
    )
    username: str | None = Field(
        None,
        max_length=_account_longest("username"),
        description="Only used when the account is created; by default one is generated. "
        "Letters, digits and @ . + - _ only.",
    )
    cadre: str | None = Field(
        None,
        max_length=_longest(LearnerProfile, "cadre"),
        description="Needed to create: professional, para_professional or volunteer.",
        json_schema_extra={"enum": [*Cadre.values, None]},
    )
    sector: str | None = Field(
        None,
        max_length=_longest(LearnerProfile, "sector"),
        description="Needed to create: government, ngo or community.",
        json_schema_extra={"enum": [*Sector.values, None]},
    )
    is_paid: bool | None = None
    organisation: str | None = Field(None, max_length=_longest(LearnerProfile, "organisation"))
    country: str | None = Field(
        None,
        pattern=r"^[A-Za-z]{2}$",
        max_length=_longest(LearnerProfile, "country"),
        description="ISO 3166-1 alpha-2; default: your country's.",
    )
    region: str | None = Field(None, max_length=_longest(LearnerProfile, "region"))
    district: str | None = Field(None, max_length=_longest(LearnerProfile, "district"))
    worker_registration_number: str | None = Field(
        None, max_length=_longest(LearnerProfile, "worker_registration_number")
    )
    preferred_language: str | None = Field(
        None,
        max_length=_longest(LearnerProfile, "preferred_language"),
        description="A site language code, e.g. en.",
        json_schema_extra={"enum": [*(code for code, _name in settings.LANGUAGES), None]},
    )


class LearnerOut(Schema):
    external_id: str
    username: str
    email: str
    full_name: str
    cadre: str
    sector: str
    is_paid: bool
    organisation: str
    country: str
    region: str
    district: str
    worker_registration_number: str
    preferred_language: str
    created: bool = Field(description="True when this request created the learner.")


class EnrolmentIn(Schema):
    model_config = STRICT

    course_id: int = Field(description="One of your institution's published courses.")


class EnrolmentOut(Schema):
    course_id: int
    course_title: str
    status: str
    enrolled_at: datetime
    completed_at: datetime | None = None
    percent: int = Field(description="Share of the course's required modules completed.")
    created: bool = Field(False, description="True when this request enrolled the learner.")


class CompletionOut(Schema):
    module_id: int
    module_title: str
    course_id: int
    completed_at: datetime


class QuizAttemptOut(Schema):
    module_id: int
    module_title: str
    score: float
    passed: bool
    attempted_at: datetime


class ProgressOut(Schema):
    external_id: str
    enrolments: list[EnrolmentOut]
    module_completions: list[CompletionOut]
    quiz_attempts: list[QuizAttemptOut]


# Each event is validated on its own (a malformed one is rejected, not the batch), so the
# body takes any JSON value as an event, and the schema says so: an event as BatchEvent
# describes it, or anything else (which comes back rejected, with the reason).
BatchEventJson = Annotated[
    Any,
    WithJsonSchema(
        {
            "anyOf": [
                ingest.BatchEvent.model_json_schema(mode="validation"),
                JSON_VALUE,
            ]
        }
    ),
]


class ProgressBatchIn(Schema):
    model_config = STRICT

    # The limit is documented here and enforced by the service, whose refusal says more.
    events: list[BatchEventJson] = Field(
        description=f"At most {ingest.MAX_BATCH_EVENTS:,} events, applied in this order.",
        json_schema_extra={"maxItems": ingest.MAX_BATCH_EVENTS},
    )


class EventOutcomeOut(Schema):
    id: str | None = Field(description="The event's id as sent.")
    status: str = Field(description="applied, duplicate or rejected.")
    reason: str = Field(description="Why it was rejected; empty otherwise.")


class ProgressBatchOut(Schema):
    applied: int
    duplicate: int
    rejected: int
    results: list[EventOutcomeOut]


# --- helpers ------------------------------------------------------------------------------


def _identity_or_404(request, external_id: str):
    identity = lms_selectors.learner_identity_for(
        institution=request.api_key.institution, external_id=external_id
    )
    if identity is None:
        raise HttpError(
            HTTPStatus.NOT_FOUND,
            _("No learner with external id '%s' at your institution.") % external_id,
        )
    return identity


def _learner_out(identity, *, created: bool = False) -> dict:
    user = identity.user
    profile = getattr(user, "learner_profile", None)
    fields = {name: getattr(profile, name, "") for name in lms_services.LEARNER_PROFILE_FIELDS}
    return {
        **fields,
        "is_paid": bool(fields["is_paid"]),
        "external_id": identity.external_id,
        "username": user.get_username(),
        "email": user.email,
        "full_name": profile.full_name if profile else "",
        "created": created,
    }


def _enrolment_out(enrolment, progress=None, *, created: bool = False) -> dict:
    if progress is None:
        progress = selectors.course_progress(course=enrolment.course, user=enrolment.learner)
    return {
        "course_id": enrolment.course_id,
        "course_title": enrolment.course.title,
        "status": enrolment.status,
        "enrolled_at": enrolment.enrolled_at,
        "completed_at": enrolment.completed_at,
        "percent": progress.percent,
        "created": created,
    }


# --- endpoints ----------------------------------------------------------------------------


@router.post(
    "/learners",
    response={200: LearnerOut, 201: LearnerOut, 400: ErrorOut, 409: ErrorOut},
    summary="Create a learner, or match the one with this external id",
    description=(
        "Idempotent on `external_id` within your institution: the first call creates the "
        "learner's account and profile (201; `full_name`, `cadre` and `sector` are then "
        "required), later calls return the same learner (200) and update the profile fields "
        "they give. An account is never matched by e-mail, username or registration number: "
        "if one of those belongs to someone else the answer is 409 and nothing is created."
    ),
)
def learner_create_or_match(request, payload: LearnerIn):
    data = payload.model_dump(exclude={"external_id", "full_name", "email", "username"})
    try:
        matched = lms_services.learner_match_or_create(
            institution=request.api_key.institution,
            external_id=payload.external_id,
            full_name=payload.full_name,
            email=payload.email,
            username=payload.username,
            **{name: value for name, value in data.items() if value is not None},
        )
    except lms_services.LearnerIdentityError as error:
        fields = [(("body", field) if field else ("body",), msg) for field, msg in error.problems]
        return Status(
            error.status,
            error_body(_("The learner was not saved."), fields, errors=error.errors),
        )
    identity = lms_selectors.learner_identity_for(
        institution=request.api_key.institution, external_id=matched.identity.external_id
    )
    status = HTTPStatus.CREATED if matched.created else HTTPStatus.OK
    return Status(status, _learner_out(identity, created=matched.created))


@router.get(
    "/learners/{external_id}",
    response={200: LearnerOut, 404: ErrorOut},
    summary="One of your learners, by external id",
    description="Another institution's learners are not found (404), whatever their ids.",
)
def learner_detail(request, external_id: str):
    return _learner_out(_identity_or_404(request, external_id))


@router.post(
    "/learners/{external_id}/enrolments",
    response={200: EnrolmentOut, 201: EnrolmentOut, 404: ErrorOut},
    summary="Enrol one of your learners in one of your courses",
    description=(
        "Idempotent: enrolling a learner who is enrolled already changes nothing (200). Only "
        "your institution's published courses can be named (404 otherwise); the course's "
        "self-enrolment setting does not apply."
    ),
)
def learner_enrol(request, external_id: str, payload: EnrolmentIn):
    identity = _identity_or_404(request, external_id)
    try:
        result = ingest.learner_enrol_by_institution(
            institution=request.api_key.institution,
            learner=identity.user,
            course_id=payload.course_id,
            recorded_by=request.api_key,
        )
    except LearningError as error:
        return Status(error.status, error_body(str(error), [(("body", "course_id"), str(error))]))
    status = HTTPStatus.CREATED if result.created else HTTPStatus.OK
    return Status(status, _enrolment_out(result.enrolment, created=result.created))


@router.get(
    "/learners/{external_id}/progress",
    response={200: ProgressOut, 404: ErrorOut},
    summary="One learner's progress in your courses",
    description=(
        "Enrolments (with the percentage of required modules done), module completions and "
        "quiz attempts in your institution's courses only; what the learner does at other "
        "institutions is not shown."
    ),
)
def learner_progress(request, external_id: str):
    identity = _identity_or_404(request, external_id)
    progress = selectors.institution_learner_progress(
        institution=request.api_key.institution, learner=identity.user
    )
    return {
        "external_id": identity.external_id,
        "enrolments": [_enrolment_out(e, p) for e, p in progress.enrolments],
        "module_completions": [
            {
                "module_id": c.module_id,
                "module_title": c.module.title,
                "course_id": c.course_id,
                "completed_at": c.completed_at,
            }
            for c in progress.completions
        ],
        "quiz_attempts": [
            {
                "module_id": a.module_id,
                "module_title": a.module.title,
                "score": a.score,
                "passed": a.passed,
                "attempted_at": a.attempted_at,
            }
            for a in progress.quiz_attempts
        ],
    }


@router.post(
    "/progress/events",
    response={200: ProgressBatchOut, 400: ErrorOut},
    summary="Send a batch of progress events (at most 1,000)",
    description=(
        "Each event carries its own client-generated UUID, so a batch can be replayed "
        "(offline sync, retries): an event applied before is reported `duplicate` and changes "
        "nothing. Each event is applied on its own, with its derived state (enrolment, module "
        "completion): a bad one is `rejected` with the reason, leaves nothing behind and does "
        "not stop the others. Events name your learners by external id and your courses or "
        "modules by id; anything else is rejected. Events are applied in the order sent (send "
        "`enrolled` before a module's `completed`). More than 1,000 events: 400, nothing "
        "applied."
    ),
)
def progress_events_record(request, payload: ProgressBatchIn):
    try:
        outcomes = ingest.progress_batch_record(
            institution=request.api_key.institution,
            events=payload.events,
            recorded_by=request.api_key,
        )
    except LearningError as error:
        return Status(error.status, error_body(str(error), [(("body", "events"), str(error))]))
    counts = dict.fromkeys(ingest.EventStatus, 0)
    for outcome in outcomes:
        counts[outcome.status] += 1
    return {
        "applied": counts[ingest.EventStatus.APPLIED],
        "duplicate": counts[ingest.EventStatus.DUPLICATE],
        "rejected": counts[ingest.EventStatus.REJECTED],
        "results": [{"id": o.id, "status": o.status.value, "reason": o.reason} for o in outcomes],
    }


@hooks.register("register_api_routers")
def register_plugin_router():
    return "/", router
