"""The institution's certificate admin in Wagtail: templates and their preview, course
certificates, the register with its search and filters, a certificate's page with its audit
log and actions (revoke, re-issue, renew), issuing by hand and for a whole cohort — and who
may do any of it.

Outcomes in the permission matrix: ``ok`` (the page opens), ``done`` (the change is made and
the person is sent on), ``login`` (sent to log in: no admin access at all), ``denied`` (a
403, or a 404 for another institution's records).
"""

import io
import re
from datetime import timedelta
from http import HTTPStatus

import pypdf
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from certificates import admin_views, services
from certificates.models import (
    BulkIssue,
    BulkIssueStatus,
    Certificate,
    CertificateEvent,
    CertificateRule,
    CertificateState,
    CertificateTemplate,
    EventKind,
    IssueMethod,
)
from courses import demo as courses_demo
from courses import services as course_services
from lms import services as lms_services
from tests.conftest import SecondFactorClient, enable_totp
from tests.factories import UserFactory, learner_profile_data
from tests.learning import finish_course

pytestmark = pytest.mark.django_db


# --- Helpers and fixtures -----------------------------------------------------------------


def text_of(html: str) -> str:
    """What a person reads: tags and scripts out, whitespace squeezed."""
    html = re.sub(r"(?s)<(script|style|svg|template)\b.*?</\1>", " ", html)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&#x27;", "'").strip()


def page_text(response) -> str:
    return text_of(response.content.decode())


def register_codes(response) -> list[str]:
    return re.findall(r'<tr data-certificate="([^"]+)"', response.content.decode())


def audit_rows(response) -> dict[str, str]:
    """The audit log's rows as text, by event kind (the last row of each kind)."""
    html = response.content.decode()
    table = html[html.index("data-audit-log") :]
    return {
        kind: text_of(row)
        for kind, row in re.findall(r'<tr data-event="([a-z_]+)">(.*?)</tr>', table, re.S)
    }


def make_learner(username: str, full_name: str):
    user = UserFactory(username=username)
    lms_services.learner_profile_save(user=user, **learner_profile_data(full_name=full_name))
    return user


def issue_by_hand(learner, course, actor, reason="Prior learning recognised"):
    """A certificate issued through the service, criteria overridden (rendering not run)."""
    return services.certificate_issue(
        learner=learner,
        course=course,
        method=IssueMethod.MANUAL,
        actor=actor,
        override_reason=reason,
    ).certificate


@pytest.fixture
def course_b(institution_b, published_framework):
    return courses_demo.seed_course(institution=institution_b, framework=published_framework)


@pytest.fixture
def template_b(institution_b):
    return CertificateTemplate.objects.create(
        institution=institution_b,
        name="Mekong standard",
        signatory_name="Sokha Chan",
        signatory_title="Rector",
    )


@pytest.fixture
def rule_b(course_b, template_b):
    return CertificateRule.objects.create(course=course_b, template=template_b)


@pytest.fixture
def certificate(people_a, course, certificate_rule):
    """A's trainee finished the course: issued automatically (rendering left pending)."""
    finish_course(people_a.trainee, course)
    return Certificate.objects.get(learner=people_a.trainee)


@pytest.fixture
def cohort(course, institution_a, people_a):
    cohort = course_services.cohort_create(
        institution=institution_a, course=course, name="Kibera volunteers, March"
    )
    cohort.learners.add(people_a.trainee)
    return cohort


def url_of(name: str, *args) -> str:
    return reverse(name, args=args)


# --- Who may do what ------------------------------------------------------------------------


@pytest.fixture
def everyone(people_a, people_b, regulator):
    superuser = UserFactory(username="root", is_staff=True, is_superuser=True)
    enable_totp(superuser)
    return {
        "anonymous": None,
        "trainee": people_a.trainee,
        "supervisor": people_a.supervisor,
        "author": people_a.author,
        "instructor": people_a.instructor,
        "manager": people_a.manager,
        "manager_b": people_b.manager,
        "regulator": regulator,
        "superuser": superuser,
    }


def outcome(response) -> str:
    if response.status_code == HTTPStatus.OK:
        return "ok"
    if response.status_code == HTTPStatus.FOUND:
        location = response["Location"]
        if location.startswith("/accounts/login/"):
            return "login"
        return "denied" if location == "/admin/" else "done"
    if response.status_code in (HTTPStatus.FORBIDDEN, HTTPStatus.NOT_FOUND):
        return "denied"
    return f"status {response.status_code}"


