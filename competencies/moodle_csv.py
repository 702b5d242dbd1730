"""Moodle's competency-framework CSV (admin tool ``tool_lpimportcsv``), both ways.

One header row with Moodle's 14 columns (:data:`MOODLE_HEADERS`, matched by name, so their
order does not matter), one framework row (``Is framework`` = 1) and one row per competency.
Rows are numbered as a spreadsheet shows them: the header is row 1.

What maps to what:

* Framework row: ``ID number`` → code, ``Short name`` → title, ``Description`` →
  description, ``Scale values`` (lowest first) + ``Scale configuration`` → the scale (Moodle may
  mark several levels proficient; the lowest of them becomes our proficient level),
  ``Taxonomy`` (one word per depth) → each item's kind: ``domain`` → domain, ``indicator`` and
  ``behaviour`` → indicator, every other Moodle word → competency.
* Competency rows: ``ID number`` → key and code, ``Parent ID number`` → parent, ``Description``
  → statement, ``Short name`` → short name (empty when it only repeats or shortens the
  description), file order → order among siblings, ``Rule type`` → rule (``all`` or ``points``),
  ``Cross-referenced competency ID numbers`` → ``isRelatedTo`` associations (one per pair:
  Moodle's related competencies are symmetric).
* Descriptions in format 1 (HTML) or 0 (Moodle auto-format) become plain text (tags dropped,
  entities decoded, ``<br>`` and paragraphs kept as line breaks); formats 2 (plain) and 4
  (Markdown) are kept as they are.
* A points rule's ``Rule config`` names the children by Moodle's competency ids (the
  ``Exported ID`` column; an ID number is accepted too); we keep the rule with each child named
  by its ID number instead, since Moodle's ids mean nothing here:
  ``{"base": {"points": 2}, "competencies": [{"id": "PP.1.1.a", "points": 1, "required": 1}]}``.
  The exporter turns them back into exported ids.

Not kept on import: ``Rule outcome`` (our rules always attain the parent; exported as 2,
"complete the competency"), a competency's own scale (Moodle lets one competency override the
framework's scale), and scale defaults (exported on our proficient level: the grade Moodle
gives when a rule completes a competency). Not representable on export: associations other
than ``isRelatedTo`` between two items of the framework (crosswalks, ``precedes``, …), level
codes and descriptions, mixed kinds at one depth (the most common kind of each depth is
written), kinds deeper than six levels (Moodle holds six taxonomy levels), runs of spaces and
tabs inside statements (written as HTML, where they collapse), a framework without a scale
(Moodle refuses it), commas in level names (Moodle's scale values are comma-separated:
written as ";"), and evidence rules (the framework's and items' ``evidence_rule``: Moodle's
CSV has no column for them, its rules are about parents only; an import gets "any evidence",
CASE JSON carries them).

People open this file in spreadsheets, so the export writes a text cell beginning with ``=``,
``+``, ``-``, ``@``, a tab or a carriage return with an apostrophe in front (see
:mod:`lms.spreadsheets`: a spreadsheet would read it as a formula), and the import removes
exactly that apostrophe again, so that an export imported again is unchanged.
"""

import csv
import dataclasses
import html
import io
import json
import re
from collections import Counter, defaultdict
from html.parser import HTMLParser

from competencies.interchange import (
    AssociationData,
    FrameworkData,
    FrameworkFileError,
    ItemData,
    LevelData,
    decode_text,
)
from competencies.models import CompetencyItem, Framework, ScaleLevel
from lms.spreadsheets import csv_write_rows, spreadsheet_cell_restore

PARENT = "Parent ID number"
ID_NUMBER = "ID number"
SHORT_NAME = "Short name"
DESCRIPTION = "Description"
DESCRIPTION_FORMAT = "Description format"
SCALE_VALUES = "Scale values"
SCALE_CONFIGURATION = "Scale configuration"
RULE_TYPE = "Rule type (optional)"
RULE_OUTCOME = "Rule outcome (optional)"
RULE_CONFIG = "Rule config (optional)"
CROSS_REFERENCES = "Cross-referenced competency ID numbers"
EXPORTED_ID = "Exported ID (optional)"
IS_FRAMEWORK = "Is framework"
TAXONOMY = "Taxonomy"

