"""Reads of the competencies app. Trees are read in one query and assembled in Python, so a
1,000-item framework costs the same number of queries as a 10-item one."""

from collections import defaultdict
from dataclasses import dataclass
from typing import NamedTuple

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from competencies import requirements
from competencies.interchange.data import (
    AssociationData,
    FrameworkData,
    ItemData,
    ItemTypeData,
    LevelData,
    ParentAssociationData,
)
from competencies.models import (
    AssociationType,
    CompetencyAssociation,
    CompetencyAttainment,
    CompetencyEvidence,
    CompetencyItem,
    EvidenceRule,
    EvidenceSource,
    Framework,
    FrameworkStatus,
    ItemKind,
    ItemType,
    ParentAssociation,
    ScaleLevel,
)
from lms.jurisdiction import Jurisdiction
from lms.models import Institution, Membership
from lms.raw_sql import lock_clause, placeholders, user_table
from lms.roles import InstitutionRole
from lms.selectors import regulator_jurisdiction, user_institutions, user_is_regulator

EDITOR_ROLES = (InstitutionRole.AUTHOR, InstitutionRole.MANAGER)


@dataclass
class TreeNode:
    item: CompetencyItem
    depth: int
    children: list["TreeNode"]


def framework_tree(*, framework: Framework) -> list[TreeNode]:
    """The framework's items as a forest of :class:`TreeNode`, siblings in order."""
    items = list(CompetencyItem.objects.filter(framework=framework).order_by("order", "pk"))
    children: dict[int | None, list[CompetencyItem]] = {}
    for item in items:
        children.setdefault(item.parent_id, []).append(item)

    def build(parent_id, depth):
        return [
            TreeNode(item=item, depth=depth, children=build(item.pk, depth + 1))
            for item in children.get(parent_id, [])
        ]

    return build(None, 0)


def framework_tree_rows(*, framework: Framework) -> list[TreeNode]:
    """The tree flattened in reading order (pre-order), for indented listings."""
    rows: list[TreeNode] = []

    def walk(nodes):
        for node in nodes:
            rows.append(node)
            walk(node.children)

    walk(framework_tree(framework=framework))
    return rows


def framework_data(*, framework: Framework) -> FrameworkData:
    """A framework as exporters see it: six queries whatever its size."""
    rows = framework_tree_rows(framework=framework)
    identifier_of = {node.item.pk: str(node.item.identifier) for node in rows}
    previous = dict(
        CompetencyItem.objects.filter(
            pk__in=[n.item.previous_version_id for n in rows if n.item.previous_version_id]
        ).values_list("pk", "identifier")
    )
    kept_links = {
        link.item_id: link for link in ParentAssociation.objects.filter(item__framework=framework)
    }
    item_types = list(ItemType.objects.filter(framework=framework).order_by("pk"))
    type_of = {item_type.pk: str(item_type.identifier) for item_type in item_types}
    items = [
        _item_data(
            node.item,
            identifier_of=identifier_of,
            previous=previous,
            kept_link=kept_links.get(node.item.pk),
            item_type=type_of.get(node.item.item_type_id),
        )
        for node in rows
    ]
    associations = [
        _association_data(a)
        for a in CompetencyAssociation.objects.filter(framework=framework)
        .select_related("origin", "destination")
        .order_by("pk")
    ]
    return FrameworkData(
        title=framework.title,
        creator=framework.creator,
        identifier=str(framework.identifier),
        uri=framework.uri,
        code=framework.code,
        version=framework.version,
        language=framework.language,
        publisher=framework.publisher,
        description=framework.description,
        description_html=framework.description_html,
        licence=framework.licence,
        licence_uri=framework.licence_uri,
        official_source_url=framework.official_source_url,
        status=framework.status,
        adoption_status=framework.adoption_status,
        updated_at=framework.updated_at,
        evidence_rule=framework.evidence_rule,
        levels=[_level_data(level) for level in framework.levels.order_by("order")],
        items=items,
        associations=associations,
        item_types=[_item_type_data(item_type) for item_type in item_types],
        case_attributes=framework.case_attributes,
        case_definitions=framework.case_definitions,
        extensions=framework.extensions,
    )