LOGIN = dict.fromkeys(("anonymous", "trainee", "supervisor"), "login")
ACTIONS = {
    # action: who gets what (people not named are denied)
    "templates list": {
        **LOGIN,
        "author": "ok",
        "manager": "ok",
        "manager_b": "ok",
        "superuser": "ok",
    },
    "template preview": {**LOGIN, "author": "ok", "manager": "ok", "superuser": "ok"},
    "rules edit": {**LOGIN, "author": "ok", "manager": "ok", "superuser": "ok"},
    # The regulator's body covers Kenya, where A's trainee works: read-only, across institutions.
    "register list": {
        **LOGIN,
        "instructor": "ok",
        "manager": "ok",
        "manager_b": "ok",
        "regulator": "ok",
        "superuser": "ok",
    },
    "certificate detail": {
        **LOGIN,
        "instructor": "ok",
        "manager": "ok",
        "regulator": "ok",
        "superuser": "ok",
    },
    "revoke POST": {**LOGIN, "manager": "done", "superuser": "done"},
    "bulk issue POST": {**LOGIN, "manager": "done", "superuser": "done"},
}


@pytest.mark.parametrize("action", list(ACTIONS))
@pytest.mark.parametrize(
    "person",
    [
        "anonymous",
        "trainee",
        "supervisor",
        "author",
        "instructor",
        "manager",
        "manager_b",
        "regulator",
        "superuser",
    ],
)
def test_permission_matrix(client, everyone, person, action, certificate, cohort, template_b):
    user = everyone[person]
    if user is not None:
        client.force_login(user)
    template = certificate.template
    rule = CertificateRule.objects.get(course=certificate.course)
    events_before = CertificateEvent.objects.count()
    response = {
        "templates list": lambda: client.get(url_of("certificate_templates:index")),
        "template preview": lambda: client.get(
            url_of("certificate_templates:preview", template.pk)
        ),
        "rules edit": lambda: client.get(url_of("certificate_rules:edit", rule.pk)),
        "register list": lambda: client.get(url_of("certificates_register")),
        "certificate detail": lambda: client.get(
            url_of("certificates_certificate", certificate.uuid)
        ),
        "revoke POST": lambda: client.post(
            url_of("certificates_certificate_revoke", certificate.uuid),
            {"reason": "Issued in error"},
        ),
        "bulk issue POST": lambda: client.post(url_of("certificates_bulk_start", cohort.pk)),
    }[action]()

    expected = ACTIONS[action].get(person, "denied")
    assert outcome(response) == expected

    # What the database holds after: only the issuing institution's managers changed anything.
    certificate.refresh_from_db()
    if action == "revoke POST" and expected == "done":
        assert certificate.state == CertificateState.REVOKED
        event = CertificateEvent.objects.latest("pk")
        assert (event.kind, event.actor, event.reason) == (
            EventKind.REVOKED,
            user,
            "Issued in error",
        )
    else:
        assert certificate.state == CertificateState.ACTIVE
        assert certificate.revocation_reason == ""
        assert CertificateEvent.objects.count() == events_before
    assert BulkIssue.objects.exists() is (action == "bulk issue POST" and expected == "done")

    # Another institution's manager opens the lists, but sees none of A's records in them.
    if person == "manager_b" and expected == "ok":
        page = page_text(response)
        assert "Ubuntu standard" not in page and certificate.display_code not in page
        assert register_codes(response) == []


def test_actions_need_a_post_with_the_csrf_token(people_a, certificate, cohort):
    client = SecondFactorClient(enforce_csrf_checks=True)
    client.force_login(people_a.manager)
    revoke = url_of("certificates_certificate_revoke", certificate.uuid)
    assert client.get(revoke).status_code == HTTPStatus.METHOD_NOT_ALLOWED
    response = client.post(revoke, {"reason": "Issued in error"})
    assert response.status_code == HTTPStatus.FORBIDDEN
    response = client.post(url_of("certificates_bulk_start", cohort.pk))
    assert response.status_code == HTTPStatus.FORBIDDEN
    certificate.refresh_from_db()
    assert certificate.state == CertificateState.ACTIVE
    assert not BulkIssue.objects.exists()
    assert list(certificate.events.values_list("kind", flat=True)) == [EventKind.ISSUED]


def test_the_certificates_menu_shows_each_person_what_they_may_use(client, everyone):
    links = {
        "templates": url_of("certificate_templates:index"),
        "rules": url_of("certificate_rules:index"),
        "register": url_of("certificates_register"),
        "issue": url_of("certificates_issue"),
        "bulk": url_of("certificates_bulk"),
    }
    expected = {
        "author": {"templates", "rules"},
        "instructor": {"register"},
        "manager": set(links),
        "regulator": {"register"},
        "superuser": set(links),
    }
    for person, shown in expected.items():
        client.force_login(everyone[person])
        page = client.get("/admin/").content.decode()
        assert {name for name, link in links.items() if f'"{link}"' in page} == shown, person
        assert ('"Certificates"' in page) is bool(shown), person