#: The columns of Moodle's framework CSV, in the order Moodle writes them.
MOODLE_HEADERS = [
    PARENT,
    ID_NUMBER,
    SHORT_NAME,
    DESCRIPTION,
    DESCRIPTION_FORMAT,
    SCALE_VALUES,
    SCALE_CONFIGURATION,
    RULE_TYPE,
    RULE_OUTCOME,
    RULE_CONFIG,
    CROSS_REFERENCES,
    EXPORTED_ID,
    IS_FRAMEWORK,
    TAXONOMY,
]

RULE_ALL = "core_competency\\competency_rule_all"
RULE_POINTS = "core_competency\\competency_rule_points"
_RULE_TYPES = {RULE_ALL.lower(): "all", RULE_POINTS.lower(): "points"}
_RULE_CLASSES = {"all": RULE_ALL, "points": RULE_POINTS}
#: Moodle's rule outcome "complete the competency": what our rules mean.
OUTCOME_COMPLETE = "2"

#: Moodle's taxonomy words and the kind each becomes here.
TAXONOMY_KINDS = {
    "behaviour": "indicator",
    "competency": "competency",
    "concept": "competency",
    "domain": "domain",
    "indicator": "indicator",
    "level": "competency",
    "outcome": "competency",
    "practice": "competency",
    "proficiency": "competency",
    "skill": "competency",
    "value": "competency",
}
MAX_TAXONOMY_LEVELS = 6  # Moodle refuses more

FORMAT_MOODLE, FORMAT_HTML, FORMAT_PLAIN, FORMAT_MARKDOWN = "0", "1", "2", "4"
_FORMATS = {FORMAT_MOODLE, FORMAT_HTML, FORMAT_PLAIN, FORMAT_MARKDOWN}

# Field sizes of our tables, checked here so a file never reaches the database with a value
# it cannot hold.
MAX_ITEM_CODE = CompetencyItem._meta.get_field("code").max_length
MAX_FRAMEWORK_CODE = Framework._meta.get_field("code").max_length
MAX_TITLE = Framework._meta.get_field("title").max_length
MAX_SHORT_NAME = CompetencyItem._meta.get_field("abbreviated_statement").max_length
MAX_LEVEL_NAME = ScaleLevel._meta.get_field("name").max_length
MAX_LEVELS = 1000
#: Moodle shortens longer short names on import.
MOODLE_SHORT_NAME_LENGTH = 100

_TRUE = {"1", "true", "yes"}
_FALSE = {"", "0", "false", "no"}


# --- import -------------------------------------------------------------------------------


@dataclasses.dataclass
class _Row:
    number: int
    item: ItemData
    rule_config: str = ""
    references: list[str] = dataclasses.field(default_factory=list)


