"""The Content-Security-Policy in a real browser: nothing on a learner's pages or in Wagtail's
page editor is blocked by it (a blocked script or style would silently break the page).

Wagtail 8's editor inserts inline scripts and styles from its own ``vendor.js``: without
``'unsafe-inline'`` in the admin's ``script-src`` and ``style-src`` this test reports them.

Chromium reports each blocked resource, inline script, style or frame as a
``securitypolicyviolation`` event and a console error; both are collected from the moment
each page starts loading.
"""

import re

import pytest
from playwright.sync_api import Page, expect

from courses.models import ModulePage
from tests.e2e.browser import DESKTOP, PHONE, log_in

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

#: Runs in every page before its own scripts: keeps each violation the browser reports.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(
    `${event.effectiveDirective} blocked ${event.blockedURI || "inline"}` +
      ` at ${event.sourceFile}:${event.lineNumber}`
  );
});
"""


def watch_violations(page: Page) -> list[str]:
    """Violations reported on ``page`` (console errors included) from now on."""
    reported: list[str] = []
    page.add_init_script(RECORD_VIOLATIONS)
    page.on(
        "console",
        lambda message: (
            reported.append(message.text)
            if message.type == "error" and "Content Security Policy" in message.text
            else None
        ),
    )
    return reported


def violations(page: Page, console: list[str]) -> list[str]:
    return [*page.evaluate("window.__cspViolations || []"), *console]


@pytest.mark.browser
def test_no_violation_on_a_learners_pages(live_server, trainee, course, open_page, shot):
    page = open_page(**PHONE)
    console = watch_violations(page)
    log_in(page, live_server.url, trainee.username, "/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()

    module = ModulePage.objects.child_of(course).order_by("path").first()
    for path in ("/", course.url, "/learning/", "/learning/competencies/", "/verify/"):
        response = page.goto(f"{live_server.url}{path}")
        assert "script-src 'self'" in response.headers["content-security-policy"]
        assert violations(page, console) == [], (path, violations(page, console))
    page.goto(f"{live_server.url}{course.url}")
    page.get_by_role("button", name="Enrol in this course").click()
    expect(page).to_have_url(re.compile(re.escape(module.url) + "$"))
    assert violations(page, console) == [], "\n".join(violations(page, console))
    shot(page, "module under the strict policy")


@pytest.mark.browser
def test_no_violation_in_wagtails_page_editor(live_server, people_a, course, open_page, shot):
    page = open_page(**DESKTOP)
    console = watch_violations(page)
    log_in(page, live_server.url, people_a.author.username, f"/admin/pages/{course.pk}/edit/")
    expect(page).to_have_url(re.compile(rf"/admin/pages/{course.pk}/edit/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(course.title)
    page.wait_for_load_state("networkidle")
    shot(page, "course editor")
    assert violations(page, console) == [], "\n".join(violations(page, console))

    # A module's editor: its StreamField of lesson blocks and the quiz, and its live preview.
    module = ModulePage.objects.child_of(course).order_by("path").last()
    page.goto(f"{live_server.url}/admin/pages/{module.pk}/edit/")
    expect(page.get_by_role("heading", level=1)).to_contain_text(module.title)
    page.wait_for_load_state("networkidle")
    page.get_by_role("button", name=re.compile("Toggle preview", re.I)).click()
    # Wagtail loads the preview in a second frame, then swaps it in as this one.
    preview = page.locator("iframe#w-preview-iframe")
    expect(preview.content_frame.locator("h1")).to_contain_text(module.title)
    page.wait_for_load_state("networkidle")
    shot(page, "module editor with preview")
    assert violations(page, console) == [], "\n".join(violations(page, console))
