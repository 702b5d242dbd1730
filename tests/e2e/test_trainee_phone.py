"""A trainee's phone (360 × 740), page by page, in English and in French: the way from one
module to the next, the end of a course with its certificate, "My certificates", the menu,
and a course that has no modules yet.

Each step leaves a screenshot in ``test-artifacts/screenshots/<test name>/``.
"""

import pytest
from playwright.sync_api import Page, expect

from certificates.models import Certificate, CertificateRule, CertificateTemplate
from tests.e2e.browser import PHONE, assert_fits_phone, log_in
from tests.learning import course_modules, finish_course

# The live server and the test share the database (see tests/e2e/conftest.py).
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

COURSE = "Case management for para-professionals"


@pytest.fixture
def certificate_rule(course, institution_a) -> CertificateRule:
    template = CertificateTemplate.objects.create(
        institution=institution_a,
        name="Ubuntu standard",
        signatory_name="Grace Wanjiku",
        signatory_title="Director of Training",
    )
    return CertificateRule.objects.create(
        course=course, template=template, require_modules=True, validity_months=24
    )


def assert_on_one_line(page: Page, selector: str) -> None:
    """Every item of ``selector`` sits on the same line (the same top, give or take)."""
    tops = page.locator(selector).evaluate_all(
        "items => items.map(item => Math.round(item.getBoundingClientRect().top))"
    )
    assert tops and max(tops) - min(tops) <= 4, f"{selector} wraps: tops {tops}"


def assert_apart(page: Page, selector: str) -> None:
    """The items of ``selector`` do not touch: each is a tap target of its own."""
    boxes = [page.locator(selector).nth(i).bounding_box() for i in range(2)]
    first, second = boxes
    apart_across = second["x"] >= first["x"] + first["width"] + 4
    apart_down = second["y"] >= first["y"] + first["height"] + 4
    assert apart_across or apart_down, f"{selector} items touch: {boxes}"


@pytest.mark.browser
def test_a_trainee_goes_through_a_course_and_reaches_the_certificate_on_a_phone(
    live_server, trainee, course, certificate_rule, open_page, shot
):
    first, second = course_modules(course)
    phone = open_page(**PHONE)
    log_in(phone, live_server.url, trainee.username, course.url)
    phone.get_by_role("button", name="Enrol in this course").tap()
    expect(phone.get_by_role("heading", level=1)).to_have_text(first.title)

    # A module: the previous module and the course are two separate, labelled links.
    phone.goto(live_server.url + second.url)
    nav = phone.get_by_role("navigation", name="Modules of the course")
    expect(nav.get_by_role("link")).to_have_count(2)
    expect(nav.get_by_role("link").first).to_contain_text(f"Previous module ← {first.title}")
    expect(nav.get_by_role("link").last).to_contain_text("Back to the course")
    assert_apart(phone, ".module-nav li")
    assert_fits_phone(phone)
    shot(phone, "module with its way on")

    # The end of the course: said, and the certificate one tap away.
    finish_course(trainee, course)
    certificate = Certificate.objects.get(learner=trainee, course=course)
    phone.goto(live_server.url + course.url)
    finished = phone.get_by_role("region", name=f"✓ You have completed “{COURSE}”")
    expect(finished).to_contain_text("Your certificate has been issued.")
    download = finished.get_by_role("link", name="Download your certificate (PDF)")
    expect(download).to_have_attribute("href", f"/certificates/{certificate.uuid}/pdf/?download=1")
    assert_fits_phone(phone)
    shot(phone, "course finished")

    # My certificates: one heading level under the page's.
    finished.get_by_role("link", name="My certificates").tap()
    expect(phone.get_by_role("heading", level=1)).to_have_text("My certificates")
    expect(phone.get_by_role("heading", level=2)).to_have_text(COURSE)
    expect(phone.get_by_role("heading", level=3)).to_have_count(0)
    assert_fits_phone(phone)
    shot(phone, "my certificates")


@pytest.mark.browser
def test_the_menu_fits_on_one_line_of_a_phone_in_french(
    live_server, trainee, course, open_page, shot
):
    phone = open_page(**PHONE)
    log_in(phone, live_server.url, trainee.username, "/learning/")
    phone.locator("#language").select_option("fr")
    phone.get_by_role("button", name="Change").tap()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Mes formations")

    assert_on_one_line(phone, ".site-header nav > *")
    assert_fits_phone(phone)
    shot(phone, "french menu")

    phone.goto(live_server.url + course.url)
    assert_on_one_line(phone, ".site-header nav > *")
    shot(phone, "french course page")


@pytest.mark.browser
def test_a_course_without_modules_says_so_on_a_phone(live_server, trainee, course, open_page, shot):
    for module in course_modules(course):
        module.unpublish()
    phone = open_page(**PHONE)
    log_in(phone, live_server.url, trainee.username, course.url)

    main = phone.locator("main")
    expect(main).to_contain_text("This course has no modules yet: come back later.")
    expect(main).not_to_contain_text("% complete")
    expect(main).not_to_contain_text("You have completed")
    assert_fits_phone(phone)
    shot(phone, "course without modules")