def parse_moodle_csv(data: bytes) -> FrameworkData:
    """Read a Moodle competency-framework CSV into :class:`FrameworkData`.

    Raises :class:`FrameworkFileError` listing every problem found, each with its row; the
    file is also checked for what :func:`competencies.services.framework_import` would refuse
    (duplicate ID numbers, missing parents, cycles) so that one attempt reports everything.
    """
    text = decode_text(data, what="CSV")
    if "\x00" in text:
        raise FrameworkFileError(
            [
                f"The CSV file contains a NUL character (character {text.index(chr(0)) + 1}): "
                "it is not a text file. Save it as CSV (UTF-8) and try again."
            ]
        )
    records = _read_records(text)
    header_number, header = next(
        ((n, r) for n, r in records if any(cell.strip() for cell in r)), (1, [])
    )
    columns = _header_columns(header, header_number)

    errors: list[str] = []
    framework: FrameworkData | None = None
    framework_row = 0
    scale_ok = True
    taxonomy: list[str] = []
    rows: list[_Row] = []
    exported_ids: dict[str, _Row] = {}

    for number, record in records:
        if number <= header_number or not any(cell.strip() for cell in record):
            continue
        if len(record) != len(MOODLE_HEADERS):
            errors.append(
                f"row {number}: expected {len(MOODLE_HEADERS)} columns, found {len(record)}"
            )
            continue
        cells = {
            name: spreadsheet_cell_restore(record[index]).strip() for name, index in columns.items()
        }
        place = f"row {number}"
        flag = cells[IS_FRAMEWORK].lower()
        if flag not in _TRUE | _FALSE:
            errors.append(
                f"{place}: Is framework must be 1 (the framework row) or empty, "
                f"found '{cells[IS_FRAMEWORK]}'"
            )
            continue
        description, problem = _description_text(cells[DESCRIPTION], cells[DESCRIPTION_FORMAT])
        if problem:
            errors.append(f"{place}: {problem}")
        if flag in _TRUE:
            if framework is not None:
                errors.append(
                    f"{place}: a second framework row (the first is row {framework_row}); "
                    "a file holds one framework"
                )
                continue
            framework_row = number
            framework = FrameworkData(
                title=cells[SHORT_NAME],
                code=cells[ID_NUMBER],
                description=description,
                place=place,
            )
            errors.extend(_check_length(place, "ID number", framework.code, MAX_FRAMEWORK_CODE))
            errors.extend(_check_length(place, "Short name", framework.title, MAX_TITLE))
            levels, scale_errors = _parse_scale(
                cells[SCALE_VALUES], cells[SCALE_CONFIGURATION], place
            )
            framework.levels = levels
            scale_ok = not scale_errors
            errors.extend(scale_errors)
            taxonomy = [word.strip().lower() for word in cells[TAXONOMY].split(",")]
            continue

        row, row_errors = _competency_row(number, cells, description)
        errors.extend(row_errors)
        if row is None:
            continue
        rows.append(row)
        exported = cells[EXPORTED_ID]
        if exported:
            if exported in exported_ids:
                errors.append(
                    f"{place}: Exported ID '{exported}' appears twice "
                    f"(also row {exported_ids[exported].number})"
                )
            else:
                exported_ids[exported] = row

    if framework is None:
        errors.append(
            "The file has no framework row: one row must have Is framework = 1 and the "
            "framework's ID number, Short name, scale and taxonomy."
        )
        framework = FrameworkData(title="", place="the file")

    items = [row.item for row in rows]
    by_key: dict[str, _Row] = {}
    for row in rows:
        by_key.setdefault(row.item.key, row)
    _set_order_and_kinds(items, taxonomy)
    for row in rows:
        if row.item.rule_type == "points":
            config, config_errors = _points_config(row, by_key, exported_ids)
            row.item.rule_config = config
            errors.extend(config_errors)
    associations, reference_errors = _cross_references(rows, by_key)
    errors.extend(reference_errors)

    framework.items = items
    framework.associations = associations
    if errors:
        errors.extend(
            _file_wide_problems(framework, scale_ok=scale_ok, has_row=bool(framework_row))
        )
        raise FrameworkFileError(_by_row(errors))
    return framework


def _read_records(text: str) -> list[tuple[int, list[str]]]:
    first_line = text.split("\n", 1)[0]
    delimiter = next(
        (d for d in (",", ";", "\t") if len(first_line.split(d)) == len(MOODLE_HEADERS)), ","
    )
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    records: list[tuple[int, list[str]]] = []
    try:
        for number, record in enumerate(reader, start=1):
            records.append((number, [cell.replace("\r\n", "\n") for cell in record]))
    except csv.Error as error:
        raise FrameworkFileError(
            [f"row {len(records) + 1}: the CSV file cannot be read ({error})"]
        ) from None
    return records


