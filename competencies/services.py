"""Writes of the competencies app: frameworks, scales, item trees, crosswalks, imports.

Every write to a framework goes through here, and every one of them refuses to touch a
framework that is not a draft: published versions are what courses and certificates cite.
"""

from django.db import transaction
from django.db.models import F, Max
from django.utils import timezone
from django.utils.translation import gettext as _

from competencies import selectors
from competencies.attainment import attainment_rebuild
from competencies.evidence import (
    EvidenceError,
    EvidenceRecorded,
    NewEvidence,
    evidence_record,
    evidence_record_many,
    new_sources_evidence_record,
)
from competencies.interchange.data import FrameworkData, LevelData
from competencies.interchange.importing import framework_import, item_types_write, items_copy
from competencies.interchange.validation import check_levels
from competencies.models import (
    AssociationType,
    CompetencyAssociation,
    CompetencyItem,
    EvidenceRule,
    Framework,
    FrameworkStatus,
    ItemKind,
    RuleType,
    ScaleLevel,
)


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


#: The doors other apps use for evidence and attainment (written in their own modules).
__all__ = [
    "EvidenceError",
    "EvidenceRecorded",
    "NewEvidence",
    "attainment_rebuild",
    "evidence_record",
    "evidence_record_many",
    "new_sources_evidence_record",
]
