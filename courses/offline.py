"""Courses kept on a learner's phone, and what the learner did there while offline.

The phone's part is a service worker and one page script (``courses/static/courses/offline/``,
``courses/templates/courses/offline/sw.js``): they keep a course's pages, images and documents
in the browser's cache, and queue what the learner does offline (a module marked complete, a
quiz answered) in IndexedDB, each action with an id the phone made. This module is the
server's part:

* :func:`course_offline_manifest` says what to keep of a course, and a version that changes
  when the course is republished, so the phone knows when its copy is stale;
* :func:`offline_events_apply` applies a queue, in order, each action exactly once, through
  the same services the online forms use; each action gets an answer the phone shows:
  ``applied``, ``duplicate`` (sent before, e.g. by another tab or by Background Sync) or
  ``rejected`` with the reason (unenrolled meanwhile, module removed, quiz attempts used…).

Quizzes are scored here when the answers arrive: the cached page holds no right answers.
The phone also queues an action whose online request failed or got no answer in time
(``OFFLINE_NETWORK_TIMEOUT``), with the id the first request carried: if that one did arrive,
the queued copy is a ``duplicate``. Each queued action names its account, and a queue saved by
another account is refused (logging out on a shared phone leaves it for its owner).
"""

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from courses import selectors, services
from courses.models import (
    CoursePage,
    Enrolment,
    EnrolmentStatus,
    ModulePage,
    ProgressEvent,
    ProgressVerb,
)
from courses.translations import source_page

#: The image rendition module pages show (courses/templates/courses/blocks/image.html): the
#: phone keeps exactly the files the pages load.
PHONE_RENDITION = "max-720x720|format-webp"
#: How many actions one request may carry; the phone sends a longer queue in parts.
MAX_EVENTS = 100
#: An action's time as the phone tells it is kept when it lies in this window before its
#: arrival (a phone's clock may be wrong: then the arrival time is recorded instead).
OFFLINE_WINDOW = timedelta(days=60)
#: A rough size of one page, for the estimate shown before saving (pages are far smaller
#: than the images and documents that dominate the total).
PAGE_BYTES_ESTIMATE = 20_000

APPLIED = "applied"
DUPLICATE = "duplicate"
REJECTED = "rejected"


class OfflineError(Exception):
    """A request the phone sent that cannot be read at all; the message names the problem."""

    def __init__(self, message: str, *, status: int = 400):
        super().__init__(message)
        self.status = status


# --- What to keep ----------------------------------------------------------------------------


def learner_may_keep(*, learner, course: CoursePage) -> bool:
    """Only a learner enrolled in the course (active or finished) may keep it on a phone."""
    return Enrolment.objects.filter(
        learner=learner,
        course=source_page(course),  # a translation's learners are enrolled in the original
        status__in=[EnrolmentStatus.ACTIVE, EnrolmentStatus.COMPLETED],
    ).exists()


def course_offline_manifest(*, course: CoursePage, request) -> dict:
    """What a phone keeps of ``course``: its pages, the phone-sized images they show and
    their documents (each with its size, so the learner chooses a limit before saving), and
    a version that changes whenever the course or one of its modules is republished."""
    modules = selectors.course_modules(course=course)
    images, documents = {}, {}
    for module in modules:
        for block in module.body:
            if block.block_type == "image" and block.value.get("image"):
                rendition = block.value["image"].get_rendition(PHONE_RENDITION)
                images[rendition.url] = _file_size(rendition.file)
            elif block.block_type == "document" and block.value.get("document"):
                document = block.value["document"]
                documents[document.url] = {
                    "url": document.url,
                    "title": block.value.get("title") or document.title,
                    "bytes": document.get_file_size() or 0,
                }
    pages = [course.get_url(request), *(module.get_url(request) for module in modules)]
    version_of = [
        course.pk,
        course.live_revision_id,
        [(module.pk, module.live_revision_id) for module in modules],
        sorted(images),
        sorted(documents),
    ]
    version = hashlib.sha256(json.dumps(version_of).encode()).hexdigest()[:16]
    return {
        "course": course.pk,
        "title": course.title,
        "version": version,
        "pages": pages,
        "modules": {str(module.pk): module.title for module in modules},
        "page_bytes_estimate": PAGE_BYTES_ESTIMATE * len(pages),
        "images": [{"url": url, "bytes": size} for url, size in images.items()],
        "documents": list(documents.values()),
    }


def _file_size(file) -> int:
    try:
        return file.size
    except OSError:  # the rendition's file is missing from storage: the phone measures it
        return 0


# --- What the learner did offline ---------------------------------------------------------


@dataclass(frozen=True)
class OfflineOutcome:
    event_id: str
    status: str  # APPLIED, DUPLICATE or REJECTED
    reason: str = ""
    module_title: str = ""
    score: Decimal | None = None
    passed: bool | None = None

    def as_json(self) -> dict:
        answer = {"event_id": self.event_id, "status": self.status}
        if self.reason:
            answer["reason"] = self.reason
        if self.module_title:
            answer["module"] = self.module_title
        if self.score is not None:
            answer["score"] = float(self.score)
            answer["passed"] = self.passed
        return answer


