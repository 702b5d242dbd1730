"""What an import must check that no single file format can see.

:func:`structure_errors` looks only at the parsed file: a title, known evidence rules, a sound
scale, each key and code once, parents that exist, no cycles. :func:`clash_errors` and
:func:`resolve_association_ends` look at what the database already holds: identifiers taken,
the same title and version, and the items of other frameworks an association may point at.

An import sees only what its importer may see: items of published or retired frameworks, and
its own drafts. A problem with anything else names nothing of it.
"""

from django.db.models import Q
from django.utils.translation import gettext as _

from competencies.interchange.case_schema import is_uuid
from competencies.interchange.data import FrameworkData, ItemData, LevelData
from competencies.models import (
    AssociationType,
    CompetencyAssociation,
    CompetencyItem,
    EvidenceRule,
    Framework,
    FrameworkStatus,
    ParentAssociation,
    ScaleLevel,
)


def check_levels(levels: list[LevelData], *, place: str = "") -> list[str]:
    """A scale: at least two levels, each named once, exactly one proficient."""
    prefix = f"{place}: " if place else ""
    errors = []
    if len(levels) < 2:
        errors.append(prefix + _("a proficiency scale needs at least two levels"))
    names = [level.name.strip() for level in levels]
    if any(not name for name in names):
        errors.append(prefix + _("every proficiency level needs a name"))
    duplicates = sorted({name for name in names if name and names.count(name) > 1})
    if duplicates:
        errors.append(prefix + _("level names appear twice: %s") % ", ".join(duplicates))
    proficient = [level for level in levels if level.is_proficient]
    if len(proficient) != 1:
        errors.append(
            prefix + _("exactly one level must be marked proficient (found %d)") % len(proficient)
        )
    return errors


def structure_errors(data: FrameworkData) -> list[str]:
    """Problems of the parsed file itself: no title, unknown rules, duplicates, dangling
    parents, cycles."""
    errors: list[str] = []
    if not data.title.strip():
        errors.append(f"{data.place}: the framework has no title")
    errors += _evidence_rule_errors(data)
    if data.levels:
        errors += check_levels(data.levels, place=data.place)
    by_key, duplicate_errors = _by_key(data.items)
    errors += duplicate_errors
    errors += _code_and_parent_errors(data.items, by_key)
    errors += _cycle_errors(data.items, by_key)
    return errors


def _evidence_rule_errors(data: FrameworkData) -> list[str]:
    known = ", ".join(EvidenceRule.values)
    errors = []
    if data.evidence_rule and data.evidence_rule not in EvidenceRule.values:
        errors.append(
            f"{data.place}: evidence rule '{data.evidence_rule}' is not one this service knows "
            f"({known})"
        )
    for item in data.items:
        if item.evidence_rule and item.evidence_rule not in EvidenceRule.values:
            errors.append(
                f"{item.place}: evidence rule '{item.evidence_rule}' is not one this service "
                f"knows ({known}, or none for the framework's)"
            )
    return errors


def _by_key(items: list[ItemData]) -> tuple[dict[str, ItemData], list[str]]:
    by_key: dict[str, ItemData] = {}
    errors = []
    for item in items:
        if item.key in by_key:
            errors.append(
                f"{item.place}: '{item.key}' appears twice (also {by_key[item.key].place})"
            )
        else:
            by_key[item.key] = item
    return by_key, errors


def _code_and_parent_errors(items: list[ItemData], by_key: dict[str, ItemData]) -> list[str]:
    errors = []
    seen_codes: dict[str, ItemData] = {}
    for item in items:
        first = seen_codes.get(item.code) if item.code else None
        if first is not None and first is not item and item.key != first.key:
            errors.append(f"{item.place}: code '{item.code}' is used twice (also {first.place})")
        seen_codes.setdefault(item.code, item)
        if item.parent_key is not None and item.parent_key not in by_key:
            errors.append(
                f"{item.place}: {item.parent_label} '{item.parent_key}' is not in the file"
            )
    return errors


def _cycle_errors(items: list[ItemData], by_key: dict[str, ItemData]) -> list[str]:
    """Follow parents from every item; a path that returns to itself is a cycle."""
    errors = []
    reported: set[str] = set()
    for item in items:
        path, current = [], item
        while current is not None and current.parent_key is not None:
            if current.key in path:
                cycle = path[path.index(current.key) :] + [current.key]
                if not reported.intersection(cycle):
                    errors.append(
                        f"{by_key[cycle[0]].place}: the tree has a cycle: " + " → ".join(cycle)
                    )
                    reported.update(cycle)
                break
            path.append(current.key)
            current = by_key.get(current.parent_key)
    return errors


