"""Files in the shapes Moodle and OpenSALT produce (tests/competencies/real_shapes.py) come in,
and go out again as they came, but for what the README lists as normalised."""

import copy
import csv
import io
import json
import re
from datetime import UTC, datetime

import pytest

from competencies import selectors, services
from competencies.interchange import (
    export_case_package,
    export_moodle_csv,
    parse_case_package,
    parse_moodle_csv,
)
from competencies.models import CompetencyItem, Framework, ItemType, ParentAssociation
from tests.competencies.real_shapes import (
    DOCUMENT,
    FILES,
    TREE,
    TYPES,
    opensalt_export,
    opensalt_test_package,
    sid,
)
from tests.competencies.test_case import assert_valid_case

pytestmark = pytest.mark.django_db

BASE_URL = "https://lms.example.org"


def encode(value) -> bytes:
    return json.dumps(value).encode()


def exported(framework: Framework) -> dict:
    package = export_case_package(selectors.framework_data(framework=framework), base_url=BASE_URL)
    assert_valid_case(package)
    return package


def cells(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


# --- Moodle -------------------------------------------------------------------------------


def related_pairs(framework: Framework) -> set[frozenset]:
    return {
        frozenset((a.origin.code, a.destination.code))
        for a in framework.associations.filter(association_type="isRelatedTo")
    }


def test_moodle_file_with_an_older_header_imports_by_position():
    data = parse_moodle_csv((FILES / "moodle-older-header.csv").read_bytes())
    framework = services.framework_import(data=data)

    assert (framework.code, framework.title) == ("SSW-2024", "Social service workforce")
    assert framework.items.count() == 64
    assert len(related_pairs(framework)) == 39
    level_1 = framework.items.get(code="LEVEL-1")
    assert {pair for pair in related_pairs(framework) if "LEVEL-1" in pair} == {
        frozenset(("LEVEL-1", code)) for code in [*cells_of_row(level_1.code)]
    }
    # The description keeps its paragraphs and line breaks, next to its text.
    assert (
        level_1.statement_html == "<p>Level 1 is expected of workers\nin their first year.<br></p>"
    )
    assert level_1.full_statement == "Level 1 is expected of workers in their first year."
    assert framework.description_html.startswith(
        "<p>Competencies of the social service workforce,\n"
    )


def cells_of_row(code: str) -> list[str]:
    rows = cells((FILES / "moodle-older-header.csv").read_text(encoding="utf-8"))
    row = next(row for row in rows if row[1] == code)
    return row[10].split(",")


def test_a_scale_with_two_proficient_values_keeps_both():
    data = parse_moodle_csv((FILES / "moodle-older-header.csv").read_bytes())
    framework = services.framework_import(data=data)
    # One proficient level here: the lowest Moodle marks; those above it count as well.
    assert list(framework.levels.values_list("name", "is_proficient")) == [
        ("Not yet competent", False),
        ("Competent", True),
        ("Proficient", False),
    ]
    framework_data = selectors.framework_data(framework=framework)
    moodle_scale = json.loads(cells(export_moodle_csv(framework_data))[1][6])
    assert [e for e in moodle_scale if e.get("proficient")] == [
        {"id": 2, "scaledefault": 1, "proficient": 1},
        {"id": 3, "scaledefault": 0, "proficient": 1},
    ]
    rubric = exported(framework)["CFRubrics"][0]["CFRubricCriteria"][0]
    assert [
        (level["quality"], level["extensions"][0]["proficient"])
        for level in rubric["CFRubricCriterionLevels"]
    ] == [("Not yet competent", False), ("Competent", True), ("Proficient", True)]
    # And back: the lowest level marked proficient is the proficient level again.
    package = exported(framework)
    framework.delete()
    again = services.framework_import(data=parse_case_package(encode(package)))
    assert list(again.levels.values_list("name", "is_proficient")) == [
        ("Not yet competent", False),
        ("Competent", True),
        ("Proficient", False),
    ]


def test_a_moodle_file_in_another_language_imports_as_the_english_one():
    english = parse_moodle_csv((FILES / "moodle-older-header.csv").read_bytes())
    french = parse_moodle_csv((FILES / "moodle-french-header.csv").read_bytes())
    assert french.items == english.items
    assert french.associations == english.associations
    assert french.levels == english.levels
    assert french.report == [
        "row 1: the header does not name Moodle's columns in English: they are read in "
        "Moodle's order, as Moodle reads them"
    ]
    assert english.report == []


def test_any_14_column_header_is_read_by_position():
    text = (FILES / "moodle-older-header.csv").read_text(encoding="utf-8")
    header, rest = text.split("\n", 1)
    renamed = ",".join(f"Colonne {n}" for n in range(14)) + "\n" + rest
    assert parse_moodle_csv(renamed.encode()).items == parse_moodle_csv(text.encode()).items


def moodle_normalised(text: str) -> list[list[str]]:
    """A Moodle export as this service writes it again (the README's list): Moodle's scale id
    is written as 0; CSV quoting and line endings are Python's (the cells are the same)."""
    rows = cells(text)
    scale = json.loads(rows[1][6])
    scale[0]["scaleid"] = "0"
    rows[1][6] = json.dumps(scale, separators=(",", ":"))
    return rows


def test_a_moodle_export_imports_and_exports_unchanged():
    text = (FILES / "moodle-export.csv").read_text(encoding="utf-8")
    framework = services.framework_import(data=parse_moodle_csv(text.encode()))
    again = export_moodle_csv(selectors.framework_data(framework=framework))
    assert cells(again) == moodle_normalised(text)
    rule = framework.items.get(code="ENG-1")
    assert (rule.rule_type, rule.rule_config["base"]) == ("points", {"points": 2})


def test_html_descriptions_are_sanitised():
    text = (FILES / "moodle-export.csv").read_text(encoding="utf-8")
    rows = cells(text)
    rows[3][3] = (
        '<p onclick="steal()">Level <b>one</b><script>alert(1)</script>'
        '<a href="javascript:alert(2)">x</a><a href="https://example.org" target="_blank">y</a>'
        "<iframe src=//evil></iframe><br></p>"
    )
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    data = parse_moodle_csv(out.getvalue().encode())
    item = next(i for i in data.items if i.code == rows[3][1])
    assert item.statement_html == (
        '<p>Level <b>one</b><a>x</a><a href="https://example.org">y</a><br></p>'
    )
    assert item.full_statement == "Level onexy"


# --- CASE: OpenSALT's shapes --------------------------------------------------------------


def test_opensalt_export_imports_and_the_report_says_what_was_read_differently():
    data = parse_case_package(encode(opensalt_export()))
    assert data.report == [
        "CFDocument: 'CFPackageURI' is not a CASE 1.1 field, kept in the record's extensions "
        "(1 record, first CFDocument)",
        "CFItems: 'CFDocumentURI' is not a CASE 1.1 field, kept in the record's extensions "
        "(16 records, first CFItems[0])",
        "CFItems: 'educationalLevel' (CASE 1.0) kept as its CASE 1.1 field "
        "(16 records, first CFItems[0])",
        "CFItems: 'CFItemAssociationURI' is not a CASE 1.1 field, kept in the record's "
        "extensions (16 records, first CFItems[0])",
        "CFItems: 'x-salt-editor' is not a CASE 1.1 field, kept in the record's extensions "
        "(1 record, first CFItems[9])",
        "CFAssociations: 'CFDocumentURI' is not a CASE 1.1 field, kept in the record's "
        "extensions (39 records, first CFAssociations[0])",
        "CFAssociations: 'sequenceNumber' is text, read as a number "
        "(2 records, first CFAssociations[0])",
        "CFDefinitions.CFItemTypes: 'description' is null, read as absent "
        "(3 records, first CFDefinitions.CFItemTypes[0])",
    ]
    framework = services.framework_import(data=data)
    assert framework.items.count() == 16
    assert framework.associations.count() == 23  # and 16 isChildOf: the tree
    assert ParentAssociation.objects.filter(item__framework=framework).count() == 16
    assert list(framework.item_types.values_list("title", flat=True)) == [
        "Cluster",
        "Standard",
        "Component",
    ]
    item = framework.items.get(code="SSW.A.2")
    assert (item.item_type.title, item.kind, item.parent.code) == (
        "Standard",
        "competency",
        "SSW.A",
    )
    assert item.case_attributes == {"listEnumeration": "2.", "educationLevel": ["PP", "VOL"]}
    assert item.extensions == {
        "CFDocumentURI": f"https://salt.example.org/uri/{DOCUMENT}",
        "CFItemAssociationURI": f"https://salt.example.org/uri/{sid('item-A2')}/associations",
    }
    assert item.updated_at == datetime(2023, 5, 25, 18, 5, 29, tzinfo=UTC)
    assert framework.adoption_status == "Adopted"
    assert framework.case_attributes == {"notes": "Agreed by the council in May 2023."}


def opensalt_normalised(package: dict) -> dict:
    """What the export of an imported OpenSALT package must be: the package with what the
    README lists as normalised applied, and nothing else."""
    value = copy.deepcopy(package)
    when = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(Z|[+-]00:00)?$")

    def stamp(record):
        record["lastChangeDateTime"] = when.sub(r"\1Z", record["lastChangeDateTime"])

    def to_extensions(record, *names):
        for name in names:
            if name in record:
                record.setdefault("extensions", {})[name] = record.pop(name)

    document = value["CFDocument"]
    to_extensions(document, "CFPackageURI")
    stamp(document)
    document.update({"caseVersion": "1.1", "version": "1.0"})
    labels = {DOCUMENT: document["title"]}
    rank: dict[str, int] = {}
    for item in value["CFItems"]:
        to_extensions(item, "CFDocumentURI", "CFItemAssociationURI", "x-salt-editor")
        item["educationLevel"] = item.pop("educationalLevel").split(",")
        stamp(item)
        labels[item["identifier"]] = item.get("abbreviatedStatement") or item["fullStatement"]
    for _key, parent, *_ in TREE:
        siblings = [row[0] for row in TREE if row[1] == parent]
        for place, key in enumerate(siblings, start=1):
            rank[sid(f"item-{key}")] = place
    for item in value["CFItems"]:  # items without one are given their place
        item.setdefault("listEnumeration", str(rank[item["identifier"]]))
    for association in value["CFAssociations"]:
        to_extensions(association, "CFDocumentURI")
        stamp(association)
        for end in ("originNodeURI", "destinationNodeURI"):
            node = association[end]
            if node["identifier"] in labels:  # link titles: the record's title here
                node["title"] = labels[node["identifier"]]
        if association["associationType"] == "isChildOf":
            association["sequenceNumber"] = rank[association["originNodeURI"]["identifier"]]
    for item_type in value["CFDefinitions"]["CFItemTypes"]:
        item_type["description"] = ""
        stamp(item_type)
    return value


def by_identifier(records: list[dict]) -> dict[str, dict]:
    return {record["identifier"]: record for record in records}


def test_opensalt_export_comes_back_with_its_identity():
    package = opensalt_export()
    framework = services.framework_import(data=parse_case_package(encode(package)))
    again = exported(framework)
    expected = opensalt_normalised(package)

    assert again["CFDocument"] == expected["CFDocument"]
    assert by_identifier(again["CFItems"]) == by_identifier(expected["CFItems"])
    assert by_identifier(again["CFAssociations"]) == by_identifier(expected["CFAssociations"])
    assert again["CFDefinitions"] == expected["CFDefinitions"]
    # "Standard" stays "Standard", under its own identifier.
    standard = next(i for i in again["CFItems"] if i["humanCodingScheme"] == "SSW.A.1")
    assert standard["CFItemTypeURI"]["identifier"] == TYPES["Standard"]


def test_a_second_round_trip_changes_nothing():
    framework = services.framework_import(data=parse_case_package(encode(opensalt_export())))
    first = exported(framework)
    framework.delete()
    again = services.framework_import(data=parse_case_package(encode(first)))
    assert exported(again) == first


def test_opensalt_test_package_imports_and_keeps_its_identity():
    package = opensalt_test_package()
    framework = services.framework_import(data=parse_case_package(encode(package)))
    assert framework.items.count() == 28
    rows = selectors.framework_tree_rows(framework=framework)
    assert [(n.item.code, n.depth) for n in rows[:3]] == [("SH", 0), ("SH.1", 1), ("SH.2", 1)]
    again = exported(framework)
    assert by_identifier(again["CFItems"]).keys() == by_identifier(package["CFItems"]).keys()
    kept = {a["identifier"]: a["uri"] for a in again["CFAssociations"]}
    assert kept == {a["identifier"]: a["uri"] for a in package["CFAssociations"]}
    assert (
        again["CFDocument"]["extensions"]["CFPackageURI"] == package["CFDocument"]["CFPackageURI"]
    )
    assert again["CFDocument"]["lastChangeDateTime"] == "2017-10-18T15:02:46Z"


def test_editing_an_imported_item_dates_it_now_and_keeps_its_identity():
    framework = services.framework_import(data=parse_case_package(encode(opensalt_export())))
    item = framework.items.get(code="SSW.C.1")
    services.item_update(item=item, full_statement="Refer with the family's informed consent.")
    again = by_identifier(exported(framework)["CFItems"])[str(item.identifier)]
    assert again["fullStatement"] == "Refer with the family's informed consent."
    assert again["lastChangeDateTime"] > "2024"
    assert again["CFItemTypeURI"]["identifier"] == TYPES["Standard"]
    assert CompetencyItem.objects.get(pk=item.pk).item_type == ItemType.objects.get(
        framework=framework, identifier=TYPES["Standard"]
    )