def offline_events_read(payload, *, learner) -> list[dict]:
    """The actions of a sync request, or :class:`OfflineError` naming what is wrong with it.

    A phone keeps the account each action was saved under: a queue saved by another account
    (someone else used this phone) is refused whole, and stays on the phone for its owner.
    """
    if not isinstance(payload, dict) or not isinstance(payload.get("events"), list):
        raise OfflineError(_("The request must be a JSON object with a list of events."))
    owner = payload.get("learner")
    if owner is not None and owner != learner.pk:
        raise OfflineError(
            _(
                "These actions were saved on this phone by another account: "
                "log in as that account to send them."
            ),
            status=409,
        )
    events = payload["events"]
    if len(events) > MAX_EVENTS:
        raise OfflineError(
            _("Send at most %(max)d actions at a time (this request has %(count)d).")
            % {"max": MAX_EVENTS, "count": len(events)}
        )
    return events


def offline_events_apply(*, learner, events: list) -> list[OfflineOutcome]:
    """Apply a phone's queued actions for ``learner``, in order, each exactly once.

    Each action is applied on its own (one refused action does not hold back the others) by
    the services the online forms call, so the rules are the same: a module with a quiz is
    completed by passing it, a withdrawn learner records nothing, quiz attempts are counted.
    An action whose id was applied before answers ``duplicate`` and changes nothing, even
    when its module has since been removed; two tabs sending the same queue at once are
    told apart by the database's unique event id (see :mod:`courses.services`).
    """
    ids = {_event_uuid(raw) for raw in events} - {None}
    seen = dict(
        ProgressEvent.objects.filter(event_id__in=ids).values_list("event_id", "learner_id")
    )
    module_ids = {_module_id(raw) for raw in events} - {None}
    # An event from a translated module's page is recorded on the original (translations).
    modules = {
        module.pk: source_page(module)
        for module in ModulePage.objects.live().filter(pk__in=module_ids).specific()
    }
    now = timezone.now()
    outcomes = []
    for raw in events:
        outcome = _event_apply(raw, learner=learner, seen=seen, modules=modules, now=now)
        if outcome.status == APPLIED:
            seen[uuid.UUID(outcome.event_id)] = learner.pk
        outcomes.append(outcome)
    return outcomes


def _event_uuid(raw) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(raw.get("event_id")))
    except (AttributeError, ValueError):
        return None


def _module_id(raw) -> int | None:
    module_id = raw.get("module") if isinstance(raw, dict) else None
    return module_id if isinstance(module_id, int) else None


def _event_apply(raw, *, learner, seen: dict, modules: dict, now: datetime) -> OfflineOutcome:
    event_id = _event_uuid(raw)
    if event_id is None:
        given = str(raw.get("event_id", "")) if isinstance(raw, dict) else ""
        return OfflineOutcome(given, REJECTED, _("This action has no valid id (a UUID)."))
    key = str(event_id)
    if event_id in seen:
        if seen[event_id] != learner.pk:
            return OfflineOutcome(key, REJECTED, _("This action's id was used by another account."))
        return OfflineOutcome(key, DUPLICATE)
    module = modules.get(_module_id(raw))
    if module is None:
        return OfflineOutcome(key, REJECTED, _("This module was removed from the course."))
    kind = raw.get("kind")
    try:
        if kind == "complete":
            return _complete(key, raw, learner=learner, module=module, now=now)
        if kind == "quiz":
            return _quiz(key, raw, learner=learner, module=module)
    except services.LearningError as error:
        return OfflineOutcome(key, REJECTED, str(error), module.title)
    return OfflineOutcome(
        key, REJECTED, _("Unknown kind of action: %s") % str(kind)[:40], module.title
    )


def _complete(key: str, raw: dict, *, learner, module: ModulePage, now) -> OfflineOutcome:
    """Mark a module complete at the time the learner did it (see :data:`OFFLINE_WINDOW`)."""
    if module.quiz_block() is not None:
        raise services.LearningError(_("Pass this module's quiz to complete it."))
    recorded = services.progress_event_record(
        event_id=key,
        learner=learner,
        verb=ProgressVerb.COMPLETED,
        module=module,
        occurred_at=_offline_time(raw.get("occurred_at"), now=now),
        extra={"offline": True},
    )
    return OfflineOutcome(key, APPLIED if recorded.created else DUPLICATE, "", module.title)


def _quiz(key: str, raw: dict, *, learner, module: ModulePage) -> OfflineOutcome:
    """Score the answers now, on the server, as the online form is."""
    answers = raw.get("answers")
    if not isinstance(answers, dict) or not all(
        isinstance(chosen, list) and all(isinstance(a, str) for a in chosen)
        for chosen in answers.values()
    ):
        raise services.LearningError(_("The answers must map each question to a list of answers."))
    result = services.quiz_submit(learner=learner, module=module, answers=answers, event_id=key)
    return OfflineOutcome(
        key,
        APPLIED if result.created else DUPLICATE,
        "",
        module.title,
        score=result.attempt.score,
        passed=result.attempt.passed,
    )


def _offline_time(value, *, now: datetime) -> datetime:
    try:
        when = parse_datetime(value) if isinstance(value, str) else None
    except ValueError:  # well formed, but no such time (a 31st of February)
        when = None
    if when is None or timezone.is_naive(when) or not now - OFFLINE_WINDOW <= when <= now:
        return now
    return when
