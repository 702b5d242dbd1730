"""Writing a parsed framework file: everything, or — when any problem is found — nothing.

:func:`framework_import` checks the file (:mod:`.validation`), then writes the framework, its
scale, item types, items (with the identity of their ``isChildOf`` associations) and
associations, keeping the identifiers, URIs and dates the file gave. A file without a
proficiency scale (CASE packages usually have none) may take a copy of another framework's.
:func:`items_copy` writes a new version's items, which get new identifiers.
"""

import uuid
from collections import defaultdict

from django.db import transaction
from django.utils import timezone

from competencies.interchange.case_schema import is_uuid
from competencies.interchange.data import (
    AssociationData,
    FrameworkData,
    FrameworkFileError,
    ItemData,
    ItemTypeData,
    LevelData,
)
from competencies.interchange.validation import (
    clash_errors,
    frameworks_seen_by,
    resolve_association_ends,
    structure_errors,
)
from competencies.models import (
    CompetencyAssociation,
    CompetencyItem,
    EvidenceRule,
    Framework,
    ItemType,
    ParentAssociation,
    ScaleLevel,
)


@transaction.atomic
def framework_import(
    *,
    data: FrameworkData,
    owner_institution=None,
    created_by=None,
    scale_from: Framework | None = None,
) -> Framework:
    """Write a parsed framework file as a draft, all or nothing.

    ``scale_from`` gives a file without a scale a copy of that framework's (one the importer
    may see). Raises :class:`FrameworkFileError` listing every problem with its place.
    """
    errors = structure_errors(data)
    errors += clash_errors(data, owner_institution=owner_institution)
    association_errors, held = resolve_association_ends(
        data, owner_institution=owner_institution, created_by=created_by
    )
    errors += association_errors
    levels, scale_errors = _scale(
        data, scale_from, owner_institution=owner_institution, created_by=created_by
    )
    errors += scale_errors
    if not errors and _title_taken(data, owner_institution):
        errors.append(
            f"{data.place}: version {data.version} of “{data.title}” exists already; "
            "change the version or delete the existing draft"
        )
    if errors:
        raise FrameworkFileError(errors)

    framework = _framework_write(data, owner_institution=owner_institution, created_by=created_by)
    _levels_write(framework, levels)
    types = item_types_write(framework, data.item_types)
    created = items_import(framework, data.items, types=types)
    CompetencyAssociation.objects.bulk_create(
        [_association_row(framework, a, created, held) for a in data.associations],
        batch_size=1000,
    )
    if data.updated_at:  # the file's lastChangeDateTime; auto_now set it to now
        Framework.objects.filter(pk=framework.pk).update(updated_at=data.updated_at)
        framework.updated_at = data.updated_at
    return framework


def _title_taken(data: FrameworkData, owner_institution) -> bool:
    return Framework.objects.filter(
        title=data.title.strip(),
        version=data.version or "1.0",
        owner_institution=owner_institution,
    ).exists()


def _scale(
    data: FrameworkData, scale_from: Framework | None, *, owner_institution, created_by
) -> tuple[list[LevelData], list[str]]:
    """The file's scale, or a copy of ``scale_from``'s (new identifiers: a level belongs to
    one framework)."""
    if scale_from is None:
        return data.levels, []
    if data.levels:
        return [], [
            f"{data.place}: the file has its own proficiency scale; import it without choosing "
            "another framework's"
        ]
    visible = frameworks_seen_by(owner_institution=owner_institution, created_by=created_by)
    if not Framework.objects.filter(visible, pk=scale_from.pk).exists():
        return [], ["The framework whose scale was chosen is not one this import may use."]
    levels = [
        LevelData(
            name=level.name,
            code=level.code,
            description=level.description,
            is_proficient=level.is_proficient,
        )
        for level in scale_from.levels.order_by("order")
    ]
    if not levels:
        return [], [f"“{scale_from}” has no proficiency scale to copy."]
    return levels, []


def _framework_write(data: FrameworkData, *, owner_institution, created_by) -> Framework:
    return Framework.objects.create(
        identifier=data.identifier or uuid.uuid4(),
        uri=data.uri,
        title=data.title.strip(),
        code=data.code,
        version=data.version or "1.0",
        language=data.language or "en",
        creator=data.creator or (owner_institution.name if owner_institution else ""),
        publisher=data.publisher,
        description=data.description,
        description_html=data.description_html,
        licence=data.licence,
        licence_uri=data.licence_uri,
        official_source_url=data.official_source_url,
        evidence_rule=data.evidence_rule or EvidenceRule.ANY,
        adoption_status=data.adoption_status,
        case_attributes=data.case_attributes,
        case_definitions=data.case_definitions,
        extensions=data.extensions,
        owner_institution=owner_institution,
        created_by=created_by,
    )


def _levels_write(framework: Framework, levels: list[LevelData]) -> None:
    ScaleLevel.objects.bulk_create(
        ScaleLevel(
            framework=framework,
            order=index,
            code=level.code,
            name=level.name.strip(),
            description=level.description,
            is_proficient=level.is_proficient,
            **({"identifier": level.identifier} if level.identifier else {}),
        )
        for index, level in enumerate(levels, start=1)
    )


def item_types_write(framework: Framework, types: list[ItemTypeData]) -> dict[str, ItemType]:
    """The framework's item types, by identifier."""
    rows = ItemType.objects.bulk_create(
        ItemType(
            framework=framework,
            identifier=item_type.identifier,
            uri=item_type.uri,
            title=item_type.title,
            description=item_type.description,
            hierarchy_code=item_type.hierarchy_code,
            type_code=item_type.type_code,
            extensions=item_type.extensions,
            updated_at=item_type.updated_at or timezone.now(),
        )
        for item_type in types
    )
    return {str(row.identifier): row for row in rows}


