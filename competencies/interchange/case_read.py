"""Reading a CASE CFPackage (1.1, and the 1.0-era files publishers still write).

:func:`parse_case_package` reads an uploaded package into :class:`FrameworkData`, which
:func:`competencies.interchange.importing.framework_import` then checks and writes, all or
nothing. How CASE maps onto frameworks here, and what an import normalises, is in the README
(Competency frameworks) and :mod:`competencies.interchange.case_write`.

A file is refused for what loses meaning: no identifier, a link to nothing, a cycle (see
:mod:`competencies.interchange.validation`), and for what the database cannot keep: text longer
than its field (a link's title is shortened instead), NUL characters, JSON nested deeper than
:data:`MAX_DEPTH`. Everything else is read as well as it can be
(:mod:`competencies.interchange.case_liberal`) and each such reading is in ``data.report``.
"""

import json

from competencies.interchange.case_common import (
    Reading,
    derived_id,
    max_length,
    moment,
    normalise_id,
)
from competencies.interchange.case_liberal import loosen
from competencies.interchange.case_read_links import read_associations
from competencies.interchange.case_schema import json_type, place_of, schema_errors, short
from competencies.interchange.data import (
    FrameworkData,
    FrameworkFileError,
    ItemData,
    ItemTypeData,
    LevelData,
    decode_text,
)
from competencies.models import (
    CompetencyItem,
    EvidenceRule,
    Framework,
    FrameworkStatus,
    ItemKind,
    ItemType,
    RuleType,
    ScaleLevel,
)

#: A package is about ten levels deep; extensions may add a few. Deeper JSON is refused
#: before validation, because the validator recurses and would run out of stack.
MAX_DEPTH = 64
_CANNOT_STORE = (
    "contains a NUL character (\\u0000) or an unpaired surrogate (\\ud800 to \\udfff), "
    "which cannot be stored"
)
#: The CASE fields our columns hold; a record's other 1.1 fields are kept as they are.
DOCUMENT_FIELDS = {
    "identifier",
    "uri",
    "title",
    "creator",
    "version",
    "language",
    "publisher",
    "description",
    "officialSourceURL",
    "adoptionStatus",
    "lastChangeDateTime",
    "caseVersion",
    "extensions",
}
ITEM_FIELDS = {
    "identifier",
    "uri",
    "fullStatement",
    "abbreviatedStatement",
    "humanCodingScheme",
    "notes",
    "language",
    "CFItemType",
    "CFItemTypeURI",
    "lastChangeDateTime",
    "extensions",
}


def parse_case_package(data: bytes) -> FrameworkData:
    """Read a CASE CFPackage; raise :class:`FrameworkFileError` with every problem found."""
    package = _load_json(decode_text(data, what="CASE JSON"))
    _require_package(package)
    errors = _unstorable_text(package)
    report = loosen(package)
    errors += schema_errors(package)
    if errors:
        raise FrameworkFileError(errors)
    reading = Reading(report=report)
    framework = _read(package, reading)
    if reading.errors:
        raise FrameworkFileError(reading.errors)
    framework.report = reading.report
    return framework


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