def _level_data(level: ScaleLevel) -> LevelData:
    return LevelData(
        name=level.name,
        code=level.code,
        description=level.description,
        is_proficient=level.is_proficient,
        identifier=str(level.identifier),
    )


def _item_data(
    item: CompetencyItem, *, identifier_of: dict, previous: dict, kept_link, item_type
) -> ItemData:
    return ItemData(
        key=identifier_of[item.pk],
        identifier=identifier_of[item.pk],
        uri=item.uri,
        code=item.code,
        kind=item.kind,
        full_statement=item.full_statement,
        statement_html=item.statement_html,
        abbreviated_statement=item.abbreviated_statement,
        notes=item.notes,
        language=item.language,
        parent_key=identifier_of.get(item.parent_id),
        parent_association=ParentAssociationData(
            identifier=str(kept_link.identifier),
            uri=kept_link.uri,
            case_attributes=kept_link.case_attributes,
            extensions=kept_link.extensions,
            updated_at=kept_link.updated_at,
        )
        if kept_link is not None
        else None,
        order=item.order,
        rule_type=item.rule_type,
        rule_config=item.rule_config,
        evidence_rule=item.evidence_rule,
        previous_identifier=str(previous[item.previous_version_id])
        if item.previous_version_id in previous
        else None,
        item_type=item_type,
        case_attributes=item.case_attributes,
        extensions=item.extensions,
        updated_at=item.updated_at,
    )


def _association_data(a: CompetencyAssociation) -> AssociationData:
    return AssociationData(
        association_type=a.association_type,
        origin_key=str(a.origin.identifier),
        destination_key=str(a.destination.identifier)
        if a.destination_id
        else a.destination_identifier,
        identifier=str(a.identifier),
        uri=a.uri,
        destination_uri=a.destination_uri or (a.destination.uri if a.destination_id else ""),
        destination_title=a.destination_title or (a.destination.label if a.destination_id else ""),
        sequence_number=a.sequence_number,
        notes=a.notes,
        case_attributes=a.case_attributes,
        extensions=a.extensions,
        updated_at=a.updated_at,
    )


def _item_type_data(item_type: ItemType) -> ItemTypeData:
    return ItemTypeData(
        identifier=str(item_type.identifier),
        title=item_type.title,
        uri=item_type.uri,
        description=item_type.description,
        hierarchy_code=item_type.hierarchy_code,
        type_code=item_type.type_code,
        extensions=item_type.extensions,
        updated_at=item_type.updated_at,
    )


def frameworks_with_scales_visible_to(*, user) -> QuerySet[Framework]:
    """Frameworks whose proficiency scale ``user`` may copy into an import."""
    return (
        frameworks_visible_to(user=user)
        .filter(pk__in=ScaleLevel.objects.filter(is_proficient=True).values("framework"))
        .order_by("title", "version")
    )


def jurisdiction_frameworks_q(jurisdiction: Jurisdiction) -> Q:
    """Frameworks of a jurisdiction: those of its country's institutions (an institution has
    a country, no region) and those no institution owns (national standards)."""
    return Q(owner_institution__isnull=True) | Q(owner_institution__country=jurisdiction.country)


def frameworks_readable_by(*, user) -> QuerySet[Framework]:
    """Published and retired frameworks for everyone (they are public documents: the CASE
    API serves them to anyone); drafts for those who may edit them."""
    frameworks = Framework.objects.select_related("owner_institution").annotate(
        item_count=Count("items")
    )
    if user is not None and user.is_authenticated and user.is_superuser:
        return frameworks
    visible = ~Q(status=FrameworkStatus.DRAFT)
    if user is not None and user.is_authenticated:
        visible |= Q(owner_institution__in=user_institutions(user=user)) | Q(
            owner_institution__isnull=True, created_by=user
        )
    return frameworks.filter(visible)


