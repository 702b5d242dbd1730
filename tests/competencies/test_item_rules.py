"""Competency rules in the framework editor: an author says how a parent is attained from its
children (all of them, or points as in Moodle), sees the rule on the framework page, and
learners then attain the parent by it."""

import html
import re
import uuid
from http import HTTPStatus

import pytest
from django.urls import reverse

from competencies import demo as competencies_demo
from competencies import rules, services
from competencies.interchange import FrameworkData, ItemData
from competencies.models import CompetencyAttainment, CompetencyItem, Framework, ScaleLevel
from competencies.services import evidence_record

pytestmark = pytest.mark.django_db

PUBLISHED_NOTE = "a published framework never changes"


def make_framework(owner) -> Framework:
    """PP.1 over PP.1.1, PP.1.2, PP.1.3 and a child without a code; PP.2 has no children."""
    children = [("PP.1.1", "Opens a case"), ("PP.1.2", "Plans with the family")]
    children += [("PP.1.3", "Reviews the plan"), ("", "Keeps records")]
    items = [ItemData(key="PP.1", code="PP.1", kind="domain", full_statement="Case work")]
    items += [
        ItemData(key=f"c{n}", code=code, full_statement=text, parent_key="PP.1", order=n)
        for n, (code, text) in enumerate(children)
    ]
    items.append(ItemData(key="PP.2", code="PP.2", full_statement="Refers to services", order=1))
    return services.framework_import(
        data=FrameworkData(
            title="Case work",
            creator="Ubuntu Institute",
            levels=list(competencies_demo.SCALE),
            items=items,
        ),
        owner_institution=owner,
    )


@pytest.fixture
def framework(institution_a) -> Framework:
    return make_framework(institution_a)


@pytest.fixture
def author(client, people_a):
    client.force_login(people_a.author)
    return people_a.author


def item(framework, code: str) -> CompetencyItem:
    return CompetencyItem.objects.get(framework=framework, code=code)


def codeless(framework) -> CompetencyItem:
    return CompetencyItem.objects.get(framework=framework, code="")


def rule_url(framework, code: str) -> str:
    return reverse("competencies_item_rule", args=[framework.pk, item(framework, code).pk])


def framework_url(framework) -> str:
    return reverse("competencies_framework", args=[framework.pk])


def text(response) -> str:
    return html.unescape(response.content.decode())


def field(page: str, name: str, value: str | None = None) -> str:
    """The ``<input>`` named ``name`` (with ``value``, for radio buttons) on ``page``."""
    for tag in re.findall(r"<input [^>]*>", page):
        if f'name="{name}"' in tag and (value is None or f'value="{value}"' in tag):
            return tag
    raise AssertionError(f"no input {name}={value}")


def stored(framework, code="PP.1") -> tuple[str, dict]:
    parent = item(framework, code)
    return parent.rule_type, parent.rule_config


def points_post(framework, needed, points: dict[str, object], required=()) -> dict:
    """The rule form as posted: ``points`` by child code ("" for the child without one)."""
    data = {"rule_type": "points", "points_needed": needed}
    for code, value in points.items():
        child = codeless(framework) if code == "" else item(framework, code)
        data[f"points_{child.pk}"] = value
        if code in required:
            data[f"required_{child.pk}"] = "on"
    return data


GOOD_POINTS = {"PP.1.1": 2, "PP.1.2": 2, "PP.1.3": 1, "": 0}


# --- Setting a rule -----------------------------------------------------------------------


def test_the_framework_page_offers_a_rule_for_parents_only(client, author, framework):
    page = text(client.get(framework_url(framework)))
    parent, leaf = item(framework, "PP.1"), item(framework, "PP.2")
    assert f'href="items/{parent.pk}/rule/"' in page
    assert f'href="items/{leaf.pk}/rule/"' not in page
    # Without a rule a parent is attained as with "all", and the page says so.
    assert page.count("data-children-rule=") == 1
    assert (
        '<small data-children-rule="none">Attained from its children: when all of them are '
        "attained</small>"
    ) in page


def test_the_rule_page_lists_the_children_in_tree_order_and_saves_an_all_rule(
    client, author, framework
):
    page = text(client.get(rule_url(framework, "PP.1")))
    assert "Competency rule" in page and "PP.1 Case work" in page
    positions = [
        page.index(statement)
        for statement in ("Opens a case", "Plans with the family", "Reviews the plan")
    ]
    assert positions == sorted(positions)
    assert "no code: give it one" in page  # the child without a code
    assert "checked" in field(page, "rule_type", "all")
    # A new points rule starts at a point for each child with a code.
    assert 'value="3"' in field(page, "points_needed")
    assert 'value="0"' in field(page, f"points_{codeless(framework).pk}")

    response = client.post(rule_url(framework, "PP.1"), {"rule_type": "all"})
    parent = item(framework, "PP.1")
    assert response["Location"] == f"{framework_url(framework)}#item-{parent.pk}"
    assert stored(framework) == ("all", {})
    page = text(client.get(response["Location"]))
    assert "Rule of “PP.1 Case work” saved. Attained from its children: when all" in page
    assert '<small data-children-rule="all">Attained from its children: when all' in page