def _depths(items: list[ItemData]) -> dict[int, list[ItemData]]:
    """Items by depth in the tree, so that parents are written before their children."""
    by_key = {item.key: item for item in items}
    depth: dict[str, int] = {}
    for item in items:
        path, current = [], item
        while current.key not in depth and current.parent_key is not None:
            path.append(current)
            current = by_key[current.parent_key]
        depth.setdefault(current.key, 0)
        for below in reversed(path):
            depth[below.key] = depth[by_key[below.parent_key].key] + 1
    levels: dict[int, list[ItemData]] = defaultdict(list)
    for item in items:
        levels[depth[item.key]].append(item)
    return levels


def _insert(framework: Framework, items: list[ItemData], row_of) -> dict[str, CompetencyItem]:
    """Create items level by level (parents first), one INSERT per level and batch."""
    created: dict[str, CompetencyItem] = {}
    for _depth, level in sorted(_depths(items).items()):
        rows = [row_of(item, created) for item in level]
        for row, item in zip(
            CompetencyItem.objects.bulk_create(rows, batch_size=1000), level, strict=True
        ):
            created[item.key] = row
    return created


def _item_row(framework: Framework, item: ItemData, created: dict, **fields) -> CompetencyItem:
    return CompetencyItem(
        framework=framework,
        parent=created[item.parent_key] if item.parent_key is not None else None,
        order=item.order,
        code=item.code,
        kind=item.kind,
        full_statement=item.full_statement,
        statement_html=item.statement_html,
        abbreviated_statement=item.abbreviated_statement,
        notes=item.notes,
        language=item.language,
        rule_type=item.rule_type,
        rule_config=item.rule_config,
        evidence_rule=item.evidence_rule,
        case_attributes=item.case_attributes,
        extensions=item.extensions,
        **fields,
    )


def items_import(
    framework: Framework, items: list[ItemData], *, types: dict[str, ItemType]
) -> dict[str, CompetencyItem]:
    """An imported file's items, with the identifiers, URIs and dates it gave them. Lineage
    (CASE replacedBy) links to items held here; others are older versions never imported."""
    wanted = [
        i.previous_identifier
        for i in items
        if i.previous_identifier and is_uuid(i.previous_identifier)
    ]
    previous = {
        str(identifier): pk
        for pk, identifier in CompetencyItem.objects.filter(identifier__in=wanted).values_list(
            "pk", "identifier"
        )
    }

    def row_of(item: ItemData, created: dict) -> CompetencyItem:
        return _item_row(
            framework,
            item,
            created,
            identifier=item.identifier or uuid.uuid4(),
            uri=item.uri,
            item_type=types.get(item.item_type or ""),
            previous_version_id=previous.get(item.previous_identifier or ""),
        )

    created = _insert(framework, items, row_of)
    _parent_associations_write(items, created)
    _dates_write(items, created)
    return created


def items_copy(
    framework: Framework, items: list[ItemData], *, types: dict[str, ItemType]
) -> dict[str, CompetencyItem]:
    """A new version's items: new identifiers (a CASE identifier names one version of one
    item), each remembering the item it copies; keyed by the copied item's identifier."""
    previous = {
        str(identifier): pk
        for pk, identifier in CompetencyItem.objects.filter(
            identifier__in=[item.key for item in items]
        ).values_list("pk", "identifier")
    }

    def row_of(item: ItemData, created: dict) -> CompetencyItem:
        return _item_row(
            framework,
            item,
            created,
            identifier=uuid.uuid4(),
            item_type=types.get(item.item_type or ""),
            previous_version_id=previous.get(item.key),
        )

    return _insert(framework, items, row_of)


def _parent_associations_write(items: list[ItemData], created: dict) -> None:
    ParentAssociation.objects.bulk_create(
        (
            ParentAssociation(
                item=created[item.key],
                identifier=item.parent_association.identifier,
                uri=item.parent_association.uri,
                case_attributes=item.parent_association.case_attributes,
                extensions=item.parent_association.extensions,
                updated_at=item.parent_association.updated_at or timezone.now(),
            )
            for item in items
            if item.parent_association is not None
        ),
        batch_size=1000,
    )


def _dates_write(items: list[ItemData], created: dict) -> None:
    """The file's lastChangeDateTime of each item (saving set it to now). Files date their
    items in a few batches, so one UPDATE per date is few statements."""
    by_date: dict = defaultdict(list)
    for item in items:
        if item.updated_at is not None:
            by_date[item.updated_at].append(created[item.key].pk)
    for moment, pks in by_date.items():
        for start in range(0, len(pks), 1000):
            CompetencyItem.objects.filter(pk__in=pks[start : start + 1000]).update(
                updated_at=moment
            )


def _association_row(
    framework: Framework,
    association: AssociationData,
    created: dict[str, CompetencyItem],
    held: dict[str, CompetencyItem],
) -> CompetencyAssociation:
    origin = created.get(association.origin_key) or held[association.origin_key]
    destination = created.get(association.destination_key) or held.get(association.destination_key)
    return CompetencyAssociation(
        framework=framework,
        identifier=association.identifier or uuid.uuid4(),
        uri=association.uri,
        association_type=association.association_type,
        origin=origin,
        destination=destination,
        destination_identifier=str(destination.identifier)
        if destination
        else association.destination_key,
        destination_uri=association.destination_uri,
        destination_title=association.destination_title,
        sequence_number=association.sequence_number,
        notes=association.notes,
        case_attributes=association.case_attributes,
        extensions=association.extensions,
        updated_at=association.updated_at or timezone.now(),
    )