# --- Templates ------------------------------------------------------------------------------


def template_data(institution, **overrides) -> dict:
    data = {
        "institution": institution.pk,
        "name": "Ubuntu portrait",
        "layout": "portrait_classic",
        "language": "en",
        "statement": "",
        "logo": "",
        "primary_colour": "#123456",
        "accent_colour": "#abcdef",
        "signatory_name": "Grace Wanjiku",
        "signatory_title": "Director of Training",
        "signature": "",
    }
    return data | overrides


def test_an_author_designs_templates_for_their_own_institution_only(
    client, people_a, institution_a, institution_b
):
    client.force_login(people_a.author)
    add = url_of("certificate_templates:add")
    page = client.get(add).content.decode()
    assert f'<option value="{institution_a.pk}" selected>' in page
    assert f'value="{institution_b.pk}"' not in page

    response = client.post(add, template_data(institution_b))
    assert "Select a valid choice" in page_text(response)
    response = client.post(add, template_data(institution_a, primary_colour="blue"))
    assert "Give a colour as #RRGGBB" in page_text(response)
    assert not CertificateTemplate.objects.exists()

    response = client.post(add, template_data(institution_a))
    assert response.status_code == HTTPStatus.FOUND
    template = CertificateTemplate.objects.get()
    assert (template.institution, template.layout, template.primary_colour) == (
        institution_a,
        "portrait_classic",
        "#123456",
    )

    edit = url_of("certificate_templates:edit", template.pk)
    client.post(edit, template_data(institution_a, name="Ubuntu portrait, 2026"))
    template.refresh_from_db()
    assert template.name == "Ubuntu portrait, 2026"
    listing = page_text(client.get(url_of("certificate_templates:index")))
    assert "Ubuntu portrait, 2026" in listing and "Portrait — classic, framed" in listing
    assert "Preview (PDF)" in listing


def test_a_template_in_use_is_kept_and_an_unused_one_deleted(
    client, people_a, certificate_template, certificate
):
    """In use by the course's certificate (the rule), then only by an issued certificate."""
    client.force_login(people_a.manager)
    newer = CertificateTemplate.objects.create(
        institution=certificate_template.institution,
        name="Ubuntu 2027",
        signatory_name="Grace Wanjiku",
        signatory_title="Director of Training",
    )
    delete = url_of("certificate_templates:delete", certificate_template.pk)
    for rule_template in (certificate_template, newer):
        CertificateRule.objects.filter(course=certificate.course).update(template=rule_template)
        response = client.post(delete, follow=True)
        assert response.redirect_chain == [
            (url_of("certificate_templates:edit", certificate_template.pk), HTTPStatus.FOUND)
        ]
        assert (
            "“Ubuntu standard (Ubuntu Institute)” cannot be deleted: course certificates or "
            "issued certificates use it." in page_text(response)
        )
        assert CertificateTemplate.objects.filter(pk=certificate_template.pk).exists()

    spare = CertificateTemplate.objects.create(
        institution=certificate_template.institution,
        name="Spare",
        signatory_name="x",
        signatory_title="y",
    )
    response = client.post(url_of("certificate_templates:delete", spare.pk))
    assert response.status_code == HTTPStatus.FOUND
    assert not CertificateTemplate.objects.filter(pk=spare.pk).exists()


def test_another_institutions_template_cannot_be_edited_or_deleted(
    client, people_b, certificate_template
):
    client.force_login(people_b.author)
    edit = url_of("certificate_templates:edit", certificate_template.pk)
    assert client.get(edit).status_code == HTTPStatus.NOT_FOUND
    data = template_data(certificate_template.institution, name="Hijacked")
    assert client.post(edit, data).status_code == HTTPStatus.NOT_FOUND
    delete = url_of("certificate_templates:delete", certificate_template.pk)
    assert client.post(delete).status_code == HTTPStatus.NOT_FOUND
    certificate_template.refresh_from_db()
    assert certificate_template.name == "Ubuntu standard"


def test_the_preview_is_a_sample_pdf_rendered_on_the_spot(
    client, people_a, course, certificate_template
):
    client.force_login(people_a.author)
    response = client.get(url_of("certificate_templates:preview", certificate_template.pk))
    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("inline")
    reader = pypdf.PdfReader(io.BytesIO(response.content))
    text = " ".join(page.extract_text() for page in reader.pages)
    text = re.sub(r"\s+", " ", text)
    for expected in (
        "Amina Example",
        "Case management for para-professionals",  # the institution's first course
        "Ubuntu Institute",
        "PP.1.1",
        "PP.3.1",
        "PP.4.2",
        "Grace Wanjiku",
        "SAMP-1EC0-DE00-0000",
    ):
        assert expected in text, expected
    assert not Certificate.objects.exists()  # nothing was issued


