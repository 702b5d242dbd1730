"""The attainment engine: what evidence makes of a learner's attainment of competencies.

Rules (also in docs/decisions/0003-competency-attainment.md):

* Direct: an item is attained at the highest level of its evidence, under the evidence rule
  "any evidence" (the default). The item's rule (else its framework's) may ask for more: all
  the modules one course maps to it complete at or above their target levels, an
  observation, both or either (competencies.requirements.rule_level says at which level).
  Recognised prior learning attains under every rule; external statements only under "any
  evidence". Evidence at the lowest level of the scale ("not yet competent") is kept in the
  trail but attains nothing.
* Rollup, for an item with children: rule "all" (or no rule) — attained when every child is,
  at the lowest of the children's levels. Rule "points" (Moodle's) — attained at the highest
  level L at which the children attained at L or above carry at least ``base.points`` points
  and include every ``required`` child. An item's level is the best of direct and rollup.
* Crosswalk: exactMatchOf is read both ways as "the same competency". An item's level travels
  to its exact matches in *published* frameworks, at the level of the same order there, or
  that framework's proficient level when it has no such order.
* ``since`` is when the evidence that took an item to its current level happened.

Evidence is append-only and levels never go down (a direct level stays when the modules
mapped to an item change; a rebuild applies the new mapping). Recording evidence recomputes
only the items it can change — the item, its ancestors, their exact matches and theirs, and
so on — reading every other item's stored attainment. ``attainment_rebuild`` replays the
learner's evidence in the order it was recorded through the same step, so both paths give
the same rows.
"""

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from functools import partial

from django.db import transaction

from competencies import requirements, selectors
from competencies.graph import (
    Node,
    Scale,
    SettledGraph,
    affected_items,
    closure,
    scales_of,
    settled_graph,
)
from competencies.models import (
    AttainmentVia,
    CompetencyAttainment,
    CompetencyEvidence,
    CompetencyItem,
    EvidenceRule,
    EvidenceSource,
    Framework,
    RuleType,
    ScaleLevel,
)
from lms.models import WebhookEvent
from lms.services import WebhookNotice


@dataclass(frozen=True)
class Raised:
    """An attainment reached or raised by one step, as it was then (for the webhook)."""

    learner_id: int
    competency_id: int
    level_id: int
    via: str
    since: datetime


def attainment_webhook_notices(*, learners: dict, raised: list[Raised], replay) -> list:
    """A ``competency_attained`` notice for each level reached or raised, to the institution
    owning the framework; regulators' frameworks have no owner, so nobody is told. The
    payloads are built (two queries) only if a webhook wants them."""
    graph: SettledGraph = replay.graph
    framework_of = {pk: node.framework_id for pk, node in replay.nodes.items()}
    owners = {pk: graph.owners[pk] for pk in framework_of.values() if pk in graph.owners}
    unknown = {pk for pk in framework_of.values() if pk not in owners}
    if unknown:
        owners.update(
            Framework.objects.filter(pk__in=unknown).values_list("pk", "owner_institution_id")
        )
    loaded: dict[str, dict] = {}

    def payload(row: Raised) -> dict:
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
    selectors.learners_locked(learner_ids=[learner.pk])
    CompetencyAttainment.objects.filter(learner=learner).delete()
    pieces = [
        Piece(learner.pk, *row)
        for row in CompetencyEvidence.objects.filter(learner=learner)
        .order_by("pk")
        .values_list("competency_id", "level__order", "occurred_at", "source_kind", "source_id")
    ]
    replay = AttainmentReplay.from_scratch(learner_ids=[learner.pk], pieces=pieces)
    for piece in pieces:
        replay.step(piece)
    return len(replay.write())


@dataclass
class Row:
    """A learner's attainment of one item, as stored or as a replay has it."""

    framework_id: int
    level_id: int
    via: str
    via_item_id: int | None
    since: datetime
    pk: int | None = None


