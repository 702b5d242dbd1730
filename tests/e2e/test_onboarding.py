"""First steps on the site, in a real browser: a trainee joining from a phone, and an
author reaching their institution's pages in the Wagtail admin.

Each step leaves a screenshot in ``test-artifacts/screenshots/<test name>/``.
"""

import re

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import Page, expect
from wagtail.models import Page as WagtailPage

from lms.models import LearnerProfile, Membership
from tests.e2e.browser import DESKTOP, PHONE, assert_fits_phone, expect_admin_message, textbox
from tests.factories import TEST_PASSWORD

# The live server and the test share the database, so the test must not hide its writes in
# a transaction; serialized rollback restores what the migrations created (Wagtail's root
# page, the default site) after the flush that ends each test.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

User = get_user_model()


def assert_loaded_cleanly(page: Page) -> None:
    """No request of the page failed and no script raised."""
    assert page.failures == [], page.failures


@pytest.mark.browser
def test_new_trainee_signs_up_completes_profile_and_reaches_dashboard(
    live_server, catalogue, open_page, shot
):
    page = open_page(**PHONE)

    # The catalogue is the home page; a visitor finds how to join in the header.
    page.goto(live_server.url + "/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Courses")
    # The site's stylesheet is served and applied (the header's dark blue band).
    expect(page.locator("header.site-header")).to_have_css("background-color", "rgb(11, 61, 102)")
    assert_fits_phone(page)
    shot(page, "home")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Sign up").tap()
    expect(page).to_have_url(re.compile(r"/accounts/signup/$"))
    assert_fits_phone(page)
    shot(page, "signup form")

    # A volunteer without an e-mail address: username and password only.
    textbox(page, "Username").fill("amani.otieno")
    textbox(page, "Password").fill("Strong-pass-4-kids")
    textbox(page, "Password (again)").fill("Strong-pass-4-kids")
    shot(page, "signup filled")
    page.get_by_role("button", name=re.compile("sign up", re.I)).tap()

    # Straight on to the worker profile.
    expect(page.get_by_role("heading", level=1)).to_have_text("Complete your profile")
    expect(page).to_have_url(re.compile(r"/profile/\?next=/learning/$"))
    assert_fits_phone(page)
    shot(page, "profile form")
    user = User.objects.get(username="amani.otieno")
    assert user.email == ""
    assert not LearnerProfile.objects.filter(user=user).exists()

    textbox(page, "Full name").fill("Amani Wanjiku Otieno")
    page.get_by_role("radio", name="Volunteer").check()
    page.get_by_role("radio", name="Community-based").check()
    textbox(page, "Organisation").fill("Kibera Child Protection Volunteers")
    textbox(page, "Country").fill("ke")  # typed in lower case, as on a phone keyboard
    textbox(page, "Region or province").fill("Nairobi")
    textbox(page, "District").fill("Kibra")
    textbox(page, "Worker registration number").fill("SSW-0042")
    assert_fits_phone(page)
    shot(page, "profile filled")
    page.get_by_role("button", name="Save profile").tap()

    # "My learning": greeted by name, told there is nothing yet and where to go next.
    expect(page).to_have_url(re.compile(r"/learning/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("My learning")
    expect(page.get_by_role("status")).to_contain_text("Your profile has been saved.")
    expect(page.get_by_text("Welcome, Amani Wanjiku Otieno (Volunteer).")).to_be_visible()
    expect(page.get_by_text("You are not enrolled in any course yet.")).to_be_visible()
    expect(page.get_by_role("link", name="Browse the course catalogue")).to_be_visible()
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="My learning")).to_be_visible()
    expect(nav.get_by_role("link", name="Sign up")).to_have_count(0)
    assert_fits_phone(page)
    assert_loaded_cleanly(page)
    shot(page, "dashboard")

    profile = LearnerProfile.objects.get(user=user)
    assert {
        "full_name": profile.full_name,
        "cadre": profile.cadre,
        "is_paid": profile.is_paid,
        "sector": profile.sector,
        "organisation": profile.organisation,
        "country": profile.country,
        "region": profile.region,
        "district": profile.district,
        "worker_registration_number": profile.worker_registration_number,
        "preferred_language": profile.preferred_language,
    } == {
        "full_name": "Amani Wanjiku Otieno",
        "cadre": "volunteer",
        "is_paid": False,
        "sector": "community",
        "organisation": "Kibera Child Protection Volunteers",
        "country": "KE",
        "region": "Nairobi",
        "district": "Kibra",
        "worker_registration_number": "SSW-0042",
        "preferred_language": "en",
    }
    assert not Membership.objects.filter(user=user).exists()  # a trainee, not staff