# --- Course certificates --------------------------------------------------------------------


def rule_data(course, template, **overrides) -> dict:
    data = {
        "course": course.pk,
        "template": template.pk,
        "require_modules": "on",
        "require_quizzes": "on",
        "validity_months": "12",
        "course_version": "2026",
        "automatic": "on",
    }
    return data | overrides


def test_a_manager_sets_a_courses_certificate_from_their_own_courses_and_templates(
    client, people_a, course, course_b, certificate_template, template_b
):
    client.force_login(people_a.manager)
    add = url_of("certificate_rules:add")
    page = client.get(add).content.decode()
    assert f'value="{course.pk}"' in page and f'value="{certificate_template.pk}"' in page
    assert f'value="{course_b.pk}"' not in page and f'value="{template_b.pk}"' not in page

    response = client.post(add, rule_data(course_b, certificate_template))
    assert "Select a valid choice" in page_text(response)
    response = client.post(add, rule_data(course, certificate_template, validity_months="0"))
    assert "Leave empty, or give at least 1 month." in page_text(response)
    assert not CertificateRule.objects.exists()

    response = client.post(add, rule_data(course, certificate_template))
    assert response.status_code == HTTPStatus.FOUND
    rule = CertificateRule.objects.get()
    assert (rule.course_id, rule.template, rule.validity_months, rule.course_version) == (
        course.pk,
        certificate_template,
        12,
        "2026",
    )
    assert (rule.require_modules, rule.require_quizzes, rule.require_competencies) == (
        True,
        True,
        False,
    )
    response = client.post(add, rule_data(course, certificate_template))
    assert "already exists" in page_text(response)

    edit = url_of("certificate_rules:edit", rule.pk)
    client.post(edit, rule_data(course, certificate_template, validity_months="", automatic=""))
    rule.refresh_from_db()
    assert (rule.validity_months, rule.automatic) == (None, False)
    listing = page_text(client.get(url_of("certificate_rules:index")))
    assert "Case management for para-professionals" in listing and "does not expire" in listing


def test_a_course_is_certified_on_a_template_of_its_own_institution(
    client, institution_b, course, certificate_template, template_b, people_a
):
    both = people_a.manager
    lms_services.membership_grant(user=both, institution=institution_b, role="manager")
    client.force_login(both)
    response = client.post(url_of("certificate_rules:add"), rule_data(course, template_b))
    assert "Choose a template of Ubuntu Institute, the institution of the course." in page_text(
        response
    )
    assert not CertificateRule.objects.exists()


def test_another_institutions_course_certificate_cannot_be_changed(
    client, people_a, people_b, certificate_rule
):
    client.force_login(people_b.manager)
    edit = url_of("certificate_rules:edit", certificate_rule.pk)
    data = rule_data(certificate_rule.course, certificate_rule.template, validity_months="1")
    assert client.post(edit, data).status_code == HTTPStatus.NOT_FOUND
    certificate_rule.refresh_from_db()
    assert certificate_rule.validity_months == 24
    # No one deletes a course's certificate: a rule changes, it does not vanish.
    client.force_login(people_a.manager)
    delete = url_of("certificate_rules:delete", certificate_rule.pk)
    assert outcome(client.post(delete)) == "denied"
    assert CertificateRule.objects.filter(pk=certificate_rule.pk).exists()


# --- Register -------------------------------------------------------------------------------


@pytest.fixture
def register_data(people_a, people_b, course, course_b, rule_b, certificate):
    """A's certificates: valid (the graduate's), Baraka's (revoked), Chao's (expired),
    and one of B's that A's staff never see."""
    baraka = issue_by_hand(make_learner("baraka", "Baraka Otieno"), course, people_a.manager)
    services.certificate_revoke(certificate=baraka, actor=people_a.manager, reason="Fraud")
    chao = issue_by_hand(make_learner("chao", "Chao Lin"), course, people_a.manager)
    Certificate.objects.filter(pk=chao.pk).update(  # two years and a day have passed
        valid_until=timezone.localdate() - timedelta(days=1)
    )
    sokha = issue_by_hand(make_learner("sokha", "Sokha Chan"), course_b, people_b.manager)
    return {"valid": certificate, "revoked": baraka, "expired": chao, "b": sokha}