def frameworks_visible_to(*, user) -> QuerySet[Framework]:
    """The frameworks the admin's pages show ``user``: :func:`frameworks_readable_by`, but a
    regulator's workspace shows the published and retired frameworks of their jurisdiction
    only (:func:`jurisdiction_frameworks_q`), besides their own drafts and those of
    institutions where they hold a role."""
    readable = frameworks_readable_by(user=user)
    jurisdiction = regulator_jurisdiction(user=user) if user is not None else None
    if jurisdiction is None or user.is_superuser:
        return readable
    # The drafts readable are their own already.
    return readable.filter(
        Q(status=FrameworkStatus.DRAFT)
        | Q(owner_institution__in=user_institutions(user=user))
        | jurisdiction_frameworks_q(jurisdiction)
    )


def frameworks_editable_by(*, user) -> QuerySet[Framework]:
    """Frameworks whose content, status and versions ``user`` may change.

    An institution's authors and managers edit its frameworks; a regulator edits (and
    publishes) only the frameworks they created themselves.
    """
    if not user.is_authenticated:
        return Framework.objects.none()
    if user.is_superuser:
        return Framework.objects.all()
    editable = Q(owner_institution__in=_editor_institutions(user))
    if user_is_regulator(user=user):
        editable |= Q(owner_institution__isnull=True, created_by=user)
    return Framework.objects.filter(editable)


def _editor_institutions(user):
    return Institution.objects.filter(
        pk__in=Membership.objects.filter(user=user, role__in=EDITOR_ROLES).values("institution_id")
    )


def framework_can_edit(*, user, framework: Framework) -> bool:
    return frameworks_editable_by(user=user).filter(pk=framework.pk).exists()


def user_can_author_frameworks(*, user) -> bool:
    return user.is_authenticated and (
        user.is_superuser or user_is_regulator(user=user) or _editor_institutions(user).exists()
    )


def institutions_for_framework_owner(*, user):
    """Institutions under whose name ``user`` may create frameworks."""
    return _editor_institutions(user)


# --- Attainment ---------------------------------------------------------------------------


@dataclass
class ProfileRow:
    item: CompetencyItem
    depth: int
    attainment: CompetencyAttainment | None
    evidence: list[CompetencyEvidence]
    still_needed: str = ""  # why an item with evidence is not attained yet, when a rule says


@dataclass
class FrameworkProfile:
    framework: Framework
    rows: list[ProfileRow]
    attained: int


def learner_competency_profile(*, learner) -> list[FrameworkProfile]:
    """A learner's competency profile: per framework, the items they have evidence or
    attainment for (with their ancestors, to place them in the tree), the level reached and
    the evidence trail. A handful of queries however long the learner's history."""
    attainments = {
        a.competency_id: a
        for a in CompetencyAttainment.objects.filter(learner=learner).select_related(
            "level", "via_item__framework"
        )
    }
    trail: dict[int, list[CompetencyEvidence]] = {}
    for evidence in (
        CompetencyEvidence.objects.filter(learner=learner)
        .select_related("level", "institution", "recorded_by__learner_profile")
        .order_by("occurred_at", "pk")
    ):
        trail.setdefault(evidence.competency_id, []).append(evidence)
    items: dict[int, CompetencyItem] = {}
    wanted = set(attainments) | set(trail)
    while wanted:  # the items, then their parents, grandparents… one query per tree level
        found = list(CompetencyItem.objects.filter(pk__in=wanted))
        items.update((item.pk, item) for item in found)
        wanted = {i.parent_id for i in found if i.parent_id and i.parent_id not in items}
    children: dict[int | None, list[CompetencyItem]] = {}
    for item in sorted(items.values(), key=lambda i: (i.order, i.pk)):
        children.setdefault(item.parent_id, []).append(item)
    frameworks = list(
        Framework.objects.filter(pk__in={item.framework_id for item in items.values()}).order_by(
            "title", "version"
        )
    )
    still_needed = _still_needed(
        pending=[
            (item, rule)
            for item in items.values()
            if item.pk in trail and item.pk not in attainments
            for rule in [item.evidence_rule or _rule_of(frameworks, item.framework_id)]
            if rule != EvidenceRule.ANY
        ],
        trail=trail,
    )
    profiles = []
    for framework in frameworks:
        rows: list[ProfileRow] = []

        def walk(parent_id, depth, framework=framework, rows=rows):
            for item in children.get(parent_id, []):
                if parent_id is None and item.framework_id != framework.pk:
                    continue
                rows.append(
                    ProfileRow(
                        item,
                        depth,
                        attainments.get(item.pk),
                        trail.get(item.pk, []),
                        still_needed.get(item.pk, ""),
                    )
                )
                walk(item.pk, depth + 1)

        walk(None, 0)
        attained = sum(1 for row in rows if row.attainment is not None)
        profiles.append(FrameworkProfile(framework=framework, rows=rows, attained=attained))
    return profiles


