"""1EdTech CASE 1.1 CFPackage JSON, both ways.

:func:`parse_case_package` reads an uploaded package into :class:`FrameworkData` (which
:func:`competencies.services.framework_import` then checks and writes, all or nothing);
:func:`export_case_package` turns :class:`FrameworkData` (from
:func:`competencies.selectors.framework_data`) into a package that validates against the
official CASE 1.1 CFPackage JSON Schema, shipped in ``standards/``.

How the service's framework maps onto CASE
------------------------------------------
* Framework ↔ ``CFDocument``; its ID number travels as ``extensions.humanCodingScheme`` (CASE
  has no code for documents). ``adoptionStatus`` is exported (Draft / Adopted / Deprecated)
  but ignored on import: an imported framework is always a draft, a file cannot publish itself.
* Item ↔ ``CFItem``: ``humanCodingScheme`` is the code, ``CFItemType`` the kind ("Domain",
  "Competency", "Indicator", case-insensitive; any other type imports as a competency).
  Moodle-style completion rules travel as ``extensions: {"ruleType": …, "ruleConfig": {…}}``.
* Evidence rules (what a competency's own evidence must show: ``any``, ``modules``,
  ``observation``, ``modules_and_observation``, ``modules_or_observation``) travel as
  ``extensions.evidenceRule``: on the CFDocument the framework's (exported unless ``any``), on
  a CFItem its own (exported when it has one; none means the framework's).
* The tree ↔ ``isChildOf`` associations (origin = child, destination = parent); top-level items
  are ``isChildOf`` the CFDocument, as CASE publishers do, and an item with no ``isChildOf`` at
  all imports at the top level. Siblings are ordered by the association's ``sequenceNumber``,
  then the item's ``listEnumeration`` (when it is a whole number), then their place in the
  file, and renumbered 0, 1, 2…; the export writes both as 1, 2, 3…. ``isChildOf`` association
  identifiers are not stored: the export derives them (uuid5) from the child and the parent,
  so they are the same in every export. An item may have only one parent here.
* Every other association is kept with its identifier. Its destination may be an item of
  another framework we hold (a crosswalk: it is linked to that item) or one we do not hold
  (kept as its identifier, URI and title); its origin must be in the package or held. An
  association with neither end in the package is refused.
* ``replacedBy`` from an item *outside* the package to an item in it is the item's lineage
  (CASE's way of saying "this item is the new version of that one"): it is not imported as an
  association but as the item's ``previous_identifier`` (exported back as the same
  ``replacedBy``). An origin we do not hold is simply an older version we never imported, so
  it is no error.
* The proficiency scale ↔ the first ``CFRubric``: exactly one criterion whose
  ``CFRubricCriterionLevels`` are the levels, lowest first in ``position`` order; ``quality``
  is the level's name, ``description`` its description, and the level's ``extensions`` (a list
  of objects in the schema) carry ``{"proficient": true}`` on the one level from which a
  learner counts as competent, and ``"code"`` when the level has one. Other rubrics are
  ignored.
* The licence ↔ ``CFDocument.licenseURI`` plus a ``CFDefinitions.CFLicenses`` record.
* URIs are kept as the file gives them; an item or framework without one is exported with its
  URI on this server (``{base_url}/ims/case/v1p1/CFItems/{identifier}``), which an import of
  that package then keeps.

The schema is enforced as published, including the ``uuid``, ``date`` and ``date-time``
formats (date-times as ISO 8601, with or without a time zone). Every problem is reported with
its place in CASE terms, e.g. ``CFItems[3]: fullStatement is required``. Beyond the schema, a
file is refused for what the database cannot keep: text longer than its field (a link's title
is shortened instead), NUL characters, JSON nested deeper than :data:`MAX_DEPTH`; and for
repeated association or level identifiers, repeated links, and links with no end in the
package. Duplicates, cycles and dangling parents are left to
:func:`competencies.services.framework_import`, which reports them with the same places.
"""

import json
import uuid
from collections import defaultdict
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path

import jsonschema

from competencies.interchange import (
    AssociationData,
    FrameworkData,
    FrameworkFileError,
    ItemData,
    LevelData,
    decode_text,
)
from competencies.models import (
    CompetencyAssociation,
    CompetencyItem,
    EvidenceRule,
    Framework,
    FrameworkStatus,
    ItemKind,
    RuleType,
    ScaleLevel,
)

