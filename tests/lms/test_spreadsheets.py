"""lms.spreadsheets: text cells that a spreadsheet shows as text, and the undoing of it that
the Moodle importer relies on for an exact round trip."""

import io
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook

from lms.spreadsheets import spreadsheet_cell, spreadsheet_cell_restore, xlsx_bytes
from tests.spreadsheets import FORMULA_VALUES, as_text


@pytest.mark.parametrize("value", FORMULA_VALUES)
def test_text_beginning_with_a_formula_trigger_gets_an_apostrophe(value):
    assert spreadsheet_cell(value) == as_text(value)
    assert spreadsheet_cell_restore(spreadsheet_cell(value)) == value


@pytest.mark.parametrize("value", ["Amina Njoroge", "", "1+1", "a=b", "'quoted", "'", 7, -1, None])
def test_other_text_numbers_and_empty_cells_are_left_alone(value):
    assert spreadsheet_cell(value) == value
    assert spreadsheet_cell(date(2025, 3, 1)) == date(2025, 3, 1)


def test_restoring_removes_only_the_apostrophe_the_export_added():
    assert spreadsheet_cell_restore("'=1+1") == "=1+1"
    assert spreadsheet_cell_restore("'quoted") == "'quoted"  # not followed by a trigger
    assert spreadsheet_cell_restore("it's -1") == "it's -1"
    # Text that already began with an apostrophe and a trigger gets one more, and loses it.
    assert spreadsheet_cell("'=1+1") == "''=1+1"
    assert spreadsheet_cell_restore("''=1+1") == "'=1+1"


@given(st.text())
def test_any_text_written_then_restored_is_unchanged(text):
    assert spreadsheet_cell_restore(spreadsheet_cell(text)) == text


@given(st.text())
def test_no_written_text_begins_with_a_formula_trigger(text):
    assert not spreadsheet_cell(text).startswith(("=", "+", "-", "@", "\t", "\r"))


def test_an_xlsx_holds_formula_like_text_as_text_and_numbers_as_numbers():
    content = xlsx_bytes(title="Sheet", rows=[["Name", "Count"], *([v, 1] for v in FORMULA_VALUES)])

    sheet = load_workbook(io.BytesIO(content)).active
    rows = list(sheet.iter_rows(min_row=2))
    assert [row[0].value for row in rows] == [as_text(value) for value in FORMULA_VALUES]
    assert {row[0].data_type for row in rows} == {"s"}
    assert {(row[1].value, row[1].data_type) for row in rows} == {(1, "n")}
