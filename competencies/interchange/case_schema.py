"""The official CASE 1.1 CFPackage JSON Schema, and a person's sentence for each of its errors.

Imports validate against the official schema with one difference: what a record can do without
(its ``uri``, its ``lastChangeDateTime``, a link's ``title``…) is optional, because a record
without them still means what it says (the export gives it a URI on this server and a date).
Exports are checked against the schema as published, in the tests.

The ``uuid``, ``date`` and ``date-time`` formats are enforced (date-times as ISO 8601, with or
without a time zone). Every problem is reported with its place in CASE terms, e.g.
``CFItems[3]: fullStatement is required``.
"""

import copy
import json
import uuid
from datetime import date, datetime
from functools import cache
from pathlib import Path

import jsonschema

SCHEMA_PATH = Path(__file__).parent.parent / "standards" / "case-v1p1-cfpackage.schema.json"

#: What an import does without, per schema definition: nothing of the record's meaning is lost.
OPTIONAL_ON_IMPORT = {
    "CFPckgDocument": {"uri", "creator", "lastChangeDateTime"},
    "CFPckgItem": {"uri", "lastChangeDateTime"},
    "CFPckgAssociation": {"uri", "lastChangeDateTime"},
    "CFItemType": {"uri", "description", "hierarchyCode", "lastChangeDateTime"},
    "CFLicense": {"uri", "lastChangeDateTime"},
    "CFConcept": {"uri", "hierarchyCode", "lastChangeDateTime"},
    "CFSubject": {"uri", "hierarchyCode", "lastChangeDateTime"},
    "CFAssociationGrouping": {"uri", "lastChangeDateTime"},
    "CFRubric": {"uri", "lastChangeDateTime"},
    "CFRubricCriterion": {"uri", "lastChangeDateTime"},
    "CFRubricCriterionLevel": {"uri", "lastChangeDateTime"},
    "LinkURI": {"title", "uri"},
    "LinkGenURI": {"title", "uri"},
}


@cache
def official_schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def definitions() -> dict:
    """The schema's record definitions by name (``CFPckgItem``, ``LinkURI``…)."""
    return official_schema()["$defs"]


@cache
def import_validator() -> jsonschema.Draft201909Validator:
    schema = copy.deepcopy(official_schema())
    for name, optional in OPTIONAL_ON_IMPORT.items():
        record = schema["$defs"][name]
        record["required"] = [field for field in record["required"] if field not in optional]
    checker = jsonschema.FormatChecker(formats=())
    checker.checks("uuid")(_is_uuid_format)
    checker.checks("date")(_is_date)
    checker.checks("date-time")(_is_date_time)
    return jsonschema.Draft201909Validator(schema, format_checker=checker)


def _is_uuid_format(value) -> bool:
    if not isinstance(value, str):
        return True
    return len(value) == 36 and all(value[i] == "-" for i in (8, 13, 18, 23)) and is_uuid(value)


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
    return parse_date_time(value) is not None


def parse_date_time(value: str) -> datetime | None:
    """An ISO 8601 date and time (``Z``, an offset or no zone), or None."""
    if len(value) < 16 or value[10] not in "Tt ":
        return None
    try:
        return datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        return None


def is_uuid(value) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


# --- Messages -----------------------------------------------------------------------------

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


def json_type(value) -> str:
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


def place_of(path) -> str:
    place = ""
    for part in path:
        place += f"[{part}]" if isinstance(part, int) else (f".{part}" if place else str(part))
    return place or "CFPackage"


def short(value) -> str:
    if isinstance(value, str):
        return repr(value if len(value) <= 60 else value[:60] + "…")
    text = json.dumps(value, ensure_ascii=False, default=str)[:200]
    return text if len(text) <= 60 else text[:60] + "…"


def _path_sort_key(path) -> tuple:
    return tuple((0, part, "") if isinstance(part, int) else (1, 0, str(part)) for part in path)


def schema_errors(package: dict) -> list[str]:
    """Every schema problem of ``package``, in file order, each once."""
    errors: list[str] = []
    seen: set[str] = set()
    found = sorted(import_validator().iter_errors(package), key=lambda e: _path_sort_key(e.path))
    for error in found:
        for message in _describe(error):
            if message not in seen:
                seen.add(message)
                errors.append(message)
    return errors


def _describe(error: jsonschema.ValidationError) -> list[str]:
    """A person's sentence for one schema error, with its place in the package."""
    place = place_of(error.absolute_path)
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
        return [f"{place}: must be {wanted}, not {json_type(instance)}"]
    if kind == "format":
        wanted = _FORMATS.get(error.validator_value, error.validator_value)
        return [f"{place}: {short(instance)} is not a valid {wanted}"]
    if kind == "enum":
        allowed = ", ".join(short(value) for value in error.validator_value)
        return [f"{place}: {short(instance)} is not allowed here (allowed: {allowed})"]
    if kind == "oneOf":
        return [_describe_choice(place, error)]
    message = error.message if len(error.message) <= 200 else error.message[:200] + "…"
    return [f"{place}: {message}"]


def _describe_choice(place: str, error: jsonschema.ValidationError) -> str:
    last = error.absolute_path[-1] if error.absolute_path else ""
    if last == "associationType":
        return f"{place}: {short(error.instance)} is not a valid association type"
    if last == "targetType":
        return (
            f"{place}: {short(error.instance)} is not a valid target type "
            "(use 'CASE' or 'ext:' and a name)"
        )
    return f"{place}: {short(error.instance)} is not valid here"
