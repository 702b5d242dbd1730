"""CASE 1.1 CFPackage JSON: export, import, the round trip, and the messages a bad file gets."""

import copy
import json
import uuid

import jsonschema
import pytest
from django.db import transaction
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from competencies import interchange, selectors, services
from competencies.interchange import (
    SCHEMA_PATH,
    AssociationData,
    FrameworkData,
    FrameworkFileError,
    ItemData,
    LevelData,
    export_case_package,
    parse_case_package,
)
from competencies.models import CompetencyAssociation, CompetencyItem, Framework

pytestmark = pytest.mark.django_db

BASE_URL = "https://lms.example.org"
CASE = f"{BASE_URL}/ims/case/v1p1"


def uid(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_DNS, f"{name}.test"))


FRAMEWORK_ID = uid("framework")
EXTERNAL_ID = uid("somewhere-else")


def item(code: str, **fields) -> ItemData:
    """An item whose key and identifier are derived from its code."""
    return ItemData(key=uid(code), identifier=uid(code), code=code, **fields)


def framework_data(**overrides) -> FrameworkData:
    """A small framework with every feature CASE carries: tree, kinds, scale, links, licence."""
    data = FrameworkData(
        title="Para-professional social service workers",
        creator="Ubuntu Institute",
        identifier=FRAMEWORK_ID,
        code="PSSW",
        version="1.0",
        publisher="Ministry of Social Development",
        description="What a para-professional social service worker can do.",
        licence="CC BY 4.0",
        licence_uri="https://creativecommons.org/licenses/by/4.0/",
        official_source_url="https://example.org/pssw.pdf",
        levels=[
            LevelData("Not yet competent", code="N", identifier=uid("level-n")),
            LevelData("Developing", code="D", description="With help", identifier=uid("level-d")),
            LevelData("Competent", code="C", is_proficient=True, identifier=uid("level-c")),
            LevelData("Proficient", code="P", identifier=uid("level-p")),
        ],
        items=[
            item(
                "PP.1",
                kind="domain",
                full_statement="Case management",
                abbreviated_statement="Cases",
            ),
            item(
                "PP.1.1",
                full_statement="Opens a case file",
                parent_key=uid("PP.1"),
                notes="Within a week",
                language="en",
                rule_type="all",
            ),
            item(
                "PP.1.1.a",
                kind="indicator",
                full_statement="Records the child's details",
                parent_key=uid("PP.1.1"),
            ),
            item(
                "PP.1.2",
                full_statement="Plans with the family",
                parent_key=uid("PP.1"),
                order=1,
                uri="https://case.example.net/uri/pp-1-2",
            ),
            item("PP.2", kind="domain", full_statement="Child protection", order=1),
        ],
        associations=[
            AssociationData(
                "precedes",
                uid("PP.1.1"),
                uid("PP.1.2"),
                identifier=uid("link-1"),
                sequence_number=1,
                notes="Open the file first",
            ),
            AssociationData(
                "exactMatchOf",
                uid("PP.1.2"),
                EXTERNAL_ID,
                identifier=uid("link-2"),
                destination_uri="https://case.example.net/uri/elsewhere",
                destination_title="Plans with families (elsewhere)",
            ),
        ],
    )
    for name, value in overrides.items():
        setattr(data, name, value)
    return data


def package(**overrides) -> dict:
    return export_case_package(framework_data(**overrides), base_url=BASE_URL)


def encode(value) -> bytes:
    return json.dumps(value).encode()


def official_validator():
    """The schema as published, checked independently of the module under test."""
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return jsonschema.Draft201909Validator(
        schema, format_checker=jsonschema.Draft201909Validator.FORMAT_CHECKER
    )


def assert_valid_case(value: dict) -> None:
    errors = [
        f"{list(e.absolute_path)}: {e.message}" for e in official_validator().iter_errors(value)
    ]
    assert errors == []


def without_timestamps(value):
    if isinstance(value, dict):
        return {k: without_timestamps(v) for k, v in value.items() if k != "lastChangeDateTime"}
    if isinstance(value, list):
        return [without_timestamps(v) for v in value]
    return value


