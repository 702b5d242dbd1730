"""Reading a package's CFAssociations: the tree (``isChildOf``), lineage and crosswalks.

* ``isChildOf`` (origin = child, destination = parent or the CFDocument) is the tree: each
  item's parent, and the association's identity kept on the item (``parent_association``). An
  item with no ``isChildOf`` is at the top level; one with two different parents is refused.
  Siblings are ordered by the association's ``sequenceNumber``, or where it has none by the
  item's ``listEnumeration`` ("3", "3.", "c)" are 3), then by their place in the file.
* ``replacedBy`` from an item *outside* the package to an item in it is the item's lineage
  (the item is the new version of that one): it becomes ``previous_identifier``.
* Every other association is kept with its identity. Its destination may be outside the
  package (kept as its identifier, URI and title); its origin must be in the package or held
  here. An association with neither end in the package is refused.
"""

from collections import defaultdict
from dataclasses import dataclass, field

from competencies.interchange.case_common import (
    MAX_POSITIVE_INT,
    Reading,
    max_length,
    moment,
    normalise_id,
    whole_number,
)
from competencies.interchange.case_schema import is_uuid, short
from competencies.interchange.data import AssociationData, ItemData, ParentAssociationData
from competencies.models import CompetencyAssociation

ASSOCIATION_FIELDS = {
    "identifier",
    "associationType",
    "uri",
    "originNodeURI",
    "destinationNodeURI",
    "sequenceNumber",
    "notes",
    "lastChangeDateTime",
    "extensions",
}


@dataclass
class _Links:
    items: dict[str, ItemData]
    document_id: str
    reading: Reading
    #: child key → (parent key or None, sequence number, place, the association's identity)
    parents: dict[str, tuple] = field(default_factory=dict)
    identifiers: dict[str, str] = field(default_factory=dict)
    seen: dict[tuple[str, str, str], str] = field(default_factory=dict)


def read_associations(
    records: list[dict], item_list: list[ItemData], *, document_id: str, reading: Reading
) -> list[AssociationData]:
    items: dict[str, ItemData] = {}
    for item in item_list:
        items.setdefault(item.key, item)
    links = _Links(items=items, document_id=document_id, reading=reading)
    associations = []
    for index, record in enumerate(records):
        place = f"CFAssociations[{index}]"
        kind = record["associationType"]
        origin = normalise_id(record["originNodeURI"]["identifier"])
        destination = normalise_id(record["destinationNodeURI"]["identifier"])
        _note_identifier(record, place, links)
        if kind == "isChildOf":
            _read_child_of(record, place, origin, destination, links)
        elif not _read_lineage(kind, origin, destination, links):
            association = _read_association(record, place, kind, origin, destination, links)
            if association is not None:
                associations.append(association)
    order_items(item_list, links.parents)
    return associations


def _note_identifier(record: dict, place: str, links: _Links) -> None:
    identifier = normalise_id(record["identifier"])
    if identifier in links.identifiers:
        links.reading.errors.append(
            f"{place}: identifier {identifier} appears twice (also {links.identifiers[identifier]})"
        )
    links.identifiers.setdefault(identifier, place)


def _identity(record: dict, read: set[str], reading: Reading) -> dict:
    return {
        "uri": (record.get("uri") or "").strip(),
        "case_attributes": reading.attributes(record, read),
        "extensions": dict(record.get("extensions", {})),
        "updated_at": moment(record.get("lastChangeDateTime")),
    }


def _read_child_of(record, place, origin, destination, links: _Links) -> None:
    if origin not in links.items:
        links.reading.errors.append(
            f"{place}: originNodeURI '{origin}' points at nothing in the file"
        )
        return
    parent = None if destination == links.document_id else destination
    if origin in links.parents:
        known_parent, _, known_place, _ = links.parents[origin]
        if known_parent != parent:
            links.reading.errors.append(
                f"{place}: {links.items[origin].place} is already a child of "
                f"'{known_parent or links.document_id}' ({known_place}); an item can have only "
                "one parent here"
            )
        return
    uri_limit = max_length(CompetencyAssociation, "uri")
    identity = ParentAssociationData(
        identifier=normalise_id(record["identifier"]),
        **_identity(record, ASSOCIATION_FIELDS - {"notes"}, links.reading),
    )
    if len(identity.uri) > uri_limit:
        links.reading.errors.append(f"{place}.uri: longer than {uri_limit} characters")
    links.parents[origin] = (parent, record.get("sequenceNumber"), place, identity)