def test_a_points_rule_is_saved_in_moodles_format_and_shown(client, author, framework):
    response = client.post(
        rule_url(framework, "PP.1"), points_post(framework, 4, GOOD_POINTS, required={"PP.1.1"})
    )
    assert response.status_code == HTTPStatus.FOUND
    assert stored(framework) == (
        "points",
        {
            "base": {"points": 4},
            "competencies": [
                {"id": "PP.1.1", "points": 2, "required": 1},
                {"id": "PP.1.2", "points": 2, "required": 0},
                {"id": "PP.1.3", "points": 1, "required": 0},
            ],
        },
    )
    page = text(client.get(framework_url(framework)))
    assert (
        '<small data-children-rule="points">Attained from its children: 4 points '
        "(PP.1.1 required)</small>"
    ) in page

    # The page opens again with the rule as stored.
    page = text(client.get(rule_url(framework, "PP.1")))
    assert "checked" in field(page, "rule_type", "points")
    assert 'value="4"' in field(page, "points_needed")
    for code, points, required in (("PP.1.1", 2, True), ("PP.1.2", 2, False), ("PP.1.3", 1, False)):
        pk = item(framework, code).pk
        assert f'value="{points}"' in field(page, f"points_{pk}")
        assert ("checked" in field(page, f"required_{pk}")) == required


def test_a_rule_can_go_back_to_all_children(client, author, framework):
    rules.item_rule_set(
        item=item(framework, "PP.1"),
        rule_type="points",
        points_needed=1,
        children=[rules.ChildRule(child=item(framework, "PP.1.1"), points=1)],
    )
    client.post(rule_url(framework, "PP.1"), {"rule_type": "all"})
    assert stored(framework) == ("all", {})


@pytest.mark.parametrize(
    "needed, points, required, problem",
    [
        ("", GOOD_POINTS, (), "Points needed: give a whole number of at least 1."),
        ("0", GOOD_POINTS, (), "Points needed: give a whole number of at least 1."),
        ("-2", GOOD_POINTS, (), "Points needed: give a whole number of at least 1."),
        ("four", GOOD_POINTS, (), "Enter a whole number."),
        ("4", {**GOOD_POINTS, "PP.1.2": "-1"}, (), "Points of PP.1.2: give a whole number, 0"),
        ("4", {**GOOD_POINTS, "PP.1.3": "1.5"}, (), "Enter a whole number."),
        (
            "9",
            GOOD_POINTS,
            (),
            "The rule can never be met: the children's points add up to 5, fewer than the 9 "
            "needed.",
        ),
        ("4", {**GOOD_POINTS, "": "1"}, (), "“Keeps records” has no code"),
        ("4", GOOD_POINTS, {""}, "“Keeps records” has no code"),
    ],
)
def test_a_rule_that_cannot_work_is_explained_and_not_saved(
    client, author, framework, needed, points, required, problem
):
    rules.item_rule_set(item=item(framework, "PP.1"), rule_type="all")
    response = client.post(
        rule_url(framework, "PP.1"), points_post(framework, needed, points, required)
    )
    assert response.status_code == HTTPStatus.OK
    assert problem in text(response)
    assert stored(framework) == ("all", {})


def test_every_problem_is_listed_at_once(client, author, framework):
    response = client.post(
        rule_url(framework, "PP.1"),
        points_post(framework, "0", {**GOOD_POINTS, "PP.1.1": "-3", "": "2"}),
    )
    page = text(response)
    assert "The rule was not saved:" in page
    assert "Points needed: give a whole number of at least 1." in page
    assert "Points of PP.1.1: give a whole number, 0 or more." in page
    assert "“Keeps records” has no code, and a points rule names children by their codes" in page
    assert stored(framework) == ("", {})


def test_an_item_without_children_has_no_rule(client, author, framework):
    page = text(client.get(rule_url(framework, "PP.2")))
    assert "“PP.2 Refers to services” has no children" in page
    assert 'name="rule_type"' not in page
    client.post(rule_url(framework, "PP.2"), {"rule_type": "all"})
    assert stored(framework, "PP.2") == ("", {})
    with pytest.raises(services.FrameworkError, match="has no children"):
        rules.item_rule_set(item=item(framework, "PP.2"), rule_type="all")