def test_the_register_searches_and_filters_the_institutions_certificates(
    client, people_a, register_data, course
):
    valid, revoked, expired = (register_data[k] for k in ("valid", "revoked", "expired"))
    client.force_login(people_a.instructor)
    register = url_of("certificates_register")

    def codes(**query):
        response = client.get(register, query)
        assert response.status_code == HTTPStatus.OK
        return set(register_codes(response))

    everything = {valid.display_code, revoked.display_code, expired.display_code}
    assert codes() == everything  # not B's
    assert codes(q="baraka") == {revoked.display_code}
    assert codes(q="  Trainee A ") == {valid.display_code}
    assert codes(q=expired.code.lower()) == {expired.display_code}  # no dashes
    assert codes(q=expired.display_code) == {expired.display_code}  # with dashes
    assert codes(q=expired.display_code.replace("-", " ")[:9]) == {expired.display_code}
    assert codes(q=register_data["b"].display_code) == set()
    assert codes(q="case management") == everything
    assert codes(status="valid") == {valid.display_code}
    assert codes(status="expired") == {expired.display_code}
    assert codes(status="revoked") == {revoked.display_code}
    assert codes(course=course.pk) == everything
    assert codes(course=course.pk, status="revoked", q="otieno") == {revoked.display_code}
    page = page_text(client.get(register, {"status": "revoked"}))
    assert "Baraka Otieno" in page and "Revoked" in page and "1 certificate" in page


def test_the_register_is_paginated_keeping_the_search(client, people_a, register_data, monkeypatch):
    monkeypatch.setattr(admin_views, "REGISTER_PAGE_SIZE", 2)
    client.force_login(people_a.manager)
    register = url_of("certificates_register")
    first = client.get(register, {"q": "case"})
    assert len(register_codes(first)) == 2
    assert 'href="?q=case&amp;p=2"' in first.content.decode()
    assert "Page 1 of 2" in page_text(first)
    second = client.get(register, {"q": "case", "p": 2})
    assert len(register_codes(second)) == 1
    assert set(register_codes(first)) | set(register_codes(second)) == {
        register_data[k].display_code for k in ("valid", "revoked", "expired")
    }


def test_the_register_queries_do_not_grow_with_its_rows(client, people_a, course, certificate):
    client.force_login(people_a.manager)
    register = url_of("certificates_register")
    client.get(register)  # warm up what is read once per process
    with CaptureQueriesContext(connection) as one:
        assert len(register_codes(client.get(register, {"q": "a"}))) == 1
    for number in range(6):
        issue_by_hand(make_learner(f"learner{number}", f"Learner {number}"), course, None)
    with CaptureQueriesContext(connection) as seven:
        assert len(register_codes(client.get(register, {"q": "a"}))) == 7
    assert len(seven) == len(one)


# --- A certificate's page and its actions ---------------------------------------------------


def test_the_certificate_page_shows_what_was_frozen_links_and_the_audit_log(
    client, people_a, graduate_certificate
):
    certificate = graduate_certificate
    client.force_login(people_a.manager)
    response = client.get(url_of("certificates_certificate", certificate.uuid))
    page = page_text(response)
    for expected in (
        certificate.display_code,
        "Trainee a",
        "Case management for para-professionals — course version 1",
        "Ubuntu Institute",
        "Para-Professional Social Service Workforce Competencies, version 1.0",
        "PP.5.2 Develops and reviews a case plan with the child and family Competent",
        "Automatically, when the criteria were met",
        "Status: Valid",
        "Ready.",
    ):
        assert expected in page, expected
    html = response.content.decode()
    for link in (
        url_of("certificates:pdf", certificate.uuid),
        url_of("certificates:credential", certificate.uuid),
        url_of("certificates:verify_code", certificate.display_code),
    ):
        assert f'href="{link}"' in html, link
    assert list(audit_rows(response)) == ["issued", "rendered", "emailed"]
    assert "the system" in audit_rows(response)["issued"]
    pdf = client.get(url_of("certificates:pdf", certificate.uuid))
    assert pdf["Content-Type"] == "application/pdf"


def test_an_instructor_reads_the_certificate_but_is_offered_no_action(
    client, people_a, certificate
):
    client.force_login(people_a.instructor)
    response = client.get(url_of("certificates_certificate", certificate.uuid))
    assert "data-certificate-action" not in response.content.decode()
    assert "Being prepared" in page_text(response)
    client.force_login(people_a.manager)
    response = client.get(url_of("certificates_certificate", certificate.uuid))
    html = response.content.decode()
    assert all(f'data-certificate-action="{a}"' in html for a in ("revoke", "reissue", "renew"))


