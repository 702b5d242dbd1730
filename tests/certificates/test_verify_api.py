"""Verification through the JSON API, and an institution's certificates of its learners.

- ``GET /api/v1/verify/{code}``: anyone, no key; the same minimal facts as the page.
- ``POST /api/v1/verify``: many codes, for an institution's API key or a regulator's session.
- ``GET /api/v1/learners/{external_id}/certificates``: an institution's own certificates of
  its own learner; another institution's key learns nothing.
"""

from datetime import timedelta
from http import HTTPStatus

import pytest
from django.utils import timezone

from certificates import views
from certificates.codes import code_display, code_generate
from certificates.models import Certificate, CertificateRule, CertificateTemplate
from courses import demo as courses_demo
from lms.models import LearnerIdentity
from tests.certificates.fixtures_verify import *  # noqa: F403
from tests.certificates.fixtures_verify import award, reload, revoke

pytestmark = pytest.mark.django_db

TYPO = "a symbol seems mistyped or missing"
UNKNOWN = "no certificate with this code was issued here"


def bearer(key) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {key[1]}"}


# --- GET /api/v1/verify/{code} ----------------------------------------------------------------


def test_a_valid_code_gives_the_public_facts_without_any_key(client, certificate):
    response = client.get(f"/api/v1/verify/{certificate.code.lower()}")

    assert response.status_code == HTTPStatus.OK
    assert response.json() == {
        "code": certificate.display_code,
        "status": "valid",
        "holder_name": "Amina Wanjiru Njoroge",
        "course": "Case management for para-professionals",
        "course_version": "1",
        "institution": "Ubuntu Institute",
        "issued_on": certificate.issued_at.date().isoformat(),
        "valid_until": certificate.valid_until.isoformat(),
        "revoked_on": None,
        "revocation_reason": None,
        "version": 1,
        "renewed_by": None,
        "framework": {
            "title": "Para-Professional Social Service Workforce Competencies",
            "version": "1.0",
        },
        "competencies": [
            {
                "code": item["code"],
                "statement": item["statement"],
                "level": item["level"],
                "uri": item["uri"],
            }
            for item in certificate.competencies
        ],
    }
    assert [c["level"] for c in response.json()["competencies"]] == [
        "Developing",
        "Developing",
        "Competent",
    ]
    assert reload(certificate).verification_count == 1


def test_a_mistyped_code_is_a_typo_and_an_unissued_one_unknown(client, certificate):
    code = certificate.code
    typo = code[:-1] + ("0" if code[-1] != "0" else "1")

    typed = client.get(f"/api/v1/verify/{typo}")
    unknown = client.get(f"/api/v1/verify/{code_display(code_generate())}")

    assert typed.status_code == HTTPStatus.NOT_FOUND
    assert typed.json()["problem"] == "typo"
    assert TYPO in typed.json()["detail"]
    assert unknown.status_code == HTTPStatus.NOT_FOUND
    assert unknown.json()["problem"] == "unknown"
    assert UNKNOWN in unknown.json()["detail"]
    assert reload(certificate).verification_count == 0


def test_a_revoked_certificate_says_so_with_reason_and_date(client, certificate, people_a):
    revoke(certificate, people_a.manager, reason="Name and identity did not match")

    body = client.get(f"/api/v1/verify/{certificate.display_code}").json()

    assert body["status"] == "revoked"
    assert body["revocation_reason"] == "Name and identity did not match"
    assert body["revoked_on"] == reload(certificate).revoked_at.date().isoformat()
    assert body["holder_name"] == "Amina Wanjiru Njoroge"


def test_an_expired_certificate_says_expired(client, certificate):
    past = timezone.localdate() - timedelta(days=30)
    Certificate.objects.filter(pk=certificate.pk).update(valid_until=past)

    body = client.get(f"/api/v1/verify/{certificate.display_code}").json()

    assert body["status"] == "expired"
    assert body["valid_until"] == past.isoformat()