def _require_package(package) -> None:
    if not isinstance(package, dict):
        raise FrameworkFileError(
            [
                "The file is not a CASE CFPackage: it holds "
                f"{json_type(package)}, not an object with a CFDocument."
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


def _unstorable_text(package) -> list[str]:
    """Strings a database cannot keep (NUL characters, unpaired UTF-16 surrogates); refuses
    JSON nested deeper than MAX_DEPTH. Walks without recursion: any depth is safe."""
    errors = []
    stack = [((), package)]
    while stack:
        path, value = stack.pop()
        if len(path) > MAX_DEPTH:
            raise FrameworkFileError(
                [
                    "The file is not a CASE CFPackage: its JSON is nested more than "
                    f"{MAX_DEPTH} levels deep."
                ]
            )
        if isinstance(value, dict):
            for key, child in value.items():
                if not _storable(key):
                    errors.append(f"{place_of(path)}: a field name {_CANNOT_STORE}")
                stack.append(((*path, key), child))
        elif isinstance(value, list):
            stack.extend(((*path, index), child) for index, child in enumerate(value))
        elif isinstance(value, str) and not _storable(value):
            errors.append(f"{place_of(path)}: {_CANNOT_STORE}")
    return sorted(errors)


def _storable(text: str) -> bool:
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _read(package: dict, reading: Reading) -> FrameworkData:
    definitions = package.get("CFDefinitions", {})
    data = read_document(package["CFDocument"], definitions, reading)
    if package.get("extensions"):
        data.extensions = {**package["extensions"], **data.extensions}
        reading.report.append("CFPackage: its extensions are kept in the CFDocument's")
    types = read_item_types(definitions.get("CFItemTypes", []), reading)
    data.items = [
        read_item(
            record, f"CFItems[{index}]", document_id=data.identifier, types=types, reading=reading
        )
        for index, record in enumerate(package.get("CFItems", []))
    ]
    data.item_types = list(types.values())
    data.associations = read_associations(
        package.get("CFAssociations", []), data.items, document_id=data.identifier, reading=reading
    )
    data.levels = read_scale(package.get("CFRubrics", []), reading)
    data.case_definitions = {k: v for k, v in definitions.items() if k != "CFItemTypes"}
    return data


# --- The document -------------------------------------------------------------------------


def read_document(document: dict, definitions: dict, reading: Reading) -> FrameworkData:
    place = "CFDocument"
    extensions = dict(document.get("extensions", {}))
    code = extensions.pop("humanCodingScheme", "")
    if not isinstance(code, str):
        reading.errors.append(f"{place}.extensions.humanCodingScheme: must be text")
        code = ""
    elif len(code.strip()) > max_length(Framework, "code"):
        reading.errors.append(
            f"{place}.extensions.humanCodingScheme: longer than "
            f"{max_length(Framework, 'code')} characters"
        )
    licence, licence_uri = licence_of(
        document.get("licenseURI"), definitions.get("CFLicenses", []), reading
    )
    text = reading.text

    def column(name: str, field: str) -> str:
        return text(document, name, place, max_length(Framework, field))

    return FrameworkData(
        place=place,
        identifier=normalise_id(document["identifier"]),
        uri=column("uri", "uri"),
        title=column("title", "title"),
        creator=column("creator", "creator"),
        code=code.strip(),
        version=column("version", "version") or "1.0",
        language=column("language", "language") or "en",
        publisher=column("publisher", "publisher"),
        description=text(document, "description", place),
        licence=licence,
        licence_uri=licence_uri,
        official_source_url=column("officialSourceURL", "official_source_url"),
        status=FrameworkStatus.DRAFT,
        adoption_status=column("adoptionStatus", "adoption_status"),
        updated_at=moment(document.get("lastChangeDateTime")),
        evidence_rule=read_evidence_rule(extensions.pop("evidenceRule", None), place, reading)
        or EvidenceRule.ANY,
        case_attributes=reading.attributes(document, DOCUMENT_FIELDS),
        extensions=extensions,
    )


def licence_of(link: dict | None, records: list[dict], reading: Reading) -> tuple[str, str]:
    """(licence, licence URI) from a licenseURI link and its CFLicenses record."""
    if not link:
        return "", ""
    by_id = {normalise_id(record["identifier"]): record for record in records}
    record = by_id.get(normalise_id(link["identifier"]))
    title = ((record or link).get("title") or "").strip()
    uri = (link.get("uri") or "").strip()
    if "/CFLicenses/" in uri:  # the licence's record on a CASE server, not the licence
        text = (record or {}).get("licenseText", "").strip()
        uri = text if text.startswith(("http://", "https://")) and " " not in text else ""
    if title == uri:
        title = ""
    place = "CFDocument.licenseURI"
    for name, value, field in (("title", title, "licence"), ("uri", uri, "licence_uri")):
        if len(value) > max_length(Framework, field):
            reading.errors.append(
                f"{place}.{name}: longer than {max_length(Framework, field)} characters"
            )
    return title, uri


def read_evidence_rule(rule, place: str, reading: Reading) -> str:
    if rule is None or rule == "":
        return ""
    if not isinstance(rule, str) or rule not in EvidenceRule.values:
        reading.errors.append(
            f"{place}.extensions.evidenceRule: {short(rule)} is not a rule this service "
            f"knows ({', '.join(EvidenceRule.values)})"
        )
        return ""
    return rule


# --- Item types and items -----------------------------------------------------------------


def read_item_types(records: list[dict], reading: Reading) -> dict[str, ItemTypeData]:
    types: dict[str, ItemTypeData] = {}
    for index, record in enumerate(records):
        place = f"CFDefinitions.CFItemTypes[{index}]"

        def column(name: str, field: str, place=place, record=record) -> str:
            return reading.text(record, name, place, max_length(ItemType, field))

        identifier = normalise_id(record["identifier"])
        types.setdefault(
            identifier,
            ItemTypeData(
                identifier=identifier,
                title=column("title", "title"),
                uri=column("uri", "uri"),
                description=reading.text(record, "description", place),
                hierarchy_code=column("hierarchyCode", "hierarchy_code"),
                type_code=column("typeCode", "type_code"),
                extensions=record.get("extensions", {}),
                updated_at=moment(record.get("lastChangeDateTime")),
            ),
        )
    return types


def read_item(
    record: dict, place: str, *, document_id: str, types: dict, reading: Reading
) -> ItemData:
    key = normalise_id(record["identifier"])
    if key == document_id:
        reading.errors.append(f"{place}: identifier {key} is the CFDocument's own")
    full_statement = reading.text(record, "fullStatement", place)
    if not full_statement:
        reading.errors.append(f"{place}: fullStatement is empty")
    extensions = dict(record.get("extensions", {}))
    rule_type, rule_config = read_rule(extensions, place, reading)
    item_type = item_type_of(record, place, document_id=document_id, types=types, reading=reading)

    def column(name: str, field: str) -> str:
        return reading.text(record, name, place, max_length(CompetencyItem, field))

    kind = item_type.title.strip().lower() if item_type else ""
    # A repeated identifier is kept: validation reports it, with places.
    return ItemData(
        key=key,
        identifier=key,
        place=place,
        uri=column("uri", "uri"),
        code=column("humanCodingScheme", "code"),
        kind=kind if kind in ItemKind.values else ItemKind.COMPETENCY,
        full_statement=full_statement,
        abbreviated_statement=column("abbreviatedStatement", "abbreviated_statement"),
        notes=record.get("notes", ""),
        language=column("language", "language"),
        parent_label="isChildOf destination",
        rule_type=rule_type,
        rule_config=rule_config,
        evidence_rule=read_evidence_rule(extensions.pop("evidenceRule", None), place, reading),
        item_type=item_type.identifier if item_type else None,
        case_attributes=reading.attributes(record, ITEM_FIELDS),
        extensions=extensions,
        updated_at=moment(record.get("lastChangeDateTime")),
    )


def item_type_of(
    record: dict, place: str, *, document_id: str, types: dict, reading: Reading
) -> ItemTypeData | None:
    """The item's type: its CFItemTypeURI, else the defined type its CFItemType names. A type
    that is only linked or named is defined here, from what the item says of it."""
    link = record.get("CFItemTypeURI")
    name = (record.get("CFItemType") or "").strip()
    if link:
        identifier = normalise_id(link["identifier"])
        title = (link.get("title") or "").strip() or name
        uri = (link.get("uri") or "").strip()
    elif name:
        match = [t for t in types.values() if t.title.casefold() == name.casefold()]
        if match:
            return match[0]
        identifier, title, uri = derived_id(document_id, "CFItemType", name), name, ""
    else:
        return None
    if identifier not in types:
        if len(title) > max_length(ItemType, "title"):
            reading.errors.append(f"{place}.CFItemType: longer than 300 characters")
        types[identifier] = ItemTypeData(identifier=identifier, title=title or "?", uri=uri)
        reading.report.append(
            f"{place}: item type {short(title)} is not in CFDefinitions.CFItemTypes; "
            "it is defined from what the item says of it"
        )
    return types[identifier]


def read_rule(extensions: dict, place: str, reading: Reading) -> tuple[str, dict]:
    rule_type = extensions.pop("ruleType", "")
    rule_config = extensions.pop("ruleConfig", {})
    if rule_type not in RuleType.values:
        reading.errors.append(
            f"{place}.extensions.ruleType: {short(rule_type)} is not a rule this service "
            "knows (all, points)"
        )
        rule_type = ""
    if not isinstance(rule_config, dict):
        reading.errors.append(f"{place}.extensions.ruleConfig: must be an object")
        rule_config = {}
    return rule_type, rule_config


# --- The scale ----------------------------------------------------------------------------


def read_scale(rubrics: list[dict], reading: Reading) -> list[LevelData]:
    """The proficiency scale: the first CFRubric, when its levels say which are proficient.

    A rubric none of whose levels carries ``{"proficient": …}`` in its extensions is some
    other rubric: it is not read (and the report says so).
    """
    if not rubrics:
        return []
    criteria = rubrics[0].get("CFRubricCriteria", [])
    levels = [level for c in criteria for level in c.get("CFRubricCriterionLevels", [])]
    if not any(_marks(level) for level in levels):
        reading.report.append(
            "CFRubrics[0]: no level says whether it is proficient, so it is not read as the "
            "proficiency scale (choose one for the framework)"
        )
        return []
    if len(criteria) != 1:
        reading.errors.append(
            "CFRubrics[0]: the proficiency scale needs exactly one criterion "
            f"(found {len(criteria)})"
        )
        return []
    place = "CFRubrics[0].CFRubricCriteria[0]"
    records = list(enumerate(criteria[0].get("CFRubricCriterionLevels", [])))
    records.sort(
        key=lambda row: (row[1].get("position") is None, row[1].get("position") or 0, row[0])
    )
    levels = [
        _level(record, f"{place}.CFRubricCriterionLevels[{i}]", reading) for i, record in records
    ]
    _check_scale(levels, [i for i, _ in records], place, reading)
    return levels


def _marks(level: dict) -> list[dict]:
    return [e for e in level.get("extensions", []) if isinstance(e, dict) and "proficient" in e]


def _level(record: dict, place: str, reading: Reading) -> LevelData:
    extensions = [e for e in record.get("extensions", []) if isinstance(e, dict)]
    code = next((e["code"] for e in extensions if isinstance(e.get("code"), str)), "").strip()
    if len(code) > max_length(ScaleLevel, "code"):
        reading.errors.append(
            f"{place}.extensions: the code is longer than "
            f"{max_length(ScaleLevel, 'code')} characters"
        )
    return LevelData(
        name=reading.text(record, "quality", place, max_length(ScaleLevel, "name")),
        code=code,
        description=record.get("description", "") or record.get("feedback", ""),
        is_proficient=any(e.get("proficient") is True for e in extensions),
        identifier=normalise_id(record["identifier"]),
    )


def _check_scale(levels: list[LevelData], indexes: list[int], place: str, reading) -> None:
    """Names and identifiers once each, and one proficient level: the lowest marked (those
    above it count as proficient too, so a scale may mark several)."""
    seen: dict[str, int] = {}
    for level, index in zip(levels, indexes, strict=True):
        if level.identifier in seen:
            reading.errors.append(
                f"{place}.CFRubricCriterionLevels[{index}]: identifier {level.identifier} "
                f"appears twice (also CFRubricCriterionLevels[{seen[level.identifier]}])"
            )
        seen.setdefault(level.identifier, index)
    if len(levels) < 2:
        reading.errors.append(f"{place}: a proficiency scale needs at least two levels")
    if any(not level.name for level in levels):
        reading.errors.append(f"{place}: every level needs a name (its quality)")
    names = [level.name for level in levels]
    repeated = sorted({name for name in names if name and names.count(name) > 1})
    if repeated:
        reading.errors.append(f"{place}: level names appear twice: {', '.join(repeated)}")
    marked = [level for level in levels if level.is_proficient]
    if not marked:
        reading.errors.append(
            f"{place}: at least one level must be marked proficient, with "
            '"extensions": [{"proficient": true}]'
        )
    for level in marked[1:]:
        level.is_proficient = False
