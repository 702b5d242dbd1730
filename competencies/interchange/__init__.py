"""Frameworks in and out: 1EdTech CASE 1.1 JSON and Moodle's competency-framework CSV.

Each format has a reader, which turns a file into :class:`FrameworkData` or refuses it with
every problem found, and a writer, which turns :class:`FrameworkData` (from
:func:`competencies.selectors.framework_data`) into a file. Writing an imported framework is
:func:`competencies.services.framework_import`; where things live:

* ``data`` — the shapes readers produce and writers consume;
* ``case_schema``, ``case_liberal``, ``case_read``, ``case_read_links``, ``case_write`` — CASE;
* ``moodle_columns``, ``moodle_values``, ``moodle_read``, ``moodle_write`` — Moodle's CSV;
* ``markup`` — HTML descriptions, sanitised;
* ``validation``, ``importing`` — the checks and the all-or-nothing write of an import.
"""

from competencies.interchange.case_read import parse_case_package
from competencies.interchange.case_schema import SCHEMA_PATH
from competencies.interchange.case_write import export_case_package
from competencies.interchange.data import (
    MAX_IMPORT_BYTES,
    AssociationData,
    FrameworkData,
    FrameworkFileError,
    ItemData,
    ItemTypeData,
    LevelData,
    ParentAssociationData,
    decode_text,
)
from competencies.interchange.moodle_columns import MOODLE_HEADERS
from competencies.interchange.moodle_read import parse_moodle_csv
from competencies.interchange.moodle_write import export_moodle_csv

__all__ = [
    "MAX_IMPORT_BYTES",
    "MOODLE_HEADERS",
    "SCHEMA_PATH",
    "AssociationData",
    "FrameworkData",
    "FrameworkFileError",
    "ItemData",
    "ItemTypeData",
    "LevelData",
    "ParentAssociationData",
    "decode_text",
    "export_case_package",
    "export_moodle_csv",
    "parse_case_package",
    "parse_moodle_csv",
]