def test_what_the_api_sends_is_exactly_the_documented_schema(client, certificate, people_a):
    """The endpoint sends the facts without validating them through ninja (for speed): they
    must be what VerificationOut documents, field for field, whatever the certificate's state."""
    from certificates import services
    from certificates.api import VerificationOut

    renewal = services.certificate_renew(certificate=certificate, actor=people_a.manager)
    revoke(renewal, people_a.manager, reason="Issued in error")

    for code in (certificate.display_code, renewal.display_code):
        body = client.get(f"/api/v1/verify/{code}").json()
        assert VerificationOut.model_validate(body).model_dump(mode="json") == body
    assert body["status"] == "revoked"
    old = client.get(f"/api/v1/verify/{certificate.display_code}").json()
    assert old["renewed_by"] == renewal.display_code


def test_the_schema_documents_verification(client, catalogue):
    schema = client.get("/api/v1/openapi.json").json()

    one = schema["paths"]["/api/v1/verify/{code}"]["get"]
    assert one.get("security") in (None, [{}])  # no authentication
    assert set(one["responses"]) == {"200", "400", "404", "429"}
    ok = one["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    verification = schema["components"]["schemas"][ok.rsplit("/", 1)[1]]
    assert {"status", "holder_name", "course", "institution", "competencies"} <= set(
        verification["properties"]
    )
    assert "email" not in verification["properties"]
    many = schema["paths"]["/api/v1/verify"]["post"]
    assert many["summary"] == "Verify many certificates"
    learner = schema["paths"]["/api/v1/learners/{external_id}/certificates"]["get"]
    assert learner["security"] == [{"BearerApiKey": []}, {"HeaderApiKey": []}]


# --- POST /api/v1/verify ----------------------------------------------------------------------


@pytest.fixture
def codes(certificate, second_certificate, people_a) -> list[str]:
    revoke(second_certificate, people_a.manager, reason="Issued in error")
    return [
        second_certificate.display_code,
        certificate.code.lower(),
        certificate.code[:-1] + ("0" if certificate.code[-1] != "0" else "1"),
        code_generate(),
    ]


def _statuses(response) -> list[tuple]:
    return [(r["input"], r["status"], r["holder_name"]) for r in response.json()["results"]]


def test_an_institution_key_verifies_many_codes_in_order(
    client, key_b, codes, certificate, second_certificate
):
    response = client.post(
        "/api/v1/verify", {"codes": codes}, content_type="application/json", **bearer(key_b)
    )

    assert response.status_code == HTTPStatus.OK
    assert _statuses(response) == [
        (codes[0], "revoked", "Baraka Otieno"),
        (codes[1], "valid", "Amina Wanjiru Njoroge"),
        (codes[2], "typo", ""),
        (codes[3], "unknown", ""),
    ]
    results = response.json()["results"]
    assert results[0]["revocation_reason"] == "Issued in error"
    assert results[1]["code"] == certificate.display_code
    assert results[3]["code"] == code_display(codes[3])
    assert reload(certificate).verification_count == 1
    assert reload(second_certificate).verification_count == 1


def test_the_x_api_key_header_works_too(client, key_a, codes):
    response = client.post(
        "/api/v1/verify", {"codes": codes}, content_type="application/json", HTTP_X_API_KEY=key_a[1]
    )

    assert [status for _, status, _ in _statuses(response)] == [
        "revoked",
        "valid",
        "typo",
        "unknown",
    ]


def test_a_regulator_session_verifies_many_codes(client, regulator, codes):
    client.force_login(regulator)

    response = client.post("/api/v1/verify", {"codes": codes}, content_type="application/json")

    assert response.status_code == HTTPStatus.OK
    assert len(response.json()["results"]) == 4


def test_anonymous_callers_are_unauthorised_and_nothing_is_counted(client, codes, certificate):
    response = client.post("/api/v1/verify", {"codes": codes}, content_type="application/json")

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert "results" not in response.json()
    assert reload(certificate).verification_count == 0


def test_a_trainee_session_is_refused(client, trainee, codes, certificate):
    client.force_login(trainee)

    response = client.post("/api/v1/verify", {"codes": codes}, content_type="application/json")

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json()["detail"] == (
        "Bulk verification is for regulators and training institutions."
    )
    assert reload(certificate).verification_count == 0


@pytest.mark.parametrize(
    "payload",
    [
        {"codes": "ABC"},
        {},
        {"codes": [None]},
        {"codes": ["X"] * (views.BULK_MAX_CODES + 1)},
    ],
)
def test_a_malformed_list_is_refused(client, key_a, payload):
    response = client.post(
        "/api/v1/verify", payload, content_type="application/json", **bearer(key_a)
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["detail"]
    assert response.json()["fields"][0]["loc"][:2] == ["body", "codes"]


# --- GET /api/v1/learners/{external_id}/certificates ------------------------------------------


@pytest.fixture
def external_learner(client, key_a):
    """A learner created through the plugin API, as another LMS would."""
    response = client.post(
        "/api/v1/learners",
        {
            "external_id": "moodle-42",
            "full_name": "Wanjiru Kamau",
            "email": "wanjiru@example.org",
            "cadre": "volunteer",
            "sector": "community",
            "region": "Nairobi",
        },
        content_type="application/json",
        **bearer(key_a),
    )
    assert response.status_code == HTTPStatus.CREATED, response.content
    return LearnerIdentity.objects.get(external_id="moodle-42").user


@pytest.fixture
def course_b(institution_b, published_framework):
    course = courses_demo.seed_course(institution=institution_b, framework=published_framework)
    template = CertificateTemplate.objects.create(
        institution=institution_b, name="B", signatory_name="S", signatory_title="T"
    )
    CertificateRule.objects.create(course=course, template=template, require_quizzes=True)
    return course


def test_an_institution_lists_its_certificates_of_its_learner(
    client,
    key_a,
    key_b,
    external_learner,
    course,
    course_b,
    rule,
    django_capture_on_commit_callbacks,
):
    mine = award(external_learner, course, django_capture_on_commit_callbacks)
    theirs = award(external_learner, course_b, django_capture_on_commit_callbacks)
    assert theirs.institution.name == "Mekong College"

    response = client.get("/api/v1/learners/moodle-42/certificates", **bearer(key_a))

    assert response.status_code == HTTPStatus.OK
    [listed] = response.json()
    assert listed["id"] == str(mine.uuid)
    assert listed["code"] == mine.display_code
    assert listed["status"] == "valid"
    assert listed["holder_name"] == "Wanjiru Kamau"
    assert listed["institution"] == "Ubuntu Institute"
    assert listed["pdf_url"] == f"http://testserver/certificates/{mine.uuid}/pdf/"
    assert listed["credential_url"] == f"http://testserver/credentials/{mine.uuid}/"
    assert listed["verification_url"] == f"http://testserver/verify/{mine.display_code}/"
    assert client.get(listed["credential_url"]).json()["id"] == listed["credential_url"]
    assert reload(mine).verification_count == 0  # a listing is not a verification


def test_another_institutions_key_learns_nothing_of_the_learner(
    client, key_a, key_b, external_learner, course, rule, django_capture_on_commit_callbacks
):
    award(external_learner, course, django_capture_on_commit_callbacks)

    response = client.get("/api/v1/learners/moodle-42/certificates", **bearer(key_b))

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json() == {
        "detail": "No learner with external id 'moodle-42' at your institution.",
        "errors": [],
        "fields": [],
    }
    assert "Wanjiru" not in response.content.decode()


def test_the_learner_listing_needs_a_key_not_a_session(client, people_a, external_learner):
    assert client.get("/api/v1/learners/moodle-42/certificates").status_code == 401
    client.force_login(people_a.manager)
    assert client.get("/api/v1/learners/moodle-42/certificates").status_code == 401