def shape(data: FrameworkData, *, base_url: str = BASE_URL) -> dict:
    """What a round trip must keep. URIs we publish are filled in as the export fills them."""
    case = f"{base_url}/ims/case/v1p1"
    return {
        "document": (
            data.identifier,
            data.uri or f"{case}/CFDocuments/{data.identifier}",
            data.title,
            data.creator,
            data.code,
            data.version,
            data.language,
            data.publisher,
            data.description,
            data.licence,
            data.licence_uri,
            data.official_source_url,
        ),
        "levels": [
            (level.identifier, level.name, level.code, level.description, level.is_proficient)
            for level in data.levels
        ],
        "items": sorted(
            (
                item.identifier,
                item.uri or f"{case}/CFItems/{item.identifier}",
                item.code,
                item.kind,
                item.full_statement,
                item.abbreviated_statement,
                item.notes,
                item.language,
                item.parent_key,
                item.order,
                item.rule_type,
                json.dumps(item.rule_config),
                item.previous_identifier,
            )
            for item in data.items
        ),
        "associations": sorted(
            (
                a.identifier,
                a.association_type,
                a.origin_key,
                a.destination_key,
                a.sequence_number,
                a.notes,
            )
            for a in data.associations
        ),
    }


def refused(raw: bytes) -> list[str]:
    """Import ``raw``; it must fail with FrameworkFileError and write nothing."""
    before = (
        Framework.objects.count(),
        CompetencyItem.objects.count(),
        CompetencyAssociation.objects.count(),
    )
    with pytest.raises(FrameworkFileError) as raised:
        services.framework_import(data=parse_case_package(raw))
    after = (
        Framework.objects.count(),
        CompetencyItem.objects.count(),
        CompetencyAssociation.objects.count(),
    )
    assert after == before
    assert raised.value.errors
    return raised.value.errors


def import_package(value) -> Framework:
    raw = value if isinstance(value, bytes) else encode(value)
    return services.framework_import(data=parse_case_package(raw))


def national_framework() -> tuple[Framework, CompetencyItem]:
    national = services.framework_create(title="National standard", creator="Council")
    item = services.item_create(framework=national, full_statement="Manages cases", code="N.1")
    return national, item


# --- Export ---------------------------------------------------------------------------------


def test_export_validates_against_the_official_schema_and_is_deterministic():
    exported = package()
    assert_valid_case(exported)
    assert exported == package() or without_timestamps(exported) == without_timestamps(package())
    document = exported["CFDocument"]
    assert document["identifier"] == FRAMEWORK_ID
    assert document["uri"] == f"{CASE}/CFDocuments/{FRAMEWORK_ID}"
    assert document["caseVersion"] == "1.1"
    assert document["licenseURI"]["uri"] == "https://creativecommons.org/licenses/by/4.0/"
    types = {item["humanCodingScheme"]: item["CFItemType"] for item in exported["CFItems"]}
    assert types == {
        "PP.1": "Domain",
        "PP.1.1": "Competency",
        "PP.1.1.a": "Indicator",
        "PP.1.2": "Competency",
        "PP.2": "Domain",
    }
    item_uris = {item["humanCodingScheme"]: item["uri"] for item in exported["CFItems"]}
    assert item_uris["PP.1.1"] == f"{CASE}/CFItems/{uid('PP.1.1')}"
    assert item_uris["PP.1.2"] == "https://case.example.net/uri/pp-1-2"
    titles = {t["title"] for t in exported["CFDefinitions"]["CFItemTypes"]}
    assert titles == {"Domain", "Competency", "Indicator"}

    child_of = {
        a["originNodeURI"]["identifier"]: a
        for a in exported["CFAssociations"]
        if a["associationType"] == "isChildOf"
    }
    assert len(child_of) == 5
    top = child_of[uid("PP.1")]
    assert top["destinationNodeURI"]["identifier"] == FRAMEWORK_ID  # top level: the document
    assert top["identifier"] == str(
        uuid.uuid5(
            uuid.uuid5(uuid.NAMESPACE_URL, "urn:competencies:case:v1p1"),
            f"isChildOf:{uid('PP.1')}:{FRAMEWORK_ID}",
        )
    )
    assert child_of[uid("PP.1.2")]["destinationNodeURI"]["identifier"] == uid("PP.1")
    assert child_of[uid("PP.1.2")]["sequenceNumber"] == 2
    assert child_of[uid("PP.2")]["sequenceNumber"] == 2

    levels = exported["CFRubrics"][0]["CFRubricCriteria"][0]["CFRubricCriterionLevels"]
    assert [(lv["quality"], lv["extensions"][0]["proficient"]) for lv in levels] == [
        ("Not yet competent", False),
        ("Developing", False),
        ("Competent", True),
        ("Proficient", True),  # proficient from Competent up
    ]


