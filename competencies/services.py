"""Writes of the competencies app: frameworks, scales, item trees, crosswalks, imports.

Every write to a framework goes through here, and every one of them refuses to touch a
framework that is not a draft: published versions are what courses and certificates cite.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import partial
from typing import Any

from django.db import transaction
from django.db.models import F, Max, Q
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone
from django.utils.translation import gettext as _

from competencies import requirements, selectors
from competencies.interchange.data import FrameworkData, LevelData
from competencies.interchange.importing import framework_import, item_types_write, items_copy
from competencies.interchange.validation import check_levels
from competencies.models import (
    AssociationType,
    AttainmentVia,
    CompetencyAssociation,
    CompetencyAttainment,
    CompetencyEvidence,
    CompetencyItem,
    EvidenceRule,
    EvidenceSource,
    Framework,
    FrameworkStatus,
    ItemKind,
    RuleType,
    ScaleLevel,
)
from lms.models import WebhookEvent
from lms.services import CacheGeneration, WebhookNotice, webhooks_dispatch_many


class FrameworkError(Exception):
    """A change that cannot be made; the message says why, for the person who asked."""


def _require_draft(framework: Framework) -> None:
    """Refuse changes unless the framework is a draft *in the database* (not a stale copy)."""
    status = (
        Framework.objects.select_for_update()
        .filter(pk=framework.pk)
        .values_list("status", flat=True)
        .first()
    )
    if status is not None:
        framework.status = status
    if framework.status != FrameworkStatus.DRAFT:
        raise FrameworkError(
            _(
                "“%(framework)s” is %(status)s, and a published framework never changes: "
                "courses and certificates refer to it. Create a new version to make changes."
            )
            % {"framework": framework, "status": framework.get_status_display().lower()}
        )


def _check_evidence_rule(rule: str, *, item: bool) -> None:
    """An item may leave its rule empty (the framework's); a framework names one."""
    if (item and rule == "") or rule in EvidenceRule.values:
        return
    raise FrameworkError(
        _("“%(rule)s” is not an evidence rule; choose one of: %(rules)s.")
        % {"rule": rule, "rules": ", ".join(EvidenceRule.values)}
    )


# --- Frameworks ---------------------------------------------------------------------------


@transaction.atomic
def framework_create(
    *, title: str, creator: str, owner_institution=None, created_by=None, **fields
) -> Framework:
    _check_evidence_rule(fields.get("evidence_rule", EvidenceRule.ANY), item=False)
    return Framework.objects.create(
        title=title,
        creator=creator,
        owner_institution=owner_institution,
        created_by=created_by,
        **fields,
    )


@transaction.atomic
def framework_update(*, framework: Framework, **fields) -> Framework:
    framework = Framework.objects.select_for_update().get(pk=framework.pk)
    _require_draft(framework)
    if "evidence_rule" in fields:
        _check_evidence_rule(fields["evidence_rule"], item=False)
    for name, value in fields.items():
        setattr(framework, name, value)
    framework.save(update_fields=[*fields, "updated_at"])
    return framework


@transaction.atomic
def framework_publish(*, framework: Framework) -> Framework:
    """Publish a draft. It must have items and a scale with a proficient level."""
    framework = Framework.objects.select_for_update().get(pk=framework.pk)
    _require_draft(framework)
    problems = []
    if not framework.items.exists():
        problems.append(_("it has no competencies"))
    if not framework.levels.filter(is_proficient=True).exists():
        problems.append(_("its proficiency scale has no level marked “proficient”"))
    if problems:
        raise FrameworkError(
            _("“%(framework)s” cannot be published: %(problems)s.")
            % {"framework": framework, "problems": "; ".join(problems)}
        )
    framework.status = FrameworkStatus.PUBLISHED
    framework.published_at = timezone.now()
    framework.save(update_fields=["status", "published_at", "updated_at"])
    return framework


@transaction.atomic
def framework_retire(*, framework: Framework) -> Framework:
    framework = Framework.objects.select_for_update().get(pk=framework.pk)
    if framework.status != FrameworkStatus.PUBLISHED:
        raise FrameworkError(_("Only a published framework can be retired."))
    framework.status = FrameworkStatus.RETIRED
    framework.retired_at = timezone.now()
    framework.save(update_fields=["status", "retired_at", "updated_at"])
    return framework


@transaction.atomic
def framework_delete(*, framework: Framework) -> None:
    _require_draft(framework)
    framework.delete()


#: What a new version inherits from the version it copies (besides its scale, items and links).
VERSIONED_FRAMEWORK_FIELDS = (
    "title",
    "code",
    "language",
    "creator",
    "publisher",
    "description",
    "licence",
    "licence_uri",
    "official_source_url",
    "owner_institution",
    "evidence_rule",
    "description_html",
    "case_attributes",
    "case_definitions",
    "extensions",
)


@transaction.atomic
def framework_new_version(*, framework: Framework, version: str, created_by=None) -> Framework:
    """Copy a framework into a new draft version.

    Items get new identifiers (a CASE identifier names one version of one item) and remember
    the item they came from, which exports as a CASE ``replacedBy`` association.
    """
    version = version.strip()
    if not version:
        raise FrameworkError(_("Give the new version a version number."))
    if Framework.objects.filter(
        title=framework.title, version=version, owner_institution=framework.owner_institution
    ).exists():
        raise FrameworkError(
            _("Version %(version)s of “%(title)s” exists already.")
            % {"version": version, "title": framework.title}
        )
    source = framework
    copy = Framework.objects.create(
        **{name: getattr(source, name) for name in VERSIONED_FRAMEWORK_FIELDS},
        version=version,
        created_by=created_by,
        previous_version=source,
    )
    ScaleLevel.objects.bulk_create(
        ScaleLevel(
            framework=copy,
            order=level.order,
            code=level.code,
            name=level.name,
            description=level.description,
            is_proficient=level.is_proficient,
        )
        for level in source.levels.all()
    )
    data = selectors.framework_data(framework=source)
    types = item_types_write(copy, data.item_types)
    new_items = items_copy(copy, data.items, types=types)
    # Associations between copied items follow the copy; links to other frameworks stay.
    associations = []
    for association in source.associations.select_related("origin", "destination"):
        origin = new_items.get(str(association.origin.identifier))
        if origin is None:
            continue
        destination = association.destination
        if destination is not None and destination.framework_id == source.pk:
            destination = new_items[str(destination.identifier)]
        associations.append(
            CompetencyAssociation(
                framework=copy,
                association_type=association.association_type,
                origin=origin,
                destination=destination,
                destination_identifier=association.destination_identifier,
                destination_uri=association.destination_uri,
                destination_title=association.destination_title,
                sequence_number=association.sequence_number,
                notes=association.notes,
            )
        )
    CompetencyAssociation.objects.bulk_create(associations)
    return copy


# --- Scale --------------------------------------------------------------------------------


@transaction.atomic
def scale_set(*, framework: Framework, levels: list[LevelData]) -> list[ScaleLevel]:
    """Replace the framework's proficiency scale (lowest level first)."""
    _require_draft(framework)
    errors = check_levels(levels)
    if errors:
        message = "; ".join(errors)
        raise FrameworkError(message[:1].upper() + message[1:] + ".")
    framework.levels.all().delete()
    return ScaleLevel.objects.bulk_create(
        ScaleLevel(
            framework=framework,
            order=index,
            code=level.code,
            name=level.name.strip(),
            description=level.description,
            is_proficient=level.is_proficient,
        )
        for index, level in enumerate(levels, start=1)
    )


# --- Items --------------------------------------------------------------------------------


def _check_code_free(framework: Framework, code: str, *, exclude_pk: int | None = None) -> None:
    if not code:
        return
    taken = CompetencyItem.objects.filter(framework=framework, code=code)
    if exclude_pk:
        taken = taken.exclude(pk=exclude_pk)
    if taken.exists():
        raise FrameworkError(
            _("The code %(code)s is already used in this framework.") % {"code": code}
        )


@transaction.atomic
def item_create(
    *,
    framework: Framework,
    full_statement: str,
    parent: CompetencyItem | None = None,
    code: str = "",
    kind: str = ItemKind.COMPETENCY,
    abbreviated_statement: str = "",
    notes: str = "",
    evidence_rule: str = "",
) -> CompetencyItem:
    """Add an item at the end of its parent's children (or of the top level)."""
    framework = Framework.objects.select_for_update().get(pk=framework.pk)
    _require_draft(framework)
    _check_evidence_rule(evidence_rule, item=True)
    if parent is not None and parent.framework_id != framework.pk:
        raise FrameworkError(_("The parent belongs to another framework."))
    code = code.strip()
    _check_code_free(framework, code)
    last = CompetencyItem.objects.filter(framework=framework, parent=parent).aggregate(
        last=Max("order")
    )["last"]
    return CompetencyItem.objects.create(
        framework=framework,
        parent=parent,
        order=0 if last is None else last + 1,
        code=code,
        kind=kind,
        full_statement=full_statement.strip(),
        abbreviated_statement=abbreviated_statement.strip(),
        notes=notes,
        language=framework.language,
        evidence_rule=evidence_rule,
    )


@transaction.atomic
def item_update(*, item: CompetencyItem, **fields) -> CompetencyItem:
    """Change an item's fields; a new code is also given to its entry in its parent's points
    rule, which names children by code (else the renamed child would silently count for
    nothing)."""
    _require_draft(item.framework)
    if "evidence_rule" in fields:
        _check_evidence_rule(fields["evidence_rule"], item=True)
    old_code = item.code
    if "code" in fields:
        fields["code"] = fields["code"].strip()
        _check_code_free(item.framework, fields["code"], exclude_pk=item.pk)
    for name, value in fields.items():
        setattr(item, name, value)
    item.save(update_fields=[*fields, "updated_at"])
    if old_code and item.code != old_code and item.parent_id is not None:
        _parent_rule_rename(parent_id=item.parent_id, old=old_code, new=item.code)
    return item


def _parent_rule_rename(*, parent_id: int, old: str, new: str) -> None:
    """Rename ``old`` to ``new`` in the parent's points rule (drop it if ``new`` is empty)."""
    parent = CompetencyItem.objects.select_for_update().get(pk=parent_id)
    config = parent.rule_config
    if parent.rule_type != RuleType.POINTS or not isinstance(config, dict):
        return
    entries = config.get("competencies")
    if not isinstance(entries, list):
        return
    named = [isinstance(entry, dict) and str(entry.get("id")) == old for entry in entries]
    if any(named):
        config["competencies"] = [
            {**entry, "id": new} if is_named else entry
            for entry, is_named in zip(entries, named, strict=True)
            if new or not is_named
        ]
        parent.save(update_fields=["rule_config", "updated_at"])


@transaction.atomic
def item_move(
    *, item: CompetencyItem, parent: CompetencyItem | None, position: int | None = None
) -> CompetencyItem:
    """Move an item (with its subtree) under ``parent`` at ``position`` (end when None)."""
    framework = Framework.objects.select_for_update().get(pk=item.framework_id)
    _require_draft(framework)
    if parent is not None:
        if parent.framework_id != framework.pk:
            raise FrameworkError(_("The new parent belongs to another framework."))
        ancestor = parent
        while ancestor is not None:
            if ancestor.pk == item.pk:
                raise FrameworkError(
                    _("“%(item)s” cannot move under itself or one of its own descendants.")
                    % {"item": item}
                )
            ancestor = ancestor.parent
    siblings = list(
        CompetencyItem.objects.filter(framework=framework, parent=parent)
        .exclude(pk=item.pk)
        .order_by("order", "pk")
    )
    position = len(siblings) if position is None else max(0, min(position, len(siblings)))
    siblings.insert(position, item)
    item.parent = parent
    for order, sibling in enumerate(siblings):
        sibling.order = order
    CompetencyItem.objects.bulk_update(siblings, ["order", "parent"])
    return item


@transaction.atomic
def item_shift(*, item: CompetencyItem, offset: int) -> CompetencyItem:
    """Move an item up (-1) or down (+1) among its siblings."""
    siblings = list(
        CompetencyItem.objects.filter(framework=item.framework_id, parent=item.parent_id)
        .order_by("order", "pk")
        .values_list("pk", flat=True)
    )
    index = siblings.index(item.pk)
    return item_move(item=item, parent=item.parent, position=max(0, index + offset))


@transaction.atomic
def item_delete(*, item: CompetencyItem) -> None:
    """Delete an item and its subtree; later siblings close the gap."""
    _require_draft(item.framework)
    CompetencyItem.objects.filter(
        framework=item.framework_id, parent=item.parent_id, order__gt=item.order
    ).update(order=F("order") - 1)
    item.delete()


# --- Associations -------------------------------------------------------------------------


@transaction.atomic
def association_create(
    *,
    origin: CompetencyItem,
    destination: CompetencyItem,
    association_type: str,
    framework: Framework | None = None,
) -> CompetencyAssociation:
    """Link two items (a crosswalk when they are in different frameworks)."""
    framework = framework or origin.framework
    _require_draft(framework)
    if association_type not in AssociationType.values:
        raise FrameworkError(_("Unknown association type: %s") % association_type)
    if origin.pk == destination.pk:
        raise FrameworkError(_("An item cannot be associated with itself."))
    if framework.pk not in (origin.framework_id, destination.framework_id):
        raise FrameworkError(_("One end of the association must belong to this framework."))
    if CompetencyAssociation.objects.filter(
        origin=origin, destination=destination, association_type=association_type
    ).exists():
        raise FrameworkError(_("These two items are already linked this way."))
    return CompetencyAssociation.objects.create(
        framework=framework,
        origin=origin,
        destination=destination,
        association_type=association_type,
        destination_identifier=str(destination.identifier),
    )


@transaction.atomic
def association_delete(*, association: CompetencyAssociation) -> None:
    _require_draft(association.framework)
    association.delete()


# --- Import -------------------------------------------------------------------------------
# Reading and checking files, and the all-or-nothing write of an import, live in
# competencies.interchange; framework_import (imported above) is this module's door to it.


@transaction.atomic
def framework_import_and_publish(
    *,
    data: FrameworkData,
    owner_institution=None,
    created_by=None,
    scale_from: Framework | None = None,
) -> Framework:
    """Import a framework file and publish it, or — if either step fails — leave nothing.

    Raises :class:`FrameworkFileError` for the file, :class:`FrameworkError` when the
    framework cannot be published (no competencies, no proficient level).
    """
    framework = framework_import(
        data=data,
        owner_institution=owner_institution,
        created_by=created_by,
        scale_from=scale_from,
    )
    return framework_publish(framework=framework)


# --- Evidence and attainment --------------------------------------------------------------
#
# Rules (also in docs/decisions/0003-competency-attainment.md):
#
# * Direct: an item is attained at the highest level of its evidence, under the evidence rule
#   "any evidence" (the default). The item's rule (else its framework's) may ask for more: all
#   the modules one course maps to it complete at or above their target levels, an
#   observation, both or either (competencies.requirements.rule_level says at which level).
#   Recognised prior learning attains under every rule; external statements only under "any
#   evidence". Evidence at the lowest level of the scale ("not yet competent") is kept in the
#   trail but attains nothing.
# * Rollup, for an item with children: rule "all" (or no rule) — attained when every child is,
#   at the lowest of the children's levels. Rule "points" (Moodle's) — attained at the highest
#   level L at which the children attained at L or above carry at least ``base.points`` points
#   and include every ``required`` child. An item's level is the best of direct and rollup.
# * Crosswalk: exactMatchOf is read both ways as "the same competency". An item's level travels
#   to its exact matches in *published* frameworks, at the level of the same order there, or
#   that framework's proficient level when it has no such order.
# * ``since`` is when the evidence that took an item to its current level happened.
#
# Evidence is append-only and levels never go down (a direct level stays when the modules
# mapped to an item change; a rebuild applies the new mapping). Recording evidence recomputes
# only the items it can change — the item, its ancestors, their exact matches and theirs, and
# so on — reading every other item's stored attainment. ``attainment_rebuild`` replays the
# learner's evidence in the order it was recorded through the same step, so both paths give
# the same rows.


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
        _Piece(
            row.learner_id,
            row.competency_id,
            row.level.order,
            row.occurred_at,
            row.source_kind,
            row.source_id,
        )
        for row in new
    ]
    replay = _AttainmentReplay.from_stored(learner_ids=list(learners), pieces=pieces)
    raised: list[_Raised] = []
    changed_by_piece = {
        id(row): replay.step(piece, raised=raised) for row, piece in zip(new, pieces, strict=True)
    }
    rows = replay.write(evidence=new)
    notices = (
        _attainment_webhook_notices(learners=learners, raised=raised, replay=replay)
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


@dataclass(frozen=True)
class _Raised:
    """An attainment reached or raised by one step, as it was then (for the webhook)."""

    learner_id: int
    competency_id: int
    level_id: int
    via: str
    since: datetime


def _attainment_webhook_notices(*, learners: dict, raised: list[_Raised], replay) -> list:
    """A ``competency_attained`` notice for each level reached or raised, to the institution
    owning the framework; regulators' frameworks have no owner, so nobody is told. The
    payloads are built (two queries) only if a webhook wants them."""
    graph: _SettledGraph = replay.graph
    framework_of = {pk: node.framework_id for pk, node in replay.nodes.items()}
    owners = {pk: graph.owners[pk] for pk in framework_of.values() if pk in graph.owners}
    unknown = {pk for pk in framework_of.values() if pk not in owners}
    if unknown:
        owners.update(
            Framework.objects.filter(pk__in=unknown).values_list("pk", "owner_institution_id")
        )
    loaded: dict[str, dict] = {}

    def payload(row: _Raised) -> dict:
        if not loaded:
            loaded["items"] = CompetencyItem.objects.select_related("framework").in_bulk(
                {row.competency_id for row in raised}
            )
            loaded["levels"] = ScaleLevel.objects.in_bulk({row.level_id for row in raised})
        item, level = loaded["items"][row.competency_id], loaded["levels"][row.level_id]
        framework = item.framework
        learner = learners[row.learner_id]
        return {
            "learner": {"id": learner.pk, "username": learner.username},
            "competency": {
                "identifier": str(item.identifier),
                "code": item.code,
                "label": item.label,
                "uri": item.uri,
            },
            "framework": {
                "identifier": str(framework.identifier),
                "title": framework.title,
                "version": framework.version,
            },
            "level": {"name": level.name, "order": level.order},
            "via": row.via,
            "since": row.since.isoformat(),
        }

    return [
        WebhookNotice(
            institution_id=owners[framework_of[row.competency_id]],
            event=WebhookEvent.COMPETENCY_ATTAINED,
            payload=partial(payload, row),
        )
        for row in raised
        if owners.get(framework_of[row.competency_id]) is not None
    ]


@transaction.atomic
def attainment_rebuild(*, learner) -> int:
    """Recompute a learner's attainment from their evidence alone; return the rows it gives.

    Replays the evidence in the order it was recorded through the step
    :func:`evidence_record` takes, so the result equals what the incremental updates built
    (unless rules, crosswalks or framework statuses changed since: then this is the truth).
    """
    _lock_learners([learner.pk])
    CompetencyAttainment.objects.filter(learner=learner).delete()
    pieces = [
        _Piece(learner.pk, *row)
        for row in CompetencyEvidence.objects.filter(learner=learner)
        .order_by("pk")
        .values_list("competency_id", "level__order", "occurred_at", "source_kind", "source_id")
    ]
    replay = _AttainmentReplay.from_scratch(learner_ids=[learner.pk], pieces=pieces)
    for piece in pieces:
        replay.step(piece)
    return len(replay.write())


@dataclass
class _Node:
    pk: int
    parent_id: int | None
    framework_id: int
    published: bool
    rule_type: str
    rule_config: dict
    evidence_rule: str = EvidenceRule.ANY  # the item's own, else its framework's
    partners: set[int] = field(default_factory=set)
    children: list[tuple[int, str]] = field(default_factory=list)  # (pk, code)


@dataclass
class _Scale:
    order_of: dict[int, int]  # level pk -> order
    level_at: dict[int, int]  # order -> level pk
    lowest: int
    proficient: int | None

    def counts(self, order: int | None) -> int | None:
        return order if order is not None and order > self.lowest else None


@dataclass
class _Row:
    """A learner's attainment of one item, as stored or as a replay has it."""

    framework_id: int
    level_id: int
    via: str
    via_item_id: int | None
    since: datetime
    pk: int | None = None


def _affected_items(competency_ids: set[int], *, graph: "_SettledGraph") -> dict[int, _Node]:
    """The items, their ancestors, their exact matches in published frameworks, and so on.

    The smallest set holding the items that is closed under "parent of" (whatever the
    framework's status) and "exact match of, in a published framework". Each node knows its
    exact matches within the set and all its children. Read from :func:`_settled_graph` when
    every item is in a published or retired framework (one query), else from the database.
    """
    if competency_ids <= graph.nodes.keys():
        return graph.closure(competency_ids)
    return _affected_items_from_database(competency_ids)


def _affected_items_from_database(competency_ids: set[int]) -> dict[int, _Node]:
    fields = (
        "pk",
        "parent_id",
        "framework_id",
        "framework__status",
        "rule_type",
        "rule_config",
        "evidence_rule",
        "framework__evidence_rule",
    )
    nodes: dict[int, _Node] = {}
    any_status: set[int] = set(competency_ids)  # the items and ancestors: whatever their status
    published_only: set[int] = set()  # crosswalk matches
    links: set[tuple[int, int]] = set()
    while any_status or published_only:
        new = [
            _Node(
                pk,
                parent_id,
                framework_id,
                status == FrameworkStatus.PUBLISHED,
                rule,
                config,
                evidence_rule or framework_evidence_rule,
            )
            for (
                pk,
                parent_id,
                framework_id,
                status,
                rule,
                config,
                evidence_rule,
                framework_evidence_rule,
            ) in CompetencyItem.objects.filter(
                Q(pk__in=any_status)
                | Q(pk__in=published_only, framework__status=FrameworkStatus.PUBLISHED)
            ).values_list(*fields)
        ]
        nodes.update((node.pk, node) for node in new)
        new_ids = [node.pk for node in new]
        found = set(
            CompetencyAssociation.objects.filter(
                Q(origin__in=new_ids) | Q(destination__in=new_ids),
                association_type=AssociationType.EXACT_MATCH_OF,
                destination__isnull=False,
            ).values_list("origin_id", "destination_id")
        )
        links |= found
        any_status = {n.parent_id for n in new if n.parent_id and n.parent_id not in nodes}
        published_only = {
            end for link in found for end in link if end not in nodes and end not in any_status
        }
    for origin, destination in links:
        if origin in nodes and destination in nodes:
            nodes[origin].partners.add(destination)
            nodes[destination].partners.add(origin)
    for pk, parent_id, code in CompetencyItem.objects.filter(parent__in=list(nodes)).values_list(
        "pk", "parent_id", "code"
    ):
        nodes[parent_id].children.append((pk, code))
    return nodes


def _scales(framework_ids, *, graph: "_SettledGraph") -> dict[int, _Scale]:
    scales = {pk: graph.scales[pk] for pk in framework_ids if pk in graph.scales}
    missing = [pk for pk in framework_ids if pk not in scales]
    if missing:
        scales.update(_scales_from_database(missing))
    return scales


def _scales_from_database(framework_ids) -> dict[int, _Scale]:
    scales: dict[int, _Scale] = {}
    for pk, framework_id, order, is_proficient in ScaleLevel.objects.filter(
        framework__in=framework_ids
    ).values_list("pk", "framework_id", "order", "is_proficient"):
        scale = scales.setdefault(framework_id, _Scale({}, {}, order, None))
        scale.order_of[pk] = order
        scale.level_at[order] = pk
        scale.lowest = min(scale.lowest, order)
        if is_proficient:
            scale.proficient = order
    return scales


# --- The settled graph: a per-process copy of what published frameworks hold ----------------
# A framework that is no longer a draft never changes (every write refuses it, see
# _require_draft): its items, their rules, its scale and the associations it owns are fixed,
# and an association between two such frameworks is owned by one of them. Only its status
# moves on (published, then retired), which decides whether crosswalks reach it. So each
# process keeps the items, exact matches and scales of the non-draft frameworks, keyed by
# their (id, identifier, status, published_at): one small query tells whether the copy still
# holds, and any publication, retirement or deletion makes the next call load it again (the
# random identifier tells apart two frameworks given the same id, as after a rollback).
# Drafts are never kept: evidence on a draft's item is worked out from the database.


@dataclass
class _SettledGraph:
    key: frozenset
    nodes: dict[int, _Node]
    scales: dict[int, _Scale]
    owners: dict[int, int | None]  # framework -> owner institution

    def closure(self, competency_ids: set[int]) -> dict[int, _Node]:
        """What :func:`_affected_items_from_database` gives, from memory (no query)."""
        seen, todo = set(competency_ids), list(competency_ids)
        while todo:
            node = self.nodes[todo.pop()]
            ends = [p for p in node.partners if self.nodes[p].published]
            if node.parent_id is not None:
                ends.append(node.parent_id)
            for end in ends:
                if end not in seen:
                    seen.add(end)
                    todo.append(end)
        # Copies knowing only their matches within the set; children are shared, never changed.
        return {pk: replace(self.nodes[pk], partners=self.nodes[pk].partners & seen) for pk in seen}


_settled: _SettledGraph | None = None

#: Whether a framework was saved or deleted since this process last checked its graph.
FRAMEWORKS = CacheGeneration("competencies.frameworks")


@receiver(post_save, sender=Framework, dispatch_uid="competencies.frameworks_changed_on_save")
@receiver(post_delete, sender=Framework, dispatch_uid="competencies.frameworks_changed_on_delete")
def _frameworks_changed(sender, **kwargs) -> None:
    FRAMEWORKS.changed()


def _settled_graph() -> _SettledGraph:
    """The current process's settled graph, checked with one query, loaded again if stale.

    The check itself is skipped while no framework has been saved or deleted since the last
    one (see :data:`FRAMEWORKS`): a publication, retirement or deletion saves or deletes one.
    """
    global _settled
    memo = FRAMEWORKS.memo()
    if "graph" in memo:
        return memo["graph"]
    key = frozenset(
        Framework.objects.exclude(status=FrameworkStatus.DRAFT).values_list(
            "pk", "identifier", "status", "published_at"
        )
    )
    graph = _settled
    if graph is None or graph.key != key:
        graph = _settled = _settled_graph_load(key)
    memo["graph"] = graph
    return graph


def _settled_graph_load(key: frozenset) -> _SettledGraph:
    status_of = {pk: status for pk, _identifier, status, _published_at in key}
    if not status_of:
        return _SettledGraph(key, {}, {}, {})
    owners, evidence_rules = {}, {}
    for pk, owner_id, evidence_rule in Framework.objects.filter(pk__in=list(status_of)).values_list(
        "pk", "owner_institution_id", "evidence_rule"
    ):
        owners[pk], evidence_rules[pk] = owner_id, evidence_rule
    nodes: dict[int, _Node] = {}
    children = []
    for (
        pk,
        parent_id,
        framework_id,
        rule,
        config,
        evidence_rule,
        code,
    ) in CompetencyItem.objects.filter(framework__in=list(status_of)).values_list(
        "pk", "parent_id", "framework_id", "rule_type", "rule_config", "evidence_rule", "code"
    ):
        published = status_of[framework_id] == FrameworkStatus.PUBLISHED
        nodes[pk] = _Node(
            pk,
            parent_id,
            framework_id,
            published,
            rule,
            config,
            evidence_rule or evidence_rules[framework_id],
        )
        if parent_id is not None:
            children.append((parent_id, pk, code))
    for parent_id, pk, code in children:
        if parent_id in nodes:
            nodes[parent_id].children.append((pk, code))
    for origin, destination in CompetencyAssociation.objects.filter(
        association_type=AssociationType.EXACT_MATCH_OF,
        origin__framework__in=list(status_of),
        destination__framework__in=list(status_of),
    ).values_list("origin_id", "destination_id"):
        nodes[origin].partners.add(destination)
        nodes[destination].partners.add(origin)
    return _SettledGraph(key, nodes, _scales_from_database(list(status_of)), owners)


def _rollup(node: _Node, value: dict[int, int | None], scale: _Scale) -> int | None:
    """The level ``node`` reaches from its children under its rule (None: not attained)."""
    if not node.children:
        return None
    if node.rule_type == RuleType.POINTS:
        config = node.rule_config or {}
        try:
            needed = int((config.get("base") or {}).get("points") or 0)
            by_code = {code: pk for pk, code in node.children if code}
            scored = [
                (
                    by_code[str(c["id"])],
                    int(c.get("points") or 0),
                    bool(int(c.get("required") or 0)),
                )
                for c in config.get("competencies") or []
                if str(c.get("id")) in by_code
            ]
        except (AttributeError, TypeError, ValueError):
            return None  # a malformed rule attains nothing rather than everything
        if needed <= 0:
            return None
        for order in sorted(scale.level_at, reverse=True):
            if order <= scale.lowest:
                break
            reached = [
                (pk, points, required)
                for pk, points, required in scored
                if (value.get(pk) or 0) >= order
            ]
            required_met = all(
                (value.get(pk) or 0) >= order for pk, _p, required in scored if required
            )
            if required_met and sum(points for _pk, points, _r in reached) >= needed:
                return order
        return None
    # "all", and items without a rule: every child attained, at the lowest of their levels
    levels = [value.get(pk) for pk, _code in node.children]
    return None if None in levels else min(levels)


def _crosswalked(order: int | None, scale: _Scale) -> int | None:
    if order is None:
        return None
    return scale.counts(order if order in scale.level_at else scale.proficient)


@dataclass(frozen=True)
class _Piece:
    """One piece of evidence as the replay steps through it."""

    learner_id: int
    competency_id: int
    level_order: int
    at: datetime
    kind: str = ""
    source_id: str = ""


class _AttainmentReplay:
    """Learners' attainment, stepped through pieces of evidence in memory, then written once.

    Loads, in a fixed number of queries, every item the given pieces can change
    (:func:`_affected_items`), those items' children, the learners' stored attainment of them
    and the highest level of their evidence on them; for items under an evidence rule other
    than "any evidence", their evidence kind by kind and, once for all, the modules mapped to
    them (:func:`competencies.requirements.module_requirements`). :meth:`step` is what
    recording one piece does; :meth:`write` stores the difference with what was loaded.
    Start from what is stored (:meth:`from_stored`, the learners being locked) or from
    nothing (:meth:`from_scratch`, a rebuild).
    """

    @classmethod
    def from_stored(cls, *, learner_ids, pieces: list[_Piece]) -> "_AttainmentReplay":
        """A replay from the learners' stored attainment of the items the pieces can change
        (and their children), the highest level their evidence shows of each item under the
        "any evidence" rule, and their evidence on the other items."""
        replay = cls(learner_ids=learner_ids, pieces=pieces)
        nodes = replay.nodes
        if not nodes:
            return replay.ready(pieces, stored_pieces=[])
        ruled = replay.ruled
        state = selectors.attainment_state(
            learner_ids=learner_ids,
            attainment_of={*nodes, *(pk for n in nodes.values() for pk, _c in n.children)},
            top_of=nodes.keys() - ruled,
        )
        replay.stored = {key: _Row(*row) for key, row in state.stored.items()}
        replay.tops = state.tops
        stored_pieces = []
        if ruled:
            stored_pieces = list(
                CompetencyEvidence.objects.filter(
                    learner__in=learner_ids, competency__in=list(ruled)
                ).values_list(
                    "learner_id", "competency_id", "level__order", "source_kind", "source_id"
                )
            )
        return replay.ready(pieces, stored_pieces=stored_pieces)

    @classmethod
    def from_scratch(cls, *, learner_ids, pieces: list[_Piece]) -> "_AttainmentReplay":
        """A replay from no attainment and no evidence (the learners' rows are deleted)."""
        return cls(learner_ids=learner_ids, pieces=pieces).ready(pieces, stored_pieces=[])

    def __init__(self, *, learner_ids, pieces: list[_Piece]):
        self.graph = _settled_graph()
        self.nodes = _affected_items({p.competency_id for p in pieces}, graph=self.graph)
        self.scales = _scales({node.framework_id for node in self.nodes.values()}, graph=self.graph)
        self.closures: dict[int, tuple[list[int], set[int]]] = {}
        self.stored: dict[tuple[int, int], _Row] = {}
        self.tops: dict[tuple[int, int], int] = {}  # (learner, item) -> highest level order
        # Items under a rule other than "any evidence": what each learner's evidence shows.
        self.ruled = {pk for pk, n in self.nodes.items() if n.evidence_rule != EvidenceRule.ANY}
        self.shown: dict[tuple[int, int], requirements.Shown] = {}

    def ready(self, pieces: list[_Piece], *, stored_pieces: list) -> "_AttainmentReplay":
        """Read the modules mapped to the items whose rules need them, note what the stored
        evidence shows, and start the rows from what is stored."""
        ruled = self.ruled
        self.requirements = requirements.ModuleRequirements()
        with_modules = {
            pk for pk in ruled if self.nodes[pk].evidence_rule in requirements.RULES_WITH_MODULES
        }
        if with_modules:
            completed = EvidenceSource.MODULE_COMPLETION
            self.requirements = requirements.module_requirements(
                competency_ids=with_modules,
                completion_ids={
                    source_id
                    for _l, competency_id, _o, kind, source_id in stored_pieces
                    if kind == completed and competency_id in with_modules
                }
                | {
                    p.source_id
                    for p in pieces
                    if p.kind == completed and p.competency_id in with_modules
                },
            )
        for learner_id, competency_id, order, kind, source_id in stored_pieces:
            self._show(learner_id, competency_id, order, kind, source_id)
        self.rows = {key: replace(row) for key, row in self.stored.items()}
        return self

    def _show(self, learner_id, competency_id, order, kind, source_id) -> None:
        self.shown.setdefault((learner_id, competency_id), requirements.Shown()).add(
            kind=kind, order=order, module_id=self.requirements.module_of.get(source_id)
        )

    def _direct(self, learner_id: int, pk: int) -> int | None:
        """The level ``pk`` is shown at by its own evidence, under its evidence rule."""
        node = self.nodes[pk]
        scale = self.scales[node.framework_id]
        if node.evidence_rule == EvidenceRule.ANY:
            return scale.counts(self.tops.get((learner_id, pk)))
        return requirements.rule_level(
            rule=node.evidence_rule,
            shown=self.shown.get((learner_id, pk)) or requirements.Shown(),
            sets=self.requirements.sets.get(pk, []),
            order_of=scale.order_of,
            lowest=scale.lowest,
        )

    def _closure(self, competency_id: int) -> tuple[list[int], set[int]]:
        """The items evidence on ``competency_id`` can change (see :func:`_affected_items`)."""
        if competency_id not in self.closures:
            seen, todo = {competency_id}, [competency_id]
            while todo:
                node = self.nodes[todo.pop()]
                ends = [p for p in node.partners if self.nodes[p].published]
                if node.parent_id is not None:
                    ends.append(node.parent_id)
                for end in ends:
                    if end not in seen:
                        seen.add(end)
                        todo.append(end)
            self.closures[competency_id] = (sorted(seen), seen)
        return self.closures[competency_id]

    def _order(self, row: _Row | None) -> int | None:
        return None if row is None else self.scales[row.framework_id].order_of.get(row.level_id)

    def step(self, piece: _Piece, *, raised: list[_Raised] | None = None) -> list[int]:
        """Add a piece of evidence; recompute the items it can change from it, the learner's
        other evidence and the attainment of every item outside that set (which it cannot
        change). Return the items whose row changed; levels reached or raised are appended
        to ``raised``, when given."""
        learner_id, competency_id, at = piece.learner_id, piece.competency_id, piece.at
        level_order = piece.level_order
        key = (learner_id, competency_id)
        if self.nodes[competency_id].evidence_rule == EvidenceRule.ANY:
            top = self.tops.get(key)
            self.tops[key] = level_order if top is None or level_order > top else top
        else:
            self._show(learner_id, competency_id, level_order, piece.kind, piece.source_id)
        order, in_set = self._closure(competency_id)
        nodes, scales, rows = self.nodes, self.scales, self.rows
        direct: dict[int, int | None] = {}
        for pk in order:
            direct[pk] = self._direct(learner_id, pk)
            # Levels never go down: a direct level stays when the modules mapped to the item
            # changed since it was reached (a rebuild applies the new mapping).
            row = rows.get((learner_id, pk))
            if row is not None and row.via == AttainmentVia.DIRECT:
                floor = self._order(row)
                if floor is not None and (direct[pk] is None or direct[pk] < floor):
                    direct[pk] = floor
        value: dict[int, int | None] = {
            child: self._order(rows.get((learner_id, child)))
            for pk in order
            for child, _code in nodes[pk].children
            if child not in in_set
        }
        value.update(direct)
        partners = {pk: sorted(p for p in nodes[pk].partners if p in in_set) for pk in order}

        def candidates(node: _Node) -> dict[str, int | None]:
            scale = scales[node.framework_id]
            crosswalk = [
                (_crosswalked(value.get(partner), scale), partner) for partner in partners[node.pk]
            ]
            best = max((c for c in crosswalk if c[0] is not None), default=(None, None))
            return {
                AttainmentVia.DIRECT: direct[node.pk],
                AttainmentVia.ROLLUP: _rollup(node, value, scale),
                AttainmentVia.CROSSWALK: best[0],
                "via_item": best[1],
            }

        # The rules only ever raise levels, so this settles within a few rounds; the cap guards
        # against a malformed crosswalk cycle.
        for _round in range(len(order) + 2):
            changed = False
            for pk in order:
                found = candidates(nodes[pk])
                best = max(
                    (found[v] for v in AttainmentVia.values if found[v] is not None), default=None
                )
                if best != value.get(pk):
                    value[pk], changed = best, True
            if not changed:
                break

        changed_items = []
        for pk in order:
            node, row = nodes[pk], rows.get((learner_id, pk))
            found = candidates(node)
            # The first way that gives the best level names it: direct, then rollup, then
            # crosswalk.
            best, via = max(
                ((found[v], -rank) for rank, v in enumerate(AttainmentVia.values) if found[v]),
                default=(None, 0),
            )
            if best is None:
                if row is not None:
                    del rows[learner_id, pk]
                    changed_items.append(pk)
                continue
            via = AttainmentVia.values[-via]
            via_item = found["via_item"] if via == AttainmentVia.CROSSWALK else None
            level_id = scales[node.framework_id].level_at[best]
            if row is None:
                rows[learner_id, pk] = _Row(node.framework_id, level_id, via, via_item, at)
                changed_items.append(pk)
                if raised is not None:
                    raised.append(_Raised(learner_id, pk, level_id, via, at))
            elif (row.level_id, row.via, row.via_item_id) != (level_id, via, via_item):
                if row.level_id != level_id:
                    if raised is not None and best > (self._order(row) or 0):
                        raised.append(_Raised(learner_id, pk, level_id, via, at))
                    row.since = at
                row.level_id, row.via, row.via_item_id = level_id, via, via_item
                changed_items.append(pk)
        return changed_items

    def write(
        self, *, evidence: Sequence[CompetencyEvidence] = ()
    ) -> dict[tuple[int, int], CompetencyAttainment]:
        """Store the difference with what was loaded, and the new ``evidence`` it was replayed
        with (inserted with the new rows: one round trip); return every row the replay holds."""
        to_create, to_update = [], []
        result = {}
        for (learner_id, competency_id), row in self.rows.items():
            instance = CompetencyAttainment(
                pk=row.pk,
                learner_id=learner_id,
                competency_id=competency_id,
                framework_id=row.framework_id,
                level_id=row.level_id,
                since=row.since,
                via=row.via,
                via_item_id=row.via_item_id,
            )
            result[learner_id, competency_id] = instance
            before = self.stored.get((learner_id, competency_id))
            if before is None:
                to_create.append(instance)
            elif before != row:
                to_update.append(instance)
        gone = [row.pk for key, row in self.stored.items() if key not in self.rows]
        if gone:
            CompetencyAttainment.objects.filter(pk__in=gone).delete()
        # A bulk update as an upsert on the primary key (the learners are locked): one INSERT …
        # ON CONFLICT, which Django builds far faster than bulk_update's CASE WHENs.
        CompetencyAttainment.objects.bulk_create(
            to_update,
            update_conflicts=True,
            unique_fields=["pk"],
            update_fields=["level", "since", "via", "via_item"],
            batch_size=1000,
        )
        CompetencyEvidence.objects.bulk_create(evidence)
        CompetencyAttainment.objects.bulk_create(to_create)
        return result