# --- Against what is here -----------------------------------------------------------------


def clash_errors(data: FrameworkData, *, owner_institution) -> list[str]:
    """Identifiers of the file that records here carry already, and the framework itself."""
    errors = _framework_identifier_errors(data, owner_institution=owner_institution)
    identifiers = [item.identifier for item in data.items if item.identifier]
    existing = sorted(
        str(value)
        for value in CompetencyItem.objects.filter(identifier__in=identifiers).values_list(
            "identifier", flat=True
        )
    )
    if existing:
        errors.append(
            f"{len(existing)} item identifier(s) exist here already (e.g. "
            f"{', '.join(existing[:3])}): this framework, or a copy of it, was imported before"
        )
    links = [a.identifier for a in data.associations]
    links += [i.parent_association.identifier for i in data.items if i.parent_association]
    for model, wanted, name in (
        (CompetencyAssociation, links, "association"),
        (ParentAssociation, links, "association"),
        (ScaleLevel, [level.identifier for level in data.levels], "proficiency level"),
    ):
        wanted = [value for value in wanted if value and is_uuid(value)]
        taken = sorted(
            str(value)
            for value in model.objects.filter(identifier__in=wanted).values_list(
                "identifier", flat=True
            )
        )
        if taken:
            errors.append(
                f"{len(taken)} {name} identifier(s) exist here already "
                f"(e.g. {', '.join(taken[:3])}): another framework carries them"
            )
    return errors


def _framework_identifier_errors(data: FrameworkData, *, owner_institution) -> list[str]:
    """The file's framework identifier is taken: name the framework only if the importer may
    see it (a published or retired framework is public; a draft only to its institution)."""
    if not data.identifier:
        return []
    existing = (
        Framework.objects.filter(identifier=data.identifier)
        .only("title", "version", "status", "owner_institution")
        .first()
    )
    if existing is None:
        return []
    if existing.status != FrameworkStatus.DRAFT or (
        owner_institution is not None and existing.owner_institution_id == owner_institution.pk
    ):
        return [
            f"{data.place}: a framework with identifier {data.identifier} is here already "
            f"(“{existing}”)"
        ]
    return [
        f"{data.place}: a framework with identifier {data.identifier} is here already; "
        "give the framework in the file another identifier"
    ]


def frameworks_seen_by(*, owner_institution, created_by) -> Q:
    """The frameworks an importer may link to (or copy a scale from): published and retired
    ones, and the importer's own drafts (its institution's, or a regulator's own)."""
    seen = ~Q(status=FrameworkStatus.DRAFT)
    if owner_institution is not None:
        return seen | Q(owner_institution=owner_institution)
    # A regulator's own; on the command line (no one), the drafts made there.
    return seen | Q(owner_institution__isnull=True, created_by=created_by)


def resolve_association_ends(
    data: FrameworkData, *, owner_institution, created_by
) -> tuple[list[str], dict[str, CompetencyItem]]:
    """Check every association end; return errors and the held items they point at.

    An end outside the file is linked to an item here only if the importer may see its
    framework; otherwise it is as unknown as an item nobody holds."""
    keys = {item.key for item in data.items}
    outside = {
        key
        for association in data.associations
        for key in (association.origin_key, association.destination_key)
        if key not in keys and is_uuid(key)
    }
    held = {}
    if outside:
        visible = frameworks_seen_by(owner_institution=owner_institution, created_by=created_by)
        held = {
            str(item.identifier): item
            for item in CompetencyItem.objects.filter(
                identifier__in=outside, framework__in=Framework.objects.filter(visible)
            )
        }
    errors = []
    for association in data.associations:
        errors += _association_errors(association, keys, held)
    return errors, held


def _association_errors(association, keys: set[str], held: dict) -> list[str]:
    errors = []
    kind = association.association_type
    if kind not in AssociationType.values and not kind.startswith("ext:"):
        errors.append(
            f"{association.place}: association type '{kind}' is not one this service knows"
        )
    if association.origin_key not in keys and association.origin_key not in held:
        errors.append(
            f"{association.place}: {association.origin_label} '{association.origin_key}' "
            "points at nothing in the file"
        )
    if (
        association.destination_key not in keys
        and association.destination_key not in held
        and not association.external_destination_allowed
    ):
        errors.append(
            f"{association.place}: {association.destination_label} "
            f"'{association.destination_key}' points at nothing in the file"
        )
    return errors