def test_export_of_a_framework_built_through_services_validates():
    framework = import_package(package())
    national, national_item = national_framework()
    services.association_create(
        origin=framework.items.get(code="PP.2"),
        destination=national_item,
        association_type="isRelatedTo",
    )
    services.framework_publish(framework=framework)
    copy_ = services.framework_new_version(framework=framework, version="2.0")
    for source in (framework, copy_):
        exported = export_case_package(
            selectors.framework_data(framework=source), base_url=BASE_URL
        )
        assert_valid_case(exported)
    replaced = [a for a in exported["CFAssociations"] if a["associationType"] == "replacedBy"]
    old = {str(i.identifier) for i in framework.items.all()}
    new = {str(i.identifier) for i in copy_.items.all()}
    assert {a["originNodeURI"]["identifier"] for a in replaced} == old
    assert {a["destinationNodeURI"]["identifier"] for a in replaced} == new


# --- Round trips ----------------------------------------------------------------------------


def test_round_trip_of_framework_data():
    data = framework_data()
    parsed = parse_case_package(encode(export_case_package(data, base_url=BASE_URL)))
    assert shape(parsed) == shape(data)
    external = next(a for a in parsed.associations if a.destination_key == EXTERNAL_ID)
    assert external.destination_uri == "https://case.example.net/uri/elsewhere"
    assert external.destination_title == "Plans with families (elsewhere)"
    assert parsed.items[1].place == "CFItems[1]"


def test_round_trip_through_the_database_keeps_identifiers_uris_scale_and_links():
    national, national_item = national_framework()
    data = framework_data()
    data.associations.append(
        AssociationData(
            "isRelatedTo", uid("PP.2"), str(national_item.identifier), identifier=uid("link-3")
        )
    )
    framework = import_package(export_case_package(data, base_url=BASE_URL))
    link = framework.associations.get(identifier=uid("link-3"))
    assert link.destination == national_item
    stored = selectors.framework_data(framework=framework)
    assert shape(stored) == shape(data)

    first = export_case_package(stored, base_url=BASE_URL)
    assert_valid_case(first)
    services.framework_delete(framework=framework)
    again = import_package(first)
    assert again.identifier == framework.identifier
    assert again.items.get(code="PP.1.1").rule_type == "all"
    second = export_case_package(selectors.framework_data(framework=again), base_url=BASE_URL)
    assert without_timestamps(second) == without_timestamps(first)


def test_previous_versions_survive_as_replaced_by():
    framework = import_package(package())
    services.framework_publish(framework=framework)
    copy_ = services.framework_new_version(framework=framework, version="2.0")
    data = selectors.framework_data(framework=copy_)
    parsed = parse_case_package(encode(export_case_package(data, base_url=BASE_URL)))
    assert shape(parsed) == shape(data)
    assert all(item.previous_identifier for item in parsed.items)
    assert not [a for a in parsed.associations if a.association_type == "replacedBy"]


# --- Packages from elsewhere ----------------------------------------------------------------

DOC = "C1B2B4F4-5D0A-4B7F-9B3E-2B8E1A0F6A11"  # upper case, as some publishers write them
ITEMS = [str(uuid.uuid5(uuid.NAMESPACE_DNS, f"item-{n}.test")) for n in range(4)]


