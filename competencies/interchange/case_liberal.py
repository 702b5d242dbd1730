"""Reading CASE files as publishers write them, before the schema judges them.

Real packages carry CASE 1.0 fields (``CFDocumentURI`` on every record, ``CFPackageURI``,
``CFItemAssociationURI``, OpenSALT's ``educationalLevel``), tools' own fields, ``null`` for
"not given" and numbers written as text (``"sequenceNumber": "1"``). None of that changes what
the framework means, so :func:`loosen` rewrites it into CASE 1.1, in place, guided by the
official schema:

* ``null`` is an absent field;
* text where the schema wants a number is read as the number when it is one, a number where it
  wants text as its digits, and text where it wants a list of text as a one-item list;
* a field CASE 1.0 named differently is kept under its 1.1 name (``educationalLevel`` →
  ``educationLevel``, a comma-separated list);
* any other field CASE 1.1 does not define on a record is moved into the record's
  ``extensions`` (on a link, which has none, it is left out).

Each rewrite is reported once per kind of record and field, with how many records it touched
and the first place, for the import report. What would lose meaning (a record without an
identifier, a link to nothing, a cycle) is left for the schema and the reader to refuse.
"""

import re
from collections import defaultdict
from dataclasses import dataclass, field

from competencies.interchange.case_schema import definitions, official_schema, place_of

#: CASE 1.0 (or OpenSALT) spellings of CASE 1.1 fields, per schema definition.
RENAMED = {("CFPckgItem", "educationalLevel"): "educationLevel"}
_INTEGER = re.compile(r"\s*[+-]?\d{1,15}\s*")
_NUMBER = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*")


@dataclass
class _Report:
    """Rewrites by (what, field, how): how many records, and the first place."""

    counts: dict = field(default_factory=lambda: defaultdict(int))
    first: dict = field(default_factory=dict)

    def add(self, path: tuple, name: str, how: str) -> None:
        collection = ".".join(str(part) for part in path if not isinstance(part, int))
        key = (collection or "CFPackage", name, how)
        self.counts[key] += 1
        self.first.setdefault(key, place_of(path))

    def lines(self) -> list[str]:
        return [
            f"{collection}: {_HOW[how].format(name=name)} "
            f"({_records(self.counts[key])}, first {self.first[key]})"
            for key in self.counts
            for collection, name, how in [key]
        ]


_HOW = {
    "null": "'{name}' is null, read as absent",
    "number": "'{name}' is text, read as a number",
    "text": "'{name}' is a number, read as text",
    "list": "'{name}' is text, read as a list of one",
    "renamed": "'{name}' (CASE 1.0) kept as its CASE 1.1 field",
    "extension": "'{name}' is not a CASE 1.1 field, kept in the record's extensions",
    "dropped": "'{name}' is not a CASE 1.1 field of a link, left out",
}


def _records(count: int) -> str:
    return "1 record" if count == 1 else f"{count} records"


def loosen(package: dict) -> list[str]:
    """Rewrite ``package`` into CASE 1.1 where nothing of its meaning changes; the report."""
    report = _Report()
    _record(package, official_schema(), (), report)
    return report.lines()


def _definition(schema: dict) -> dict | None:
    reference = schema.get("$ref", "")
    return definitions().get(reference.rsplit("/", 1)[-1]) if reference else None


def _definition_name(schema: dict) -> str:
    return schema.get("$ref", "").rsplit("/", 1)[-1]


def _record(record: dict, schema: dict, path: tuple, report: _Report, name: str = "") -> None:
    properties = schema.get("properties", {})
    for key in list(record):
        value = record[key]
        if value is None:
            del record[key]
            report.add(path, key, "null")
        elif key in properties:
            if key != "extensions":
                record[key] = _value(value, properties[key], path, key, report)
        elif (name, key) in RENAMED and RENAMED[name, key] not in record:
            _rename(record, key, RENAMED[name, key], properties, path, report)
        elif "extensions" in properties:
            _move_to_extensions(record, key, path, report)
        else:
            del record[key]
            report.add(path, key, "dropped")


def _rename(record: dict, old: str, new: str, properties: dict, path: tuple, report) -> None:
    value = record.pop(old)
    if isinstance(value, str):  # OpenSALT writes a list as "KG,01,02"
        value = [part.strip() for part in value.split(",") if part.strip()]
    record[new] = _value(value, properties[new], path, new, report)
    report.add(path, old, "renamed")


def _move_to_extensions(record: dict, key: str, path: tuple, report: _Report) -> None:
    extensions = record.setdefault("extensions", {})
    if isinstance(extensions, dict) and key not in extensions:
        extensions[key] = record.pop(key)
    elif isinstance(extensions, list):  # a rubric level's extensions are a list of objects
        extensions.append({key: record.pop(key)})
    else:
        return  # left in place: the schema reports it
    report.add(path, key, "extension")


def _value(value, schema: dict, path: tuple, name: str, report: _Report):
    """``value`` of field ``name`` of the record at ``path``, as ``schema`` wants it if it can."""
    definition = _definition(schema)
    if definition is not None:
        if isinstance(value, dict):
            _record(value, definition, (*path, name), report, _definition_name(schema))
        return value
    kind = schema.get("type")
    if kind != "array":
        return _scalar(value, kind, path, name, report)
    items = schema.get("items", {})
    if isinstance(value, str) and items.get("type") == "string":
        report.add(path, name, "list")
        return [value]
    if not isinstance(value, list):
        return value
    if None in value:
        report.add(path, name, "null")
    return [
        _element(item, items, (*path, name, index), report)
        for index, item in enumerate(value)
        if item is not None
    ]


def _element(value, schema: dict, path: tuple, report: _Report):
    definition = _definition(schema)
    if definition is not None:
        if isinstance(value, dict):
            _record(value, definition, path, report, _definition_name(schema))
        return value
    return _scalar(value, schema.get("type"), path[:-2], path[-2], report)


def _scalar(value, kind, path: tuple, name: str, report: _Report):
    if kind == "integer" and isinstance(value, str) and _INTEGER.fullmatch(value):
        report.add(path, name, "number")
        return int(value)
    if kind == "number" and isinstance(value, str) and _NUMBER.fullmatch(value):
        report.add(path, name, "number")
        return int(value) if _INTEGER.fullmatch(value) else float(value)
    if kind == "string" and isinstance(value, int | float) and not isinstance(value, bool):
        report.add(path, name, "text")
        return str(value)
    return value
