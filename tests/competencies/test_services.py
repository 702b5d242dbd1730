"""Frameworks through the services: editing drafts, publishing, versions, imports."""

import pytest

from competencies import selectors, services
from competencies.interchange import (
    AssociationData,
    FrameworkData,
    FrameworkFileError,
    ItemData,
    LevelData,
)
from competencies.models import CompetencyAssociation, CompetencyItem, Framework

pytestmark = pytest.mark.django_db

LEVELS = [
    LevelData("Not yet competent"),
    LevelData("Developing"),
    LevelData("Competent", is_proficient=True),
    LevelData("Proficient"),
]


def small_framework(**overrides) -> FrameworkData:
    data = FrameworkData(
        title="Para-professional social service workers",
        creator="Ubuntu Institute",
        place="framework",
        version="1.0",
        levels=list(LEVELS),
        items=[
            ItemData(
                key="PP.1",
                code="PP.1",
                kind="domain",
                full_statement="Case management",
                place="row 2",
            ),
            ItemData(
                key="PP.1.1",
                code="PP.1.1",
                full_statement="Opens a case file",
                parent_key="PP.1",
                place="row 3",
            ),
            ItemData(
                key="PP.1.1.a",
                code="PP.1.1.a",
                kind="indicator",
                full_statement="Records the child's details",
                parent_key="PP.1.1",
                place="row 4",
            ),
            ItemData(
                key="PP.1.2",
                code="PP.1.2",
                full_statement="Plans with the family",
                parent_key="PP.1",
                order=1,
                place="row 5",
            ),
        ],
        associations=[
            AssociationData("precedes", "PP.1.1", "PP.1.2", place="row 3"),
        ],
    )
    for name, value in overrides.items():
        setattr(data, name, value)
    return data


def test_import_writes_tree_scale_and_links():
    framework = services.framework_import(data=small_framework())
    rows = selectors.framework_tree_rows(framework=framework)
    assert [(n.item.code, n.depth) for n in rows] == [
        ("PP.1", 0),
        ("PP.1.1", 1),
        ("PP.1.1.a", 2),
        ("PP.1.2", 1),
    ]
    assert list(framework.levels.values_list("name", "is_proficient")) == [
        ("Not yet competent", False),
        ("Developing", False),
        ("Competent", True),
        ("Proficient", False),
    ]
    link = CompetencyAssociation.objects.get()
    assert (link.origin.code, link.association_type, link.destination.code) == (
        "PP.1.1",
        "precedes",
        "PP.1.2",
    )


def test_import_reports_every_problem_and_writes_nothing():
    data = small_framework()
    data.items.append(ItemData(key="PP.1.1", code="PP.1.1", full_statement="again", place="row 6"))
    data.items.append(
        ItemData(
            key="X",
            code="X",
            full_statement="orphan",
            parent_key="PP.9",
            parent_label="parent ID number",
            place="row 7",
        )
    )
    data.items.append(
        ItemData(key="C1", code="C1", full_statement="c1", parent_key="C2", place="row 8")
    )
    data.items.append(
        ItemData(key="C2", code="C2", full_statement="c2", parent_key="C1", place="row 9")
    )
    data.associations.append(
        AssociationData(
            "isRelatedTo",
            "PP.1",
            "NOPE",
            place="row 2",
            destination_label="cross-reference",
            external_destination_allowed=False,
        )
    )
    with pytest.raises(FrameworkFileError) as raised:
        services.framework_import(data=data)
    errors = raised.value.errors
    assert "row 6: 'PP.1.1' appears twice (also row 3)" in errors
    assert "row 7: parent ID number 'PP.9' is not in the file" in errors
    assert any(e.startswith("row 8: the tree has a cycle: C1 → C2 → C1") for e in errors)
    assert "row 2: cross-reference 'NOPE' points at nothing in the file" in errors
    assert not Framework.objects.exists()
    assert not CompetencyItem.objects.exists()


def test_published_framework_refuses_changes_with_a_reason():
    framework = services.framework_import(data=small_framework())
    services.framework_publish(framework=framework)
    item = framework.items.get(code="PP.1.2")
    with pytest.raises(services.FrameworkError, match="published framework never changes"):
        services.item_update(item=item, full_statement="Changed")
    with pytest.raises(services.FrameworkError, match="Create a new version"):
        services.item_create(framework=framework, full_statement="New")
    item.refresh_from_db()
    assert item.full_statement == "Plans with the family"


def test_publish_needs_items_and_a_proficient_level():
    framework = services.framework_create(title="Empty", creator="Me")
    with pytest.raises(services.FrameworkError, match="no competencies"):
        services.framework_publish(framework=framework)
    framework.refresh_from_db()
    assert framework.status == "draft"


def test_new_version_copies_tree_with_lineage():
    framework = services.framework_import(data=small_framework())
    services.framework_publish(framework=framework)
    copy = services.framework_new_version(framework=framework, version="2.0")
    assert copy.status == "draft" and copy.previous_version == framework
    old = {i.code: i for i in framework.items.all()}
    new = {i.code: i for i in copy.items.all()}
    assert set(old) == set(new)
    for code in old:
        assert new[code].identifier != old[code].identifier
        assert new[code].previous_version == old[code]
    assert new["PP.1.1.a"].parent == new["PP.1.1"]
    assert copy.levels.get(is_proficient=True).name == "Competent"
    link = copy.associations.get()
    assert (link.origin, link.destination) == (new["PP.1.1"], new["PP.1.2"])
    with pytest.raises(services.FrameworkError, match="exists already"):
        services.framework_new_version(framework=framework, version="2.0")


def test_moving_an_item_under_its_descendant_is_refused():
    framework = services.framework_import(data=small_framework())
    domain = framework.items.get(code="PP.1")
    leaf = framework.items.get(code="PP.1.1.a")
    with pytest.raises(services.FrameworkError, match="under itself"):
        services.item_move(item=domain, parent=leaf)
    moved = services.item_move(item=leaf, parent=domain, position=0)
    assert [i.code for i in domain.children.order_by("order")] == ["PP.1.1.a", "PP.1.1", "PP.1.2"]
    assert moved.parent == domain


def test_shift_reorders_siblings():
    framework = services.framework_import(data=small_framework())
    second = framework.items.get(code="PP.1.2")
    services.item_shift(item=second, offset=-1)
    domain = framework.items.get(code="PP.1")
    assert [i.code for i in domain.children.order_by("order")] == ["PP.1.2", "PP.1.1"]


def test_duplicate_code_is_refused_when_adding():
    framework = services.framework_import(data=small_framework())
    with pytest.raises(services.FrameworkError, match="already used"):
        services.item_create(framework=framework, full_statement="x", code="PP.1")


def test_crosswalk_to_another_framework():
    ours = services.framework_import(data=small_framework())
    national = services.framework_create(title="National", creator="Council")
    item = services.item_create(framework=national, full_statement="Manages cases", code="N.1")
    services.association_create(
        origin=item, destination=ours.items.get(code="PP.1"), association_type="exactMatchOf"
    )
    link = national.associations.get()
    assert link.destination.framework == ours
