"""Reading Moodle's competency-framework CSV (admin tool ``tool_lpimportcsv``).

One header row, one framework row (``Is framework`` = 1) and one row per competency, 14
columns each. Moodle reads the columns by position, whatever the header says, so files from
older versions ("Parent id number, Id number, Shortname, …") and from Moodle in other languages
import there; so they do here. A header of Moodle's English names in another order is read by
name. Only a file that cannot be Moodle's (not 14 columns) is refused for its header. Rows are
numbered as a spreadsheet shows them: the header is row 1.

What maps to what:

* Framework row: ``ID number`` → code, ``Short name`` → title, ``Description`` → description,
  ``Scale values`` (lowest first) + ``Scale configuration`` → the scale (the lowest value Moodle
  marks proficient is the proficient level, and every value above it counts as proficient),
  ``Taxonomy`` (one word per depth) → each item's kind: ``domain`` → domain, ``indicator`` and
  ``behaviour`` → indicator, every other Moodle word → competency.
* Competency rows: ``ID number`` → key and code, ``Parent ID number`` → parent, ``Description``
  → statement, ``Short name`` → short name (empty when it only repeats or shortens the
  description; both when there is no description), file order → order among siblings,
  ``Rule type`` → rule (``all`` or ``points``), ``Cross-referenced competency ID numbers`` →
  ``isRelatedTo`` associations (one per pair: Moodle's related competencies are symmetric).
* Descriptions in format 1 (HTML) keep their HTML, sanitised (:mod:`.markup`), next to their
  text; format 0 (Moodle auto-format) becomes text with line breaks; formats 2 (plain) and 4
  (Markdown) are kept as they are.
* A points rule's ``Rule config`` names the children by Moodle's competency ids (the
  ``Exported ID`` column; an ID number is accepted too); the rule is kept with each child named
  by its ID number, since Moodle's ids mean nothing here.

Not kept: ``Rule outcome`` (our rules always attain the parent), a competency's own scale,
Moodle's scale id and default value, and taxonomy words beyond what they mean here. A cell
beginning with an apostrophe followed by ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return loses the apostrophe (:mod:`lms.spreadsheets`: our export writes it so that
spreadsheets do not run the cell as a formula).
"""

import csv
import dataclasses
import io
import re

from competencies.interchange.data import FrameworkData, FrameworkFileError, ItemData, decode_text
from competencies.interchange.markup import html_to_text, sanitise_html
from competencies.interchange.moodle_columns import (
    CROSS_REFERENCES,
    DESCRIPTION,
    DESCRIPTION_FORMAT,
    EXPORTED_ID,
    FALSE,
    FORMAT_HTML,
    FORMAT_MOODLE,
    FORMATS,
    ID_NUMBER,
    IS_FRAMEWORK,
    MAX_FRAMEWORK_CODE,
    MAX_ITEM_CODE,
    MAX_SHORT_NAME,
    MAX_TITLE,
    MOODLE_HEADERS,
    PARENT,
    RULE_ALL,
    RULE_CONFIG,
    RULE_POINTS,
    RULE_TYPE,
    RULE_TYPES,
    SCALE_CONFIGURATION,
    SCALE_VALUES,
    SHORT_NAME,
    TAXONOMY,
    TRUE,
)
from competencies.interchange.moodle_values import (
    CompetencyRow,
    cross_references,
    parse_scale,
    points_config,
    set_order_and_kinds,
)
from competencies.interchange.validation import structure_errors
from lms.spreadsheets import spreadsheet_cell_restore