def foreign_package() -> dict:
    """A package as another CASE publisher writes it (OpenSALT style)."""
    when = "2023-02-01T10:00:00+00:00"

    def link(identifier, title=""):
        return {
            "title": title,
            "identifier": identifier,
            "uri": f"https://opensalt.example/uri/{identifier}",
        }

    def child_of(n, child, parent, seq):
        return {
            "identifier": str(uuid.uuid5(uuid.NAMESPACE_DNS, f"a{n}.test")),
            "associationType": "isChildOf",
            "uri": f"https://opensalt.example/a/{n}",
            "originNodeURI": link(child),
            "destinationNodeURI": link(parent),
            "sequenceNumber": seq,
            "lastChangeDateTime": when,
        }

    return {
        "CFDocument": {
            "identifier": DOC,
            "uri": f"https://opensalt.example/uri/{DOC.lower()}",
            "creator": "State Board",
            "title": "Digital literacy",
            "lastChangeDateTime": when,
            "adoptionStatus": "Adopted",
            "language": "en-GB",
            "version": "3",
        },
        "CFItems": [
            {
                "identifier": ITEMS[0],
                "uri": f"https://opensalt.example/uri/{ITEMS[0]}",
                "fullStatement": "Uses devices",
                "humanCodingScheme": "DL.1",
                "CFItemType": "Standard",
                "lastChangeDateTime": when,
            },
            {
                "identifier": ITEMS[1],
                "uri": f"https://opensalt.example/uri/{ITEMS[1]}",
                "fullStatement": "Turns a device on",
                "humanCodingScheme": "DL.1.2",
                "CFItemType": "INDICATOR",
                "lastChangeDateTime": when,
            },
            {
                "identifier": ITEMS[2],
                "uri": f"https://opensalt.example/uri/{ITEMS[2]}",
                "fullStatement": "Charges a device",
                "humanCodingScheme": "DL.1.1",
                "lastChangeDateTime": when,
                "listEnumeration": "1",
            },
            {
                "identifier": ITEMS[3],
                "uri": f"https://opensalt.example/uri/{ITEMS[3]}",
                "fullStatement": "Communicates",
                "humanCodingScheme": "DL.2",
                "CFItemType": "domain",
                "lastChangeDateTime": when,
            },
        ],
        "CFAssociations": [
            child_of(0, ITEMS[0], DOC, 1),
            child_of(1, ITEMS[1], ITEMS[0], 2),
            child_of(2, ITEMS[2], ITEMS[0], 1),
            child_of(3, ITEMS[3], DOC.lower(), 2),
            {
                "identifier": str(uuid.uuid5(uuid.NAMESPACE_DNS, "x.test")),
                "associationType": "exemplar",
                "uri": "https://opensalt.example/a/x",
                "originNodeURI": link(ITEMS[1]),
                "destinationNodeURI": {
                    "title": "A video",
                    "identifier": "video-17",
                    "uri": "https://videos.example/17",
                },
                "lastChangeDateTime": when,
            },
            {
                "identifier": str(uuid.uuid5(uuid.NAMESPACE_DNS, "r.test")),
                "associationType": "replacedBy",
                "uri": "https://opensalt.example/a/r",
                "originNodeURI": link(uid("old-item"), "Old item"),
                "destinationNodeURI": link(ITEMS[3]),
                "lastChangeDateTime": when,
            },
        ],
    }


def test_a_package_from_another_publisher():
    framework = import_package(foreign_package())
    assert str(framework.identifier) == DOC.lower()
    assert framework.uri == f"https://opensalt.example/uri/{DOC.lower()}"
    assert (framework.status, framework.language, framework.version) == ("draft", "en-GB", "3")
    rows = selectors.framework_tree_rows(framework=framework)
    assert [(n.item.code, n.item.kind, n.depth) for n in rows] == [
        ("DL.1", "competency", 0),  # "Standard" is no kind of ours
        ("DL.1.1", "competency", 1),
        ("DL.1.2", "indicator", 1),
        ("DL.2", "domain", 0),
    ]
    assert not framework.levels.exists()
    exemplar = framework.associations.get()
    assert exemplar.association_type == "exemplar"
    assert (exemplar.destination, exemplar.destination_identifier) == (None, "video-17")
    assert exemplar.destination_uri == "https://videos.example/17"
    assert exemplar.destination_title == "A video"
    # replacedBy from an item we never held is the item's lineage, not an error.
    parsed = parse_case_package(encode(foreign_package()))
    assert parsed.items[3].previous_identifier == uid("old-item")

    exported = export_case_package(selectors.framework_data(framework=framework), base_url=BASE_URL)
    assert_valid_case(exported)
    assert {i["uri"] for i in exported["CFItems"]} == {
        f"https://opensalt.example/uri/{i}" for i in ITEMS
    }


