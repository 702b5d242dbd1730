"""Verification by anyone, without an account: the page a certificate's QR code opens.

What a verifier sees for a valid, expired and revoked certificate; how typed codes are read
(case, spaces, dashes, O/0 and I/L/1 forgiven; a typo told apart from an unknown code); that
nothing personal beyond the printed name shows; the per-client rate limit; and bulk
verification by regulators from a CSV file or pasted codes.
"""

import csv
import io
import json
from datetime import timedelta
from http import HTTPStatus

import pytest
from bs4 import BeautifulSoup
from dateutil.relativedelta import relativedelta
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from certificates import views
from certificates.codes import ALPHABET, check_symbol, code_display, code_generate
from certificates.models import Certificate, CertificateEvent, EventKind
from tests.certificates.fixtures_verify import *  # noqa: F403
from tests.certificates.fixtures_verify import PRIVATE, reload, revoke
from tests.spreadsheets import FORMULA_VALUES, as_text

pytestmark = pytest.mark.django_db

TYPO = "a symbol seems mistyped or missing"
UNKNOWN = "no certificate with this code was issued here"


def verify_url(code: str) -> str:
    return reverse("certificates:verify_code", args=[code])


def soup(response) -> BeautifulSoup:
    return BeautifulSoup(response.content.decode(), "html.parser")


def text_of(response, element_id: str) -> str:
    element = soup(response).find(id=element_id)
    assert element is not None, f"no #{element_id} on the page"
    return " ".join(element.get_text(" ").split())


def long_date(value) -> str:
    return date_format(value, "DATE_FORMAT")


# --- What a verifier sees ---------------------------------------------------------------------


def test_a_valid_certificate_shows_what_was_printed_and_counts_the_verification(
    client, certificate, holder, course
):
    assert certificate.verification_count == 0

    response = client.get(verify_url(certificate.display_code))

    assert response.status_code == HTTPStatus.OK
    assert text_of(response, "certificate-status") == "Valid"
    assert text_of(response, "verified-certificate") == f"Certificate {certificate.display_code}"
    assert text_of(response, "holder-name") == "Amina Wanjiru Njoroge" == holder.full_name
    assert text_of(response, "course") == "Case management for para-professionals"
    assert text_of(response, "institution") == "Ubuntu Institute"
    issued = timezone.localdate(certificate.issued_at)
    assert text_of(response, "issued-on") == long_date(issued)
    assert certificate.valid_until == issued + relativedelta(months=24)
    assert text_of(response, "valid-until") == long_date(certificate.valid_until)
    assert text_of(response, "framework") == (
        "Framework: Para-Professional Social Service Workforce Competencies, version 1.0"
    )
    competencies = [
        " ".join(li.get_text(" ").split()) for li in soup(response).select("#competencies li")
    ]
    assert competencies == [
        "PP.3.1 Identifies the strengths and resources of the child, family and community "
        "— Developing",
        "PP.5.1 Opens and documents a case according to procedures — Developing",
        "PP.5.2 Develops and reviews a case plan with the child and family — Competent",
    ]
    assert [item["code"] for item in certificate.competencies] == ["PP.3.1", "PP.5.1", "PP.5.2"]
    assert reload(certificate).verification_count == 1

    client.get(verify_url(certificate.code))
    assert reload(certificate).verification_count == 2


def test_an_expired_certificate_says_expired_and_when(client, certificate):
    yesterday = timezone.localdate() - timedelta(days=1)
    Certificate.objects.filter(pk=certificate.pk).update(valid_until=yesterday)

    response = client.get(verify_url(certificate.display_code))

    assert response.status_code == HTTPStatus.OK
    assert text_of(response, "certificate-status") == "Expired"
    assert text_of(response, "expiry") == f"This certificate expired on {long_date(yesterday)}."
    assert text_of(response, "holder-name") == "Amina Wanjiru Njoroge"
    assert reload(certificate).verification_count == 1


def test_a_certificate_valid_until_today_is_still_valid(client, certificate):
    Certificate.objects.filter(pk=certificate.pk).update(valid_until=timezone.localdate())

    response = client.get(verify_url(certificate.display_code))

    assert text_of(response, "certificate-status") == "Valid"


