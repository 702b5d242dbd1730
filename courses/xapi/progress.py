"""Turning stored statements into progress on mapped modules, now or later (replay)."""

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from django.db.models import Q

from courses import selectors
from courses.models import ProgressSource, ProgressVerb, XapiProgressStatus, XapiStatement
from courses.services import (
    LearningError,
    progress_event_record,
    progress_event_record_or_clash,
)
from courses.xapi.common import PROGRESS_VERBS
from lms import selectors as lms_selectors
from lms.models import ApiKey, Institution

# --- Mapping to progress ----------------------------------------------------------------------


def _score_percent(result: dict) -> Decimal | None:
    score = result.get("score") or {}
    if "scaled" in score:
        value = Decimal(str(score["scaled"])) * 100
    elif "raw" in score and score.get("max"):
        low = Decimal(str(score.get("min", 0)))
        high = Decimal(str(score["max"]))
        if high <= low:
            return None
        value = (Decimal(str(score["raw"])) - low) / (high - low) * 100
    else:
        return None
    value = min(max(value, Decimal(0)), Decimal(100))
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def actor_account_name(raw: dict) -> str | None:
    """The actor's ``account.name``: the learner's external id at the institution."""
    account = raw["actor"].get("account") if isinstance(raw["actor"], dict) else None
    return account.get("name") if isinstance(account, dict) else None


@dataclass(frozen=True)
class _Mapped:
    """What a statement's progress event would be: the arguments of progress_event_record."""

    arguments: dict


def _progress_event_of(
    stored: XapiStatement, *, api_key: ApiKey, institution: Institution
) -> _Mapped | None:
    """The progress event a statement brings, or None once its status says why it brings
    none (no progress verb, activity not mapped, learner unknown)."""
    raw = stored.raw
    verb = PROGRESS_VERBS.get(stored.verb_iri)
    mapped = (
        selectors.institution_activity_module(
            institution=institution, activity_iri=stored.activity_iri
        )
        if verb is not None
        else None
    )
    if mapped is None:
        _progress_note(stored, XapiProgressStatus.NOT_MAPPED)
        return None
    module, course = mapped
    external_id = actor_account_name(raw)
    learner = (
        lms_selectors.learners_by_external_id(
            institution=institution, external_ids=[external_id]
        ).get(external_id)
        if external_id
        else None
    )
    if learner is None:
        _progress_note(
            stored,
            XapiProgressStatus.UNKNOWN_LEARNER,
            "No learner with this actor.account.name as external id at your institution.",
        )
        return None
    result = raw.get("result") or {}
    success = result.get("success")
    if verb == ProgressVerb.PASSED:
        success = True
    elif verb == ProgressVerb.FAILED:
        success = False
    return _Mapped(
        {
            "event_id": stored.statement_id,
            "learner": learner,
            "verb": verb,
            "course": course,
            "module": module,
            "score": _score_percent(result),
            "success": success,
            "occurred_at": stored.timestamp,
            "source": ProgressSource.XAPI,
            "recorded_by": api_key,
            "extra": {
                "xapi_statement_id": str(stored.statement_id),
                "xapi_verb": stored.verb_iri,
            },
        }
    )


def progress_apply_new(*, stored: XapiStatement, api_key: ApiKey, institution: Institution) -> None:
    """A new statement's progress, on the first try of its request: its event is written in
    the request's transaction itself (a clash raises
    :class:`courses.services.ProgressWriteClash`, and the caller tries the whole request
    again with :func:`progress_apply_new_alone`). The caller writes the statement, noted
    with what became of its progress."""
    mapped = _progress_event_of(stored, api_key=api_key, institution=institution)
    if mapped is None:
        return
    try:
        recorded = progress_event_record_or_clash(**mapped.arguments)
    except LearningError as error:
        _progress_note(stored, XapiProgressStatus.REJECTED, str(error))
        return
    stored.progress_event = recorded.event
    _progress_note(
        stored,
        XapiProgressStatus.APPLIED if recorded.created else XapiProgressStatus.DUPLICATE,
    )