def test_crosswalks_to_a_held_framework_link_its_items_and_export_back():
    national, national_item = national_framework()
    value = package()
    when = value["CFDocument"]["lastChangeDateTime"]
    target = {
        "title": "Manages cases",
        "identifier": str(national_item.identifier),
        "uri": f"{CASE}/CFItems/{national_item.identifier}",
    }
    ours = {"title": "Case management", "identifier": uid("PP.1"), "uri": f"{CASE}/CFItems/x"}
    value["CFAssociations"] += [
        {
            "identifier": uid("walk-1"),
            "associationType": "exactMatchOf",
            "uri": f"{CASE}/CFAssociations/{uid('walk-1')}",
            "originNodeURI": ours,
            "destinationNodeURI": target,
            "lastChangeDateTime": when,
        },
        {
            "identifier": uid("walk-2"),
            "associationType": "isRelatedTo",
            "uri": f"{CASE}/CFAssociations/{uid('walk-2')}",
            "originNodeURI": target,
            "destinationNodeURI": ours,
            "lastChangeDateTime": when,
        },
    ]
    framework = import_package(value)
    forward = CompetencyAssociation.objects.get(identifier=uid("walk-1"))
    backward = CompetencyAssociation.objects.get(identifier=uid("walk-2"))
    assert (forward.framework, forward.origin.code, forward.destination) == (
        framework,
        "PP.1",
        national_item,
    )
    assert (backward.framework, backward.origin, backward.destination.code) == (
        framework,
        national_item,
        "PP.1",
    )

    exported = export_case_package(selectors.framework_data(framework=framework), base_url=BASE_URL)
    assert_valid_case(exported)
    by_id = {a["identifier"]: a for a in exported["CFAssociations"]}
    assert by_id[uid("walk-1")]["destinationNodeURI"]["identifier"] == str(national_item.identifier)
    assert by_id[uid("walk-2")]["originNodeURI"]["identifier"] == str(national_item.identifier)
    assert by_id[uid("walk-2")]["destinationNodeURI"]["identifier"] == uid("PP.1")


# --- Files that are refused, and what they are told -----------------------------------------


def test_schema_errors_are_all_reported_in_case_terms():
    value = package()
    del value["CFItems"][3]["fullStatement"]
    value["CFItems"][1]["identifier"] = "not-a-uuid"
    value["CFAssociations"][0]["associationType"] = "foo"
    value["CFAssociations"][2]["sequenceNumber"] = "first"
    value["CFDocument"]["colour"] = "blue"  # not CASE, but no error: kept in its extensions
    errors = refused(encode(value))
    assert "CFItems[3]: fullStatement is required" in errors
    assert any(
        e.startswith("CFItems[1].identifier: 'not-a-uuid' is not a valid UUID") for e in errors
    )
    assert "CFAssociations[0].associationType: 'foo' is not a valid association type" in errors
    assert "CFAssociations[2].sequenceNumber: must be a whole number, not text" in errors
    assert not [e for e in errors if "colour" in e]


def test_an_association_pointing_at_nothing():
    value = package()
    nowhere = uid("nowhere")
    value["CFAssociations"][1]["originNodeURI"]["identifier"] = nowhere  # an isChildOf
    errors = refused(encode(value))
    assert errors == [f"CFAssociations[1]: originNodeURI '{nowhere}' points at nothing in the file"]

    value = package()
    precedes = next(
        i for i, a in enumerate(value["CFAssociations"]) if a["associationType"] == "precedes"
    )
    value["CFAssociations"][precedes]["originNodeURI"]["identifier"] = nowhere
    errors = refused(encode(value))
    assert errors == [
        f"CFAssociations[{precedes}]: originNodeURI '{nowhere}' points at nothing in the file"
    ]


