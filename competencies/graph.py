"""The graph evidence travels along: competency items, their parents and exact matches.

Recording evidence on an item can change the item, its ancestors, their exact matches in
published frameworks, and theirs, and so on (:func:`closure`). :func:`affected_items` gives
that set with what the attainment engine (:mod:`competencies.attainment`) needs of each item,
from the per-process copy of the settled frameworks (:func:`settled_graph`) or from the
database when a draft is involved.
"""

from dataclasses import dataclass, field, replace

from django.db.models import Q

from competencies.caches import FRAMEWORKS
from competencies.models import (
    AssociationType,
    CompetencyAssociation,
    CompetencyItem,
    EvidenceRule,
    Framework,
    FrameworkStatus,
    ScaleLevel,
)


@dataclass
class Node:
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
class Scale:
    order_of: dict[int, int]  # level pk -> order
    level_at: dict[int, int]  # order -> level pk
    lowest: int
    proficient: int | None

    def counts(self, order: int | None) -> int | None:
        return order if order is not None and order > self.lowest else None


def closure(nodes: dict[int, "Node"], start) -> set[int]:
    """The items evidence on ``start`` can change: the smallest set holding them that is
    closed under "parent of" (whatever the framework's status) and "exact match of, in a
    published framework", walked over ``nodes``."""
    seen, todo = set(start), list(start)
    while todo:
        node = nodes[todo.pop()]
        ends = [p for p in node.partners if nodes[p].published]
        if node.parent_id is not None:
            ends.append(node.parent_id)
        for end in ends:
            if end not in seen:
                seen.add(end)
                todo.append(end)
    return seen


def affected_items(competency_ids: set[int], *, graph: "SettledGraph") -> dict[int, Node]:
    """The items, their ancestors, their exact matches in published frameworks, and so on.

    The smallest set holding the items that is closed under "parent of" (whatever the
    framework's status) and "exact match of, in a published framework". Each node knows its
    exact matches within the set and all its children. Read from :func:`settled_graph` when
    every item is in a published or retired framework (one query), else from the database.
    """
    if competency_ids <= graph.nodes.keys():
        return graph.closure(competency_ids)
    return affected_items_from_database(competency_ids)


def affected_items_from_database(competency_ids: set[int]) -> dict[int, Node]:
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
    nodes: dict[int, Node] = {}
    any_status: set[int] = set(competency_ids)  # the items and ancestors: whatever their status
    published_only: set[int] = set()  # crosswalk matches
    links: set[tuple[int, int]] = set()
    while any_status or published_only:
        new = [
            Node(
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


def scales_of(framework_ids, *, graph: "SettledGraph") -> dict[int, Scale]:
    scales = {pk: graph.scales[pk] for pk in framework_ids if pk in graph.scales}
    missing = [pk for pk in framework_ids if pk not in scales]
    if missing:
        scales.update(scales_from_database(missing))
    return scales


def scales_from_database(framework_ids) -> dict[int, Scale]:
    scales: dict[int, Scale] = {}
    for pk, framework_id, order, is_proficient in ScaleLevel.objects.filter(
        framework__in=framework_ids
    ).values_list("pk", "framework_id", "order", "is_proficient"):
        scale = scales.setdefault(framework_id, Scale({}, {}, order, None))
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
class SettledGraph:
    key: frozenset
    nodes: dict[int, Node]
    scales: dict[int, Scale]
    owners: dict[int, int | None]  # framework -> owner institution

    def closure(self, competency_ids: set[int]) -> dict[int, Node]:
        """What :func:`affected_items_from_database` gives, from memory (no query)."""
        seen = closure(self.nodes, competency_ids)
        # Copies knowing only their matches within the set; children are shared, never changed.
        return {pk: replace(self.nodes[pk], partners=self.nodes[pk].partners & seen) for pk in seen}


_settled: SettledGraph | None = None


def settled_graph() -> SettledGraph:
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


def _settled_graph_load(key: frozenset) -> SettledGraph:
    status_of = {pk: status for pk, _identifier, status, _published_at in key}
    if not status_of:
        return SettledGraph(key, {}, {}, {})
    owners, evidence_rules = {}, {}
    for pk, owner_id, evidence_rule in Framework.objects.filter(pk__in=list(status_of)).values_list(
        "pk", "owner_institution_id", "evidence_rule"
    ):
        owners[pk], evidence_rules[pk] = owner_id, evidence_rule
    nodes: dict[int, Node] = {}
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
        nodes[pk] = Node(
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
    return SettledGraph(key, nodes, scales_from_database(list(status_of)), owners)