def test_a_manager_revokes_a_certificate_with_a_reason(client, people_a, certificate):
    client.force_login(people_a.manager)
    detail = url_of("certificates_certificate", certificate.uuid)
    revoke = url_of("certificates_certificate_revoke", certificate.uuid)

    response = client.post(revoke, {"reason": "  "})
    assert response.status_code == HTTPStatus.OK
    assert "This field is required." in page_text(response)
    certificate.refresh_from_db()
    assert certificate.state == CertificateState.ACTIVE

    response = client.post(revoke, {"reason": "Issued to the wrong person"}, follow=True)
    assert response.redirect_chain == [(detail, HTTPStatus.FOUND)]
    page = page_text(response)
    assert f"Certificate {certificate.display_code} revoked." in page
    assert "Status: Revoked" in page and "Reason: Issued to the wrong person" in page
    row = audit_rows(response)["revoked"]
    assert "manager-a" in row and "Issued to the wrong person" in row
    certificate.refresh_from_db()
    assert (certificate.state, certificate.revocation_reason) == (
        CertificateState.REVOKED,
        "Issued to the wrong person",
    )
    event = certificate.events.get(kind=EventKind.REVOKED)
    assert (event.actor, event.reason) == (people_a.manager, "Issued to the wrong person")
    assert 'data-certificate-action="revoke"' not in response.content.decode()

    # A second revocation is refused, with the service's words, and changes nothing.
    response = client.post(revoke, {"reason": "Again"}, follow=True)
    assert "This certificate was already revoked." in page_text(response)
    assert certificate.events.filter(kind=EventKind.REVOKED).count() == 1
    certificate.refresh_from_db()
    assert certificate.revocation_reason == "Issued to the wrong person"


def test_a_manager_reissues_a_certificate_with_a_corrected_name(
    client, people_a, graduate_certificate, django_capture_on_commit_callbacks
):
    certificate = graduate_certificate
    client.force_login(people_a.manager)
    reissue = url_of("certificates_certificate_reissue", certificate.uuid)

    response = client.post(reissue, {"reason": "", "holder_name": "Trainee A. Mwangi"})
    assert "This field is required." in page_text(response)
    certificate.refresh_from_db()
    assert (certificate.version, certificate.holder_name) == (1, "Trainee a")

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reissue, {"reason": "Name misspelt", "holder_name": "Trainee A. Mwangi"}, follow=True
        )
    page = page_text(response)
    assert (
        f"Certificate {certificate.display_code} re-issued as version 2, to Trainee A. Mwangi."
        in page
    )
    certificate.refresh_from_db()
    assert (certificate.version, certificate.holder_name, certificate.code) == (
        2,
        "Trainee A. Mwangi",
        graduate_certificate.code,
    )
    assert certificate.is_ready  # the new version was rendered after commit
    row = audit_rows(response)["reissued"]
    assert "manager-a" in row and "Name misspelt" in row
    assert "Name: “Trainee a” → “Trainee A. Mwangi”" in row
    event = certificate.events.get(kind=EventKind.REISSUED)
    assert (event.actor, event.reason, event.data["version"]) == (
        people_a.manager,
        "Name misspelt",
        2,
    )


def test_a_revoked_certificate_is_not_reissued_or_renewed(client, people_a, certificate):
    services.certificate_revoke(certificate=certificate, actor=people_a.manager, reason="Error")
    events = certificate.events.count()
    client.force_login(people_a.manager)
    response = client.post(
        url_of("certificates_certificate_reissue", certificate.uuid),
        {"reason": "Name misspelt"},
        follow=True,
    )
    assert "A revoked certificate cannot be re-issued." in page_text(response)
    response = client.post(url_of("certificates_certificate_renew", certificate.uuid), follow=True)
    assert "Only an active certificate can be renewed." in page_text(response)
    certificate.refresh_from_db()
    assert (certificate.version, certificate.state) == (1, CertificateState.REVOKED)
    assert certificate.events.count() == events
    assert Certificate.objects.count() == 1


def test_a_manager_renews_a_certificate(client, people_a, certificate):
    client.force_login(people_a.manager)
    response = client.post(url_of("certificates_certificate_renew", certificate.uuid), follow=True)
    renewal = Certificate.objects.get(renews=certificate)
    assert response.redirect_chain == [
        (url_of("certificates_certificate", renewal.uuid), HTTPStatus.FOUND)
    ]
    page = page_text(response)
    assert (
        f"Certificate {certificate.display_code} renewed: the new certificate is "
        f"{renewal.display_code}." in page
    )
    assert f"Renews {certificate.display_code}" in page
    certificate.refresh_from_db()
    assert certificate.state == CertificateState.RENEWED
    assert (renewal.state, renewal.method) == (CertificateState.ACTIVE, IssueMethod.RENEWAL)
    event = certificate.events.get(kind=EventKind.RENEWED)
    assert (event.actor, event.data["renewal"]) == (people_a.manager, renewal.display_code)
    old_page = client.get(url_of("certificates_certificate", certificate.uuid))
    assert f"Renewed by {renewal.display_code}" in page_text(old_page)
    row = audit_rows(old_page)["renewed"]
    assert f"Renewed → {renewal.display_code}" in row and "manager-a" in row