def _rule_of(frameworks: list[Framework], framework_id: int) -> str:
    return next(f.evidence_rule for f in frameworks if f.pk == framework_id)


def _still_needed(
    *, pending: list[tuple[CompetencyItem, str]], trail: dict[int, list[CompetencyEvidence]]
) -> dict[int, str]:
    """For items with evidence, not attained, under a rule other than "any evidence": what
    is missing, e.g. "2 of 3 modules complete; an observation is needed". Two or three
    queries, none when no item needs it."""
    if not pending:
        return {}
    with_modules = {item.pk for item, rule in pending if rule in requirements.RULES_WITH_MODULES}
    found = requirements.module_requirements(
        competency_ids=with_modules,
        completion_ids={
            e.source_id
            for pk in with_modules
            for e in trail[pk]
            if e.source_kind == EvidenceSource.MODULE_COMPLETION
        },
    )
    order_of, lowest = {}, {}
    for pk, framework_id, order in ScaleLevel.objects.filter(
        framework__in={item.framework_id for item, _rule in pending}
    ).values_list("pk", "framework_id", "order"):
        order_of[pk] = order
        lowest[framework_id] = min(order, lowest.get(framework_id, order))
    needed = {}
    for item, rule in pending:
        shown = requirements.Shown()
        for evidence in trail[item.pk]:
            shown.add(
                kind=evidence.source_kind,
                order=evidence.level.order,
                module_id=found.module_of.get(evidence.source_id),
            )
        observed = shown.observed is not None and shown.observed > lowest[item.framework_id]
        modules = (
            _modules_progress(found.sets.get(item.pk, []), shown, order_of)
            if rule in requirements.RULES_WITH_MODULES
            else ""
        )
        if rule == EvidenceRule.MODULES:
            needed[item.pk] = modules
        elif rule == EvidenceRule.MODULES_OR_OBSERVATION:
            needed[item.pk] = _("%(modules)s, or an observation") % {"modules": modules}
        elif rule == EvidenceRule.MODULES_AND_OBSERVATION:
            observation = _("observation signed off") if observed else _("observation needed")
            needed[item.pk] = f"{modules}; {observation}"
        elif rule == EvidenceRule.OBSERVATION:
            needed[item.pk] = _("observation needed")
    return needed


def _modules_progress(sets, shown, order_of) -> str:
    """How far the learner is with the modules of the course closest to meeting the rule."""
    if not sets:
        return _("no module is mapped to it yet")
    best = max(
        sets,
        key=lambda s: len(requirements.modules_done(s, shown, order_of)) / len(s.modules),
    )
    done, total = len(requirements.modules_done(best, shown, order_of)), len(best.modules)
    text = ngettext(
        "%(done)s of %(total)s module complete",
        "%(done)s of %(total)s modules complete",
        total,
    ) % {"done": done, "total": total}
    return f"{text} ({best.title})" if len(sets) > 1 else text


def learner_attainment_counts(*, learner) -> tuple[int, int]:
    """(competencies with a level reached, those at their framework's proficient level or up)."""
    proficient = ScaleLevel.objects.filter(
        framework=OuterRef("framework"), is_proficient=True
    ).values("order")[:1]
    counts = CompetencyAttainment.objects.filter(learner=learner).aggregate(
        reached=Count("pk"),
        proficient=Count("pk", filter=Q(level__order__gte=Subquery(proficient))),
    )
    return counts["reached"], counts["proficient"]