def rollup(node: Node, value: dict[int, int | None], scale: Scale) -> int | None:
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


def _crosswalked(order: int | None, scale: Scale) -> int | None:
    if order is None:
        return None
    return scale.counts(order if order in scale.level_at else scale.proficient)


@dataclass(frozen=True)
class Piece:
    """One piece of evidence as the replay steps through it."""

    learner_id: int
    competency_id: int
    level_order: int
    at: datetime
    kind: str = ""
    source_id: str = ""


class AttainmentReplay:
    """Learners' attainment, stepped through pieces of evidence in memory, then written once.

    Loads, in a fixed number of queries, every item the given pieces can change
    (:func:`affected_items`), those items' children, the learners' stored attainment of them
    and the highest level of their evidence on them; for items under an evidence rule other
    than "any evidence", their evidence kind by kind and, once for all, the modules mapped to
    them (:func:`competencies.requirements.module_requirements`). :meth:`step` is what
    recording one piece does; :meth:`write` stores the difference with what was loaded.
    Start from what is stored (:meth:`from_stored`, the learners being locked) or from
    nothing (:meth:`from_scratch`, a rebuild).
    """

    @classmethod
    def from_stored(cls, *, learner_ids, pieces: list[Piece]) -> "AttainmentReplay":
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
        replay.stored = {key: Row(*row) for key, row in state.stored.items()}
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
    def from_scratch(cls, *, learner_ids, pieces: list[Piece]) -> "AttainmentReplay":
        """A replay from no attainment and no evidence (the learners' rows are deleted)."""
        return cls(learner_ids=learner_ids, pieces=pieces).ready(pieces, stored_pieces=[])

    def __init__(self, *, learner_ids, pieces: list[Piece]):
        self.graph = settled_graph()
        self.nodes = affected_items({p.competency_id for p in pieces}, graph=self.graph)
        self.scales = scales_of(
            {node.framework_id for node in self.nodes.values()}, graph=self.graph
        )
        self.closures: dict[int, tuple[list[int], set[int]]] = {}
        self.stored: dict[tuple[int, int], Row] = {}
        self.tops: dict[tuple[int, int], int] = {}  # (learner, item) -> highest level order
        # Items under a rule other than "any evidence": what each learner's evidence shows.
        self.ruled = {pk for pk, n in self.nodes.items() if n.evidence_rule != EvidenceRule.ANY}
        self.shown: dict[tuple[int, int], requirements.Shown] = {}

    def ready(self, pieces: list[Piece], *, stored_pieces: list) -> "AttainmentReplay":
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

    def direct_level(self, learner_id: int, pk: int) -> int | None:
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
        """The items evidence on ``competency_id`` can change (see :func:`closure`)."""
        if competency_id not in self.closures:
            seen = closure(self.nodes, [competency_id])
            self.closures[competency_id] = (sorted(seen), seen)
        return self.closures[competency_id]

    def order_of_row(self, row: Row | None) -> int | None:
        return None if row is None else self.scales[row.framework_id].order_of.get(row.level_id)

    def step(self, piece: Piece, *, raised: list[Raised] | None = None) -> list[int]:
        """Add a piece of evidence; recompute the items it can change from it, the learner's
        other evidence and the attainment of every item outside that set (which it cannot
        change). Return the items whose row changed; levels reached or raised are appended
        to ``raised``, when given."""
        self._note(piece)
        order, in_set = self._closure(piece.competency_id)
        levels = _Levels(self, piece.learner_id, order, in_set)
        levels.settle()
        return self._rows_update(piece, order, levels, raised=raised)

    def _note(self, piece: Piece) -> None:
        """What the piece shows of its item: a new highest level, or a piece under the rule."""
        key = (piece.learner_id, piece.competency_id)
        if self.nodes[piece.competency_id].evidence_rule == EvidenceRule.ANY:
            top = self.tops.get(key)
            self.tops[key] = piece.level_order if top is None or piece.level_order > top else top
        else:
            self._show(*key, piece.level_order, piece.kind, piece.source_id)

    def _rows_update(
        self, piece: Piece, order: list[int], levels: "_Levels", *, raised
    ) -> list[int]:
        """Set each item's row to its settled level and the way that gives it; return the
        items whose row changed."""
        learner_id, at, rows = piece.learner_id, piece.at, self.rows
        changed_items = []
        for pk in order:
            node, row = self.nodes[pk], rows.get((learner_id, pk))
            found = levels.candidates(node)
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
            level_id = self.scales[node.framework_id].level_at[best]
            if row is None:
                rows[learner_id, pk] = Row(node.framework_id, level_id, via, via_item, at)
                changed_items.append(pk)
                if raised is not None:
                    raised.append(Raised(learner_id, pk, level_id, via, at))
            elif (row.level_id, row.via, row.via_item_id) != (level_id, via, via_item):
                if row.level_id != level_id:
                    if raised is not None and best > (self.order_of_row(row) or 0):
                        raised.append(Raised(learner_id, pk, level_id, via, at))
                    row.since = at
                row.level_id, row.via, row.via_item_id = level_id, via, via_item
                changed_items.append(pk)
        return changed_items

    def write(
        self, *, evidence: Sequence[CompetencyEvidence] = ()
    ) -> dict[tuple[int, int], CompetencyAttainment]:
        """Store the difference with what was loaded, and the new ``evidence`` it was replayed
        with; return every row the replay holds."""
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


