"""The regulator's week, in a real browser: a regulator of a body signs in with the code of
their authenticator app and lands on the workspace, filters the statistics by region, opens
the competency heat map, downloads the figures as CSV, searches the register and sets a CPD
requirement; a trainee then sees the requirement on their dashboard. Each step leaves a
screenshot in ``test-artifacts/screenshots/<test name>/``, and each regulator-facing page is
checked by axe-core: no serious or critical violation (every one is printed).
"""

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.utils import timezone
from playwright.sync_api import expect

from lms import services as lms_services
from regulation import services
from tests.conftest import enable_totp
from tests.e2e.browser import DESKTOP, PHONE, assert_fits_phone, log_in, textbox
from tests.e2e.test_accessibility import axe_problems
from tests.e2e.test_certificates import authenticator_code
from tests.factories import TEST_PASSWORD, UserFactory
from tests.regulation.conftest import certify, days, enrol, make_worker

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.mark.browser
def test_regulator_signs_in_filters_exports_searches_and_sets_cpd_a_learner_sees_it(
    live_server, course, institution_a, trainee, open_page, shot
):
    body = services.body_create(name="Kenya Council", slug="kenya", country="KE")
    regulator = UserFactory(username="council-regulator")
    services.regulator_add(user=regulator, body=body)
    enable_totp(regulator)
    for n, region in enumerate(["Nairobi", "Nairobi", "Kisumu"]):
        worker = make_worker(f"worker-{n}", region=region, worker_registration_number=f"KE-{n}")
        enrol(worker, course, completed_at=timezone.now())
        certify(worker, course, institution_a, valid_until=days(400))
    lms_services.learner_profile_save(
        user=worker, full_name="Halima Odhiambo", listed_in_register=True
    )

    axe, problems = Axe(), []

    # --- The regulator signs in with the second factor and lands on the workspace ------------
    page = open_page(**DESKTOP)
    page.goto(f"{live_server.url}/accounts/login/")
    textbox(page, "Username or e-mail").fill(regulator.username)
    textbox(page, "Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name=re.compile("sign in", re.I)).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Two-Factor Authentication")
    page.get_by_role("textbox", name=re.compile(r"^Code:?$")).fill(authenticator_code(regulator))
    page.get_by_role("button", name="Sign In").click()
    expect(page).to_have_url(re.compile(r"/regulation/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Workforce statistics")
    expect(page.get_by_role("img", name=re.compile("valid certificate, by region"))).to_be_visible()
    shot(page, "workspace")
    problems += axe_problems(page, axe, "regulator: workspace")

    # --- Filters by region -------------------------------------------------------------------
    page.get_by_label("Region", exact=True).select_option("Kisumu")
    page.get_by_role("button", name="Apply").click()
    table = page.get_by_role("table").first
    expect(table.get_by_role("rowheader", name="Kisumu")).to_be_visible()
    expect(table.get_by_role("rowheader", name="Nairobi")).to_have_count(0)
    shot(page, "filtered by region")
    problems += axe_problems(page, axe, "regulator: filtered by region")

    # --- Downloads the filtered figures as CSV -----------------------------------------------
    with page.expect_download() as download:
        page.get_by_role("link", name="CSV").first.click()
    content = open(download.value.path(), encoding="utf-8").read()  # noqa: PTH123, SIM115
    assert "Kisumu" in content and "Nairobi" not in content

    # --- Opens the heat map ------------------------------------------------------------------
    page.get_by_role("link", name="Competency heat map").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Competency coverage by region")
    expect(
        page.get_by_role("img", name=re.compile("proficient in each competency"))
    ).to_be_visible()
    shot(page, "heat map")
    problems += axe_problems(page, axe, "regulator: heat map")

    # --- Searches the register ---------------------------------------------------------------
    page.get_by_role("link", name="Register", exact=True).click()
    page.get_by_label("Name, registration number or certificate code").fill("KE-0")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("heading", level=2).first).to_be_visible()
    expect(page.locator("main")).to_contain_text(course.title)
    shot(page, "register search")
    problems += axe_problems(page, axe, "regulator: register search")

    # --- Sets a CPD requirement --------------------------------------------------------------
    page.goto(f"{live_server.url}/regulation/cpd/")
    year = timezone.localdate().year
    page.get_by_label("Title").fill("Annual CPD")
    page.get_by_label("Cadre").select_option("para_professional")
    page.get_by_label(re.compile(r"^Hours:?$")).fill("12")
    page.get_by_label("Period starts").fill(f"{year}-01-01")
    page.get_by_label("Period ends").fill(f"{year}-12-31")
    page.get_by_role("button", name="Save the requirement").click()
    expect(page.get_by_role("status")).to_contain_text("The requirement was saved.")
    shot(page, "cpd requirement saved")
    problems += axe_problems(page, axe, "regulator: cpd requirement saved")

    page.goto(f"{live_server.url}/regulation/planning/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    problems += axe_problems(page, axe, "regulator: planning")
    assert not problems, "\n".join(problems)

    # --- A trainee of the jurisdiction sees it on the dashboard ------------------------------
    phone = open_page(**PHONE)
    log_in(phone, live_server.url, trainee.username, "/learning/")
    expect(phone.locator("main")).to_contain_text("Annual CPD")
    expect(phone.locator("main")).to_contain_text("of 12.0 hours")
    assert_fits_phone(phone)
    shot(phone, "learner dashboard cpd")