def test_a_revoked_certificate_says_revoked_with_the_reason_and_date(client, certificate, people_a):
    revoke(certificate, people_a.manager, reason="The assessment was not done by the holder.")

    response = client.get(verify_url(certificate.display_code))

    assert response.status_code == HTTPStatus.OK
    assert text_of(response, "certificate-status") == "Revoked"
    revoked = reload(certificate)
    assert revoked.state == "revoked"
    assert revoked.revocation_reason == "The assessment was not done by the holder."
    assert text_of(response, "revocation") == (
        f"Revoked on {long_date(timezone.localdate(revoked.revoked_at))}. "
        "Reason: The assessment was not done by the holder."
    )
    # Who revoked it is the institution's business, not the verifier's.
    assert people_a.manager.get_username() not in response.content.decode()
    assert CertificateEvent.objects.filter(certificate=certificate, kind=EventKind.REVOKED).get()


def test_a_revoked_certificate_that_has_also_expired_says_revoked(client, certificate, people_a):
    revoke(certificate, people_a.manager)
    Certificate.objects.filter(pk=certificate.pk).update(
        valid_until=timezone.localdate() - timedelta(days=3)
    )

    response = client.get(verify_url(certificate.display_code))

    assert text_of(response, "certificate-status") == "Revoked"


# --- Typing a code ----------------------------------------------------------------------------

KNOWN_DATA = "10KQ4M2XD9HRTW0P"  # holds 0s and 1s, to try O and I/L for them
KNOWN = KNOWN_DATA + check_symbol(KNOWN_DATA)


@pytest.fixture
def known(certificate) -> Certificate:
    """The certificate, with a code chosen to hold the confusable digits."""
    Certificate.objects.filter(pk=certificate.pk).update(code=KNOWN)
    return reload(certificate)


@pytest.mark.parametrize(
    "typed",
    [
        code_display(KNOWN),
        KNOWN,
        code_display(KNOWN).lower(),
        " ".join(code_display(KNOWN).split("-")),
        "  " + KNOWN.lower() + "  ",
        "-".join(KNOWN),  # a dash between every symbol
        code_display(KNOWN).replace("0", "O"),
        code_display(KNOWN).replace("0", "o"),
        code_display(KNOWN).replace("1", "I"),
        code_display(KNOWN).replace("1", "L"),
        code_display(KNOWN).replace("1", "l").replace("0", "o").lower(),
    ],
)
def test_a_code_is_found_however_it_is_typed(client, known, typed):
    response = client.get(verify_url(typed))

    assert response.status_code == HTTPStatus.OK
    assert text_of(response, "certificate-status") == "Valid"
    assert text_of(response, "verified-certificate") == f"Certificate {code_display(KNOWN)}"
    assert text_of(response, "holder-name") == "Amina Wanjiru Njoroge"
    assert reload(known).verification_count == 1


def _replace(code: str, position: int) -> str:
    """The code with one symbol changed to another symbol of the alphabet."""
    wrong = ALPHABET[(ALPHABET.index(code[position]) + 7) % len(ALPHABET)]
    return code[:position] + wrong + code[position + 1 :]


@pytest.mark.parametrize(
    "typo",
    [
        _replace(KNOWN, 0),
        _replace(KNOWN, 7),
        _replace(KNOWN, 15),
        _replace(KNOWN, 16),  # the check symbol itself
        KNOWN[:5] + KNOWN[6] + KNOWN[5] + KNOWN[7:],  # two neighbours swapped
        KNOWN[:-2] + KNOWN[-1],  # a symbol missing
        KNOWN + "7",  # one too many
        KNOWN[:4] + "U" + KNOWN[5:],  # a letter the codes never use
    ],
)
def test_a_mistyped_code_gets_the_typo_message_not_the_unknown_one(client, known, typo):
    response = client.get(verify_url(typo))

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert text_of(response, "lookup-status") == "Check the code"
    problem = text_of(response, "verify-problem")
    assert TYPO in problem
    assert UNKNOWN not in problem
    assert "certificate-status" not in response.content.decode()
    assert reload(known).verification_count == 0


def test_a_well_formed_code_nobody_issued_is_unknown(client, certificate):
    unissued = code_generate()
    assert unissued != certificate.code

    response = client.get(verify_url(code_display(unissued)))

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert text_of(response, "lookup-status") == "Not found"
    problem = text_of(response, "verify-problem")
    assert UNKNOWN in problem
    assert TYPO not in problem
    assert reload(certificate).verification_count == 0