class _Levels:
    """One learner's levels of the items a piece can change (``order``), worked out from
    their direct evidence, their children and their exact matches until they settle."""

    def __init__(self, replay: AttainmentReplay, learner_id: int, order: list[int], in_set):
        self.replay = replay
        nodes, rows = replay.nodes, replay.rows
        self.order = order
        self.direct: dict[int, int | None] = {}
        for pk in order:
            self.direct[pk] = replay.direct_level(learner_id, pk)
            # Levels never go down: a direct level stays when the modules mapped to the item
            # changed since it was reached (a rebuild applies the new mapping).
            row = rows.get((learner_id, pk))
            if row is not None and row.via == AttainmentVia.DIRECT:
                floor = replay.order_of_row(row)
                if floor is not None and (self.direct[pk] is None or self.direct[pk] < floor):
                    self.direct[pk] = floor
        self.value: dict[int, int | None] = {
            child: replay.order_of_row(rows.get((learner_id, child)))
            for pk in order
            for child, _code in nodes[pk].children
            if child not in in_set
        }
        self.value.update(self.direct)
        self.partners = {pk: sorted(p for p in nodes[pk].partners if p in in_set) for pk in order}

    def candidates(self, node: Node) -> dict[str, int | None]:
        """The level each way gives ``node`` now, and the exact match the crosswalk's is of."""
        scale = self.replay.scales[node.framework_id]
        crosswalk = [
            (_crosswalked(self.value.get(partner), scale), partner)
            for partner in self.partners[node.pk]
        ]
        best = max((c for c in crosswalk if c[0] is not None), default=(None, None))
        return {
            AttainmentVia.DIRECT: self.direct[node.pk],
            AttainmentVia.ROLLUP: rollup(node, self.value, scale),
            AttainmentVia.CROSSWALK: best[0],
            "via_item": best[1],
        }

    def settle(self) -> None:
        """Raise levels until none changes. The rules only ever raise levels, so this settles
        within a few rounds; the cap guards against a malformed crosswalk cycle."""
        nodes, value = self.replay.nodes, self.value
        for _round in range(len(self.order) + 2):
            changed = False
            for pk in self.order:
                found = self.candidates(nodes[pk])
                best = max(
                    (found[v] for v in AttainmentVia.values if found[v] is not None), default=None
                )
                if best != value.get(pk):
                    value[pk], changed = best, True
            if not changed:
                break