def test_an_isChildOf_parent_outside_the_file():  # noqa: N802
    value = package()
    value["CFAssociations"][2]["destinationNodeURI"]["identifier"] = uid("nowhere")
    errors = refused(encode(value))
    assert errors == [f"CFItems[2]: isChildOf destination '{uid('nowhere')}' is not in the file"]


def test_a_file_that_is_not_utf8():
    raw = encode(package()).replace(b"Case management", "Cas\u00e9".encode("latin-1"))
    errors = refused(raw)
    assert len(errors) == 1 and "not UTF-8" in errors[0]


def test_a_byte_order_mark_is_fine():
    framework = import_package(b"\xef\xbb\xbf" + encode(package()))
    assert framework.items.count() == 5


@pytest.mark.parametrize("raw", [b"", b"  \n\t "])
def test_an_empty_file(raw):
    assert refused(raw) == ["The CASE JSON file is empty."]


def test_an_oversized_file(monkeypatch):
    monkeypatch.setattr(interchange.data, "MAX_IMPORT_BYTES", 1000)
    errors = refused(encode(package()))
    assert len(errors) == 1 and "the limit is 1,000 bytes" in errors[0]


def test_invalid_json_names_line_and_column():
    errors = refused(b'{\n  "CFDocument": {\n    "title": "x",\n  }\n}')
    assert len(errors) == 1
    assert errors[0].startswith("The file is not valid JSON: ")
    assert "line 4, column 3" in errors[0]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"[1, 2]", "The file is not a CASE CFPackage: it holds a list, not an object"),
        (b'"CFDocument"', "The file is not a CASE CFPackage: it holds text"),
        (b'{"title": "Digital"}', "The file is not a CASE CFPackage: it has no CFDocument"),
        (b'{"CFDocument": []}', "CFDocument: must be an object, not a list"),
    ],
)
def test_json_that_is_not_a_cfpackage(raw, expected):
    errors = refused(raw)
    assert errors[0].startswith(expected)


def test_a_cycle_through_isChildOf():  # noqa: N802
    value = package()
    top = next(
        a for a in value["CFAssociations"] if a["originNodeURI"]["identifier"] == uid("PP.1")
    )
    top["destinationNodeURI"]["identifier"] = uid("PP.1.1.a")
    errors = refused(encode(value))
    assert len(errors) == 1
    assert "the tree has a cycle" in errors[0]
    assert uid("PP.1") in errors[0] and uid("PP.1.1.a") in errors[0]


def test_duplicate_identifiers():
    value = package()
    old = value["CFItems"][3]["identifier"]
    value["CFItems"][3]["identifier"] = value["CFItems"][1]["identifier"]
    for association in value["CFAssociations"]:
        for end in ("originNodeURI", "destinationNodeURI"):
            if association[end]["identifier"] == old:
                association[end]["identifier"] = value["CFItems"][1]["identifier"]
    errors = refused(encode(value))
    assert f"CFItems[3]: '{uid('PP.1.1')}' appears twice (also CFItems[1])" in errors


def test_an_identifier_imported_before():
    import_package(package())
    errors = refused(encode(package(title="Another title")))
    assert any("exist here already" in e for e in errors)


def test_two_parents_for_one_item():
    value = package()
    extra = copy.deepcopy(value["CFAssociations"][2])  # PP.1.1.a isChildOf PP.1.1
    extra["identifier"] = uid("second-parent")
    extra["destinationNodeURI"]["identifier"] = uid("PP.2")
    value["CFAssociations"].append(extra)
    errors = refused(encode(value))
    assert len(errors) == 1
    assert errors[0].startswith(f"CFAssociations[{len(value['CFAssociations']) - 1}]: CFItems[2]")
    assert "only one parent" in errors[0]


def test_a_scale_without_a_proficient_level():
    value = package()
    levels = value["CFRubrics"][0]["CFRubricCriteria"][0]["CFRubricCriterionLevels"]
    for level in levels:
        level["extensions"] = [{"proficient": False}]
    errors = refused(encode(value))
    assert errors == [
        "CFRubrics[0].CFRubricCriteria[0]: at least one level must be marked proficient, with "
        '"extensions": [{"proficient": true}]'
    ]