@pytest.mark.browser
def test_author_logs_in_to_wagtail_admin_and_sees_only_their_institution(
    live_server, people_a, people_b, institution_a, institution_b, open_page, shot
):
    author = people_a.author
    page_a = WagtailPage.objects.get(pk=institution_a.root_page_id).specific
    page_b = WagtailPage.objects.get(pk=institution_b.root_page_id).specific
    revisions_of_b = page_b.revisions.count()
    assert author.last_login is None

    page = open_page(**DESKTOP)

    page.goto(f"{live_server.url}/accounts/login/?next=/admin/pages/")
    shot(page, "login form")
    textbox(page, "Username or e-mail").fill(author.username)
    textbox(page, "Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name=re.compile("sign in", re.I)).click()

    # The explorer opens at the closest page the author may work on: their institution's.
    expect(page).to_have_url(re.compile(rf"/admin/pages/{page_a.pk}/$"))
    main = page.locator("main")
    expect(main).to_contain_text("Ubuntu Institute")
    expect(page.locator("body")).not_to_contain_text("Mekong College")
    shot(page, "page explorer")

    # The sidebar's page explorer starts at the same place.
    page.get_by_role("button", name="Pages").click()
    explorer = page.get_by_role("dialog", name="Page explorer")
    expect(explorer).to_contain_text("Ubuntu Institute")
    expect(explorer).not_to_contain_text("Mekong College")
    shot(page, "sidebar explorer")
    author.refresh_from_db()
    assert author.last_login is not None

    # Another institution's page is out of bounds: Wagtail sends the author back to the
    # admin's home page with its "permission denied" message.
    page.goto(f"{live_server.url}/admin/pages/{page_b.pk}/edit/")
    expect(page).to_have_url(re.compile(r"/admin/$"))
    expect_admin_message(page, "Sorry, you do not have permission to access this area.")
    expect(page.locator("body")).not_to_contain_text("Mekong College")
    shot(page, "other institution refused")

    # Their own institution's page opens in the editor, and they can save a change.
    page.goto(f"{live_server.url}/admin/pages/{page_a.pk}/edit/")
    title = page.locator("#id_title")
    expect(title).to_have_value("Ubuntu Institute")
    shot(page, "own page editor")
    title.fill("Ubuntu Institute of Social Work")
    page.get_by_role("button", name="Save draft").click()
    expect_admin_message(page, "Page 'Ubuntu Institute of Social Work' has been updated.")
    expect(title).to_have_value("Ubuntu Institute of Social Work")
    assert_loaded_cleanly(page)
    shot(page, "own page draft saved")

    page_a.refresh_from_db()
    assert page_a.title == "Ubuntu Institute"  # a draft: the live page is unchanged
    assert page_a.has_unpublished_changes
    draft = page_a.latest_revision
    assert draft.user == author
    assert draft.content["title"] == "Ubuntu Institute of Social Work"
    assert page_b.revisions.count() == revisions_of_b  # nothing was written to B's page
    assert page_a.permissions_for_user(author).can_edit()
    assert not page_b.permissions_for_user(author).can_edit()