def parse_moodle_csv(data: bytes) -> FrameworkData:
    """Read a Moodle competency-framework CSV into :class:`FrameworkData`.

    Raises :class:`FrameworkFileError` listing every problem found, each with its row; the
    file is also checked for what the import would refuse (duplicate ID numbers, missing
    parents, cycles) so that one attempt reports everything.
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
    rows = _Rows(columns=_columns(header, header_number))
    for number, record in records:
        if number > header_number and any(cell.strip() for cell in record):
            rows.add(number, record)
    return rows.finish()


def _read_records(text: str) -> list[tuple[int, list[str]]]:
    delimiter = next((d for d in (",", ";", "\t") if _first_record_width(text, d) == 14), ",")
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


def _first_record_width(text: str, delimiter: str) -> int:
    try:
        return len(next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), []))
    except csv.Error:
        return 0


def _simple(name: str) -> str:
    return re.sub(r"[^a-z]", "", name.lower())


#: Moodle's English column names, today's and older spellings alike, by their position.
_ENGLISH = {_simple(name): index for index, name in enumerate(MOODLE_HEADERS)}


@dataclasses.dataclass
class _Columns:
    #: For each of Moodle's columns, in Moodle's order, its position in the file.
    positions: list[int]
    note: str = ""


def _columns(header: list[str], number: int) -> _Columns:
    """Where each of Moodle's columns is: by position, as Moodle reads them; by name when the
    header names Moodle's English columns in another order."""
    if len(header) != len(MOODLE_HEADERS):
        shown = ", ".join(f"'{cell.strip()[:30]}'" for cell in header[:16])
        raise FrameworkFileError(
            [
                f"row {number}: this is not a Moodle competency framework file: Moodle's has "
                f"{len(MOODLE_HEADERS)} columns ({', '.join(MOODLE_HEADERS)}), and this header "
                f"has {len(header)} ({shown})"
            ]
        )
    known = [_ENGLISH.get(_simple(cell)) for cell in header]
    if sorted(i for i in known if i is not None) == list(range(len(MOODLE_HEADERS))):
        positions = [known.index(index) for index in range(len(MOODLE_HEADERS))]
        moved = positions != list(range(len(MOODLE_HEADERS)))
        return _Columns(
            positions, "the columns are in another order: read by name" if moved else ""
        )
    return _Columns(
        list(range(len(MOODLE_HEADERS))),
        "the header does not name Moodle's columns in English: they are read in Moodle's "
        "order, as Moodle reads them",
    )


class _Rows:
    """The file's rows as they are read: the framework row, competency rows, problems."""

    def __init__(self, columns: _Columns):
        self.columns = columns
        self.errors: list[str] = []
        self.framework: FrameworkData | None = None
        self.framework_row = 0
        self.scale_ok = True
        self.taxonomy: list[str] = []
        self.rows: list[CompetencyRow] = []
        self.exported_ids: dict[str, CompetencyRow] = {}

    def add(self, number: int, record: list[str]) -> None:
        if len(record) != len(MOODLE_HEADERS):
            self.errors.append(
                f"row {number}: expected {len(MOODLE_HEADERS)} columns, found {len(record)}"
            )
            return
        cells = {
            name: spreadsheet_cell_restore(record[position]).strip()
            for name, position in zip(MOODLE_HEADERS, self.columns.positions, strict=True)
        }
        flag = cells[IS_FRAMEWORK].lower()
        if flag not in TRUE | FALSE:
            self.errors.append(
                f"row {number}: Is framework must be 1 (the framework row) or empty, "
                f"found '{cells[IS_FRAMEWORK]}'"
            )
            return
        description = _description(cells[DESCRIPTION], cells[DESCRIPTION_FORMAT])
        if description.problem:
            self.errors.append(f"row {number}: {description.problem}")
        if flag in TRUE:
            self.add_framework(number, cells, description)
        else:
            self.add_competency(number, cells, description)

    def add_framework(self, number: int, cells: dict, description: "_Description") -> None:
        place = f"row {number}"
        if self.framework is not None:
            self.errors.append(
                f"{place}: a second framework row (the first is row {self.framework_row}); "
                "a file holds one framework"
            )
            return
        self.framework_row = number
        self.framework = FrameworkData(
            title=cells[SHORT_NAME],
            code=cells[ID_NUMBER],
            description=description.text,
            description_html=description.html,
            place=place,
        )
        self.errors += _check_length(place, "ID number", self.framework.code, MAX_FRAMEWORK_CODE)
        self.errors += _check_length(place, "Short name", self.framework.title, MAX_TITLE)
        levels, scale_errors = parse_scale(cells[SCALE_VALUES], cells[SCALE_CONFIGURATION], place)
        self.framework.levels = levels
        self.scale_ok = not scale_errors
        self.errors += scale_errors
        self.taxonomy = [word.strip().lower() for word in cells[TAXONOMY].split(",")]

    def add_competency(self, number: int, cells: dict, description: "_Description") -> None:
        row, row_errors = _competency_row(number, cells, description)
        self.errors += row_errors
        if row is None:
            return
        self.rows.append(row)
        exported = cells[EXPORTED_ID]
        if exported in self.exported_ids:
            self.errors.append(
                f"row {number}: Exported ID '{exported}' appears twice "
                f"(also row {self.exported_ids[exported].number})"
            )
        elif exported:
            self.exported_ids[exported] = row

    def finish(self) -> FrameworkData:
        if self.framework is None:
            self.errors.append(
                "The file has no framework row: one row must have Is framework = 1 and the "
                "framework's ID number, Short name, scale and taxonomy."
            )
            self.framework = FrameworkData(title="", place="the file")
        framework = self.framework
        framework.items = [row.item for row in self.rows]
        by_key: dict[str, CompetencyRow] = {}
        for row in self.rows:
            by_key.setdefault(row.item.key, row)
        set_order_and_kinds(framework.items, self.taxonomy)
        for row in self.rows:
            if row.item.rule_type == "points":
                row.item.rule_config, errors = points_config(row, by_key, self.exported_ids)
                self.errors += errors
        framework.associations, errors = cross_references(self.rows, by_key)
        self.errors += errors
        if self.errors:
            copy = dataclasses.replace(
                framework,
                title=framework.title if self.framework_row else "-",
                levels=framework.levels if self.scale_ok else [],
            )
            self.errors += structure_errors(copy)  # so that one attempt reports everything
            raise FrameworkFileError(_by_row(self.errors))
        if self.columns.note:
            framework.report.append(f"row 1: {self.columns.note}")
        return framework


