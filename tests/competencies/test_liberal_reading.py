"""Property tests of the liberal readings: whatever a header says, and however a CASE file
writes what it means (1.0 fields, tools' fields, nulls, numbers as text, no URIs or dates),
the framework read is the same as from the strict file, and the report says what was read
differently."""

import copy
import csv
import dataclasses
import io
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from competencies.interchange import export_case_package, parse_case_package, parse_moodle_csv
from competencies.interchange.case_schema import definitions
from tests.competencies.real_shapes import FILES
from tests.competencies.test_case import framework_data

MOODLE = (FILES / "moodle-export.csv").read_text(encoding="utf-8")
MOODLE_ROWS = list(csv.reader(io.StringIO(MOODLE, newline="")))

header_text = st.text(
    st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\x00"), max_size=30
)


def with_header(header: list[str]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows([header, *MOODLE_ROWS[1:]])
    return out.getvalue().encode()


@settings(max_examples=60, deadline=None)
@given(header=st.lists(header_text, min_size=14, max_size=14).filter(lambda h: h[0].strip()))
def test_any_header_of_14_columns_reads_the_file_the_same(header):
    reference = parse_moodle_csv(MOODLE.encode())
    data = parse_moodle_csv(with_header(header))
    assert data.items == reference.items
    assert data.associations == reference.associations
    assert data.levels == reference.levels
    assert (data.title, data.code, data.description_html) == (
        reference.title,
        reference.code,
        reference.description_html,
    )


# --- CASE -----------------------------------------------------------------------------------

STRICT = export_case_package(framework_data(), base_url="https://lms.example.org")
RECORDS = {
    "CFDocument": "CFPckgDocument",
    "CFItems": "CFPckgItem",
    "CFAssociations": "CFPckgAssociation",
}
tool_field = st.text("abcdefghijklmnopqrstuvwxyz-", min_size=3, max_size=12).map(lambda s: f"x-{s}")
# NUL and lone surrogates are refused (as PostgreSQL would refuse them): tested elsewhere.
storable_text = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=10
)
json_leaf = st.none() | st.booleans() | st.integers() | storable_text


def meaning(data) -> dict:
    """What the framework means: everything but how the file wrote it (URIs, dates, the
    fields kept only to be given back)."""
    kept_only = {"uri", "updated_at", "case_attributes", "extensions", "parent_association"}

    def strip(record):
        return {k: v for k, v in dataclasses.asdict(record).items() if k not in kept_only}

    return {
        "items": [strip(item) for item in data.items],
        "associations": [strip(a) for a in data.associations],
        "levels": data.levels,
        "document": (data.identifier, data.title, data.version, data.language, data.code),
    }


def records_of(package: dict):
    yield "CFDocument", package["CFDocument"]
    for collection in ("CFItems", "CFAssociations"):
        for record in package[collection]:
            yield collection, record


@st.composite
def loosened(draw) -> tuple[dict, int]:
    """The strict package written as publishers write packages; and how many changes."""
    package = copy.deepcopy(STRICT)
    changes = 0
    for collection, record in records_of(package):
        known = definitions()[RECORDS[collection]]["properties"]
        how = draw(st.sampled_from(["same", "tool", "null", "text", "no uri", "no date", "1.0"]))
        if how == "tool":
            name = draw(tool_field)
            record[name] = draw(json_leaf)
        elif how == "null":
            absent = sorted(set(known) - set(record) - {"extensions"})
            if not absent:
                continue
            record[draw(st.sampled_from(absent))] = None
        elif how == "text" and isinstance(record.get("sequenceNumber"), int):
            record["sequenceNumber"] = str(record["sequenceNumber"])
        elif how == "no uri" and collection != "CFDocument":
            del record["uri"]
        elif how == "no date":
            del record["lastChangeDateTime"]
        elif how == "1.0":
            record["CFDocumentURI"] = package["CFDocument"]["uri"]
        else:
            continue
        changes += 1
    return package, changes


def kept_extensions(data) -> dict[str, dict]:
    """The extensions the reading kept, by the identifier of the record they came with."""
    kept = {data.identifier: data.extensions}
    for item in data.items:
        kept[item.identifier] = item.extensions
        if item.parent_association:
            kept[item.parent_association.identifier] = item.parent_association.extensions
    for association in data.associations:
        kept[association.identifier] = association.extensions
    return kept


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=loosened())
def test_a_package_written_loosely_means_what_the_strict_one_means(case):
    package, changes = case
    reference = parse_case_package(json.dumps(STRICT).encode())
    data = parse_case_package(json.dumps(package).encode())
    assert meaning(data) == meaning(reference)

    kept = kept_extensions(data)
    rewritten = 0
    for _collection, record in records_of(package):
        extra = {
            k: v
            for k, v in record.items()
            if (k.startswith("x-") or k == "CFDocumentURI") and v is not None  # null: absent
        }
        assert extra.items() <= kept[record["identifier"]].items()
        rewritten += len(extra) + sum(v is None for v in record.values())
        rewritten += isinstance(record.get("sequenceNumber"), str)
    assert bool(data.report) == bool(rewritten)
    assert rewritten <= changes