def _read_lineage(kind: str, origin: str, destination: str, links: _Links) -> bool:
    """Whether this is a replacedBy from an older version of a package item (see above)."""
    if not (
        kind == "replacedBy"
        and origin not in links.items
        and destination in links.items
        and origin != links.document_id
    ):
        return False
    item = links.items[destination]
    if is_uuid(origin) and item.previous_identifier is None:
        item.previous_identifier = origin
    return True


def _read_association(record, place, kind, origin, destination, links: _Links):
    reading, items = links.reading, links.items
    if origin not in items and destination not in items:
        reading.errors.append(
            f"{place}: neither end is an item of this package (originNodeURI "
            f"{short(origin)}, destinationNodeURI {short(destination)})"
        )
        return None
    if (kind, origin, destination) in links.seen:
        reading.errors.append(
            f"{place}: repeats {links.seen[kind, origin, destination]} (same origin, type "
            "and destination)"
        )
        return None
    links.seen[kind, origin, destination] = place
    if len(kind) > max_length(CompetencyAssociation, "association_type"):
        reading.errors.append(f"{place}.associationType: {short(kind)} is too long to keep")
    identity = _identity(record, ASSOCIATION_FIELDS, reading)
    if len(identity["uri"]) > max_length(CompetencyAssociation, "uri"):
        reading.errors.append(f"{place}.uri: longer than 500 characters")
    external = destination not in items
    destination_uri, title = _external_end(record["destinationNodeURI"], place, external, reading)
    return AssociationData(
        association_type=kind,
        origin_key=origin,
        destination_key=destination,
        place=place,
        identifier=normalise_id(record["identifier"]),
        destination_uri=destination_uri,
        destination_title=title,
        sequence_number=_sequence_number(record.get("sequenceNumber"), place, reading),
        notes=record.get("notes", ""),
        origin_label="originNodeURI",
        destination_label="destinationNodeURI",
        external_destination_allowed=True,
        **identity,
    )


def _external_end(link: dict, place: str, external: bool, reading: Reading) -> tuple[str, str]:
    """(URI, title) of a destination outside the package; a title too long is shortened."""
    if not external:
        return "", ""
    destination = normalise_id(link["identifier"])
    uri = (link.get("uri") or "").strip()
    if not destination:
        reading.errors.append(f"{place}.destinationNodeURI.identifier: is empty")
    for name, value, column in (
        ("identifier", destination, "destination_identifier"),
        ("uri", uri, "destination_uri"),
    ):
        limit = max_length(CompetencyAssociation, column)
        if len(value) > limit:
            reading.errors.append(
                f"{place}.destinationNodeURI.{name}: longer than {limit} characters"
            )
    title_limit = max_length(CompetencyAssociation, "destination_title")
    title = (link.get("title") or "").strip()
    if len(title) > title_limit:  # only a label: shorten it rather than refuse
        title = title[: title_limit - 1] + "…"
    return uri, title


def _sequence_number(value, place: str, reading: Reading) -> int | None:
    if value is not None and not 0 <= value <= MAX_POSITIVE_INT:
        reading.errors.append(
            f"{place}.sequenceNumber: {value} is out of range (0 to {MAX_POSITIVE_INT:,})"
        )
        return None
    return value


def order_items(items: list[ItemData], parents: dict) -> None:
    """Set parents (and their associations' identity), and number siblings 0, 1, 2…"""
    siblings: dict[str | None, list[tuple]] = defaultdict(list)
    for index, item in enumerate(items):
        parent, sequence_number, _, identity = parents.get(item.key, (None, None, None, None))
        item.parent_key = parent
        item.parent_association = identity
        if sequence_number is None:
            sequence_number = enumeration_number(item.case_attributes.get("listEnumeration"))
        siblings[parent].append(
            (sequence_number is None, sequence_number or 0, index, item),
        )
    for group in siblings.values():
        group.sort(key=lambda row: row[:3])
        for order, row in enumerate(group):
            row[3].order = order


def enumeration_number(value) -> int | None:
    """A listEnumeration as a number: "3", "3." and "3)" are 3, "c." is 3; else None."""
    text = str(value or "").strip().rstrip(".)")
    if len(text) == 1 and text.isalpha() and text.isascii():
        return ord(text.lower()) - ord("a") + 1
    return whole_number(text)
