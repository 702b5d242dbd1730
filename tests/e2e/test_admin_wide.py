"""The admin at a laptop's width (1,280 px): an instructor reads a cohort's competency grid
(it scrolls sideways, the learner column held in view), the certificate register (each
code on one line), and an author's sidebar shows "Competency frameworks" whole.

Each step leaves a screenshot in ``test-artifacts/screenshots/<test name>/``.
"""

import pytest
from playwright.sync_api import Page, expect

from certificates.models import Certificate, CertificateRule, CertificateTemplate
from courses.models import Cohort
from tests.e2e.browser import DESKTOP, log_in
from tests.learning import finish_course

# The live server and the test share the database (see tests/e2e/conftest.py).
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def box(page: Page, selector: str) -> dict:
    return page.locator(selector).first.bounding_box()


@pytest.mark.browser
def test_an_instructor_reads_the_grid_and_the_register_at_1280_px(
    live_server, people_a, trainee, course, institution_a, open_page, shot
):
    template = CertificateTemplate.objects.create(
        institution=institution_a, name="Standard", signatory_name="A", signatory_title="B"
    )
    CertificateRule.objects.create(course=course, template=template, require_modules=True)
    finish_course(people_a.trainee, course)
    cohort = Cohort.objects.create(institution=institution_a, course=course, name="March intake")
    cohort.learners.add(people_a.trainee, trainee)
    code = Certificate.objects.get().display_code

    page = open_page(**DESKTOP)
    log_in(
        page,
        live_server.url,
        people_a.instructor.username,
        f"/admin/cohorts/{cohort.pk}/competencies/",
    )
    grid = page.locator("[data-cohort-grid]")
    expect(grid).to_be_visible()
    headings = grid.locator("thead th")
    expect(headings).to_have_count(4)  # the learner and the course's three competencies
    shot(page, "grid")

    # Every heading is read whole; the last competency is reached by scrolling the grid,
    # and the learner column stays where it was.
    for index in range(1, 4):
        heading = headings.nth(index)
        assert heading.evaluate("th => th.scrollWidth <= th.clientWidth + 1"), index
    learner_before = box(page, "[data-cohort-grid] tbody th")
    page.locator(".lms-scroll-x").evaluate("region => region.scrollLeft = region.scrollWidth")
    headings.last.scroll_into_view_if_needed()
    expect(headings.last).to_be_in_viewport()
    learner_after = box(page, "[data-cohort-grid] tbody th")
    assert abs(learner_after["x"] - learner_before["x"]) < 1
    shot(page, "grid scrolled to the last competency")

    # The register: the code on one line.
    page.goto(f"{live_server.url}/admin/certificates/register/")
    code_cell = page.locator(f"[data-certificate='{code}'] code")
    expect(code_cell).to_have_text(code)
    line = code_cell.evaluate("code => parseFloat(getComputedStyle(code).lineHeight) || 20")
    assert code_cell.bounding_box()["height"] < 1.5 * line
    shot(page, "register")


@pytest.mark.browser
def test_the_sidebar_shows_competency_frameworks_whole(live_server, people_a, open_page, shot):
    page = open_page(**DESKTOP)
    log_in(page, live_server.url, people_a.author.username, "/admin/")
    label = page.locator(".sidebar-menu-item .menuitem-label", has_text="Competency frameworks")
    expect(label).to_be_visible()

    assert label.evaluate("span => span.scrollWidth <= span.clientWidth + 1")
    shot(page, "sidebar")
