"""Evidence of competence: recording it once per source, and the attainment it changes.

Pieces of evidence come from module completions (courses), observations, recognised prior
learning and external statements; :mod:`competencies.attainment` works out what they make of
each learner's attainment.
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from competencies import selectors
from competencies.attainment import AttainmentReplay, Piece, Raised, attainment_webhook_notices
from competencies.models import (
    CompetencyAttainment,
    CompetencyEvidence,
    CompetencyItem,
    EvidenceSource,
    ScaleLevel,
)
from lms.services import webhooks_dispatch_many


class EvidenceError(Exception):
    """Evidence that cannot be recorded; the message says why."""


@dataclass(frozen=True)
class EvidenceRecorded:
    evidence: CompetencyEvidence
    created: bool  # False: this source had already been recorded; nothing changed
    changed: list[CompetencyAttainment] = field(default_factory=list)


@dataclass(frozen=True)
class NewEvidence:
    """One piece of evidence for :func:`evidence_record_many`: the arguments of
    :func:`evidence_record`."""

    learner: Any
    competency: CompetencyItem
    level: ScaleLevel
    source_kind: str
    source_id: str | int = ""
    source_uri: str = ""
    source_title: str = ""
    occurred_at: datetime | None = None
    recorded_by: Any = None
    institution: Any = None
    notes: str = ""


def _lock_learners(learner_ids) -> None:
    """Serialise each learner's evidence: the stored attainment the next step reads stays true.

    Row locks on PostgreSQL, taken in primary-key order so that two calls locking several
    learners never wait for each other in a circle; SQLite serialises writers anyway.
    """
    selectors.learners_locked(learner_ids=learner_ids)


@transaction.atomic
def evidence_record(
    *,
    learner,
    competency: CompetencyItem,
    level: ScaleLevel,
    source_kind: str,
    source_id: str | int = "",
    source_uri: str = "",
    source_title: str = "",
    occurred_at: datetime | None = None,
    recorded_by=None,
    institution=None,
    notes: str = "",
) -> EvidenceRecorded:
    """Record that ``learner`` showed ``competency`` at ``level``, and update attainment.

    Idempotent: the same source (kind and id, or kind and URI when there is no id) for the same
    competency is recorded once; a second call returns the first piece and changes nothing.
    Attainment of the competency, its ancestors and its crosswalk matches is updated in the
    caller's transaction.
    """
    piece = NewEvidence(
        learner=learner,
        competency=competency,
        level=level,
        source_kind=source_kind,
        source_id=source_id,
        source_uri=source_uri,
        source_title=source_title,
        occurred_at=occurred_at,
        recorded_by=recorded_by,
        institution=institution,
        notes=notes,
    )
    return evidence_record_many(evidence=[piece])[0]


def _source_key(*, kind: str, source_id: str, source_uri: str, learner_id, competency_id):
    """What makes two pieces the same source (see :func:`evidence_record`)."""
    if source_id:
        return (kind, competency_id, source_id)
    return (kind, competency_id, "", source_uri, learner_id)


#: The kinds evidence may have (``EvidenceSource.values`` builds a new list on every use).
_EVIDENCE_KINDS = frozenset(EvidenceSource.values)


def evidence_record_many(*, evidence: list[NewEvidence]) -> list[EvidenceRecorded]:
    """Record pieces of evidence in order, each as :func:`evidence_record` would, set-wise.

    One result per piece, in order; a piece whose source was recorded before (or earlier in
    the list) is ``created=False`` and changes nothing. All or nothing: a piece that cannot be
    recorded raises :class:`EvidenceError` before anything is written. Each learner's
    attainment is stepped through their new pieces in memory, in order, by the step one call
    per piece takes, and written once; so the rows (and their ``since``) are those one call
    per piece gives, in a number of queries that does not grow with the number of pieces.
    The ``competency_attained`` webhooks are dispatched.
    """
    _evidence_check(evidence)
    if not evidence:
        return []
    with transaction.atomic():
        _lock_learners({piece.learner.pk for piece in evidence})  # before the look-up
        results, notices = _evidence_write(evidence, known=_recorded_sources(evidence))
        webhooks_dispatch_many(notices=notices)
    return results


def new_sources_evidence_record(*, evidence: list[NewEvidence]) -> list:
    """Record evidence whose sources were created in the caller's transaction (module
    completions written just now), as :func:`evidence_record_many` does; return the
    ``competency_attained`` notices (:class:`lms.services.WebhookNotice`) for the caller to
    dispatch with its own.

    No source can have been recorded yet, so none is looked up (the unique constraint on the
    source still backs this up), and as nothing can be refused after a query, the caller's
    transaction is used without a savepoint of its own.
    """
    _evidence_check(evidence)
    if not evidence:
        return []
    _lock_learners({piece.learner.pk for piece in evidence})
    _results, notices = _evidence_write(evidence, known={})
    return notices


def _evidence_check(evidence: list[NewEvidence]) -> None:
    for piece in evidence:
        if piece.source_kind not in _EVIDENCE_KINDS:
            raise EvidenceError(_("Unknown kind of evidence: %s") % piece.source_kind)
        if not piece.source_id and not piece.source_uri:
            raise EvidenceError(_("Evidence must name its source: an id or a URI."))
        if piece.level.framework_id != piece.competency.framework_id:
            raise EvidenceError(
                _("The level “%(level)s” is not on the scale of “%(competency)s”'s framework.")
                % {"level": piece.level.name, "competency": piece.competency}
            )


def _evidence_write(
    evidence: list[NewEvidence], *, known: dict
) -> tuple[list[EvidenceRecorded], list]:
    """Write the pieces not among ``known`` (recorded before, by source key) and the
    attainment they change, the learners being locked; return each piece's result and the
    ``competency_attained`` notices."""
    learners = {piece.learner.pk: piece.learner for piece in evidence}
    results: list[CompetencyEvidence | EvidenceRecorded] = []
    new: list[CompetencyEvidence] = []
    for piece in evidence:
        source_id = str(piece.source_id or "")
        key = _source_key(
            kind=piece.source_kind,
            source_id=source_id,
            source_uri=piece.source_uri,
            learner_id=piece.learner.pk,
            competency_id=piece.competency.pk,
        )
        existing = known.get(key)
        if existing is not None:
            if existing.learner_id != piece.learner.pk:
                raise EvidenceError(_("This source was already recorded for another learner."))
            results.append(EvidenceRecorded(existing, created=False))
            continue
        row = CompetencyEvidence(
            learner=piece.learner,
            competency=piece.competency,
            level=piece.level,
            source_kind=piece.source_kind,
            source_id=source_id,
            source_uri=piece.source_uri,
            source_title=piece.source_title[:300],
            occurred_at=piece.occurred_at or timezone.now(),
            recorded_by=piece.recorded_by,
            institution=piece.institution,
            notes=piece.notes,
        )
        known[key] = row
        new.append(row)
        results.append(row)
    if not new:
        return results, []
    # Read the learners' attainment and evidence before the new pieces join it: the replay
    # then adds them one by one, as one call per piece would have.
    pieces = [
        Piece(
            row.learner_id,
            row.competency_id,
            row.level.order,
            row.occurred_at,
            row.source_kind,
            row.source_id,
        )
        for row in new
    ]
    replay = AttainmentReplay.from_stored(learner_ids=list(learners), pieces=pieces)
    raised: list[Raised] = []
    changed_by_piece = {
        id(row): replay.step(piece, raised=raised) for row, piece in zip(new, pieces, strict=True)
    }
    rows = replay.write(evidence=new)
    notices = (
        attainment_webhook_notices(learners=learners, raised=raised, replay=replay)
        if raised
        else []
    )
    recorded = [
        result
        if isinstance(result, EvidenceRecorded)
        else EvidenceRecorded(
            result,
            created=True,
            changed=[
                rows[result.learner_id, pk]
                for pk in changed_by_piece[id(result)]
                if (result.learner_id, pk) in rows
            ],
        )
        for result in results
    ]
    return recorded, notices


def _recorded_sources(evidence: list[NewEvidence]) -> dict:
    """The pieces already recorded from the sources of ``evidence``, by source key."""
    with_id = [piece for piece in evidence if piece.source_id]
    by_uri = [piece for piece in evidence if not piece.source_id]
    condition = Q(pk__in=[])
    if with_id:
        condition |= Q(
            source_kind__in={piece.source_kind for piece in with_id},
            source_id__in={str(piece.source_id) for piece in with_id},
            competency__in={piece.competency.pk for piece in with_id},
        )
    if by_uri:
        condition |= Q(
            source_kind__in={piece.source_kind for piece in by_uri},
            source_id="",
            source_uri__in={piece.source_uri for piece in by_uri},
            competency__in={piece.competency.pk for piece in by_uri},
            learner__in={piece.learner.pk for piece in by_uri},
        )
    known = {}
    for row in CompetencyEvidence.objects.filter(condition).order_by("pk"):
        key = _source_key(
            kind=row.source_kind,
            source_id=row.source_id,
            source_uri=row.source_uri,
            learner_id=row.learner_id,
            competency_id=row.competency_id,
        )
        known.setdefault(key, row)
    return known