def _header_columns(header: list[str], number: int) -> dict[str, int]:
    names = [cell.strip() for cell in header]
    missing = [name for name in MOODLE_HEADERS if name not in names]
    unexpected = [name for name in names if name not in MOODLE_HEADERS]
    repeated = sorted({name for name in names if name in MOODLE_HEADERS and names.count(name) > 1})
    if missing or unexpected or repeated:
        problems = []
        if missing:
            problems.append("missing " + ", ".join(f"'{name}'" for name in missing))
        if unexpected:
            problems.append("unexpected " + ", ".join(f"'{name}'" for name in unexpected))
        if repeated:
            problems.append("repeated " + ", ".join(f"'{name}'" for name in repeated))
        raise FrameworkFileError(
            [
                f"row {number}: the header row must be Moodle's {len(MOODLE_HEADERS)} columns "
                f"({', '.join(MOODLE_HEADERS)}): " + "; ".join(problems)
            ]
        )
    return {name: names.index(name) for name in MOODLE_HEADERS}


def _check_length(place: str, column: str, value: str, limit: int) -> list[str]:
    if len(value) > limit:
        return [f"{place}: {column} is {len(value)} characters long; the limit is {limit}"]
    return []


def _competency_row(
    number: int, cells: dict[str, str], description: str
) -> tuple[_Row | None, list[str]]:
    place = f"row {number}"
    errors: list[str] = []
    id_number = cells[ID_NUMBER]
    if not id_number:
        return None, [f"{place}: ID number is required"]
    errors.extend(_check_length(place, "ID number", id_number, MAX_ITEM_CODE))

    short = cells[SHORT_NAME]
    if not description:
        full, abbreviated = short, ""
    elif not short or _same_text(short, description) or _is_shortened(short, description):
        full, abbreviated = description, ""
    else:
        full, abbreviated = description, short
    if not full:
        errors.append(f"{place}: Short name and Description are both empty")
    errors.extend(_check_length(place, "Short name", abbreviated, MAX_SHORT_NAME))

    rule_type = ""
    rule_class = cells[RULE_TYPE].replace("\\\\", "\\").lstrip("\\").lower()
    if rule_class:
        rule_type = _RULE_TYPES.get(rule_class, "")
        if not rule_type:
            errors.append(
                f"{place}: rule type '{cells[RULE_TYPE]}' is not one this service knows "
                f"({RULE_ALL} or {RULE_POINTS})"
            )

    item = ItemData(
        key=id_number,
        code=id_number,
        full_statement=full,
        abbreviated_statement=abbreviated,
        place=place,
        parent_key=cells[PARENT] or None,
        parent_label="parent ID number",
        rule_type=rule_type,
    )
    references = [
        reference.strip().replace("%2C", ",")
        for reference in cells[CROSS_REFERENCES].split(",")
        if reference.strip()
    ]
    return _Row(number, item, cells[RULE_CONFIG], references), errors


def _same_text(a: str, b: str) -> bool:
    return " ".join(a.split()) == " ".join(b.split())


def _is_shortened(short: str, description: str) -> bool:
    """Whether ``short`` is ``description`` cut short with an ellipsis (as Moodle does)."""
    short = " ".join(short.split())
    for ellipsis in ("...", "…"):
        if short.endswith(ellipsis):
            stem = short[: -len(ellipsis)].rstrip()
            full = " ".join(description.split())
            return bool(stem) and len(full) > len(stem) and full.startswith(stem)
    return False


