"""Moodle's competency-framework CSV: import, export, round trip, and refusals with reasons."""

import csv
import io
import json

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from competencies import selectors, services
from competencies.interchange import (
    MOODLE_HEADERS,
    FrameworkFileError,
    LevelData,
    export_moodle_csv,
    parse_moodle_csv,
)
from competencies.models import CompetencyAssociation, CompetencyItem, Framework, ScaleLevel
from tests.spreadsheets import FORMULA_VALUES, as_text

pytestmark = pytest.mark.django_db

HEADER = (
    '"Parent ID number","ID number","Short name","Description","Description format",'
    '"Scale values","Scale configuration","Rule type (optional)","Rule outcome (optional)",'
    '"Rule config (optional)","Cross-referenced competency ID numbers",'
    '"Exported ID (optional)","Is framework","Taxonomy"'
)
FRAMEWORK_ROW = (
    ',"PSSW","Para-professional social service workers",'
    '"<p>What a para-professional worker needs to know &amp; do.</p>",1,'
    '"Not yet competent,Developing,Competent,Proficient",'
    '"[{""scaleid"":""2""},{""id"":1,""scaledefault"":0,""proficient"":0},'
    '{""id"":2,""scaledefault"":0,""proficient"":0},'
    '{""id"":3,""scaledefault"":1,""proficient"":1},'
    '{""id"":4,""scaledefault"":0,""proficient"":1}]",,,,,,1,"domain,competency,indicator"'
)
# As Moodle writes them: rules name children by Moodle's competency ids (Exported ID), and a
# comma inside a cross-referenced ID number is written %2C.
COMPETENCY_ROWS = [
    ',"PP.1","Case management","<p>Case management</p>",1,,,'
    '"core_competency\\competency_rule_all",2,null,,101,,',
    '"PP.1","PP.1.1","Opens a case","<p>Opens a case file for every child referred</p>",1,,,'
    '"core_competency\\competency_rule_points",2,'
    '"{""base"":{""points"":2},""competencies"":[{""id"":103,""points"":1,""required"":1},'
    '{""id"":104,""points"":1,""required"":0}]}","PP.2%2C1,PP.2",102,0,',
    '"PP.1.1","PP.1.1.a","Records the child\'s details","Records the child\'s details",2,,,'
    ",0,null,,103,,",
    '"PP.1.1","PP.1.1.b","","Checks the child\'s safety, the same day",2,,,,0,null,,104,,',
    '"PP.1","PP.1.2","Plans",'
    '"<p>Plans the care &lt;with&gt; the family</p><p>Reviews the plan</p>",1,,,,0,null,,105,,',
    ',"PP.2","Referral","",1,,,,0,null,,106,,',
    '"PP.2","PP.2,1","Refers, with consent",'
    '"Refers children and families, with consent, to services",2,,,,0,null,"PP.1.1",107,,',
]
RULE_POINTS = "core_competency\\competency_rule_points"
HAND_WRITTEN = "\r\n".join([HEADER, FRAMEWORK_ROW, *COMPETENCY_ROWS]) + "\r\n"


def counts() -> tuple[int, ...]:
    return (
        Framework.objects.count(),
        CompetencyItem.objects.count(),
        ScaleLevel.objects.count(),
        CompetencyAssociation.objects.count(),
    )


def refused(content: bytes) -> list[str]:
    """Parse and import ``content``; it must be refused and write nothing. The reasons."""
    before = counts()
    with pytest.raises(FrameworkFileError) as raised:
        services.framework_import(data=parse_moodle_csv(content))
    assert counts() == before
    return raised.value.errors