def progress_apply_new_alone(
    *, stored: XapiStatement, api_key: ApiKey, institution: Institution
) -> None:
    """A new statement's progress, on the second try of its request: in a savepoint of its
    own, where a clash is tried again or refused alone. The caller writes the statement."""
    mapped = _progress_event_of(stored, api_key=api_key, institution=institution)
    if mapped is not None:
        _progress_record(stored, mapped)


def progress_apply_stored(*, stored: XapiStatement, api_key: ApiKey, institution: Institution):
    """A stored statement's progress (a replay), its new status saved on it."""
    mapped = _progress_event_of(stored, api_key=api_key, institution=institution)
    if mapped is not None:
        _progress_record(stored, mapped)
    stored.save(update_fields=["progress_status", "progress_reason", "progress_event"])


def _progress_record(stored: XapiStatement, mapped: _Mapped) -> None:
    try:
        recorded = progress_event_record(**mapped.arguments)
    except LearningError as error:
        _progress_note(stored, XapiProgressStatus.REJECTED, str(error))
        return
    stored.progress_event = recorded.event
    _progress_note(
        stored,
        XapiProgressStatus.APPLIED if recorded.created else XapiProgressStatus.DUPLICATE,
    )


def _progress_note(stored: XapiStatement, status: str, reason: str = "") -> None:
    stored.progress_status = status
    stored.progress_reason = reason[:500]


# --- Replay -----------------------------------------------------------------------------------

#: Progress statuses a replay looks at again: since the statement arrived, its learner may have
#: been created, enrolled in the course, or its activity mapped to a module.
REPLAYABLE = (
    XapiProgressStatus.PENDING,
    XapiProgressStatus.UNKNOWN_LEARNER,
    XapiProgressStatus.NOT_MAPPED,
    XapiProgressStatus.REJECTED,
)


def statements_replay(
    *, institution: Institution, external_ids: Iterable[str] | None = None
) -> Counter:
    """Apply again the institution's statements that brought no progress when they arrived.

    For statements with a progress verb whose learner was unknown, not enrolled (``rejected``)
    or whose activity was not mapped — of the learners with ``external_ids`` (their
    ``actor.account.name``), or all — in the order they were stored. Voided statements are
    left alone. Idempotent: a statement applied (or voided) meanwhile is skipped, and its
    progress event's id is the statement id, so no statement brings progress twice. Each
    statement is applied in its own transaction and keeps its new ``progress_status``.

    Returns how many statements ended with each progress status.
    """
    candidates = XapiStatement.objects.filter(
        institution=institution,
        voided=False,
        verb_iri__in=list(PROGRESS_VERBS),
        progress_status__in=REPLAYABLE,
    )
    if external_ids is not None:
        names = Q(pk__in=[])
        for external_id in external_ids:
            # actor_ifi is "account:<homePage>|<name>" (the homePage is the LMS's own).
            names |= Q(actor_ifi__startswith="account:", actor_ifi__endswith=f"|{external_id}")
        candidates = candidates.filter(names)
    statuses: Counter = Counter()
    for pk in list(candidates.order_by("pk").values_list("pk", flat=True)):
        status = _statement_replay(pk=pk, institution=institution)
        if status is not None:
            statuses[status] += 1
    return statuses


def _statement_replay(*, pk: int, institution: Institution) -> str | None:
    with transaction.atomic():
        stored = (
            XapiStatement.objects.select_for_update(of=("self",))
            .select_related("api_key")
            .filter(pk=pk, voided=False, progress_status__in=REPLAYABLE)
            .first()
        )
        if stored is None:
            return None  # applied by a parallel replay, or voided, a moment ago
        progress_apply_stored(stored=stored, api_key=stored.api_key, institution=institution)
        return str(stored.progress_status)


def learner_statements_replay(*, learner_id: int) -> Counter:
    """:func:`statements_replay` for one learner, at every institution that knows them by an
    external id (a learner just enrolled by an institution, say)."""
    statuses: Counter = Counter()
    for identity in lms_selectors.learner_identities_of(user_id=learner_id):
        statuses += statements_replay(
            institution=identity.institution, external_ids=[identity.external_id]
        )
    return statuses
