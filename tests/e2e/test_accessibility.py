"""Pages everyone can use, checked in a real browser: axe-core (shipped by axe-playwright-python,
run from this process, nothing fetched) finds no serious or critical violation on the learner
pages, the verification pages and the certificate's HTML; a learner enrols, reads a module
and passes a quiz with the keyboard alone; text enlarged to 200 % loses nothing; learner
pages stay under the 50 KB HTML budget.

Every violation axe reports (minor and moderate too) is printed, for the record.
Each step leaves a screenshot in ``test-artifacts/screenshots/<test name>/``.
"""

import re
import uuid
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.urls import reverse
from playwright.sync_api import Page, expect

from certificates import rendering
from certificates.models import Certificate, CertificateRule, CertificateTemplate
from courses.models import QuizAttempt
from courses.services import enrol, quiz_submit
from lms.services import learner_profile_save
from tests.e2e.browser import DESKTOP, PHONE, assert_fits_phone, log_in
from tests.factories import UserFactory, learner_profile_data
from tests.learning import course_modules, finish_course, wrong_answers

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

#: The most a learner's page may weigh, HTML alone (as tests/courses/test_page_budget.py).
HTML_BUDGET = 50 * 1024
BLOCKING = {"serious", "critical"}
PDF_STYLES = Path(rendering.__file__).resolve().parent / "pdf_styles"


@pytest.fixture
def graduate(trainee, course, institution_a):
    """The trainee, with the demo course finished and its certificate issued."""
    template = CertificateTemplate.objects.create(
        institution=institution_a,
        name="Ubuntu standard",
        signatory_name="Grace Wanjiku",
        signatory_title="Director of Training",
    )
    CertificateRule.objects.create(
        course=course, template=template, require_modules=True, require_quizzes=True
    )
    # A failed attempt first, for a page with the quiz's feedback.
    quiz_module = course_modules(course)[1]
    enrol(learner=trainee, course=course)
    quiz_submit(
        learner=trainee,
        module=quiz_module,
        answers=wrong_answers(quiz_module),
        event_id=uuid.uuid4(),
    )
    finish_course(trainee, course, on_commit=True)
    return trainee


def axe_problems(page: Page, axe: Axe, where: str) -> list[str]:
    """Every violation on the page, printed; the serious and critical ones returned."""
    results = axe.run(page)
    print(
        f"{where}: axe {results.response['testEngine']['version']}, "
        f"{len(results.response['violations'])} violation(s)"
    )
    blocking = []
    for violation in results.response["violations"]:
        targets = [", ".join(node["target"]) for node in violation["nodes"]][:5]
        line = (
            f"{where}: {violation['impact']} {violation['id']} ({violation['help']}) at {targets}"
        )
        print(line)
        if violation["impact"] in BLOCKING:
            blocking.append(line)
    return blocking


def visit(page: Page, url: str) -> int:
    """Open ``url``; the size of its HTML."""
    response = page.goto(url)
    assert response.ok, f"{url}: {response.status}"
    page.wait_for_load_state("networkidle")
    return len(response.body())