SCHEMA_PATH = Path(__file__).parent / "standards" / "case-v1p1-cfpackage.schema.json"
CASE_API_PATH = "/ims/case/v1p1"
#: Namespace of the identifiers the export derives (uuid5) for records we do not store.
ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:competencies:case:v1p1")

KIND_TITLES = {
    ItemKind.DOMAIN: "Domain",
    ItemKind.COMPETENCY: "Competency",
    ItemKind.INDICATOR: "Indicator",
}
KIND_DESCRIPTIONS = {
    ItemKind.DOMAIN: "A group of related competencies.",
    ItemKind.COMPETENCY: "Something a learner shows they are able to do.",
    ItemKind.INDICATOR: "Observable evidence that a learner has a competency.",
}
ADOPTION_STATUS = {
    FrameworkStatus.DRAFT: "Draft",
    FrameworkStatus.PUBLISHED: "Adopted",
    FrameworkStatus.RETIRED: "Deprecated",
}
MAX_POSITIVE_INT = 2_147_483_647  # PositiveIntegerField on PostgreSQL
#: A package is about ten levels deep; extensions may add a few. Deeper JSON is refused
#: before validation (the validator recurses, and would run out of stack near 1,000).
MAX_DEPTH = 64


def _max_length(model, name: str) -> int:
    return model._meta.get_field(name).max_length


# --- Import -------------------------------------------------------------------------------


def parse_case_package(data: bytes) -> FrameworkData:
    """Read a CASE 1.1 CFPackage; raise :class:`FrameworkFileError` with every problem found."""
    text = decode_text(data, what="CASE JSON")
    package = _load_json(text)
    if not isinstance(package, dict):
        raise FrameworkFileError(
            [
                "The file is not a CASE CFPackage: it holds "
                f"{_json_type(package)}, not an object with a CFDocument."
            ]
        )
    if "CFDocument" not in package:
        fields = ", ".join(sorted(str(key) for key in package)[:6])
        raise FrameworkFileError(
            [
                "The file is not a CASE CFPackage: it has no CFDocument"
                + (f" (its fields are {fields})." if fields else ".")
            ]
        )
    errors, too_deep = _unstorable_text(package)
    if too_deep:
        raise FrameworkFileError(
            [
                f"The file is not a CASE CFPackage: its JSON is nested more than {MAX_DEPTH} "
                "levels deep."
            ]
        )
    errors += _schema_errors(package)
    if errors:
        raise FrameworkFileError(errors)
    return _PackageReader(package).read()


