"""Reads of the competencies app. Trees are read in one query and assembled in Python, so a
1,000-item framework costs the same number of queries as a 10-item one."""

from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet

from competencies.interchange import AssociationData, FrameworkData, ItemData, LevelData
from competencies.models import (
    CompetencyAssociation,
    CompetencyItem,
    Framework,
    FrameworkStatus,
)
from lms.roles import InstitutionRole
from lms.selectors import user_institutions, user_is_regulator

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
    """A framework as exporters see it: three queries whatever its size."""
    rows = framework_tree_rows(framework=framework)
    identifier_of = {node.item.pk: str(node.item.identifier) for node in rows}
    previous = dict(
        CompetencyItem.objects.filter(
            pk__in=[n.item.previous_version_id for n in rows if n.item.previous_version_id]
        ).values_list("pk", "identifier")
    )
    items = [
        ItemData(
            key=identifier_of[node.item.pk],
            identifier=identifier_of[node.item.pk],
            uri=node.item.uri,
            code=node.item.code,
            kind=node.item.kind,
            full_statement=node.item.full_statement,
            abbreviated_statement=node.item.abbreviated_statement,
            notes=node.item.notes,
            language=node.item.language,
            parent_key=identifier_of.get(node.item.parent_id),
            order=node.item.order,
            rule_type=node.item.rule_type,
            rule_config=node.item.rule_config,
            previous_identifier=str(previous[node.item.previous_version_id])
            if node.item.previous_version_id in previous
            else None,
        )
        for node in rows
    ]
    associations = [
        AssociationData(
            association_type=a.association_type,
            origin_key=str(a.origin.identifier),
            destination_key=str(a.destination.identifier)
            if a.destination_id
            else a.destination_identifier,
            identifier=str(a.identifier),
            destination_uri=a.destination_uri or (a.destination.uri if a.destination_id else ""),
            destination_title=a.destination_title
            or (a.destination.label if a.destination_id else ""),
            sequence_number=a.sequence_number,
            notes=a.notes,
        )
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
        licence=framework.licence,
        licence_uri=framework.licence_uri,
        official_source_url=framework.official_source_url,
        status=framework.status,
        last_change=framework.updated_at.isoformat(),
        levels=[
            LevelData(
                name=level.name,
                code=level.code,
                description=level.description,
                is_proficient=level.is_proficient,
                identifier=str(level.identifier),
            )
            for level in framework.levels.order_by("order")
        ],
        items=items,
        associations=associations,
    )


def frameworks_visible_to(*, user) -> QuerySet[Framework]:
    """Published and retired frameworks for everyone; drafts for those who may edit them."""
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
    from lms.models import Institution, Membership

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