def _check_length(place: str, column: str, value: str, limit: int) -> list[str]:
    if len(value) > limit:
        return [f"{place}: {column} is {len(value)} characters long; the limit is {limit}"]
    return []


def _competency_row(
    number: int, cells: dict[str, str], description: "_Description"
) -> tuple[CompetencyRow | None, list[str]]:
    place = f"row {number}"
    id_number = cells[ID_NUMBER]
    if not id_number:
        return None, [f"{place}: ID number is required"]
    errors = _check_length(place, "ID number", id_number, MAX_ITEM_CODE)
    full, abbreviated = _statements(cells[SHORT_NAME], description.text)
    if not full:
        errors.append(f"{place}: Short name and Description are both empty")
    errors += _check_length(place, "Short name", abbreviated, MAX_SHORT_NAME)
    rule_type = ""
    rule_class = cells[RULE_TYPE].replace("\\\\", "\\").lstrip("\\").lower()
    if rule_class:
        rule_type = RULE_TYPES.get(rule_class, "")
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
        statement_html=description.html if full == description.text else "",
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
    return CompetencyRow(number, item, cells[RULE_CONFIG], references), errors


def _statements(short: str, description: str) -> tuple[str, str]:
    """(statement, short name). Without a description the short name is both, so that the
    competency goes back to Moodle without one."""
    if not description:
        return short, short
    if not short or _same_text(short, description) or _is_shortened(short, description):
        return description, ""
    return description, short


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


def _by_row(errors: list[str]) -> list[str]:
    def row_of(message: str) -> int:
        match = re.match(r"row (\d+):", message)
        return int(match.group(1)) if match else 0

    unique = list(dict.fromkeys(errors))
    return sorted(unique, key=row_of)


@dataclasses.dataclass
class _Description:
    text: str
    html: str = ""  # format 1 only: the HTML, sanitised
    problem: str = ""


def _description(value: str, format: str) -> _Description:
    if format not in FORMATS:
        return _Description(
            value,
            problem=(
                "Description format must be 0, 1, 2 or 4 (Moodle's auto-format, HTML, plain "
                f"text, Markdown), found '{format[:20]}'"
            ),
        )
    if format == FORMAT_HTML:
        return _Description(html_to_text(value), html=sanitise_html(value.strip()))
    if format == FORMAT_MOODLE and value:
        return _Description(html_to_text(value.replace("\r\n", "\n").replace("\n", "<br>")))
    return _Description(value)