def test_the_service_counts_only_the_items_own_children(framework):
    with pytest.raises(services.FrameworkError, match="Only the children"):
        rules.item_rule_set(
            item=item(framework, "PP.1"),
            rule_type="points",
            points_needed=1,
            children=[rules.ChildRule(child=item(framework, "PP.2"), points=1)],
        )
    with pytest.raises(services.FrameworkError, match="not a competency rule"):
        rules.item_rule_set(item=item(framework, "PP.1"), rule_type="most")
    assert stored(framework) == ("", {})


def test_a_child_given_a_new_code_keeps_its_place_in_the_parents_rule(framework):
    rules.item_rule_set(
        item=item(framework, "PP.1"),
        rule_type="points",
        points_needed=3,
        children=[
            rules.ChildRule(child=item(framework, "PP.1.1"), points=2, required=True),
            rules.ChildRule(child=item(framework, "PP.1.2"), points=2),
        ],
    )
    services.item_update(item=item(framework, "PP.1.1"), code="PP.1.9")
    _type, config = stored(framework)
    assert config["competencies"][0] == {"id": "PP.1.9", "points": 2, "required": 1}
    assert (
        rules.rule_summary(item=item(framework, "PP.1"), child_codes=["PP.1.9", "PP.1.2", "PP.1.3"])
        == "Attained from its children: 3 points (PP.1.9 required)"
    )

    services.item_update(item=item(framework, "PP.1.2"), code="")  # no code: out of the rule
    _type, config = stored(framework)
    assert [entry["id"] for entry in config["competencies"]] == ["PP.1.9", "PP.1.3"]


# --- Who may, and when --------------------------------------------------------------------


def test_a_published_framework_refuses_and_still_shows_its_rule(client, author, framework):
    rules.item_rule_set(item=item(framework, "PP.1"), rule_type="all")
    services.framework_publish(framework=framework)
    response = client.get(rule_url(framework, "PP.1"), follow=True)
    assert PUBLISHED_NOTE in text(response)
    response = client.post(
        rule_url(framework, "PP.1"), points_post(framework, 4, GOOD_POINTS), follow=True
    )
    page = text(response)
    assert PUBLISHED_NOTE in page
    assert stored(framework) == ("all", {})
    assert '<small data-children-rule="all">Attained from its children: when all' in page
    assert "/rule/" not in page  # no action on a published framework
    with pytest.raises(services.FrameworkError, match="never changes"):
        rules.item_rule_set(item=item(framework, "PP.1"), rule_type="points")


@pytest.mark.parametrize("published", [False, True])
def test_others_cannot_open_or_post_the_rule_page(client, people_a, people_b, framework, published):
    if published:
        services.framework_publish(framework=framework)
    address = rule_url(framework, "PP.1")
    # Another institution's author: a draft is not even visible (404), a published one is
    # not theirs to change (Wagtail's "permission denied": back to the admin home).
    client.force_login(people_b.author)
    for response in (
        client.get(address),
        client.post(address, points_post(framework, 4, GOOD_POINTS)),
    ):
        if published:
            assert response.status_code == HTTPStatus.FOUND
            assert response["Location"] == reverse("wagtailadmin_home")
        else:
            assert response.status_code == HTTPStatus.NOT_FOUND
    # A trainee has no admin access: sent to log in.
    client.force_login(people_a.trainee)
    for response in (client.get(address), client.post(address, {"rule_type": "all"})):
        assert response.status_code == HTTPStatus.FOUND
        assert response["Location"].startswith("/accounts/login/")
    assert stored(framework) == ("", {})


# --- What learners get --------------------------------------------------------------------


def show(learner, framework, code: str, level_name: str):
    evidence_record(
        learner=learner,
        competency=item(framework, code),
        level=ScaleLevel.objects.get(framework=framework, name=level_name),
        source_kind="prior_learning",
        source_id=uuid.uuid4(),
    )


def attained(learner, code: str):
    row = (
        CompetencyAttainment.objects.filter(learner=learner, competency__code=code)
        .select_related("level")
        .first()
    )
    return (row.level.name, row.via) if row else None


def test_a_points_rule_set_in_the_admin_attains_the_parent(client, author, people_a, framework):
    client.post(
        rule_url(framework, "PP.1"),
        points_post(framework, 3, {"PP.1.1": 2, "PP.1.2": 1, "PP.1.3": 1}, required={"PP.1.1"}),
    )
    client.post(reverse("competencies_framework_publish", args=[framework.pk]))
    framework.refresh_from_db()
    assert framework.status == "published"

    learner = people_a.trainee
    show(learner, framework, "PP.1.2", "Proficient")
    show(learner, framework, "PP.1.3", "Proficient")
    assert attained(learner, "PP.1") is None  # 2 points of 3, and the required PP.1.1 missing
    show(learner, framework, "PP.1.1", "Competent")
    # At Competent all three count (4 points); at Proficient the required PP.1.1 is missing.
    assert attained(learner, "PP.1") == ("Competent", "rollup")