def test_the_form_sends_a_typed_code_to_its_page(client, known):
    response = client.get(reverse("certificates:verify"), {"code": " 10kq 4m2x d9hr tw0p "})
    # The check symbol was left off: the form keeps what was typed and the page says why.
    assert response.status_code == HTTPStatus.FOUND
    assert response.url == verify_url("10kq 4m2x d9hr tw0p")
    assert TYPO in text_of(client.get(response.url), "verify-problem")

    typed = code_display(KNOWN).lower().replace("0", "o").replace("-", " ")
    response = client.get(reverse("certificates:verify"), {"code": typed})

    assert response.status_code == HTTPStatus.FOUND
    assert response.url == f"/verify/{code_display(KNOWN)}/"  # the canonical, printed form
    followed = client.get(response.url)
    assert text_of(followed, "holder-name") == "Amina Wanjiru Njoroge"
    assert reload(known).verification_count == 1


def test_the_form_page_without_a_code_shows_the_form(client, catalogue):
    response = client.get(reverse("certificates:verify"))

    assert response.status_code == HTTPStatus.OK
    page = soup(response)
    assert page.find("input", id="code")["name"] == "code"
    assert page.find("input", id="credential")["type"] == "file"
    assert page.find(id="certificate-status") is None


# --- Privacy ----------------------------------------------------------------------------------


def test_nothing_personal_beyond_the_printed_name_is_shown(client, certificate, holder):
    profile = holder.user.learner_profile
    # The holder's records do hold all of it…
    assert holder.user.email == PRIVATE["email"]
    assert holder.user.get_username() == PRIVATE["username"]
    assert profile.worker_registration_number == PRIVATE["worker_registration_number"]
    assert (profile.organisation, profile.region, profile.district) == (
        PRIVATE["organisation"],
        PRIVATE["region"],
        PRIVATE["district"],
    )
    credential = json.dumps(reload(certificate).credential).encode()

    page = client.get(verify_url(certificate.display_code))
    api = client.get(f"/api/v1/verify/{certificate.display_code}")
    upload = client.post(
        reverse("certificates:verify"),
        {"credential": SimpleUploadedFile("c.json", credential, "application/json")},
    )

    for response in (page, api, upload):
        assert response.status_code == HTTPStatus.OK
        body = response.content.decode()
        assert "Amina Wanjiru Njoroge" in body
        for value in PRIVATE.values():
            assert value not in body
    assert set(api.json()) == {
        "code",
        "status",
        "holder_name",
        "course",
        "course_version",
        "institution",
        "issued_on",
        "valid_until",
        "revoked_on",
        "revocation_reason",
        "version",
        "renewed_by",
        "framework",
        "competencies",
    }


# --- Rate limit -------------------------------------------------------------------------------


def test_the_fourth_verification_in_a_minute_is_refused_with_a_clear_429(
    client, certificate, settings
):
    settings.CERTIFICATE_VERIFY_RATE = "3/m"
    url = verify_url(certificate.display_code)
    for _ in range(3):
        assert client.get(url, REMOTE_ADDR="10.0.0.1").status_code == HTTPStatus.OK

    refused = client.get(url, REMOTE_ADDR="10.0.0.1")

    assert refused.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert refused["Retry-After"] == "60"
    assert text_of(refused, "verify-error") == (
        "Too many verifications from your network. Wait a minute, then try again."
    )
    assert "Amina Wanjiru Njoroge" not in refused.content.decode()
    assert reload(certificate).verification_count == 3  # the refused one is not counted

    other = client.get(url, REMOTE_ADDR="10.0.0.2")
    assert other.status_code == HTTPStatus.OK
    assert text_of(other, "certificate-status") == "Valid"

    api = client.get(f"/api/v1/verify/{certificate.display_code}", REMOTE_ADDR="10.0.0.1")
    assert api.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert api["Retry-After"] == "60"
    assert api.json() == {
        "detail": "Too many verifications from your network. Wait a minute, then try again.",
        "errors": [],
        "fields": [],
        "problem": "rate",
    }
    assert reload(certificate).verification_count == 4


def test_guessing_codes_uses_up_the_allowance_too(client, certificate, settings):
    """Wrong and unknown codes count: the limit is what keeps codes unguessable."""
    settings.CERTIFICATE_VERIFY_RATE = "3/m"
    for _ in range(3):
        client.get(verify_url(code_generate()), REMOTE_ADDR="10.0.0.9")
    client_api = client.get(f"/api/v1/verify/{code_generate()}", REMOTE_ADDR="10.0.0.9")
    assert client_api.status_code == HTTPStatus.TOO_MANY_REQUESTS

    refused = client.get(verify_url(certificate.display_code), REMOTE_ADDR="10.0.0.9")

    assert refused.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert reload(certificate).verification_count == 0


