"""A certificate from the last quiz to its revocation, in a real browser: a trainee finishes
the demo course on a phone and downloads the certificate, a regulator verifies it on a phone
without an account, the institution's manager revokes it in the Wagtail admin (desktop, with
two-factor authentication), and the regulator's page then says "Revoked", with the reason.

Each step leaves a screenshot in ``test-artifacts/screenshots/<test name>/``.
"""

import io
import json
import re
import time

import pytest
from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import (
    format_hotp_value,
    hotp_value,
    yield_hotp_counters_from_time,
)
from allauth.mfa.utils import decrypt
from dateutil.relativedelta import relativedelta
from django.utils import timezone
from playwright.sync_api import expect
from pypdf import PdfReader

from certificates.models import (
    Certificate,
    CertificateRule,
    CertificateState,
    CertificateTemplate,
    EventKind,
    IssueMethod,
)
from tests.e2e.browser import (
    DESKTOP,
    PHONE,
    assert_fits_phone,
    expect_admin_message,
    log_in,
)

# The live server and the test share the database (see tests/e2e/conftest.py).
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


# The demo course (courses/demo.py) and the trainee fixture's profile (tests/factories.py).
COURSE = "Case management for para-professionals"
MODULE_1 = "Opening a case"
MODULE_2 = "Planning with the family"
HOLDER = "Amina Njoroge"
INSTITUTION = "Ubuntu Institute"
REASON = "Issued in error: duplicate record"
#: Passing the quiz issues the certificate, and Celery (eager in tests) renders its PDF within
#: that request: WeasyPrint's first render of the run loads fonts and takes seconds.
RENDER_TIMEOUT_MS = 30_000


# --- Helpers ------------------------------------------------------------------------------


def authenticator_code(user) -> str:
    """The code the user's authenticator app shows now (RFC 6238, by allauth's own helpers).

    A code read in the last two seconds of its period could expire before the form is sent:
    then wait for the next one.
    """
    period = mfa_settings.TOTP_PERIOD
    if period - time.time() % period < 2:
        time.sleep(period - time.time() % period + 0.1)
    authenticator = Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP)
    secret = decrypt(authenticator.data["secret"])
    return format_hotp_value(hotp_value(secret, next(yield_hotp_counters_from_time())))


def typed_by_hand(display_code: str) -> str:
    """``7KQ4-M2XD-9HRT-W3ZP-6`` as someone copies it off paper: ``7kq4 m2xd 9hrt w3zp 6``."""
    return display_code.lower().replace("-", " ")


# --- Setup ----------------------------------------------------------------------------------


@pytest.fixture
def certificate_rule(course, institution_a) -> CertificateRule:
    """Institution A awards a certificate for the demo course, valid 24 months, once its
    modules are complete and its quiz passed (as ``certificates/demo.py`` sets it up)."""
    template = CertificateTemplate.objects.create(
        institution=institution_a,
        name="Ubuntu standard",
        signatory_name="Grace Wanjiku",
        signatory_title="Director of Training",
    )
    return CertificateRule.objects.create(
        course=course,
        template=template,
        require_modules=True,
        require_quizzes=True,
        validity_months=24,
    )


# --- The test -------------------------------------------------------------------------------