def _parse_scale(values: str, configuration: str, place: str) -> tuple[list[LevelData], list[str]]:
    if not values and not configuration:
        return [], []
    if not values:
        return [], [f"{place}: Scale configuration is given but Scale values is empty"]
    names = [name.strip() for name in values.split(",")]
    errors: list[str] = []
    if len(names) > MAX_LEVELS:
        return [], [f"{place}: the scale has {len(names)} values; the limit is {MAX_LEVELS}"]
    for name in names:
        if len(name) > MAX_LEVEL_NAME:
            errors.append(
                f"{place}: the scale value '{name[:30]}…' is {len(name)} characters long; "
                f"the limit is {MAX_LEVEL_NAME}"
            )
    if not configuration:
        return [], [
            f"{place}: Scale configuration is empty; it must say which scale values are "
            'proficient, e.g. [{"scaleid":"1"},{"id":2,"scaledefault":1,"proficient":1}]'
        ]
    try:
        entries = json.loads(configuration)
    except (ValueError, RecursionError):
        return [], [f"{place}: Scale configuration is not valid JSON"]
    if not isinstance(entries, list):
        return [], [f"{place}: Scale configuration must be a JSON list"]
    proficient: set[int] = set()
    for entry in entries:
        if not isinstance(entry, dict):
            errors.append(f"{place}: Scale configuration has an entry that is not an object")
            continue
        if "id" not in entry:
            continue  # the first entry names Moodle's scale: {"scaleid": "2"}
        position = _as_int(entry["id"])
        if position is None or not 1 <= position <= len(names):
            errors.append(
                f"{place}: Scale configuration refers to value {json.dumps(entry['id'])[:30]}, "
                f"but Scale values has {len(names)} values (numbered from 1)"
            )
            continue
        if _as_flag(entry.get("proficient", 0)):
            proficient.add(position)
    if not proficient and not errors:
        errors.append(f"{place}: Scale configuration marks no scale value as proficient")
    lowest = min(proficient) if proficient else None
    levels = [
        LevelData(name=name, is_proficient=index == lowest)
        for index, name in enumerate(names, start=1)
    ]
    return levels, errors