def learners_with_evidence() -> QuerySet:
    """Everyone whose attainment a rebuild should recompute."""
    return get_user_model().objects.filter(
        Q(pk__in=CompetencyEvidence.objects.values("learner_id"))
        | Q(pk__in=CompetencyAttainment.objects.values("learner_id"))
    )


def attainment_grid(*, learner_ids, competency_ids) -> dict[tuple[int, int], ScaleLevel]:
    """The level each learner has reached in each competency: ``(learner_id, competency_id)``
    → :class:`ScaleLevel`, pairs without attainment left out. One query whatever the number of
    learners and competencies, for cohort grids and their exports."""
    rows = CompetencyAttainment.objects.filter(
        learner_id__in=list(learner_ids), competency_id__in=list(competency_ids)
    ).select_related("level")
    return {(row.learner_id, row.competency_id): row.level for row in rows}


def evidence_of_institutions(*, institution_ids, source_kind: str) -> QuerySet[CompetencyEvidence]:
    """Evidence of one kind that the given institutions recorded, newest first."""
    return (
        CompetencyEvidence.objects.filter(
            institution_id__in=institution_ids, source_kind=source_kind
        )
        .select_related("learner", "competency", "level", "recorded_by", "institution")
        .order_by("-recorded_at", "-pk")
    )


# --- Read when evidence is recorded ------------------------------------------------------------


def learners_locked(*, learner_ids) -> list[int]:
    """Lock the learners' rows until the transaction ends, in primary-key order (so that two
    transactions locking several learners never wait for each other in a circle): what
    serialises each learner's evidence, so that the stored attainment read after it stays
    true. Where the database locks whole (SQLite), it serialises writers anyway.

    This and :func:`attainment_state` are SQL templates, read on every completion (see
    :mod:`lms.raw_sql`); the user table is the host site's user model's."""
    if not learner_ids:
        return []
    ids = sorted(set(learner_ids))
    table, pk = user_table()
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {pk} FROM {table}"  # noqa: S608 - names
            f" WHERE {pk} IN ({placeholders(ids)}) ORDER BY {pk}{lock_clause(no_key=True)}",
            ids,
        )
        return [row[0] for row in cursor.fetchall()]


class AttainmentState(NamedTuple):
    """What recording evidence starts from: stored attainment, and the highest level shown."""

    #: (learner id, competency id) -> the stored row's (framework id, level id, via,
    #: via item id, since, id).
    stored: dict[tuple[int, int], tuple]
    #: (learner id, competency id) -> the order of the highest level the evidence shows.
    tops: dict[tuple[int, int], int]


def attainment_state(*, learner_ids, attainment_of, top_of) -> AttainmentState:
    """The learners' stored attainment of the competencies ``attainment_of``, and the highest
    level their evidence shows of each of ``top_of``."""
    state = AttainmentState({}, {})
    if not learner_ids:
        return state
    learners = list(learner_ids)
    if attainment_of:
        competencies = list(attainment_of)
        for row in CompetencyAttainment.objects.raw(
            "SELECT * FROM competencies_competencyattainment"  # noqa: S608 - placeholders only
            f" WHERE learner_id IN ({placeholders(learners)})"
            f" AND competency_id IN ({placeholders(competencies)})",
            [*learners, *competencies],
        ):
            state.stored[row.learner_id, row.competency_id] = (
                row.framework_id,
                row.level_id,
                row.via,
                row.via_item_id,
                row.since,
                row.pk,
            )
    if top_of:
        competencies = list(top_of)
        with connection.cursor() as cursor:
            cursor.execute(
                'SELECT e.learner_id, e.competency_id, MAX(l."order")'  # noqa: S608 - placeholders only
                " FROM competencies_competencyevidence e"
                " JOIN competencies_scalelevel l ON l.id = e.level_id"
                f" WHERE e.learner_id IN ({placeholders(learners)})"
                f" AND e.competency_id IN ({placeholders(competencies)})"
                " GROUP BY e.learner_id, e.competency_id",
                [*learners, *competencies],
            )
            for learner_id, competency_id, top in cursor.fetchall():
                state.tops[learner_id, competency_id] = top
    return state