@pytest.mark.browser
def test_trainee_earns_a_certificate_a_regulator_verifies_it_and_the_institution_revokes_it(
    live_server, people_a, trainee, course, certificate_rule, open_page, shot, tmp_path, settings
):
    # The site's public address is the live server's: the share link, the QR code and the
    # credential's ids all use it.
    settings.SITE_BASE_URL = live_server.url
    # --- The trainee, on a phone, finishes the course ---------------------------------------
    phone = open_page(**PHONE)
    log_in(phone, live_server.url, trainee.username, "/")
    expect(phone.get_by_role("heading", level=1)).to_have_text("Courses")
    phone.get_by_role("link", name=COURSE).tap()
    expect(phone.get_by_role("heading", level=1)).to_have_text(COURSE)
    assert_fits_phone(phone)
    shot(phone, "course page")

    phone.get_by_role("button", name="Enrol in this course").tap()
    expect(phone.get_by_role("heading", level=1)).to_have_text(MODULE_1)
    expect(phone.get_by_role("status")).to_contain_text(f"You are enrolled in “{COURSE}”.")
    phone.get_by_role("button", name="Mark this module complete").tap()
    expect(phone.get_by_role("heading", level=1)).to_have_text(MODULE_2)
    expect(phone.get_by_role("status")).to_contain_text("Module complete.")
    assert not Certificate.objects.exists()  # half-way: nothing earned yet

    quiz = phone.locator("#quiz")
    who = quiz.get_by_role("group", name=re.compile("Who should agree the goals"))
    who.get_by_role("radio", name="The child, the family and the worker").check()
    which = quiz.get_by_role("group", name=re.compile("Which belong in every case plan"))
    for answer in ("Goals", "Who does each action", "When you will review the plan"):
        which.get_by_role("checkbox", name=answer).check()
    assert_fits_phone(phone)
    shot(phone, "quiz answered")
    quiz.get_by_role("button", name="Submit answers").tap()
    expect(phone.get_by_role("status")).to_contain_text(
        f"You passed with 100 %. You have completed “{COURSE}”.", timeout=RENDER_TIMEOUT_MS
    )
    expect(phone.locator("main")).to_contain_text("100 % of the course complete")
    # The end of the course says so, and leads to the certificate.
    finished = phone.locator("section.finished")
    expect(finished).to_contain_text("Your certificate has been issued.")
    expect(finished.get_by_role("link", name="Download your certificate (PDF)")).to_be_visible()
    expect(finished.get_by_role("link", name="My certificates")).to_have_attribute(
        "href", "/certificates/"
    )
    assert_fits_phone(phone)
    shot(phone, "quiz passed")

    # Passing the quiz issued the certificate, and the (eager) Celery task enqueued on commit
    # rendered it before the response went out.
    certificate = Certificate.objects.get(learner=trainee, course=course)
    code = certificate.display_code
    assert certificate.is_ready, certificate.render_error
    assert certificate.method == IssueMethod.AUTOMATIC
    assert certificate.state == CertificateState.ACTIVE
    assert (certificate.holder_name, certificate.course_title, certificate.institution_name) == (
        HOLDER,
        COURSE,
        INSTITUTION,
    )
    assert certificate.valid_until == timezone.localdate(certificate.issued_at) + relativedelta(
        months=24
    )
    assert set(certificate.events.values_list("kind", flat=True)) == {
        EventKind.ISSUED,
        EventKind.RENDERED,
        EventKind.EMAILED,
    }

    # --- "My learning": the certificate, its PDF and its credential ----------------------------
    phone.get_by_role("navigation", name="Main").get_by_role("link", name="My learning").tap()
    expect(phone.get_by_role("heading", level=1)).to_have_text("My learning")
    mine = phone.get_by_role("region", name="My certificates")
    card = mine.locator(f"#certificate-{code}")
    expect(card.get_by_role("heading", level=3)).to_have_text(COURSE)
    expect(card).to_contain_text(INSTITUTION)
    expect(card).to_contain_text(code)
    expect(card.locator(".status")).to_have_text("Valid")
    share = card.get_by_role("link", name=f"{live_server.url}/verify/{code}/", exact=True)
    expect(share).to_have_attribute("href", f"{live_server.url}/verify/{code}/")
    assert_fits_phone(phone)
    shot(phone, "my certificates")

    with phone.expect_download() as download_info:
        card.get_by_role("link", name="Download the PDF").tap()
    download = download_info.value
    assert download.suggested_filename == f"certificate-{code}.pdf"
    pdf_path = tmp_path / download.suggested_filename
    download.save_as(pdf_path)
    pdf_bytes = pdf_path.read_bytes()
    assert pdf_bytes.startswith(b"%PDF-")
    pdf_text = " ".join(sheet.extract_text() for sheet in PdfReader(io.BytesIO(pdf_bytes)).pages)
    assert HOLDER in pdf_text
    assert code in pdf_text
    # The address printed under the QR code (wrapped onto two lines in its narrow column).
    assert f"/verify/{code}/" in re.sub(r"\s+", "", pdf_text)

    with phone.expect_download() as download_info:
        card.get_by_role("link", name=re.compile("^Download the digital credential")).tap()
    download = download_info.value
    assert download.suggested_filename == f"certificate-{code}.json"
    credential_path = tmp_path / download.suggested_filename
    download.save_as(credential_path)
    credential = json.loads(credential_path.read_text(encoding="utf-8"))
    assert "OpenBadgeCredential" in credential["type"]
    assert credential["credentialSubject"]["achievement"]["humanCode"] == code
    assert credential["proof"][0]["cryptosuite"] == "eddsa-rdfc-2022"
    assert credential == certificate.credential
    assert phone.failures == [], phone.failures  # every learner page loaded cleanly

    # --- A regulator, on a phone, without an account, verifies it ------------------------------
    # (Verification needs no account: the regulator's phone is not logged in.)
    regulator = open_page(**PHONE)
    verify_url = f"{live_server.url}/verify/{code}/"
    regulator.goto(verify_url)
    expect(regulator.get_by_role("heading", level=1)).to_have_text("Verify a certificate")
    expect(regulator.locator("#certificate-status")).to_have_text("Valid")
    expect(regulator.locator("#holder-name")).to_have_text(HOLDER)
    expect(regulator.locator("#course")).to_have_text(COURSE)
    expect(regulator.locator("#institution")).to_have_text(INSTITUTION)
    main = regulator.locator("main")
    expect(main).not_to_contain_text(trainee.email)  # nothing more personal than the name
    expect(main).not_to_contain_text(trainee.username)
    assert_fits_phone(regulator)
    shot(regulator, "verify valid")

    # The code typed by hand off the paper certificate: lower case, spaces for dashes.
    regulator.get_by_role("textbox", name="Certificate code").fill(typed_by_hand(code))
    shot(regulator, "verify form typed")
    regulator.get_by_role("button", name="Verify", exact=True).tap()
    expect(regulator).to_have_url(verify_url)
    expect(regulator.locator("#certificate-status")).to_have_text("Valid")
    expect(regulator.locator("#holder-name")).to_have_text(HOLDER)
    assert_fits_phone(regulator)
    shot(regulator, "verify typed code")
    certificate.refresh_from_db()
    assert certificate.verification_count == 2  # each verification is counted

    # --- The institution's manager revokes it in the Wagtail admin -----------------------------
    manager = people_a.manager
    admin = open_page(**DESKTOP)
    log_in(admin, live_server.url, manager.username, "/admin/")
    # A manager's account has two-factor authentication: the code from the authenticator app.
    expect(admin.get_by_role("heading", level=1)).to_have_text("Two-Factor Authentication")
    shot(admin, "manager two-factor step")
    admin.get_by_role("textbox", name=re.compile(r"^Code:?$")).fill(authenticator_code(manager))
    admin.get_by_role("button", name="Sign In").click()
    expect(admin).to_have_url(re.compile(r"/admin/$"))

    sidebar = admin.get_by_role("navigation", name="Main menu")
    sidebar.get_by_role("button", name="Certificates").click()
    sidebar.get_by_role("link", name="Register").click()
    expect(admin.get_by_role("heading", level=1)).to_have_text("Certificate register")
    filters = admin.locator("form[data-register-filters]")
    filters.get_by_role("textbox", name="Search").fill(HOLDER)
    filters.get_by_role("button", name="Search").click()
    expect(admin.locator("main")).to_contain_text("1 certificate")
    row = admin.locator(f"tr[data-certificate='{code}']")
    expect(row).to_contain_text(HOLDER)
    expect(row).to_contain_text(COURSE)
    expect(row.locator("[data-status]")).to_have_text("Valid")
    shot(admin, "register")

    row.get_by_role("link", name=code).click()
    expect(admin.get_by_role("heading", level=1)).to_contain_text(code)
    expect(admin.locator("[data-frozen]")).to_contain_text(HOLDER)
    expect(admin.locator("[data-frozen]")).to_contain_text("2 times")  # the regulator's checks
    shot(admin, "certificate")

    revoke = admin.locator("form[data-certificate-action='revoke']")
    revoke.get_by_role("textbox", name=re.compile(r"^Reason for revoking")).fill(REASON)
    revoke.get_by_role("button", name="Revoke the certificate").click()
    expect_admin_message(
        admin, f"Certificate {code} revoked. Verification now says so, with the reason."
    )
    expect(admin.locator("h2 [data-status]")).to_have_text("Revoked")
    expect(admin.locator("[data-revocation]")).to_contain_text(REASON)
    expect(admin.locator("form[data-certificate-action='revoke']")).to_have_count(0)
    logged = admin.locator("[data-audit-log] tr[data-event='revoked']")
    expect(logged).to_contain_text("Revoked")
    expect(logged).to_contain_text(manager.username)
    expect(logged).to_contain_text(REASON)
    expect(admin.locator("[data-audit-log] tr[data-event='issued']")).to_contain_text("the system")
    shot(admin, "certificate revoked")
    assert admin.failures == [], admin.failures

    certificate.refresh_from_db()
    assert certificate.state == CertificateState.REVOKED
    assert certificate.revocation_reason == REASON
    assert certificate.revoked_at is not None
    (revoked,) = certificate.events.filter(kind=EventKind.REVOKED)
    assert (revoked.actor, revoked.reason) == (manager, REASON)

    # --- The regulator looks again: revoked, with the reason -----------------------------------
    regulator.reload()
    expect(regulator.locator("#certificate-status")).to_have_text("Revoked")
    expect(regulator.locator("#revocation")).to_contain_text(f"Reason: {REASON}")
    expect(regulator.locator("#holder-name")).to_have_text(HOLDER)
    assert_fits_phone(regulator)
    assert regulator.failures == [], regulator.failures
    shot(regulator, "verify revoked")

    # The credential the trainee downloaded is still authentic, but no longer valid.
    regulator.get_by_label("Digital credential (.json)").set_input_files(credential_path)
    regulator.get_by_role("button", name="Check the file").tap()
    expect(regulator.locator("#credential-status")).to_have_text("Revoked")
    expect(regulator.locator("#credential-message")).to_contain_text(REASON)
    assert_fits_phone(regulator)
    shot(regulator, "verify credential file revoked")

    # And the trainee's dashboard says so too.
    phone.reload()
    expect(card.locator(".status")).to_have_text("Revoked")
    expect(card).to_contain_text(f"Reason: {REASON}")
    shot(phone, "my certificates revoked")

    certificate.refresh_from_db()
    assert certificate.state == CertificateState.REVOKED
    assert certificate.verification_count == 4  # the reload and the file, counted too