@pytest.mark.browser
def test_learner_and_verification_pages_have_no_serious_accessibility_violation(
    live_server, graduate, course, people_a, open_page, shot
):
    axe = Axe()
    certificate = Certificate.objects.get(learner=graduate, course=course)
    first, second = course_modules(course)
    newcomer = UserFactory(username="newcomer")
    learner_profile_save(user=newcomer, **learner_profile_data(full_name="Neema Otieno"))
    enrol(learner=newcomer, course=course)
    public = [
        "/",
        course.url,
        "/accounts/login/",
        "/accounts/signup/",
        "/verify/",
        f"/verify/{certificate.display_code}/",
        "/learn/offline/",
    ]
    learner_pages = [
        "/",
        course.url,
        first.url,
        second.url,
        "/learning/",
        reverse("competencies_learner_profile"),
        "/profile/",
        "/certificates/",
        "/learn/offline/",
    ]
    attempt = QuizAttempt.objects.get(learner=graduate, passed=False)
    learner_pages.append(f"{second.url}?attempt={attempt.pk}")
    problems, sizes = [], {}

    phone = open_page(**PHONE)
    for path in public:
        visit(phone, f"{live_server.url}{path}")
        problems += axe_problems(phone, axe, f"anonymous {path}")
    shot(phone, "verification of a certificate")

    for who, pages in (
        (newcomer.username, [course.url, first.url, second.url]),
        (graduate.username, learner_pages),
    ):
        phone = open_page(**PHONE)
        log_in(phone, live_server.url, who, "/learning/")
        expect(phone.get_by_role("heading", level=1)).to_have_text("My learning")
        for path in pages:
            sizes[f"{who} {path}"] = visit(phone, f"{live_server.url}{path}")
            problems += axe_problems(phone, axe, f"{who} {path}")
            assert_fits_phone(phone)
        shot(phone, f"{who} last page")

    # Bulk verification, as a regulator or an institution's staff uses it: the form, then
    # its table of results.
    desk = open_page(**DESKTOP)
    log_in(desk, live_server.url, people_a.supervisor.username, "/verify/bulk/")
    expect(desk.get_by_role("heading", level=1)).to_have_text("Verify certificates in bulk")
    problems += axe_problems(desk, axe, "supervisor /verify/bulk/")
    desk.get_by_label("…or paste codes, one a line").fill(f"{certificate.display_code}\nNOPE")
    desk.get_by_role("button", name="Verify").click()
    expect(desk.locator("#bulk-results")).to_contain_text("Valid")
    problems += axe_problems(desk, axe, "supervisor /verify/bulk/ results")
    shot(desk, "bulk verification results")

    # The certificate's HTML (the document WeasyPrint prints), with its layout's styles.
    html = rendering.render_html(
        certificate=certificate, verification_url=f"{live_server.url}/verify/x/"
    )
    sheet = open_page(**DESKTOP)
    sheet.set_content(html)
    for css in ("base.css", f"{certificate.template.layout}.css"):
        sheet.add_style_tag(path=str(PDF_STYLES / css))
    problems += axe_problems(sheet, axe, "certificate HTML")
    shot(sheet, "certificate html")

    for page, size in sizes.items():
        print(f"{size:>7} bytes of HTML  {page}")
    assert problems == [], "\n".join(problems)
    assert max(sizes.values()) < HTML_BUDGET, sizes