def _load_json(text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise FrameworkFileError(
            [
                f"The file is not valid JSON: {error.msg} at line {error.lineno}, "
                f"column {error.colno}."
            ]
        ) from None
    except (ValueError, RecursionError) as error:
        reason = "it is nested too deeply" if isinstance(error, RecursionError) else str(error)
        raise FrameworkFileError([f"The file is not valid JSON: {reason}."]) from None


def _json_type(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, int):
        return "a whole number"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    return "an object"


_SCHEMA_TYPES = {
    "string": "text",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "array": "a list",
    "object": "an object",
    "null": "null",
}
_FORMATS = {
    "uuid": "UUID (like 3f2b8c1e-5d6a-4e7b-9c0d-1a2b3c4d5e6f)",
    "date": "date (YYYY-MM-DD)",
    "date-time": "date and time (ISO 8601, like 2024-05-01T12:00:00Z)",
}


def _place(path) -> str:
    place = ""
    for part in path:
        place += f"[{part}]" if isinstance(part, int) else (f".{part}" if place else str(part))
    return place or "CFPackage"


def _short(value) -> str:
    if isinstance(value, str):
        return repr(value if len(value) <= 60 else value[:60] + "…")
    text = json.dumps(value, ensure_ascii=False, default=str)[:200]
    return text if len(text) <= 60 else text[:60] + "…"


def _unstorable_text(package) -> tuple[list[str], bool]:
    """Strings a database cannot keep (NUL characters, unpaired UTF-16 surrogates), and whether
    the JSON is nested deeper than MAX_DEPTH. Walks without recursion: any depth is safe."""
    errors = []
    stack = [((), package)]
    while stack:
        path, value = stack.pop()
        if len(path) > MAX_DEPTH:
            return [], True
        if isinstance(value, dict):
            for key, child in value.items():
                if not _storable(key):
                    errors.append(f"{_place(path)}: a field name {_CANNOT_STORE}")
                stack.append(((*path, key), child))
        elif isinstance(value, list):
            stack.extend(((*path, index), child) for index, child in enumerate(value))
        elif isinstance(value, str) and not _storable(value):
            errors.append(f"{_place(path)}: {_CANNOT_STORE}")
    return sorted(errors), False


_CANNOT_STORE = (
    "contains a NUL character (\\u0000) or an unpaired surrogate (\\ud800 to \\udfff), "
    "which cannot be stored"
)


def _storable(text: str) -> bool:
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@cache
def _validator() -> jsonschema.Draft201909Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    checker = jsonschema.FormatChecker(formats=())
    checker.checks("uuid")(_is_uuid_format)
    checker.checks("date")(_is_date)
    checker.checks("date-time")(_is_date_time)
    return jsonschema.Draft201909Validator(schema, format_checker=checker)


def _is_uuid_format(value) -> bool:
    if not isinstance(value, str):
        return True
    return len(value) == 36 and all(value[i] == "-" for i in (8, 13, 18, 23)) and _is_uuid(value)


def _is_date(value) -> bool:
    if not isinstance(value, str):
        return True
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return len(value) == 10


def _is_date_time(value) -> bool:
    if not isinstance(value, str):
        return True
    if len(value) < 16 or value[10] not in "Tt ":
        return False
    try:
        datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        return False
    return True


def _is_uuid(value) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def _path_sort_key(path) -> tuple:
    return tuple((0, part, "") if isinstance(part, int) else (1, 0, str(part)) for part in path)


def _schema_errors(package: dict) -> list[str]:
    errors: list[str] = []
    seen: set[str] = set()
    found = sorted(_validator().iter_errors(package), key=lambda e: _path_sort_key(e.path))
    for error in found:
        for message in _describe(error):
            if message not in seen:
                seen.add(message)
                errors.append(message)
    return errors


def _describe(error: jsonschema.ValidationError) -> list[str]:
    """A person's sentence for one schema error, with its place in the package."""
    place = _place(error.absolute_path)
    instance = error.instance
    kind = error.validator
    if kind == "required" and isinstance(instance, dict):
        return [
            f"{place}: {name} is required" for name in error.validator_value if name not in instance
        ]
    if kind == "additionalProperties" and isinstance(instance, dict):
        known = error.schema.get("properties", {})
        return [
            f"{place}: '{name}' is not a CASE 1.1 field here"
            for name in instance
            if name not in known
        ]
    if kind == "type":
        expected = error.validator_value
        expected = [expected] if isinstance(expected, str) else expected
        wanted = " or ".join(_SCHEMA_TYPES.get(name, name) for name in expected)
        return [f"{place}: must be {wanted}, not {_json_type(instance)}"]
    if kind == "format":
        return [
            f"{place}: {_short(instance)} is not a valid "
            f"{_FORMATS.get(error.validator_value, error.validator_value)}"
        ]
    if kind == "enum":
        allowed = ", ".join(_short(value) for value in error.validator_value)
        return [f"{place}: {_short(instance)} is not allowed here (allowed: {allowed})"]
    if kind == "oneOf":
        last = error.absolute_path[-1] if error.absolute_path else ""
        if last == "associationType":
            return [f"{place}: {_short(instance)} is not a valid association type"]
        if last == "targetType":
            return [
                f"{place}: {_short(instance)} is not a valid target type "
                "(use 'CASE' or 'ext:' and a name)"
            ]
        return [f"{place}: {_short(instance)} is not valid here"]
    message = error.message if len(error.message) <= 200 else error.message[:200] + "…"
    return [f"{place}: {message}"]


def _normalise_id(value: str) -> str:
    """UUIDs in their canonical lower-case form (CASE files vary); anything else as given."""
    value = value.strip()
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return value


def _whole_number(value) -> int | None:
    try:
        return int(str(value).strip())
    except ValueError:
        return None


class _PackageReader:
    """Builds :class:`FrameworkData` from a schema-valid package, collecting every problem."""

    def __init__(self, package: dict):
        self.package = package
        self.errors: list[str] = []
        self.list_enumeration: dict[int, int | None] = {}

    def text(self, record: dict, name: str, place: str, limit: int | None = None) -> str:
        value = record.get(name, "").strip()
        if limit is not None and len(value) > limit:
            self.errors.append(
                f"{place}.{name}: {len(value):,} characters, but at most {limit} can be kept"
            )
        return value

    def read(self) -> FrameworkData:
        document = self.package["CFDocument"]
        data = self.read_document(document)
        data.items = self.read_items(self.package.get("CFItems", []), document_id=data.identifier)
        data.associations = self.read_associations(
            self.package.get("CFAssociations", []), data.items, document_id=data.identifier
        )
        data.levels = self.read_scale(self.package.get("CFRubrics", []))
        if self.errors:
            raise FrameworkFileError(self.errors)
        return data

    # The document ------------------------------------------------------------------------

    def read_document(self, document: dict) -> FrameworkData:
        place = "CFDocument"
        extensions = document.get("extensions", {})
        code = extensions.get("humanCodingScheme", "")
        if not isinstance(code, str):
            self.errors.append(f"{place}.extensions.humanCodingScheme: must be text")
            code = ""
        elif len(code.strip()) > _max_length(Framework, "code"):
            self.errors.append(
                f"{place}.extensions.humanCodingScheme: longer than "
                f"{_max_length(Framework, 'code')} characters"
            )
        licence, licence_uri = self.read_licence(document)
        evidence_rule = self.read_evidence_rule(extensions, place) or EvidenceRule.ANY
        return FrameworkData(
            place=place,
            identifier=_normalise_id(document["identifier"]),
            uri=self.text(document, "uri", place, _max_length(Framework, "uri")),
            title=self.text(document, "title", place, _max_length(Framework, "title")),
            creator=self.text(document, "creator", place, _max_length(Framework, "creator")),
            code=code.strip(),
            version=self.text(document, "version", place, _max_length(Framework, "version"))
            or "1.0",
            language=self.text(document, "language", place, _max_length(Framework, "language"))
            or "en",
            publisher=self.text(document, "publisher", place, _max_length(Framework, "publisher")),
            description=self.text(document, "description", place),
            licence=licence,
            licence_uri=licence_uri,
            official_source_url=self.text(
                document, "officialSourceURL", place, _max_length(Framework, "official_source_url")
            ),
            status=FrameworkStatus.DRAFT,
            last_change=document.get("lastChangeDateTime", ""),
            evidence_rule=evidence_rule,
        )

    def read_licence(self, document: dict) -> tuple[str, str]:
        link = document.get("licenseURI")
        if not link:
            return "", ""
        definitions = self.package.get("CFDefinitions", {})
        records = {
            _normalise_id(record["identifier"]): record
            for record in definitions.get("CFLicenses", [])
        }
        record = records.get(_normalise_id(link["identifier"]))
        title = (record["title"] if record else link["title"]).strip()
        uri = link["uri"].strip()
        if "/CFLicenses/" in uri:  # the licence's record on a CASE server, not the licence
            text = record["licenseText"].strip() if record else ""
            uri = text if text.startswith(("http://", "https://")) and " " not in text else ""
        if title == uri:
            title = ""
        place = "CFDocument.licenseURI"
        if len(title) > _max_length(Framework, "licence"):
            self.errors.append(
                f"{place}.title: longer than {_max_length(Framework, 'licence')} characters"
            )
        if len(uri) > _max_length(Framework, "licence_uri"):
            self.errors.append(
                f"{place}.uri: longer than {_max_length(Framework, 'licence_uri')} characters"
            )
        return title, uri

    # Items -------------------------------------------------------------------------------

    def read_items(self, records: list[dict], *, document_id: str) -> list[ItemData]:
        items: list[ItemData] = []
        for index, record in enumerate(records):
            place = f"CFItems[{index}]"
            key = _normalise_id(record["identifier"])
            if key == document_id:
                self.errors.append(f"{place}: identifier {key} is the CFDocument's own")
            type_name = record.get("CFItemType") or record.get("CFItemTypeURI", {}).get("title", "")
            kind = type_name.strip().lower()
            full_statement = self.text(record, "fullStatement", place)
            if not full_statement:
                self.errors.append(f"{place}: fullStatement is empty")
            rule_type, rule_config = self.read_rule(record.get("extensions", {}), place)
            evidence_rule = self.read_evidence_rule(record.get("extensions", {}), place)
            item = ItemData(
                key=key,
                identifier=key,
                place=place,
                uri=self.text(record, "uri", place, _max_length(CompetencyItem, "uri")),
                code=self.text(
                    record, "humanCodingScheme", place, _max_length(CompetencyItem, "code")
                ),
                kind=kind if kind in ItemKind.values else ItemKind.COMPETENCY,
                full_statement=full_statement,
                abbreviated_statement=self.text(
                    record,
                    "abbreviatedStatement",
                    place,
                    _max_length(CompetencyItem, "abbreviated_statement"),
                ),
                notes=record.get("notes", ""),
                language=self.text(
                    record, "language", place, _max_length(CompetencyItem, "language")
                ),
                parent_label="isChildOf destination",
                rule_type=rule_type,
                rule_config=rule_config,
                evidence_rule=evidence_rule,
            )
            # Orders siblings that have no sequenceNumber (see order_items).
            self.list_enumeration[id(item)] = _whole_number(record.get("listEnumeration", ""))
            # A repeated identifier is kept: services.framework_import reports it, with places.
            items.append(item)
        return items

    def read_rule(self, extensions: dict, place: str) -> tuple[str, dict]:
        rule_type = extensions.get("ruleType", "")
        rule_config = extensions.get("ruleConfig", {})
        if rule_type not in RuleType.values:
            self.errors.append(
                f"{place}.extensions.ruleType: {_short(rule_type)} is not a rule this service "
                "knows (all, points)"
            )
            rule_type = ""
        if not isinstance(rule_config, dict):
            self.errors.append(f"{place}.extensions.ruleConfig: must be an object")
            rule_config = {}
        return rule_type, rule_config

    def read_evidence_rule(self, extensions: dict, place: str) -> str:
        rule = extensions.get("evidenceRule")
        if rule is None or rule == "":
            return ""
        if not isinstance(rule, str) or rule not in EvidenceRule.values:
            self.errors.append(
                f"{place}.extensions.evidenceRule: {_short(rule)} is not a rule this service "
                f"knows ({', '.join(EvidenceRule.values)})"
            )
            return ""
        return rule

    # Associations ------------------------------------------------------------------------

    def read_associations(
        self, records: list[dict], item_list: list[ItemData], *, document_id: str
    ) -> list[AssociationData]:
        items: dict[str, ItemData] = {}
        for item in item_list:
            items.setdefault(item.key, item)
        parents: dict[str, tuple[str | None, object, str]] = {}
        associations: list[AssociationData] = []
        identifiers: dict[str, str] = {}
        links: dict[tuple[str, str, str], str] = {}
        for index, record in enumerate(records):
            place = f"CFAssociations[{index}]"
            kind = record["associationType"]
            origin = _normalise_id(record["originNodeURI"]["identifier"])
            destination_link = record["destinationNodeURI"]
            destination = _normalise_id(destination_link["identifier"])
            if kind == "isChildOf":
                self.read_child_of(
                    place, record, origin, destination, items, parents, document_id=document_id
                )
                continue
            if (
                kind == "replacedBy"
                and origin not in items
                and destination in items
                and origin != document_id
            ):
                # Lineage from an older version of the item: see the module docstring.
                if _is_uuid(origin) and items[destination].previous_identifier is None:
                    items[destination].previous_identifier = origin
                continue
            identifier = _normalise_id(record["identifier"])
            if identifier in identifiers:
                self.errors.append(
                    f"{place}: identifier {identifier} appears twice "
                    f"(also {identifiers[identifier]})"
                )
            identifiers.setdefault(identifier, place)
            if origin not in items and destination not in items:
                self.errors.append(
                    f"{place}: neither end is an item of this package (originNodeURI "
                    f"{_short(origin)}, destinationNodeURI {_short(destination)})"
                )
                continue
            if (kind, origin, destination) in links:
                self.errors.append(
                    f"{place}: repeats {links[kind, origin, destination]} (same origin, type "
                    "and destination)"
                )
                continue
            links[kind, origin, destination] = place
            sequence_number = record.get("sequenceNumber")
            if sequence_number is not None and not 0 <= sequence_number <= MAX_POSITIVE_INT:
                self.errors.append(
                    f"{place}.sequenceNumber: {sequence_number} is out of range "
                    f"(0 to {MAX_POSITIVE_INT:,})"
                )
                sequence_number = None
            external = destination not in items
            destination_uri = destination_link["uri"].strip() if external else ""
            if external:
                if not destination:
                    self.errors.append(f"{place}.destinationNodeURI.identifier: is empty")
                limit = _max_length(CompetencyAssociation, "destination_identifier")
                if len(destination) > limit:
                    self.errors.append(
                        f"{place}.destinationNodeURI.identifier: longer than {limit} characters"
                    )
                limit = _max_length(CompetencyAssociation, "destination_uri")
                if len(destination_uri) > limit:
                    self.errors.append(
                        f"{place}.destinationNodeURI.uri: longer than {limit} characters"
                    )
            title_limit = _max_length(CompetencyAssociation, "destination_title")
            title = destination_link["title"].strip() if external else ""
            if len(title) > title_limit:  # only a label: shorten it rather than refuse
                title = title[: title_limit - 1] + "…"
            associations.append(
                AssociationData(
                    association_type=kind,
                    origin_key=origin,
                    destination_key=destination,
                    place=place,
                    identifier=identifier if _is_uuid(identifier) else None,
                    destination_uri=destination_uri,
                    destination_title=title,
                    sequence_number=int(sequence_number) if sequence_number is not None else None,
                    notes=record.get("notes", ""),
                    origin_label="originNodeURI",
                    destination_label="destinationNodeURI",
                    external_destination_allowed=True,
                )
            )
        self.order_items(item_list, parents)
        return associations

    def read_child_of(self, place, record, origin, destination, items, parents, *, document_id):
        if origin not in items:
            self.errors.append(f"{place}: originNodeURI '{origin}' points at nothing in the file")
            return
        parent = None if destination == document_id else destination
        if origin in parents:
            known_parent, _, known_place = parents[origin]
            if known_parent != parent:
                self.errors.append(
                    f"{place}: {items[origin].place} is already a child of "
                    f"'{known_parent or document_id}' ({known_place}); an item can have only "
                    "one parent here"
                )
            return
        parents[origin] = (parent, record.get("sequenceNumber"), place)

    def order_items(self, items: list[ItemData], parents: dict) -> None:
        """Set parents, and number siblings 0, 1, 2… (see the module docstring)."""
        siblings: dict[str | None, list[tuple]] = defaultdict(list)
        for index, item in enumerate(items):
            parent, sequence_number, _ = parents.get(item.key, (None, None, None))
            item.parent_key = parent
            list_enumeration = self.list_enumeration.get(id(item))
            siblings[parent].append(
                (
                    sequence_number is None,
                    sequence_number if sequence_number is not None else 0,
                    list_enumeration is None,
                    list_enumeration if list_enumeration is not None else 0,
                    index,
                    item,
                )
            )
        for group in siblings.values():
            group.sort(key=lambda row: row[:5])
            for order, row in enumerate(group):
                row[5].order = order

    # The scale ---------------------------------------------------------------------------

    def read_scale(self, rubrics: list[dict]) -> list[LevelData]:
        if not rubrics:
            return []
        criteria = rubrics[0].get("CFRubricCriteria", [])
        if len(criteria) != 1:
            self.errors.append(
                "CFRubrics[0]: the proficiency scale needs exactly one criterion "
                f"(found {len(criteria)})"
            )
            return []
        place = "CFRubrics[0].CFRubricCriteria[0]"
        records = list(enumerate(criteria[0].get("CFRubricCriterionLevels", [])))
        records.sort(
            key=lambda row: (row[1].get("position") is None, row[1].get("position") or 0, row[0])
        )
        levels, identifiers = [], {}
        for index, record in records:
            level_place = f"{place}.CFRubricCriterionLevels[{index}]"
            extensions = [e for e in record.get("extensions", []) if isinstance(e, dict)]
            code = next((e["code"] for e in extensions if isinstance(e.get("code"), str)), "")
            identifier = _normalise_id(record["identifier"])
            if identifier in identifiers:
                self.errors.append(
                    f"{level_place}: identifier {identifier} appears twice "
                    f"(also {identifiers[identifier]})"
                )
            identifiers.setdefault(identifier, level_place)
            name = self.text(record, "quality", level_place, _max_length(ScaleLevel, "name"))
            if len(code.strip()) > _max_length(ScaleLevel, "code"):
                self.errors.append(
                    f"{level_place}.extensions: the code is longer than "
                    f"{_max_length(ScaleLevel, 'code')} characters"
                )
            levels.append(
                LevelData(
                    name=name,
                    code=code.strip(),
                    description=record.get("description", "") or record.get("feedback", ""),
                    is_proficient=any(e.get("proficient") is True for e in extensions),
                    identifier=identifier,
                )
            )
        if len(levels) < 2:
            self.errors.append(f"{place}: a proficiency scale needs at least two levels")
        if any(not level.name for level in levels):
            self.errors.append(f"{place}: every level needs a name (its quality)")
        names = [level.name for level in levels]
        repeated = sorted({name for name in names if name and names.count(name) > 1})
        if repeated:
            self.errors.append(f"{place}: level names appear twice: {', '.join(repeated)}")
        proficient = sum(level.is_proficient for level in levels)
        if proficient != 1:
            self.errors.append(
                f"{place}: exactly one level must be marked proficient, with "
                f'"extensions": [{{"proficient": true}}] (found {proficient})'
            )
        return levels


# --- Export -------------------------------------------------------------------------------


def _derived_id(*parts: str) -> str:
    return str(uuid.uuid5(ID_NAMESPACE, ":".join(parts)))


def _timestamp(value: str) -> str:
    try:
        moment = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        moment = datetime.now(UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _drop_empty(record: dict) -> dict:
    return {key: value for key, value in record.items() if value not in ("", None, [], {})}


def export_case_package(data: FrameworkData, *, base_url: str) -> dict:
    """A CASE 1.1 CFPackage (valid against the official schema) for ``data``."""
    base = base_url.rstrip("/") + CASE_API_PATH
    changed = _timestamp(data.last_change)
    document_id = data.identifier or _derived_id("CFDocument", data.title, data.version)
    document_uri = data.uri or f"{base}/CFDocuments/{document_id}"
    document_link = {"title": data.title, "identifier": document_id, "uri": document_uri}

    by_key = {item.key: item for item in data.items}
    item_id = {
        item.key: item.identifier or _derived_id(document_id, "CFItem", item.key)
        for item in data.items
    }

    def node(key: str, *, title: str = "", uri: str = "") -> dict:
        if key in by_key:
            item = by_key[key]
            return {
                "title": item.abbreviated_statement or item.full_statement,
                "identifier": item_id[key],
                "uri": item.uri or f"{base}/CFItems/{item_id[key]}",
            }
        if key == document_id:
            return dict(document_link)
        return {
            "title": title,
            "identifier": key,
            "uri": uri or (f"{base}/CFItems/{key}" if _is_uuid(key) else ""),
        }

    def association(identifier, kind, origin, destination, sequence_number=None, notes=""):
        return _drop_empty(
            {
                "identifier": identifier,
                "associationType": kind,
                "uri": f"{base}/CFAssociations/{identifier}",
                "originNodeURI": origin,
                "destinationNodeURI": destination,
                "sequenceNumber": sequence_number,
                "notes": notes,
                "lastChangeDateTime": changed,
            }
        )

    # Siblings in order, numbered from 1 as CASE publishers do.
    siblings: dict[str | None, list[ItemData]] = defaultdict(list)
    for item in data.items:
        parent = item.parent_key if item.parent_key in by_key else None
        siblings[parent].append(item)
    rank = {}
    for group in siblings.values():
        for position, item in enumerate(sorted(group, key=lambda i: i.order), start=1):
            rank[item.key] = position

    kinds = [kind for kind in KIND_TITLES if any(item.kind == kind for item in data.items)]
    kinds += sorted({item.kind for item in data.items} - set(KIND_TITLES))
    type_links = {}
    item_types = []
    for hierarchy, kind in enumerate(kinds, start=1):
        identifier = _derived_id("CFItemType", kind)
        title = KIND_TITLES.get(kind, str(kind).capitalize())
        type_links[kind] = {
            "title": title,
            "identifier": identifier,
            "uri": f"{base}/CFItemTypes/{identifier}",
        }
        item_types.append(
            {
                **type_links[kind],
                "description": KIND_DESCRIPTIONS.get(kind, title),
                "hierarchyCode": str(hierarchy),
                "typeCode": str(kind),
                "lastChangeDateTime": changed,
            }
        )

    items = []
    for item in data.items:
        extensions = {}
        if item.rule_type:
            extensions["ruleType"] = item.rule_type
        if item.rule_config:
            extensions["ruleConfig"] = item.rule_config
        if item.evidence_rule:
            extensions["evidenceRule"] = item.evidence_rule
        items.append(
            _drop_empty(
                {
                    "identifier": item_id[item.key],
                    "uri": item.uri or f"{base}/CFItems/{item_id[item.key]}",
                    "fullStatement": item.full_statement,
                    "CFItemType": type_links[item.kind]["title"],
                    "CFItemTypeURI": type_links[item.kind],
                    "humanCodingScheme": item.code,
                    "listEnumeration": str(rank[item.key]),
                    "abbreviatedStatement": item.abbreviated_statement,
                    "notes": item.notes,
                    "language": item.language,
                    "lastChangeDateTime": changed,
                    "extensions": extensions,
                }
            )
        )

    associations = []
    for item in data.items:
        parent = item.parent_key if item.parent_key in by_key else None
        parent_id = item_id[parent] if parent is not None else document_id
        associations.append(
            association(
                _derived_id("isChildOf", item_id[item.key], parent_id),
                "isChildOf",
                node(item.key),
                node(parent) if parent is not None else dict(document_link),
                sequence_number=rank[item.key],
            )
        )
    links = set()
    for link in data.associations:
        origin_id = item_id.get(link.origin_key, link.origin_key)
        destination_id = item_id.get(link.destination_key, link.destination_key)
        links.add((link.association_type, origin_id, destination_id))
        associations.append(
            association(
                link.identifier or _derived_id(link.association_type, origin_id, destination_id),
                link.association_type,
                node(link.origin_key),
                node(link.destination_key, title=link.destination_title, uri=link.destination_uri),
                sequence_number=link.sequence_number,
                notes=link.notes,
            )
        )
    for item in data.items:
        previous = item.previous_identifier
        if previous and ("replacedBy", previous, item_id[item.key]) not in links:
            associations.append(
                association(
                    _derived_id("replacedBy", previous, item_id[item.key]),
                    "replacedBy",
                    node(previous),
                    node(item.key),
                )
            )

    document = _drop_empty(
        {
            "identifier": document_id,
            "uri": document_uri,
            "creator": data.creator,
            "title": data.title,
            "lastChangeDateTime": changed,
            "caseVersion": "1.1",
            "version": data.version,
            "language": data.language,
            "description": data.description,
            "publisher": data.publisher,
            "officialSourceURL": data.official_source_url,
            "adoptionStatus": ADOPTION_STATUS.get(data.status, "Draft"),
            "extensions": {
                **({"humanCodingScheme": data.code} if data.code else {}),
                **(
                    {"evidenceRule": data.evidence_rule}
                    if data.evidence_rule and data.evidence_rule != EvidenceRule.ANY
                    else {}
                ),
            },
        }
    )
    document["creator"] = data.creator  # required, even when empty
    definitions: dict = {"CFItemTypes": item_types}
    if data.licence or data.licence_uri:
        licence_id = _derived_id("CFLicense", data.licence_uri or data.licence)
        licence_link = {
            "title": data.licence or data.licence_uri,
            "identifier": licence_id,
            "uri": data.licence_uri or f"{base}/CFLicenses/{licence_id}",
        }
        document["licenseURI"] = licence_link
        definitions["CFLicenses"] = [
            {
                **licence_link,
                "licenseText": data.licence_uri or data.licence,
                "lastChangeDateTime": changed,
            }
        ]

    package = {
        "CFDocument": document,
        "CFItems": items,
        "CFAssociations": associations,
        "CFDefinitions": _drop_empty(definitions),
    }
    if data.levels:
        package["CFRubrics"] = [_rubric(data, base, document_id, changed)]
    return package


def _rubric(data: FrameworkData, base: str, document_id: str, changed: str) -> dict:
    rubric_id = _derived_id(document_id, "CFRubric")
    criterion_id = _derived_id(document_id, "CFRubricCriterion")
    levels = []
    for position, level in enumerate(data.levels, start=1):
        identifier = level.identifier or _derived_id(document_id, "level", level.name)
        extension = {"proficient": level.is_proficient}
        if level.code:
            extension["code"] = level.code
        levels.append(
            _drop_empty(
                {
                    "identifier": identifier,
                    "uri": f"{base}/CFRubricCriterionLevels/{identifier}",
                    "quality": level.name,
                    "description": level.description,
                    "score": position,
                    "position": position,
                    "rubricCriterionId": criterion_id,
                    "lastChangeDateTime": changed,
                    "extensions": [extension],
                }
            )
        )
    return {
        "identifier": rubric_id,
        "uri": f"{base}/CFRubrics/{rubric_id}",
        "title": f"{data.title}: proficiency scale",
        "description": "The levels of proficiency, lowest first. The level marked "
        '"proficient" in its extensions is the lowest at which a learner counts as competent.',
        "lastChangeDateTime": changed,
        "CFRubricCriteria": [
            {
                "identifier": criterion_id,
                "uri": f"{base}/CFRubricCriteria/{criterion_id}",
                "category": "Proficiency",
                "position": 1,
                "rubricId": rubric_id,
                "lastChangeDateTime": changed,
                "CFRubricCriterionLevels": levels,
            }
        ],
    }
