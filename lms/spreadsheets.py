"""Cells of the CSV and XLSX files the site produces, made safe to open in a spreadsheet.

A spreadsheet reads a cell that begins with ``=``, ``+``, ``-`` or ``@`` (or with a tab or a
carriage return, which some strip before looking) as a formula: a learner who names
themselves ``=HYPERLINK("http://…", "Open")`` would otherwise put a live link or a
calculation into the file an institution downloads ("CSV injection"). Every export writes its
text cells through :func:`spreadsheet_cell`, which puts an apostrophe in front of such text —
what spreadsheets themselves use to mark "this is text" — so the cell shows the text as it is
written, with the apostrophe.

Files that the site also reads back (Moodle's framework CSV) undo exactly that with
:func:`spreadsheet_cell_restore`, so an export imported again is unchanged.
"""

import csv
import io
import re

#: What makes a spreadsheet read a cell as a formula.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")

# Text that an apostrophe must be put in front of: text that begins with a trigger, and text
# that already begins with apostrophes and then a trigger (so that restoring, which removes
# one apostrophe, gives back exactly what was written).
_NEUTRALISE = re.compile(r"'*[=+\-@\t\r]")
# What :func:`spreadsheet_cell` wrote: one apostrophe more than the text held.
_NEUTRALISED = re.compile(r"'+[=+\-@\t\r]")


def spreadsheet_cell(value):
    """``value`` as a cell a spreadsheet shows as text, never as a formula.

    Text that begins with a formula trigger (:data:`FORMULA_TRIGGERS`) gets an apostrophe in
    front; numbers, dates and ``None`` are returned as they are (a number is no formula, and
    an XLSX keeps it a number).
    """
    if isinstance(value, str) and _NEUTRALISE.match(value):
        return "'" + value
    return value


def spreadsheet_row(values) -> list:
    """Every cell of a row through :func:`spreadsheet_cell`."""
    return [spreadsheet_cell(value) for value in values]


def spreadsheet_cell_restore(text: str) -> str:
    """Undo :func:`spreadsheet_cell` on a cell read from a file: drop the apostrophe it added.

    Only an apostrophe followed by a formula trigger (or by more apostrophes and then a
    trigger) is removed; any other text, an apostrophe at its start included, is kept.
    """
    return text[1:] if _NEUTRALISED.match(text) else text


def csv_write_rows(out, rows, **writer_options) -> None:
    """Write ``rows`` to the file-like ``out`` as CSV, every cell made safe."""
    csv.writer(out, **writer_options).writerows(spreadsheet_row(row) for row in rows)


def xlsx_bytes(*, title: str, rows, bold_rows: tuple[int, ...] = ()) -> bytes:
    """An XLSX workbook of one sheet called ``title`` holding ``rows``, every cell made safe.

    Text is always stored as text: openpyxl would store a string beginning with ``=`` as a
    formula, and none is left once neutralised; each text cell's type is set to string as
    well, so nothing in a value can ever become one. ``bold_rows`` are 1-based row numbers
    (negative ones count from the end, as in Python) set in bold, e.g. a header and a total.
    """
    from openpyxl import Workbook
    from openpyxl.cell.cell import TYPE_STRING
    from openpyxl.styles import Font

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = title[:31]  # Excel's limit on sheet names
    for row in rows:
        sheet.append(spreadsheet_row(row))
    for cells in sheet.iter_rows():
        for cell in cells:
            if isinstance(cell.value, str):
                cell.data_type = TYPE_STRING
    count = sheet.max_row
    for number in bold_rows:
        for cell in sheet[number if number > 0 else count + 1 + number]:
            cell.font = Font(bold=True)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