def tab_to(page: Page, name: str | re.Pattern, *, limit: int = 80) -> None:
    """Press Tab until the focused element's accessible text is ``name``."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        text = page.evaluate(
            """() => { const e = document.activeElement;
                 const label = e.labels && e.labels[0];
                 const text = (label && label.textContent) || e.textContent || e.value;
                 return (text || '').trim(); }"""
        )
        if name.search(text) if isinstance(name, re.Pattern) else text == name:
            outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
            assert outline != "none", f"no visible focus on {text!r}"
            return
    raise AssertionError(f"Tab never reached {name!r}")


@pytest.mark.browser
def test_a_learner_enrols_reads_a_module_and_passes_a_quiz_with_the_keyboard_alone(
    live_server, trainee, course, open_page, shot
):
    first, second = course_modules(course)
    page = open_page(**DESKTOP)
    page.goto(f"{live_server.url}/accounts/login/?next={course.url}")
    tab_to(page, re.compile("^Username or e-mail"))
    page.keyboard.type(trainee.username)
    tab_to(page, re.compile("^Password"))
    page.keyboard.type("learn-and-protect")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text(course.title)

    tab_to(page, "Enrol in this course")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text(first.title)
    shot(page, "enrolled with the keyboard")
    tab_to(page, "Mark this module complete")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text(second.title)

    # A group of radio buttons is one Tab stop; the arrow keys choose within it.
    tab_to(page, re.compile("^The child, the family and the worker|^The worker alone"))
    for _ in range(5):
        if page.evaluate("document.activeElement.labels[0].textContent.trim()") == (
            "The child, the family and the worker"
        ):
            break
        page.keyboard.press("ArrowDown")
    page.keyboard.press("Space")
    assert page.evaluate("document.activeElement.checked")
    for answer in ("Goals", "Who does each action", "When you will review the plan"):
        tab_to(page, answer)
        page.keyboard.press("Space")
    shot(page, "quiz answered with the keyboard")
    tab_to(page, "Submit answers")
    page.keyboard.press("Enter")
    expect(page.get_by_role("status").first).to_contain_text("You passed with 100 %")
    shot(page, "quiz passed with the keyboard")


@pytest.mark.browser
@pytest.mark.parametrize("screen", ["phone", "desktop"])
def test_text_enlarged_to_200_percent_loses_nothing(
    live_server, graduate, course, open_page, shot, screen
):
    """Text at twice its size (as a browser's text-size setting makes it) wraps: nothing is
    cut off, nothing scrolls sideways."""
    first, second = course_modules(course)
    options = PHONE if screen == "phone" else DESKTOP
    page = open_page(**options, bypass_csp=True)  # the enlarging style sheet is inline
    log_in(page, live_server.url, graduate.username, "/learning/")
    expect(page.get_by_role("heading", level=1)).to_have_text("My learning")
    for path in [
        "/",
        course.url,
        first.url,
        second.url,
        "/learning/",
        "/certificates/",
        "/verify/",
        "/profile/",
    ]:
        page.goto(f"{live_server.url}{path}")
        page.wait_for_load_state("networkidle")
        before = page.evaluate("document.body.innerText.length")
        page.add_style_tag(content="html{font-size:200% !important}")
        assert page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)") >= 32
        sticking_out = page.evaluate(
            """width => [...document.querySelectorAll('body *')]
                 .filter(e => e.getBoundingClientRect().right > width + 2)
                 .map(e => `${e.tagName}.${e.className} ${e.getBoundingClientRect().right}px`)
                 .slice(0, 8)""",
            options["viewport"]["width"],
        )
        assert sticking_out == [], (path, sticking_out)
        assert_fits_phone(page, options["viewport"]["width"])
        clipped = page.evaluate(
            """() => [...document.querySelectorAll('body *')].filter(e => {
                 // Hidden on purpose, or a field (which scrolls its own text).
                 if (e.closest('.visually-hidden') || e.matches('input, select, textarea')) {
                   return false;
                 }
                 const s = getComputedStyle(e);
                 const hides = ['hidden', 'clip'].includes(s.overflowX) ||
                               ['hidden', 'clip'].includes(s.overflowY);
                 return hides && (e.scrollWidth > e.clientWidth + 1 ||
                                  e.scrollHeight > e.clientHeight + 1);
               }).map(e => e.tagName + '.' + e.className)"""
        )
        assert clipped == [], (path, clipped)
        assert page.evaluate("document.body.innerText.length") == before
    shot(page, "text at 200 percent")


@pytest.mark.browser
def test_a_course_in_french_and_its_language_buttons_have_no_serious_violation(
    live_server, trainee, course, open_page
):
    """A learner who prefers French reads the course in French (a module not translated yet
    with its note), then switches to English with the page's own button, by keyboard."""
    from courses.demo_french import translate_course
    from lms.models import LearnerProfile

    french = translate_course(course)
    LearnerProfile.objects.filter(user=trainee).update(preferred_language="fr")
    axe, problems = Axe(), []
    phone = open_page(**PHONE)
    log_in(phone, live_server.url, trainee.username, course.url)
    expect(phone.get_by_role("heading", level=1)).to_have_text(french.title)
    expect(phone.locator("html")).to_have_attribute("lang", "fr")
    problems += axe_problems(phone, axe, "French course page")
    for module in course_modules(french):
        visit(phone, f"{live_server.url}{module.url}")
        problems += axe_problems(phone, axe, f"French module {module.title}")
        assert_fits_phone(phone)

    visit(phone, f"{live_server.url}{course.url}")
    english = phone.get_by_role("button", name="Read in English")
    # The label is in its own language, and says so to screen readers.
    expect(phone.locator("form.translation-link", has=english)).to_have_attribute("lang", "en")
    english.focus()
    phone.keyboard.press("Enter")
    expect(phone.get_by_role("heading", level=1)).to_have_text(course.title)
    expect(phone.locator("html")).to_have_attribute("lang", "en")
    problems += axe_problems(phone, axe, "English course page after switching")
    assert problems == [], "\n".join(problems)