def test_a_certificate_that_does_not_expire_is_not_renewed(client, people_a, certificate):
    CertificateRule.objects.filter(course=certificate.course).update(validity_months=None)
    Certificate.objects.filter(pk=certificate.pk).update(valid_until=None)
    client.force_login(people_a.manager)
    detail = client.get(url_of("certificates_certificate", certificate.uuid))
    assert 'data-certificate-action="renew"' not in detail.content.decode()
    response = client.post(url_of("certificates_certificate_renew", certificate.uuid), follow=True)
    assert "This certificate does not expire: there is nothing to renew." in page_text(response)
    assert Certificate.objects.count() == 1
    assert not certificate.events.filter(kind=EventKind.RENEWED).exists()


# --- Issuing by hand ------------------------------------------------------------------------


@pytest.fixture
def manual_rule(certificate_rule):
    """The course's certificate is issued by the institution, not automatically."""
    CertificateRule.objects.filter(pk=certificate_rule.pk).update(automatic=False)
    return certificate_rule


def test_a_manager_issues_a_certificate_to_a_learner_who_met_the_criteria(
    client, people_a, course, manual_rule, course_b, rule_b
):
    learner = make_learner("amina", "Amina Njoroge")
    finish_course(learner, course)
    assert not Certificate.objects.exists()
    client.force_login(people_a.manager)
    issue = url_of("certificates_issue")
    page = client.get(issue).content.decode()
    assert f'value="{course.pk}"' in page and f'value="{course_b.pk}"' not in page

    response = client.post(issue, {"course": course.pk, "learner": "AMINA@example.org"})
    certificate = Certificate.objects.get()
    assert response["Location"] == url_of("certificates_certificate", certificate.uuid)
    assert (certificate.learner, certificate.method, certificate.holder_name) == (
        learner,
        IssueMethod.MANUAL,
        "Amina Njoroge",
    )
    event = certificate.events.get(kind=EventKind.ISSUED)
    assert (event.actor, event.reason, event.data["criteria_overridden"]) == (
        people_a.manager,
        "",
        False,
    )
    page = page_text(client.get(response["Location"]))
    assert f"Certificate {certificate.display_code} issued to Amina Njoroge." in page
    assert (
        "By the institution" in page
        and "manager-a" in audit_rows(client.get(response["Location"]))["issued"]
    )

    # Again: the learner already holds it, and is told so; still one certificate.
    response = client.post(issue, {"course": course.pk, "learner": "amina"}, follow=True)
    assert "Amina Njoroge already holds this course's certificate" in page_text(response)
    assert Certificate.objects.count() == 1


def test_unmet_criteria_are_listed_and_issuing_anyway_needs_a_reason(
    client, people_a, course, manual_rule
):
    learner = make_learner("baraka", "Baraka Otieno")
    course_services.enrol(learner=learner, course=course)
    client.force_login(people_a.manager)
    issue = url_of("certificates_issue")

    response = client.post(issue, {"course": course.pk, "learner": "baraka"})
    page = page_text(response)
    assert "baraka does not meet the criteria yet:" in page
    assert "Module not complete: Opening a case" in page
    assert 'name="issue_anyway"' in response.content.decode()
    assert not Certificate.objects.exists()

    data = {"course": course.pk, "learner": "baraka", "issue_anyway": "1", "override_reason": ""}
    response = client.post(issue, data)
    assert "Say why you issue the certificate without the criteria." in page_text(response)
    assert not Certificate.objects.exists()

    data["override_reason"] = "Recognition of prior learning: 10 years of case work"
    response = client.post(issue, data)
    certificate = Certificate.objects.get()
    assert response["Location"] == url_of("certificates_certificate", certificate.uuid)
    event = certificate.events.get(kind=EventKind.ISSUED)
    assert (event.actor, event.reason, event.data["criteria_overridden"]) == (
        people_a.manager,
        "Recognition of prior learning: 10 years of case work",
        True,
    )
    row = audit_rows(client.get(response["Location"]))["issued"]
    assert "criteria overridden" in row and "10 years of case work" in row


def test_only_the_institutions_learners_are_issued_certificates(
    client, people_a, people_b, course, course_b, manual_rule
):
    course_services.enrol(learner=people_b.trainee, course=course_b)  # B's learner only
    client.force_login(people_a.manager)
    issue = url_of("certificates_issue")
    data = {"course": course.pk, "learner": "trainee-b", "issue_anyway": "1"}
    response = client.post(issue, data | {"override_reason": "Because"})
    assert "No learner of Ubuntu Institute has the username or e-mail “trainee-b”." in page_text(
        response
    ).replace("&quot;", '"')
    response = client.post(issue, {"course": course_b.pk, "learner": "trainee-b"})
    assert "Select a valid choice" in page_text(response)
    assert not Certificate.objects.exists()