def test_an_hourly_rate_asks_for_the_right_wait(client, certificate, settings):
    settings.CERTIFICATE_VERIFY_RATE = "1/h"
    client.get(verify_url(certificate.display_code))

    refused = client.get(verify_url(certificate.display_code))

    assert refused.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert refused["Retry-After"] == "3600"
    assert "Wait 60 minutes" in text_of(refused, "verify-error")


def test_uploading_credentials_is_rate_limited_too(client, certificate, settings):
    settings.CERTIFICATE_VERIFY_RATE = "1/m"
    data = json.dumps(certificate.credential).encode()

    def upload():
        return client.post(
            reverse("certificates:verify"),
            {"credential": SimpleUploadedFile("c.json", data, "application/json")},
        )

    assert upload().status_code == HTTPStatus.OK
    refused = upload()
    assert refused.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert "Too many verifications" in text_of(refused, "verify-error")


# --- Bulk verification (the page) -------------------------------------------------------------


@pytest.fixture
def bulk_codes(certificate, second_certificate, people_a) -> dict:
    """A valid code, a revoked one, a typo and an unknown one, as a regulator might list them."""
    revoke(second_certificate, people_a.manager, reason="Issued in error")
    return {
        "valid": certificate.display_code,
        "revoked": second_certificate.code.lower(),
        "typo": _replace(certificate.code, 3),
        "unknown": code_display(code_generate()),
    }