def framework_competencies(*, framework: Framework) -> QuerySet[CompetencyItem]:
    """The framework's competencies (not its domains or indicators), in tree order."""
    return CompetencyItem.objects.filter(framework=framework, kind=ItemKind.COMPETENCY).order_by(
        "parent__order", "order", "pk"
    )


def published_frameworks(*, jurisdiction: Jurisdiction | None = None) -> QuerySet[Framework]:
    """Published frameworks; with ``jurisdiction``, only those of it."""
    frameworks = Framework.objects.filter(status=FrameworkStatus.PUBLISHED)
    if jurisdiction is not None:
        frameworks = frameworks.filter(jurisdiction_frameworks_q(jurisdiction))
    return frameworks.order_by("title", "version")


def proficient_attainments(*, framework: Framework) -> QuerySet[CompetencyAttainment]:
    """Attainments in ``framework`` at its proficient level or above."""
    proficient = ScaleLevel.objects.filter(framework=framework, is_proficient=True).first()
    if proficient is None:
        return CompetencyAttainment.objects.none()
    return CompetencyAttainment.objects.filter(
        framework=framework, level__order__gte=proficient.order
    )


@dataclass(frozen=True)
class ItemTranslation:
    """An item's wording in another language: a framework we hold that translates it."""

    statement: str
    levels: dict[int, str]  # level order -> the level's name in the translation's scale


def _primary_language(tag: str) -> str:
    return tag.replace("_", "-").split("-")[0].lower()


def item_translations(*, item_ids, language: str) -> dict[int, ItemTranslation]:
    """For each of ``item_ids`` whose framework is in another language than ``language``: its
    translation into ``language``, where a framework we hold links an item to it by CASE's
    ``isTranslationOf`` (either way round), with that framework's level names by order."""
    wanted, item_ids = _primary_language(language), set(item_ids)
    links = CompetencyAssociation.objects.filter(
        Q(origin_id__in=item_ids) | Q(destination_id__in=item_ids),
        association_type=AssociationType.IS_TRANSLATION_OF,
        destination__isnull=False,
    ).select_related("origin__framework", "destination__framework")
    found: dict[int, CompetencyItem] = {}
    for link in links:
        for item, other in ((link.origin, link.destination), (link.destination, link.origin)):
            if item.pk not in item_ids or item.pk in found:
                continue
            if _primary_language(item.language or item.framework.language) == wanted:
                continue
            if _primary_language(other.language or other.framework.language) == wanted:
                found[item.pk] = other
    levels: dict[int, dict[int, str]] = defaultdict(dict)
    for level in ScaleLevel.objects.filter(
        framework_id__in={other.framework_id for other in found.values()}
    ):
        levels[level.framework_id][level.order] = level.name
    return {
        pk: ItemTranslation(
            statement=other.abbreviated_statement or other.full_statement,
            levels=levels[other.framework_id],
        )
        for pk, other in found.items()
    }


def items_with_descendants(*, item_ids) -> set[int]:
    """``item_ids`` and every item below them in their frameworks' trees."""
    found = set(item_ids)
    frontier = set(found)
    while frontier:
        frontier = (
            set(CompetencyItem.objects.filter(parent_id__in=frontier).values_list("pk", flat=True))
            - found
        )
        found |= frontier
    return found


def published_items(*, kind: str) -> QuerySet[CompetencyItem]:
    """Items of one kind (domain, competency…) of the published frameworks, for choosers."""
    return (
        CompetencyItem.objects.filter(framework__status=FrameworkStatus.PUBLISHED, kind=kind)
        .select_related("framework")
        .order_by("framework__title", "code", "pk")
    )