# --- Bulk issue for a cohort ----------------------------------------------------------------


@pytest.fixture
def bulk_cohort(people_a, course, manual_rule, cohort):
    """Amina finished the course, Baraka already holds the certificate, Chao has just begun."""
    amina, baraka, chao = (
        make_learner("amina", "Amina Njoroge"),
        make_learner("baraka", "Baraka Otieno"),
        make_learner("chao", "Chao Lin"),
    )
    cohort.learners.set([amina, baraka, chao])
    finish_course(amina, course)
    issue_by_hand(baraka, course, people_a.manager)
    course_services.enrol(learner=chao, course=course)
    return cohort


def test_a_cohort_is_issued_its_certificates_in_bulk_with_progress(
    client, people_a, bulk_cohort, django_capture_on_commit_callbacks
):
    client.force_login(people_a.manager)
    listing = client.get(url_of("certificates_bulk")).content.decode()
    assert url_of("certificates_bulk_start", bulk_cohort.pk) in listing

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url_of("certificates_bulk_start", bulk_cohort.pk))
    job = BulkIssue.objects.get()
    assert response["Location"] == url_of("certificates_bulk_job", job.pk)
    assert (job.status, job.total, job.processed, job.issued, job.already_held) == (
        BulkIssueStatus.DONE,
        3,
        3,
        1,
        1,
    )
    assert job.requested_by == people_a.manager
    amina = Certificate.objects.get(learner__username="amina")
    assert (amina.method, amina.is_ready) == (IssueMethod.BULK, True)
    assert not Certificate.objects.filter(learner__username="chao").exists()
    assert Certificate.objects.count() == 2

    response = client.get(response["Location"])
    html, page = response.content.decode(), page_text(response)
    assert '<progress id="job-progress" max="3" value="3">' in html
    assert 'http-equiv="refresh"' not in html  # done: no more reloading
    assert "3 of 3 learners processed" in page
    assert "Certificates issued 1 Already held 1 Not eligible 1" in page
    assert "chao The criteria are not met yet: Module not complete: Opening a case" in page

    data = client.get(url_of("certificates_bulk_job", job.pk), {"format": "json"}).json()
    assert {k: data[k] for k in ("status", "running", "total", "processed", "percent")} == {
        "status": "done",
        "running": False,
        "total": 3,
        "processed": 3,
        "percent": 100,
    }
    assert (data["issued"], data["already_held"]) == (1, 1)
    assert [row["learner"] for row in data["not_eligible"]] == ["chao"]

    # Running it again issues nothing new: everyone eligible holds the certificate.
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url_of("certificates_bulk_start", bulk_cohort.pk))
    again = BulkIssue.objects.latest("pk")
    assert (again.issued, again.already_held, len(again.not_eligible)) == (0, 2, 1)
    assert Certificate.objects.count() == 2


def test_a_running_bulk_issue_page_refreshes_itself(client, people_a, bulk_cohort):
    client.force_login(people_a.manager)
    response = client.post(url_of("certificates_bulk_start", bulk_cohort.pk), follow=True)
    assert "Issuing certificates to the 3 learners of “Kibera volunteers, March”." in page_text(
        response
    )
    html = response.content.decode()
    assert '<meta http-equiv="refresh" content="2">' in html
    assert '<progress id="job-progress" max="3" value="0">' in html
    job = BulkIssue.objects.get()
    data = client.get(url_of("certificates_bulk_job", job.pk), {"format": "json"}).json()
    assert (data["status"], data["running"], data["processed"]) == ("queued", True, 0)


def test_a_cohort_whose_course_awards_no_certificate_is_refused(client, people_a, course, cohort):
    client.force_login(people_a.manager)
    listing = page_text(client.get(url_of("certificates_bulk")))
    assert "The course awards no certificate." in listing
    response = client.post(url_of("certificates_bulk_start", cohort.pk), follow=True)
    assert "This cohort's course does not award a certificate." in page_text(response)
    assert not BulkIssue.objects.exists()


def test_another_institutions_manager_sees_no_bulk_issue_of_ours(
    client, people_a, people_b, bulk_cohort
):
    job = services.bulk_issue_start(cohort=bulk_cohort, actor=people_a.manager)
    client.force_login(people_b.manager)
    assert client.get(url_of("certificates_bulk_job", job.pk)).status_code == 404
    response = client.get(url_of("certificates_bulk_job", job.pk), {"format": "json"})
    assert response.status_code == 404
    listing = client.get(url_of("certificates_bulk")).content.decode()
    assert (
        bulk_cohort.name not in listing and url_of("certificates_bulk_job", job.pk) not in listing
    )