def test_text_a_database_cannot_hold():
    value = package()
    value["CFItems"][2]["fullStatement"] = "Records\u0000 details"
    errors = refused(encode(value))
    assert errors[0].startswith("CFItems[2].fullStatement: contains a NUL character")


@pytest.mark.parametrize("depth", [100, 990, 100_000])
def test_json_nested_too_deeply(depth):
    raw = b'{"CFDocument": {"creator": ' + b"[" * depth + b"]" * depth + b"}}"
    errors = refused(raw)
    assert len(errors) == 1 and "nested" in errors[0] and "deep" in errors[0]


def test_fields_too_long_to_keep():
    value = package()
    value["CFItems"][0]["humanCodingScheme"] = "X" * 101
    errors = refused(encode(value))
    assert errors == ["CFItems[0].humanCodingScheme: 101 characters, but at most 100 can be kept"]


# --- Whatever the file, all or nothing ------------------------------------------------------

VALID = package()
SAMPLE_STRINGS = [
    *[item["identifier"] for item in VALID["CFItems"]],
    *[
        level["identifier"]
        for level in VALID["CFRubrics"][0]["CFRubricCriteria"][0]["CFRubricCriterionLevels"]
    ],
    FRAMEWORK_ID,
    "isChildOf",
    "replacedBy",
    "exactMatchOf",
    "ext:custom",
    "",
    "1.1",
    "2024-01-01T00:00:00Z",
    "Domain",
    "\u0000",
    "x" * 400,
]
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=12)
    | st.sampled_from(SAMPLE_STRINGS),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.text(max_size=8) | st.sampled_from(["CFDocument", "identifier"]),
            children,
            max_size=3,
        )
    ),
    max_leaves=8,
)


def all_paths(value, path=()):
    yield path
    if isinstance(value, dict):
        for key, child in value.items():
            yield from all_paths(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from all_paths(child, (*path, index))


def get_at(value, path):
    for part in path:
        value = value[part]
    return value


@st.composite
def mutated_packages(draw) -> bytes:
    how = draw(st.sampled_from(["mutate", "mutate", "mutate", "truncate", "bytes", "json"]))
    if how == "bytes":
        return draw(st.binary(max_size=200))
    if how == "json":
        return json.dumps(draw(JSON_VALUES)).encode()
    value = copy.deepcopy(VALID)
    for _ in range(draw(st.integers(1, 4))):
        paths = [p for p in all_paths(value) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = get_at(value, path[:-1])
        operation = draw(st.sampled_from(["same type", "same type", "drop", "replace", "copy"]))
        current = parent[path[-1]]
        if operation == "same type" and isinstance(current, str):
            # Keeps the file schema-valid more often, to reach the checks behind the schema.
            parent[path[-1]] = draw(st.sampled_from(SAMPLE_STRINGS) | st.text(max_size=12))
        elif operation == "same type" and isinstance(current, int | float):
            parent[path[-1]] = draw(st.integers(-3, 2**40))
        elif operation == "drop":
            del parent[path[-1]]
        elif operation == "replace":
            parent[path[-1]] = draw(JSON_VALUES)
        else:
            parent[path[-1]] = copy.deepcopy(get_at(value, draw(st.sampled_from(paths))))
    raw = json.dumps(value).encode()
    if how == "truncate":
        raw = raw[: draw(st.integers(0, len(raw)))]
    return raw


class _Rollback(Exception):
    pass


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(raw=mutated_packages())
def test_any_file_is_imported_whole_or_refused_with_reasons(raw):
    try:
        with transaction.atomic():
            before = (Framework.objects.count(), CompetencyItem.objects.count())
            try:
                data = parse_case_package(raw)
                framework = services.framework_import(data=data)
            except FrameworkFileError as error:
                event("refused")
                assert error.errors and all(isinstance(e, str) and e for e in error.errors)
                assert (Framework.objects.count(), CompetencyItem.objects.count()) == before
            else:
                event("imported")
                assert framework.items.count() == len(data.items)
                assert framework.levels.count() == len(data.levels)
                assert framework.associations.count() == len(data.associations)
            raise _Rollback
    except _Rollback:
        pass