def csv_text(rows: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows([MOODLE_HEADERS, *rows])
    return out.getvalue()


def framework_row(**overrides) -> list[str]:
    row = dict.fromkeys(MOODLE_HEADERS, "")
    row.update(
        {
            "ID number": "T",
            "Short name": "Test framework",
            "Description format": "1",
            "Scale values": "No,Yes",
            "Scale configuration": '[{"scaleid":"1"},{"id":2,"scaledefault":1,"proficient":1}]',
            "Is framework": "1",
            "Taxonomy": "domain,competency",
        }
    )
    assert set(overrides) <= set(MOODLE_HEADERS)
    row.update(overrides)
    return [row[name] for name in MOODLE_HEADERS]


def competency_row(id_number: str, parent: str = "", **overrides) -> list[str]:
    row = dict.fromkeys(MOODLE_HEADERS, "")
    row.update(
        {
            "Parent ID number": parent,
            "ID number": id_number,
            "Short name": f"Competency {id_number}",
            "Description format": "2",
        }
    )
    assert set(overrides) <= set(MOODLE_HEADERS)
    row.update(overrides)
    return [row[name] for name in MOODLE_HEADERS]


def tree(framework: Framework) -> list[tuple]:
    return [
        (
            node.item.code,
            node.depth,
            node.item.kind,
            node.item.parent.code if node.item.parent else None,
            node.item.full_statement,
            node.item.abbreviated_statement,
            node.item.rule_type,
            node.item.rule_config,
        )
        for node in selectors.framework_tree_rows(framework=framework)
    ]


def related(framework: Framework) -> set[frozenset]:
    return {
        frozenset((a.origin.code, a.destination.code))
        for a in framework.associations.filter(association_type="isRelatedTo")
    }


# --- import -------------------------------------------------------------------------------


def test_hand_written_moodle_file_imports_into_the_expected_tree():
    framework = services.framework_import(data=parse_moodle_csv(HAND_WRITTEN.encode()))

    assert (framework.title, framework.code, framework.description) == (
        "Para-professional social service workers",
        "PSSW",
        "What a para-professional worker needs to know & do.",
    )
    # Moodle marks Competent and Proficient proficient; the lowest of them is ours.
    assert list(framework.levels.values_list("name", "is_proficient")) == [
        ("Not yet competent", False),
        ("Developing", False),
        ("Competent", True),
        ("Proficient", False),
    ]
    points = {
        "base": {"points": 2},
        "competencies": [
            {"id": "PP.1.1.a", "points": 1, "required": 1},
            {"id": "PP.1.1.b", "points": 1, "required": 0},
        ],
    }
    assert tree(framework) == [
        ("PP.1", 0, "domain", None, "Case management", "", "all", {}),
        (
            "PP.1.1",
            1,
            "competency",
            "PP.1",
            "Opens a case file for every child referred",
            "Opens a case",
            "points",
            points,
        ),
        ("PP.1.1.a", 2, "indicator", "PP.1.1", "Records the child's details", "", "", {}),
        (
            "PP.1.1.b",
            2,
            "indicator",
            "PP.1.1",
            "Checks the child's safety, the same day",
            "",
            "",
            {},
        ),
        (
            "PP.1.2",
            1,
            "competency",
            "PP.1",
            "Plans the care <with> the family\n\nReviews the plan",
            "Plans",
            "",
            {},
        ),
        # No description: the short name is both, so that it goes back without one.
        ("PP.2", 0, "domain", None, "Referral", "Referral", "", {}),
        (
            "PP.2,1",
            1,
            "competency",
            "PP.2",
            "Refers children and families, with consent, to services",
            "Refers, with consent",
            "",
            {},
        ),
    ]
    assert list(
        framework.items.filter(parent__code="PP.1").order_by("order").values_list("code", "order")
    ) == [("PP.1.1", 0), ("PP.1.2", 1)]
    # PP.2,1 lists PP.1.1 back: Moodle's related competencies are symmetric, so one link.
    links = CompetencyAssociation.objects.filter(framework=framework)
    assert sorted((a.origin.code, a.association_type, a.destination.code) for a in links) == [
        ("PP.1.1", "isRelatedTo", "PP.2"),
        ("PP.1.1", "isRelatedTo", "PP.2,1"),
    ]


def test_a_file_with_a_byte_order_mark_imports():
    framework = services.framework_import(
        data=parse_moodle_csv(b"\xef\xbb\xbf" + HAND_WRITTEN.encode())
    )
    assert framework.items.count() == 7


def test_semicolon_separated_file_with_columns_in_another_order_imports():
    rows = list(csv.reader(io.StringIO(HAND_WRITTEN)))
    order = list(reversed(range(len(MOODLE_HEADERS))))
    out = io.StringIO()
    csv.writer(out, delimiter=";").writerows([[row[i] for i in order] for row in rows])
    framework = services.framework_import(data=parse_moodle_csv(out.getvalue().encode()))
    assert framework.items.get(code="PP.2,1").parent.code == "PP.2"


def test_description_formats_and_short_names():
    rows = [
        framework_row(),
        competency_row("A", **{"Short name": "Same", "Description": "Same"}),
        competency_row("B", **{"Short name": "Only a short name"}),
        competency_row(
            "C",
            **{
                "Short name": "Line one line...",
                "Description": "Line one<br>  line two &amp; more",
                "Description format": "1",
            },
        ),
        competency_row(
            "D",
            **{
                "Short name": "D",
                "Description": "Moodle <b>auto</b>\nformat",
                "Description format": "0",
            },
        ),
        competency_row(
            "E", **{"Short name": "E", "Description": "<![broken[ *md*", "Description format": "4"}
        ),
        competency_row(
            "F",
            **{
                "Short name": "F",
                "Description": "<![broken[ x <p>y &amp; z",  # html.parser gives up on this
                "Description format": "1",
            },
        ),
    ]
    data = parse_moodle_csv(csv_text(rows).encode())
    got = {i.key: (i.full_statement, i.abbreviated_statement) for i in data.items}
    assert got == {
        "A": ("Same", ""),
        "B": ("Only a short name", "Only a short name"),
        "C": ("Line one\nline two & more", ""),
        "D": ("Moodle auto\nformat", "D"),
        "E": ("<![broken[ *md*", "E"),
        "F": ("<![broken[ x\n\ny & z", "F"),
    }


# --- export and round trip ---------------------------------------------------------------


def build_framework() -> Framework:
    framework = services.framework_create(
        title="Round trip",
        creator="Ubuntu Institute",
        code="RT",
        description="Line one & <two>\nLine three",
    )
    services.scale_set(
        framework=framework,
        levels=[
            LevelData("Not yet"),
            LevelData("Developing"),
            LevelData("Competent", is_proficient=True),
            LevelData("Expert"),
        ],
    )

    def add(code, statement, parent=None, kind="competency", short=""):
        return services.item_create(
            framework=framework,
            full_statement=statement,
            parent=parent,
            code=code,
            kind=kind,
            abbreviated_statement=short,
        )

    d1 = add("D1", "Safeguarding", kind="domain")
    c1 = add("D1.1", "Recognises abuse & neglect <early>", d1, short="Recognises abuse")
    add("D1.1.a", "Names the signs,\nin their own words", c1, kind="indicator")
    add(
        "D1.1.b",
        "Reports " + "promptly and in writing " * 6 + "to the supervisor",
        c1,
        kind="indicator",
    )
    c2 = add("D1.2", "Keeps records", d1)
    d2 = add("D2", "Referral, follow-up", kind="domain")
    c3 = add("D2,1", "Refers, with consent", d2)
    add("D2,1.a", "Completes the form", c3, kind="indicator")
    services.item_update(
        item=c1,
        rule_type="points",
        rule_config={
            "base": {"points": 2},
            "competencies": [
                {"id": "D1.1.a", "points": 1, "required": 1},
                {"id": "D1.1.b", "points": 2, "required": 0},
            ],
        },
    )
    services.item_update(item=d1, rule_type="all")
    services.association_create(origin=c1, destination=c3, association_type="isRelatedTo")
    services.association_create(origin=c3, destination=c2, association_type="isRelatedTo")
    services.association_create(origin=c2, destination=c3, association_type="precedes")
    return framework


def test_export_is_what_moodle_reads():
    framework = build_framework()
    text = export_moodle_csv(selectors.framework_data(framework=framework))
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == MOODLE_HEADERS
    assert all(len(row) == 14 for row in rows)
    head = dict(zip(MOODLE_HEADERS, rows[1], strict=True))
    assert head["Is framework"] == "1"
    assert head["ID number"] == "RT"
    assert head["Scale values"] == "Not yet,Developing,Competent,Expert"
    # As Moodle stores it: an entry for the default value and each proficient one.
    assert json.loads(head["Scale configuration"]) == [
        {"scaleid": "0"},
        {"id": 3, "scaledefault": 1, "proficient": 1},
        {"id": 4, "scaledefault": 0, "proficient": 1},
    ]
    assert head["Taxonomy"] == "domain,competency,indicator"
    assert head["Description"] == "Line one &amp; &lt;two&gt;<br>Line three"
    body = [dict(zip(MOODLE_HEADERS, row, strict=True)) for row in rows[2:]]
    assert [(r["Parent ID number"], r["ID number"]) for r in body] == [
        ("", "D1"),
        ("D1", "D1.1"),
        ("D1.1", "D1.1.a"),
        ("D1.1", "D1.1.b"),
        ("D1", "D1.2"),
        ("", "D2"),
        ("D2", "D2,1"),
        ("D2,1", "D2,1.a"),
    ]
    assert {r["Description format"] for r in body} == {head["Description format"]} == {"1"}
    assert [r["Exported ID (optional)"] for r in body] == [str(n) for n in range(1, 9)]
    by_id = {r["ID number"]: r for r in body}
    # Related competencies on both rows of each pair, as Moodle's export writes them
    # (precedes, D1.2 → D2,1, is not Moodle's).
    assert by_id["D1.1"]["Cross-referenced competency ID numbers"] == "D2%2C1"
    assert by_id["D2,1"]["Cross-referenced competency ID numbers"] == "D1.1,D1.2"
    assert by_id["D1.2"]["Cross-referenced competency ID numbers"] == "D2%2C1"
    assert by_id["D1"]["Rule type (optional)"] == "core_competency\\competency_rule_all"
    assert by_id["D1.1"]["Rule type (optional)"] == "core_competency\\competency_rule_points"
    assert json.loads(by_id["D1.1"]["Rule config (optional)"]) == {
        "base": {"points": 2},
        "competencies": [
            {"id": 3, "points": 1, "required": 1},
            {"id": 4, "points": 2, "required": 0},
        ],
    }
    assert by_id["D1.2"]["Rule config (optional)"] == "null"
    long_short = by_id["D1.1.b"]["Short name"]
    assert len(long_short) <= 100 and long_short.endswith("...")


def test_export_then_import_gives_the_same_framework():
    framework = build_framework()
    original_tree = tree(framework)
    original_levels = list(framework.levels.values_list("name", "is_proficient"))
    original_related = related(framework)
    exported = export_moodle_csv(selectors.framework_data(framework=framework))

    data = parse_moodle_csv(exported.encode())
    assert (data.title, data.code, data.description) == (
        "Round trip",
        "RT",
        "Line one & <two>\nLine three",
    )
    by_key = {item.key: item for item in data.items}
    assert [
        (
            item.code,
            item.kind,
            item.parent_key,
            item.full_statement,
            item.abbreviated_statement,
            item.rule_type,
            item.rule_config,
        )
        for item in data.items
    ] == [(c, k, p, f, a, r, rc) for c, _depth, k, p, f, a, r, rc in original_tree]
    assert by_key["D1.2"].order == 1 and by_key["D2"].order == 1

    services.framework_delete(framework=framework)
    assert not CompetencyItem.objects.exists()
    again = services.framework_import(data=data)
    assert tree(again) == original_tree
    assert list(again.levels.values_list("name", "is_proficient")) == original_levels
    assert (
        related(again)
        == original_related
        == {frozenset(("D1.1", "D2,1")), frozenset(("D2,1", "D1.2"))}
    )
    # And the second export is the first one (the framework's description, ids and all).
    assert export_moodle_csv(selectors.framework_data(framework=again)) == exported


def test_items_without_a_code_are_exported_by_identifier():
    framework = services.framework_create(title="No codes", creator="x")
    services.scale_set(
        framework=framework, levels=[LevelData("No"), LevelData("Yes", is_proficient=True)]
    )
    parent = services.item_create(framework=framework, full_statement="Parent")
    child = services.item_create(framework=framework, full_statement="Child", parent=parent)
    text = export_moodle_csv(selectors.framework_data(framework=framework))
    data = parse_moodle_csv(text.encode())
    assert data.code == str(framework.identifier)
    assert [(i.code, i.parent_key) for i in data.items] == [
        (str(parent.identifier), None),
        (str(child.identifier), str(parent.identifier)),
    ]


# --- formulas: people open this file in spreadsheets ------------------------------------------

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def exported_rows(framework: Framework) -> list[dict[str, str]]:
    text = export_moodle_csv(selectors.framework_data(framework=framework))
    rows = list(csv.reader(io.StringIO(text, newline="")))
    return [dict(zip(MOODLE_HEADERS, row, strict=True)) for row in rows[1:]]


@pytest.mark.parametrize("value", FORMULA_VALUES)
def test_the_export_writes_formula_like_text_as_text(value):
    framework = services.framework_create(title=value, creator="x", code=value)
    services.scale_set(
        framework=framework, levels=[LevelData("No"), LevelData("Yes", is_proficient=True)]
    )
    services.item_create(framework=framework, code="C1", full_statement=f"{value} statement")

    head, item = exported_rows(framework)

    assert (head["Short name"], head["ID number"]) == (as_text(value), as_text(value))
    if value.strip() == value:  # statements are stripped when they are saved
        assert item["Description"].startswith(as_text(value))
        assert item["Short name"].startswith(as_text(value))
    for row in (head, item):
        assert not [cell for cell in row.values() if cell.startswith(TRIGGERS)]


def test_formula_like_text_survives_an_export_and_import_unchanged():
    framework = services.framework_create(
        title="=1+1", creator="x", code="@SUM(A1)", description='=HYPERLINK("http://x","y")'
    )
    services.scale_set(
        framework=framework, levels=[LevelData("-1"), LevelData("+1", is_proficient=True)]
    )
    parent = services.item_create(
        framework=framework, code="+1", full_statement="-1 is a minus-led statement"
    )
    services.item_create(
        framework=framework,
        parent=parent,
        code="-1",
        full_statement="@SUM(A1) as a statement",
        abbreviated_statement="=1+1",
    )
    original_tree = tree(framework)
    original_levels = list(framework.levels.values_list("name", "is_proficient"))
    exported = export_moodle_csv(selectors.framework_data(framework=framework))
    head, first, second = exported_rows(framework)
    assert (head["Scale values"], first["ID number"], second["Parent ID number"]) == (
        "'-1,+1",
        "'+1",
        "'+1",
    )

    data = parse_moodle_csv(exported.encode())
    assert (data.title, data.code, data.description) == (
        "=1+1",
        "@SUM(A1)",
        '=HYPERLINK("http://x","y")',
    )
    services.framework_delete(framework=framework)
    again = services.framework_import(data=data)
    assert tree(again) == original_tree
    assert list(again.levels.values_list("name", "is_proficient")) == original_levels
    assert export_moodle_csv(selectors.framework_data(framework=again)) == exported


def test_the_import_removes_only_an_apostrophe_in_front_of_a_formula_trigger():
    content = csv_text(
        [
            framework_row(**{"Short name": "'=Title", "ID number": "'Quoted"}),
            competency_row("'-1", **{"Short name": "'+Statement"}),
            competency_row("''=2", parent="-1", **{"Short name": "it's =fine"}),
        ]
    )

    data = parse_moodle_csv(content.encode())

    assert (data.title, data.code) == ("=Title", "'Quoted")
    assert [(i.code, i.parent_key, i.full_statement) for i in data.items] == [
        ("-1", None, "+Statement"),
        ("'=2", "-1", "it's =fine"),
    ]


# --- refusals -----------------------------------------------------------------------------


def test_empty_and_non_utf8_files_are_refused():
    assert refused(b"") == ["The CSV file is empty."]
    assert refused(b"  \r\n") == ["The CSV file is empty."]
    errors = refused(HAND_WRITTEN.replace("Referral", "Référence").encode("latin-1"))
    assert len(errors) == 1 and "not UTF-8" in errors[0]
    errors = refused(HAND_WRITTEN.encode("utf-16"))
    assert "not UTF-8" in errors[0]
    assert "NUL" in refused(HAND_WRITTEN.replace("Referral", "Ref\x00erral").encode())[0]


def test_a_file_that_cannot_be_moodles_is_refused_saying_why():
    [error] = refused(b"not,a,moodle,file\n1,2,3,4\n")
    assert error.startswith(
        "row 1: this is not a Moodle competency framework file: Moodle's has 14 columns "
        "(Parent ID number, ID number, Short name,"
    )
    assert error.endswith("and this header has 4 ('not', 'a', 'moodle', 'file')")


def test_wrong_column_count_is_reported_with_its_row():
    rows = [framework_row(), competency_row("A"), competency_row("B", "A")]
    rows.append(competency_row("C", "A")[:12])
    assert refused(csv_text(rows).encode()) == ["row 5: expected 14 columns, found 12"]


def test_missing_and_duplicate_framework_rows():
    rows = [competency_row("A"), competency_row("B", "A")]
    errors = refused(csv_text(rows).encode())
    assert errors == [
        "The file has no framework row: one row must have Is framework = 1 and the "
        "framework's ID number, Short name, scale and taxonomy."
    ]
    rows = [framework_row(), competency_row("A"), framework_row(**{"ID number": "T2"})]
    assert refused(csv_text(rows).encode()) == [
        "row 4: a second framework row (the first is row 2); a file holds one framework"
    ]


def test_every_problem_is_reported_with_its_row():
    rows = [
        framework_row(),
        competency_row("A"),  # row 3
        competency_row(
            "B", "A", **{"Rule type (optional)": RULE_POINTS, "Rule config (optional)": "{not json"}
        ),  # row 4
        competency_row("C", "A", **{"Cross-referenced competency ID numbers": "A,NOPE"}),
        competency_row("A"),  # row 6: twice
        competency_row("", "A"),  # row 7
        competency_row("X" * 101),  # row 8
        competency_row("D", "A", **{"Description format": "7"}),  # row 9
        competency_row("E", "A", **{"Is framework": "maybe"}),  # row 10
        competency_row("F", "A", **{"Rule type (optional)": "tool_x\\rule"}),  # row 11
        competency_row("G", "Z"),  # row 12
    ]
    errors = refused(csv_text(rows).encode())
    assert errors == [
        "row 4: Rule config is not valid JSON",
        "row 5: cross-referenced ID number 'NOPE' points at nothing in the file",
        "row 6: 'A' appears twice (also row 3)",
        "row 7: ID number is required",
        "row 8: ID number is 101 characters long; the limit is 100",
        "row 9: Description format must be 0, 1, 2 or 4 (Moodle's auto-format, HTML, plain text, "
        "Markdown), found '7'",
        "row 10: Is framework must be 1 (the framework row) or empty, found 'maybe'",
        "row 11: rule type 'tool_x\\rule' is not one this service knows "
        "(core_competency\\competency_rule_all or core_competency\\competency_rule_points)",
        "row 12: parent ID number 'Z' is not in the file",
    ]


def test_points_rules_must_name_children_by_exported_id_or_id_number():
    def points(config):
        return {"Rule type (optional)": RULE_POINTS, "Rule config (optional)": json.dumps(config)}

    rows = [
        framework_row(),
        competency_row(
            "A",
            **points(
                {
                    "base": {"points": 3},
                    "competencies": [
                        {"id": 7, "points": 1, "required": 0},
                        {"id": "B", "points": 1, "required": 1},
                    ],
                }
            ),
        ),
        competency_row("A1", "A", **{"Exported ID (optional)": "7"}),
        competency_row("B", "A"),
        competency_row(
            "C",
            **points(
                {
                    "base": {"points": 1},
                    "competencies": [
                        {"id": "A1", "points": 1, "required": 0},
                        {"id": 99, "points": 1, "required": 0},
                    ],
                }
            ),
        ),
        competency_row("D", **points({"base": {"points": 0}, "competencies": []})),
    ]
    errors = refused(csv_text(rows).encode())
    assert errors == [
        "row 3: the rule needs 3 points but its competencies give only 2",
        "row 6: Rule config refers to 'A1', which is not a child of 'C'",
        "row 6: Rule config refers to competency '99', which is not in the file (neither an "
        "Exported ID nor an ID number)",
        'row 7: Rule config of a points rule is incomplete; it must look like {"base":'
        '{"points":2},"competencies":[{"id":12,"points":1,"required":0}]}',
    ]


def test_scale_problems_are_reported():
    rows = [
        framework_row(**{"Scale configuration": '[{"scaleid":"1"},{"id":1,"proficient":0}]'}),
        competency_row("A"),
    ]
    assert refused(csv_text(rows).encode()) == [
        "row 2: Scale configuration marks no scale value as proficient"
    ]
    rows[0] = framework_row(**{"Scale configuration": '[{"scaleid":"1"},{"id":3,"proficient":1}]'})
    assert refused(csv_text(rows).encode()) == [
        "row 2: Scale configuration refers to value 3, but Scale values has 2 values "
        "(numbered from 1)"
    ]
    rows[0] = framework_row(**{"Scale values": "Yes,Yes"})
    assert refused(csv_text(rows).encode()) == ["row 2: level names appear twice: Yes"]


def test_unreadable_csv_is_reported():
    rows = [framework_row(), competency_row("A", **{"Description": "x" * 140_000})]
    [error] = refused(csv_text(rows).encode())
    assert error.startswith("row 3: the CSV file cannot be read (field larger than field limit")


def test_missing_parent_on_row_17_is_named_exactly():
    rows = [framework_row()]  # row 2
    rows.append(competency_row("PP.1"))  # row 3
    rows += [competency_row(f"PP.1.{n}", "PP.1") for n in range(1, 14)]  # rows 4-16
    rows.append(competency_row("PP.9.1", "PP.9"))  # row 17
    data = parse_moodle_csv(csv_text(rows).encode())  # the file itself is well formed
    before = counts()
    with pytest.raises(FrameworkFileError) as raised:
        services.framework_import(data=data)
    assert raised.value.errors == ["row 17: parent ID number 'PP.9' is not in the file"]
    assert counts() == before


def test_a_second_import_of_the_same_file_is_refused():
    services.framework_import(data=parse_moodle_csv(HAND_WRITTEN.encode()))
    errors = refused(HAND_WRITTEN.encode())
    assert errors == [
        "row 2: version 1.0 of “Para-professional social service workers” exists already; "
        "change the version or delete the existing draft"
    ]


# --- any file: imported whole or refused with reasons ------------------------------------

BASE_ROWS = list(csv.reader(io.StringIO(HAND_WRITTEN)))
INTERESTING = [
    "",
    "1",
    "0",
    "PP.1",
    "PP.1.1",
    "PP.2,1",
    "PP.2%2C1",
    "PP.9",
    "null",
    "{",
    "[]",
    "[{}]",
    '{"base":{"points":1},"competencies":[{"id":103,"points":1,"required":0}]}',
    "core_competency\\competency_rule_points",
    "core_competency\\competency_rule_all",
    "<p>x</p>",
    "<![a[",
    "x" * 101,
    "y" * 301,
    "a,a",
    "domain,indicator,behaviour,skill",
    '[{"scaleid":"1"},{"id":1,"proficient":1}]',
    "2",
    "4",
    "\x00",
    "é",
    "\r\n",
    '"',
]
text_cells = st.one_of(
    st.sampled_from(INTERESTING), st.text(st.characters(codec="utf-8"), max_size=40)
)


@st.composite
def mutated_files(draw) -> bytes:
    """The hand-written file with cells and rows deleted, repeated, swapped or replaced by
    random text, then perhaps saved in another encoding and cut or sprinkled with bytes."""
    rows = [list(row) for row in BASE_ROWS]
    for _ in range(draw(st.integers(0, 3))):
        operation = draw(
            st.sampled_from(
                [
                    "delete cell",
                    "duplicate cell",
                    "set cell",
                    "set cell",
                    "set cell",
                    "delete row",
                    "duplicate row",
                    "swap rows",
                    "add row",
                ]
            )
        )
        if not rows:
            rows.append([])
        # The header and the framework row now and then; the competency rows, mostly.
        first = min(len(rows) - 1, draw(st.sampled_from([0, 1] + [2] * 8)))
        r = draw(st.integers(first, len(rows) - 1))
        row = rows[r]
        c = draw(st.integers(0, max(0, len(row) - 1)))
        if operation == "delete cell" and row:
            del row[c]
        elif operation == "duplicate cell" and row:
            row.insert(c, row[c])
        elif operation == "set cell" and row:
            row[c] = draw(text_cells)
        elif operation == "delete row":
            del rows[r]
        elif operation == "duplicate row":
            rows.insert(r, list(row))
        elif operation == "swap rows":
            other = draw(st.integers(first, len(rows) - 1))
            rows[r], rows[other] = rows[other], rows[r]
        elif operation == "add row":
            rows.insert(r, draw(st.lists(text_cells, min_size=0, max_size=16)))
    out = io.StringIO()
    csv.writer(out, lineterminator=draw(st.sampled_from(["\r\n", "\n"]))).writerows(rows)
    encoding = draw(st.sampled_from(["utf-8"] * 6 + ["utf-8-sig", "utf-16", "cp1252"]))
    content = out.getvalue().encode(encoding, errors="replace")
    for _ in range(draw(st.sampled_from([0, 0, 0, 0, 1, 2]))):
        at = draw(st.integers(len(content) // 2, len(content)))
        if draw(st.booleans()):
            content = content[:at] + draw(st.binary(min_size=1, max_size=6)) + content[at:]
        else:
            content = content[:at]
    return content


class _Rollback(Exception):
    pass


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(content=mutated_files())
def test_any_file_is_imported_whole_or_refused_with_reasons(content):
    try:
        with transaction.atomic():
            before = counts()
            try:
                data = parse_moodle_csv(content)
                framework = services.framework_import(data=data)
            except FrameworkFileError as error:
                assert error.errors and all(isinstance(e, str) and e for e in error.errors)
                assert counts() == before
            else:
                assert Framework.objects.count() == before[0] + 1
                assert framework.items.count() == len(data.items)
                assert framework.levels.count() == len(data.levels)
                assert framework.associations.count() == len(data.associations)
            raise _Rollback
    except _Rollback:
        pass
