"""Authoring a competency framework in the Wagtail admin, in a real browser: an institution's
author builds a small tree through the forms, publishes it and exports it for Moodle.

Each step leaves a screenshot in ``test-artifacts/screenshots/<test name>/``, and the exported
CSV is kept next to them.
"""

import csv
import io
import re

import pytest
from playwright.sync_api import Page, expect

from competencies import selectors
from competencies.interchange import MOODLE_HEADERS
from competencies.models import Framework, FrameworkStatus
from tests.e2e.browser import DESKTOP, expect_admin_message, field
from tests.factories import TEST_PASSWORD

# The live server and the test share the database (see tests/e2e/conftest.py).
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def row(page: Page, code: str):
    return page.locator(f"tr[data-code='{code}']")


def add_item(page: Page, *, code: str, kind: str, statement: str) -> None:
    """Fill the item form that is open and save it; the tree page shows the new row."""
    expect(page.get_by_role("heading", level=1)).to_contain_text("New item")
    field(page, "Code").fill(code)
    field(page, "Kind", "combobox").select_option(label=kind)
    field(page, "Statement").fill(statement)
    page.get_by_role("button", name="Add item").click()
    expect(row(page, code)).to_contain_text(statement)


@pytest.mark.browser
def test_author_builds_publishes_and_exports_a_framework(
    live_server, people_a, institution_a, open_page, shot
):
    page = open_page(**DESKTOP)
    page.goto(f"{live_server.url}/accounts/login/?next=/admin/")
    page.locator("input[name=login]").fill(people_a.author.username)
    page.locator("input[name=password]").fill(TEST_PASSWORD)
    page.get_by_role("button", name=re.compile("sign in", re.I)).click()

    # The admin menu leads to the frameworks; there are none yet.
    page.get_by_role("link", name="Competency frameworks").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Competency frameworks")
    expect(page.locator("main")).to_contain_text("No frameworks yet")
    shot(page, "empty list")

    page.get_by_role("link", name="Add a framework").click()
    field(page, "Title").fill("Para-professional social service workers")
    field(page, "ID number").fill("PSSW")
    field(page, "Version").fill("1.0")
    field(page, "Creator").fill("Ubuntu Institute")
    field(page, "Description").fill("What para-professionals in child protection can do.")
    # The author's only institution is already chosen as the owner.
    expect(field(page, "Owning institution", "combobox")).to_have_value(str(institution_a.pk))
    shot(page, "framework form")
    page.get_by_role("button", name="Create framework").click()

    expect_admin_message(page, "created as a draft")
    expect(page.get_by_role("heading", level=1)).to_contain_text(
        "Para-professional social service workers"
    )
    expect(page.locator("[data-status]").first).to_have_text("Draft")
    expect(page.locator("[data-scale] li")).to_have_text(
        ["Not yet competent", "Developing", "Competent (proficient)", "Proficient"]
    )
    shot(page, "new draft")

    # A domain with two competencies, the first with an indicator.
    page.get_by_role("link", name="Add a top-level item").click()
    add_item(page, code="PP.1", kind="Domain", statement="Case management")
    row(page, "PP.1").get_by_role("link", name="Add child").click()
    expect(field(page, "Parent", "combobox")).to_have_text(re.compile("PP.1 Case management"))
    add_item(page, code="PP.1.1", kind="Competency", statement="Opens and keeps a case file")
    row(page, "PP.1").get_by_role("link", name="Add child").click()
    add_item(page, code="PP.1.2", kind="Competency", statement="Plans care with the family")
    row(page, "PP.1.1").get_by_role("link", name="Add child").click()
    add_item(page, code="PP.1.1.a", kind="Indicator", statement="Records the child's details")

    rows = page.locator("table.cf-tree tbody tr")
    expect(rows).to_have_count(4)
    assert [(r.get_attribute("data-code"), r.get_attribute("data-depth")) for r in rows.all()] == [
        ("PP.1", "0"),
        ("PP.1.1", "1"),
        ("PP.1.1.a", "2"),
        ("PP.1.2", "1"),
    ]
    # Deeper rows are indented further.
    indents = [
        row(page, code)
        .locator("th")
        .evaluate(
            "cell => cell.getBoundingClientRect().left + "
            "parseFloat(getComputedStyle(cell).paddingLeft)"
        )
        for code in ("PP.1", "PP.1.1", "PP.1.1.a")
    ]
    assert indents[0] < indents[1] < indents[2]
    shot(page, "tree built")

    # Swap the two competencies with the ▼ button, and back with ▲.
    row(page, "PP.1.1").get_by_role("button", name="Down").click()
    expect(rows.nth(1)).to_have_attribute("data-code", "PP.1.2")
    shot(page, "moved down")
    row(page, "PP.1.1").get_by_role("button", name="Up").click()
    expect(rows.nth(1)).to_have_attribute("data-code", "PP.1.1")

    page.get_by_role("button", name="Publish", exact=True).click()
    expect_admin_message(page, "is published")
    expect(page.locator("[data-status]").first).to_have_text("Published")
    expect(page.get_by_role("link", name="Add child")).to_have_count(0)
    expect(page.get_by_role("link", name="Add a top-level item")).to_have_count(0)
    expect(page.get_by_role("link", name="Create new version")).to_be_visible()
    shot(page, "published")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export Moodle CSV").click()
    download = download_info.value
    assert download.suggested_filename == "pssw-v1.0.csv"
    download.save_as(shot.directory / download.suggested_filename)
    content = (shot.directory / download.suggested_filename).read_text(encoding="utf-8-sig")

    records = list(csv.reader(io.StringIO(content)))
    assert records[0] == MOODLE_HEADERS
    rows_by_column = [dict(zip(MOODLE_HEADERS, record, strict=True)) for record in records[1:]]
    framework_row = rows_by_column[0]
    assert framework_row["Is framework"] == "1"
    assert framework_row["ID number"] == "PSSW"
    assert framework_row["Short name"] == "Para-professional social service workers"
    assert framework_row["Scale values"] == "Not yet competent,Developing,Competent,Proficient"
    assert [
        (r["Parent ID number"], r["ID number"], r["Is framework"]) for r in rows_by_column[1:]
    ] == [
        ("", "PP.1", ""),
        ("PP.1", "PP.1.1", ""),
        ("PP.1.1", "PP.1.1.a", ""),
        ("PP.1", "PP.1.2", ""),
    ]
    assert "Records the child" in rows_by_column[3]["Description"]
    assert page.failures == [], page.failures

    framework = Framework.objects.get(code="PSSW")
    assert (framework.status, framework.owner_institution, framework.created_by) == (
        FrameworkStatus.PUBLISHED,
        institution_a,
        people_a.author,
    )
    assert [
        (node.item.code, node.item.kind, node.depth)
        for node in selectors.framework_tree_rows(framework=framework)
    ] == [
        ("PP.1", "domain", 0),
        ("PP.1.1", "competency", 1),
        ("PP.1.1.a", "indicator", 2),
        ("PP.1.2", "competency", 1),
    ]