def _csv_file(lines: list[str], name: str = "codes.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, ("\r\n".join(lines) + "\r\n").encode(), "text/csv")


def _bulk(client, **data):
    return client.post(reverse("certificates:verify_bulk"), data)


def _expected_rows(bulk_codes, certificate, second_certificate) -> list[tuple]:
    return [
        (bulk_codes["valid"], "valid", "Amina Wanjiru Njoroge", ""),
        (bulk_codes["revoked"], "revoked", "Baraka Otieno", "Issued in error"),
        (bulk_codes["typo"], "typo", "", ""),
        (bulk_codes["unknown"], "unknown", "", ""),
    ]


def test_a_regulator_uploads_a_csv_with_a_header_and_gets_a_csv_back_in_order(
    client, regulator, bulk_codes, certificate, second_certificate
):
    client.force_login(regulator)
    lines = ["name,code", *[f"someone,{code}" for code in bulk_codes.values()]]

    response = _bulk(client, file=_csv_file(lines), format="csv")

    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "certificate-verification.csv" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert list(rows[0]) == views.BULK_COLUMNS
    assert [
        (r["input"], r["status"], r["holder_name"], r["revocation_reason"]) for r in rows
    ] == _expected_rows(bulk_codes, certificate, second_certificate)
    assert rows[0]["code"] == certificate.display_code
    assert rows[0]["course"] == "Case management for para-professionals"
    assert rows[0]["valid_until"] == certificate.valid_until.isoformat()
    assert rows[1]["code"] == second_certificate.display_code
    assert rows[1]["revoked_on"] == timezone.localdate().isoformat()
    assert TYPO in rows[2]["message"]
    assert UNKNOWN in rows[3]["message"]
    assert rows[3]["code"] == bulk_codes["unknown"]
    assert reload(certificate).verification_count == 1
    assert reload(second_certificate).verification_count == 1


def test_a_headerless_csv_gives_json_in_order(
    client, regulator, bulk_codes, certificate, second_certificate
):
    client.force_login(regulator)

    response = _bulk(client, file=_csv_file(list(bulk_codes.values())), format="json")

    assert response.status_code == HTTPStatus.OK
    results = response.json()["results"]
    assert [
        (r["input"], r["status"], r["holder_name"], r["revocation_reason"]) for r in results
    ] == _expected_rows(bulk_codes, certificate, second_certificate)
    assert PRIVATE["email"] not in response.content.decode()


def test_the_html_result_lists_each_code_with_its_status(
    client, regulator, bulk_codes, certificate
):
    client.force_login(regulator)

    response = _bulk(client, codes="\n".join(bulk_codes.values()), format="html")

    assert response.status_code == HTTPStatus.OK
    rows = soup(response).select("#bulk-results tbody tr")
    assert [row.select_one("[data-status]")["data-status"] for row in rows] == [
        "valid",
        "revoked",
        "typo",
        "unknown",
    ]
    cells = [[" ".join(td.get_text(" ").split()) for td in row.find_all("td")] for row in rows]
    assert cells[0][0] == bulk_codes["valid"]
    assert cells[0][1] == "Valid"
    assert cells[0][2] == "Amina Wanjiru Njoroge"
    assert cells[1][1].startswith("Revoked") and "Issued in error" in cells[1][1]
    assert cells[2][1].startswith("Check the code") and TYPO in cells[2][1]
    assert cells[3][1].startswith("Not found") and UNKNOWN in cells[3][1]
    assert "4 codes checked" in response.content.decode()


@pytest.mark.parametrize("name", FORMULA_VALUES)
def test_a_csv_exported_to_a_spreadsheet_cannot_carry_a_formula(
    client, regulator, certificate, name
):
    Certificate.objects.filter(pk=certificate.pk).update(holder_name=name)
    client.force_login(regulator)

    response = _bulk(client, codes=certificate.display_code, format="csv")

    row = next(csv.DictReader(io.StringIO(response.content.decode(), newline="")))
    assert row["holder_name"] == as_text(name)
    assert row["status"] == "valid"


def test_codes_typed_as_formulas_come_back_as_text(client, regulator):
    client.force_login(regulator)

    response = _bulk(client, codes="=1+1\n@SUM(A1)", format="csv")

    rows = list(csv.DictReader(io.StringIO(response.content.decode(), newline="")))
    assert [row["input"] for row in rows] == ["'=1+1", "'@SUM(A1)"]


def test_institution_staff_may_verify_in_bulk(client, people_b, certificate):
    client.force_login(people_b.instructor)

    response = _bulk(client, codes=certificate.display_code, format="json")

    assert response.json()["results"][0]["status"] == "valid"


def test_a_trainee_is_refused_bulk_verification(client, trainee, certificate):
    client.force_login(trainee)

    page = client.get(reverse("certificates:verify_bulk"))
    post = _bulk(client, codes=certificate.display_code, format="json")

    for response in (page, post):
        assert response.status_code == HTTPStatus.FORBIDDEN
        assert "Bulk verification is for regulators and training institutions." in (
            response.content.decode()
        )
        assert "Amina Wanjiru Njoroge" not in response.content.decode()
    assert reload(certificate).verification_count == 0


def test_anonymous_visitors_are_sent_to_log_in(client, certificate):
    for response in (
        client.get(reverse("certificates:verify_bulk")),
        _bulk(client, codes=certificate.display_code, format="json"),
    ):
        assert response.status_code == HTTPStatus.FOUND
        assert response.url.startswith(reverse("account_login"))
        assert "next=/verify/bulk/" in response.url
    assert reload(certificate).verification_count == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("code\r\ncafé,ÉCOLE\r\n".encode("cp1252"), "The file is not UTF-8 text"),
        (b"", "The file holds no codes."),
        (b"\r\n , \r\n\r\n", "The file holds no codes."),
        (b"code\r\n", "The file holds no codes."),
        (b'"' + b"A" * 200_000 + b'"\r\n', "The file is not a readable CSV file"),
    ],
)
def test_a_bad_file_is_refused_with_a_clear_error(client, regulator, certificate, content, message):
    client.force_login(regulator)

    response = _bulk(client, file=SimpleUploadedFile("codes.csv", content, "text/csv"))

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert message in soup(response).find(role="alert").get_text()
    assert reload(certificate).verification_count == 0


def test_too_many_codes_are_refused_and_none_is_looked_up(client, regulator, certificate):
    client.force_login(regulator)
    lines = [certificate.display_code] * (views.BULK_MAX_CODES + 1)

    for data in (
        {"file": _csv_file(lines)},
        {"codes": "\n".join(lines)},
    ):
        response = _bulk(client, **data, format="csv")
        assert response.status_code == HTTPStatus.BAD_REQUEST
        error = soup(response).find(role="alert").get_text()
        assert "At most 1,000 codes at a time" in error
        assert "1,001" in error
    assert reload(certificate).verification_count == 0


def test_nothing_pasted_and_no_file_is_refused(client, regulator):
    client.force_login(regulator)

    response = _bulk(client, codes="  \n \n", format="csv")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "Paste codes, one a line, or upload a CSV file." in response.content.decode()