def _as_int(value) -> int | None:
    """A whole number below a billion, as JSON or as digits in a string; else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if abs(value) < 10**9 else None
    if isinstance(value, str) and re.fullmatch(r"[0-9]{1,9}", value.strip()):
        return int(value.strip())
    return None


def _as_flag(value) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    if isinstance(value, str):
        return value.strip().lower() in _TRUE
    return False


def _set_order_and_kinds(items: list[ItemData], taxonomy: list[str]) -> None:
    by_key: dict[str, ItemData] = {}
    for item in items:
        by_key.setdefault(item.key, item)
    siblings: Counter = Counter()
    for item in items:
        item.order = siblings[item.parent_key]
        siblings[item.parent_key] += 1
    depths: dict[str, int] = {}
    for item in items:
        # Walk up to a known depth, a root, a missing parent or a cycle (reported elsewhere).
        path, current = [], item
        while current.key not in depths and current.key not in path:
            path.append(current.key)
            parent = by_key.get(current.parent_key) if current.parent_key else None
            if parent is None:
                break
            current = parent
        depth = depths.get(current.key, -1) if current.key not in path else -1
        for key in reversed(path):
            depth += 1
            depths[key] = depth
    for item in items:
        depth = depths.get(item.key, 0)
        word = taxonomy[depth] if depth < min(len(taxonomy), MAX_TAXONOMY_LEVELS) else ""
        item.kind = TAXONOMY_KINDS.get(word, "competency")


def _points_config(
    row: _Row, by_key: dict[str, _Row], exported_ids: dict[str, _Row]
) -> tuple[dict, list[str]]:
    place = f"row {row.number}"
    try:
        config = json.loads(row.rule_config or "null")
    except (ValueError, RecursionError):
        return {}, [f"{place}: Rule config is not valid JSON"]
    shape = (
        'it must look like {"base":{"points":2},"competencies":[{"id":12,"points":1,"required":0}]}'
    )
    if not isinstance(config, dict) or not isinstance(config.get("base"), dict):
        return {}, [f"{place}: Rule config of a points rule is missing; {shape}"]
    required_points = _as_int(config["base"].get("points"))
    competencies = config.get("competencies")
    if required_points is None or required_points < 1 or not isinstance(competencies, list):
        return {}, [f"{place}: Rule config of a points rule is incomplete; {shape}"]
    if not competencies:
        return {}, [f"{place}: Rule config of a points rule names no competencies"]
    errors: list[str] = []
    normalised, seen, total = [], set(), 0
    for entry in competencies:
        if not isinstance(entry, dict) or "id" not in entry:
            errors.append(f"{place}: Rule config has a competency without an id; {shape}")
            continue
        reference = str(entry["id"]).strip()
        target = exported_ids.get(reference) or by_key.get(reference)
        points = _as_int(entry.get("points"))
        if target is None:
            errors.append(
                f"{place}: Rule config refers to competency '{reference[:60]}', which is not in "
                "the file (neither an Exported ID nor an ID number)"
            )
            continue
        if target.item.parent_key != row.item.key:
            errors.append(
                f"{place}: Rule config refers to '{target.item.key}', which is not a child of "
                f"'{row.item.key}'"
            )
            continue
        if target.item.key in seen:
            errors.append(f"{place}: Rule config names '{target.item.key}' twice")
            continue
        if points is None or points < 0:
            errors.append(
                f"{place}: Rule config gives '{target.item.key}' no valid number of points"
            )
            continue
        seen.add(target.item.key)
        total += points
        normalised.append(
            {
                "id": target.item.key,
                "points": points,
                "required": int(_as_flag(entry.get("required", 0))),
            }
        )
    if not errors and total < required_points:
        errors.append(
            f"{place}: the rule needs {required_points} points but its competencies give only "
            f"{total}"
        )
    return {"base": {"points": required_points}, "competencies": normalised}, errors


def _cross_references(
    rows: list[_Row], by_key: dict[str, _Row]
) -> tuple[list[AssociationData], list[str]]:
    associations: list[AssociationData] = []
    errors: list[str] = []
    pairs: set[frozenset[str]] = set()
    for row in rows:
        for reference in row.references:
            place = f"row {row.number}"
            if reference == row.item.key:
                errors.append(f"{place}: '{reference}' is cross-referenced to itself")
                continue
            if reference not in by_key:
                errors.append(
                    f"{place}: cross-referenced ID number '{reference}' points at nothing in "
                    "the file"
                )
                continue
            pair = frozenset((row.item.key, reference))
            if pair in pairs:
                continue
            pairs.add(pair)
            associations.append(
                AssociationData(
                    association_type="isRelatedTo",
                    origin_key=row.item.key,
                    destination_key=reference,
                    place=place,
                    origin_label="ID number",
                    destination_label="cross-referenced ID number",
                    external_destination_allowed=False,
                )
            )
    return associations, errors


def _file_wide_problems(data: FrameworkData, *, scale_ok: bool, has_row: bool) -> list[str]:
    """What the import itself would refuse too, so that one attempt reports everything."""
    from competencies.services import _validate

    copy = dataclasses.replace(
        data,
        title=data.title if has_row else "-",
        levels=data.levels if scale_ok else [],
        identifier=None,
    )
    return _validate(copy)


def _by_row(errors: list[str]) -> list[str]:
    def row_of(message: str) -> int:
        match = re.match(r"row (\d+):", message)
        return int(match.group(1)) if match else 0

    unique = list(dict.fromkeys(errors))
    return sorted(unique, key=row_of)


class _TextOfHTML(HTMLParser):
    BLOCK = re.compile(
        r"p|div|li|ul|ol|table|tr|blockquote|pre|section|article|header|footer|d[ldt]|h[1-6]"
    )
    HIDDEN = {"script", "style"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag == "br":
            self.parts.append("\n")
        elif self.BLOCK.fullmatch(tag):
            self.parts.append("\n\n")
        elif tag in self.HIDDEN:
            self.hidden += 1

    def handle_endtag(self, tag):
        if self.BLOCK.fullmatch(tag):
            self.parts.append("\n\n")
        elif tag in self.HIDDEN:
            self.hidden = max(0, self.hidden - 1)

    def handle_data(self, data):
        if not self.hidden:
            self.parts.append(re.sub(r"\s+", " ", data))


def _html_to_text(value: str) -> str:
    parser = _TextOfHTML()
    try:
        parser.feed(value)
        parser.close()
        text = "".join(parser.parts)
    except Exception:  # html.parser gives up on some broken markup, e.g. "<![x["
        text = re.sub(r"(?is)<(script|style)\b.*?</\1\s*>", "", value)
        text = re.sub(r"\s+", " ", text)
        text = re.sub(r"(?i)<br\s*/?>", "\n", text)
        text = re.sub(r"(?i)</?(?:" + _TextOfHTML.BLOCK.pattern + r")\b[^>]*>", "\n\n", text)
        text = html.unescape(re.sub(r"<[^>]*>", "", text))
    text = re.sub(r"[ \t\xa0]{2,}", " ", text)
    text = re.sub(r"[ \t\xa0]*\n[ \t\xa0]*", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()


def _description_text(value: str, format: str) -> tuple[str, str]:
    """The description as plain text, and a problem with its format (or "")."""
    if format not in _FORMATS:
        return value, (
            f"Description format must be 0, 1, 2 or 4 (Moodle's auto-format, HTML, plain text, "
            f"Markdown), found '{format[:20]}'"
        )
    if format == FORMAT_HTML:
        return _html_to_text(value), ""
    if format == FORMAT_MOODLE and value:
        return _html_to_text(value.replace("\r\n", "\n").replace("\n", "<br>")), ""
    return value, ""


# --- export -------------------------------------------------------------------------------


def export_moodle_csv(data: FrameworkData) -> str:
    """Write ``data`` as a CSV that Moodle's "Import competency framework" accepts.

    Items come in tree order (parents before children, siblings in order). An item's ID
    number is its code, or its identifier when it has none. ``isRelatedTo`` associations
    whose two ends are items of this framework become cross-references on the origin's row;
    no other association type can be written in Moodle's CSV, and they are left out (so are
    the other losses listed in the module's docstring). Descriptions are written as HTML
    (format 1); Exported IDs are running numbers, which points rules refer to.
    """
    ordered = _tree_order(data.items)
    id_numbers = {item.key: item.code or item.identifier or item.key for item in data.items}
    exported = {item.key: number for number, (item, _) in enumerate(ordered, start=1)}
    children: dict[str, list[ItemData]] = defaultdict(list)
    for item in data.items:
        if item.parent_key is not None:
            children[item.parent_key].append(item)

    references: dict[str, list[str]] = defaultdict(list)
    pairs: set[frozenset[str]] = set()
    for association in data.associations:
        origin, destination = association.origin_key, association.destination_key
        if (
            association.association_type != "isRelatedTo"
            or origin not in id_numbers
            or destination not in id_numbers
            or origin == destination
            or frozenset((origin, destination)) in pairs
        ):
            continue
        pairs.add(frozenset((origin, destination)))
        references[origin].append(id_numbers[destination])

    rows = [MOODLE_HEADERS]
    rows.append(
        [
            "",
            data.code or data.identifier or "",
            data.title,
            _text_to_html(data.description),
            FORMAT_HTML,
            ",".join(level.name.strip().replace(",", ";") for level in data.levels),
            _scale_configuration(data.levels),
            "",
            "",
            "",
            "",
            "",
            "1",
            ",".join(_taxonomy(ordered)),
        ]
    )
    for item, _depth in ordered:
        rule_type, rule_config = _rule_columns(item, children.get(item.key, []), exported)
        rows.append(
            [
                id_numbers.get(item.parent_key, "") if item.parent_key else "",
                id_numbers[item.key],
                item.abbreviated_statement.strip() or _moodle_short_name(item.full_statement),
                _text_to_html(item.full_statement),
                FORMAT_HTML,
                "",
                "",
                rule_type,
                OUTCOME_COMPLETE if rule_type else "0",
                rule_config,
                ",".join(
                    reference.replace(",", "%2C") for reference in references.get(item.key, [])
                ),
                str(exported[item.key]),
                "",
                "",
            ]
        )
    out = io.StringIO()
    csv_write_rows(out, rows, lineterminator="\r\n")
    return out.getvalue()


def _tree_order(items: list[ItemData]) -> list[tuple[ItemData, int]]:
    keys = {item.key for item in items}
    children: dict[str | None, list[tuple[int, ItemData]]] = defaultdict(list)
    for index, item in enumerate(items):
        parent = item.parent_key if item.parent_key in keys else None
        children[parent].append((index, item))
    ordered: list[tuple[ItemData, int]] = []
    seen: set[int] = set()
    stack = [(item, 0) for _, item in sorted(children[None], key=lambda p: (p[1].order, p[0]))]
    stack.reverse()
    while stack:
        item, depth = stack.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        ordered.append((item, depth))
        below = sorted(children.get(item.key, []), key=lambda p: (p[1].order, p[0]))
        stack.extend((child, depth + 1) for _, child in reversed(below))
    # Items caught in a cycle are unreachable from the roots; keep them rather than lose them.
    ordered.extend((item, 0) for item in items if id(item) not in seen)
    return ordered


def _taxonomy(ordered: list[tuple[ItemData, int]]) -> list[str]:
    kinds: dict[int, Counter] = defaultdict(Counter)
    for item, depth in ordered:
        if depth < MAX_TAXONOMY_LEVELS:
            kinds[depth][item.kind] += 1
    words = {"domain": "domain", "indicator": "indicator"}
    return [
        words.get(kinds[depth].most_common(1)[0][0], "competency") for depth in range(len(kinds))
    ]


def _scale_configuration(levels: list[LevelData]) -> str:
    if not levels:
        return ""
    proficient_from = next(
        (index for index, level in enumerate(levels) if level.is_proficient), None
    )
    default = proficient_from if proficient_from is not None else 0
    entries: list[dict] = [{"scaleid": "0"}]  # Moodle puts its own scale's id here on import
    for index, _level in enumerate(levels):
        entries.append(
            {
                "id": index + 1,
                "scaledefault": int(index == default),
                "proficient": int(proficient_from is not None and index >= proficient_from),
            }
        )
    return json.dumps(entries, separators=(",", ":"))


def _rule_columns(
    item: ItemData, children: list[ItemData], exported: dict[str, int]
) -> tuple[str, str]:
    if item.rule_type == "all":
        return RULE_ALL, "null"
    if item.rule_type != "points":
        return "", "null"
    config = item.rule_config or {}
    lookup: dict[str, ItemData] = {}
    for child in children:
        for name in (child.code, child.identifier, child.key):
            if name:
                lookup.setdefault(str(name), child)
    entries = []
    for entry in config.get("competencies") or []:
        if not isinstance(entry, dict):
            continue
        child = lookup.get(str(entry.get("id", "")))
        if child is None or child.key not in exported:
            continue  # Moodle refuses a rule naming a competency that is not a child
        entries.append(
            {
                "id": exported[child.key],
                "points": _as_int(entry.get("points")) or 0,
                "required": int(_as_flag(entry.get("required", 0))),
            }
        )
    base = config.get("base") if isinstance(config.get("base"), dict) else {}
    points = _as_int(base.get("points"))
    if not entries or not points:
        return "", "null"
    return RULE_POINTS, json.dumps(
        {"base": {"points": points}, "competencies": entries}, separators=(",", ":")
    )


def _text_to_html(text: str) -> str:
    return html.escape(text.strip(), quote=False).replace("\r\n", "\n").replace("\n", "<br>")


def _moodle_short_name(statement: str) -> str:
    """A statement as a Moodle short name: one line, at most 100 characters."""
    text = " ".join(statement.split())
    if len(text) <= MOODLE_SHORT_NAME_LENGTH:
        return text
    cut = text[: MOODLE_SHORT_NAME_LENGTH - 3]
    if " " in cut:
        cut = cut[: cut.rfind(" ")]
    return cut.rstrip() + "..."
