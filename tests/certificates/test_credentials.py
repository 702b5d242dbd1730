"""Signed credentials: what each certificate's OpenBadgeCredential holds, that its signature
verifies with the key the issuer profile publishes, that the verify page tells an authentic
file from an altered one, that the status list reflects a revocation, and who may fetch the
PDF and the credential.
"""

import copy
import io
import json
from datetime import timedelta
from http import HTTPStatus
from urllib.parse import urlsplit

import pytest
from bs4 import BeautifulSoup
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from pypdf import PdfReader

from certificates import keys, services, signing, status_list
from certificates.models import Certificate
from tests.certificates.fixtures_verify import *  # noqa: F403
from tests.certificates.fixtures_verify import award, make_holder, reload, revoke

pytestmark = pytest.mark.django_db

STATUS_LIST_SIZE = services.STATUS_LIST_SIZE


def path_of(url: str) -> str:
    """The test client speaks paths: http://testserver/x/ → /x/."""
    parts = urlsplit(url)
    assert parts.netloc == "testserver", url
    return parts.path


def our_key(method: str):
    """The service's current public key, for its verification method ids only."""
    public_key = keys.signing_key().public_key()
    return public_key if method.endswith("#" + signing.public_key_multibase(public_key)) else None


def upload(client, content: bytes, name: str = "credential.json"):
    return client.post(
        reverse("certificates:verify"),
        {"credential": SimpleUploadedFile(name, content, "application/json")},
    )


def text_of(response, element_id: str) -> str:
    element = BeautifulSoup(response.content.decode(), "html.parser").find(id=element_id)
    assert element is not None, f"no #{element_id} on the page"
    return " ".join(element.get_text(" ").split())


def as_file(document) -> bytes:
    return json.dumps(document, indent=2).encode()


# --- The credential ---------------------------------------------------------------------------


def test_the_stored_credential_verifies_with_the_services_public_key(certificate):
    credential = certificate.credential

    assert signing.verify(credential, public_key_for=our_key).ok
    assert credential["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert credential["id"] == f"http://testserver/credentials/{certificate.uuid}/"
    [proof] = credential["proof"]
    assert (proof["type"], proof["cryptosuite"], proof["proofPurpose"]) == (
        "DataIntegrityProof",
        "eddsa-rdfc-2022",
        "assertionMethod",
    )
    assert proof["verificationMethod"].startswith(credential["issuer"]["id"] + "#z6Mk")
    subject = credential["credentialSubject"]
    assert subject["identifier"][0]["identityHash"] == "Amina Wanjiru Njoroge"
    assert subject["achievement"]["humanCode"] == certificate.display_code
    assert subject["achievement"]["name"] == "Case management for para-professionals"
    # …and with no other key.
    other = Ed25519PrivateKey.generate().public_key()
    assert not signing.verify(credential, public_key_for=lambda method: other).ok


def test_the_issuer_profile_serves_the_multikey_that_verifies_the_credential(client, certificate):
    credential = certificate.credential
    method_id = credential["proof"][0]["verificationMethod"]

    response = client.get(path_of(credential["issuer"]["id"]))

    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"] == "application/ld+json; charset=utf-8"
    assert response["Access-Control-Allow-Origin"] == "*"
    profile = response.json()
    assert profile["id"] == credential["issuer"]["id"]
    assert profile["name"] == "Ubuntu Institute"
    assert method_id in profile["assertionMethod"]
    [method] = [m for m in profile["verificationMethod"] if m["id"] == method_id]
    assert method["type"] == "Multikey"
    assert method["controller"] == profile["id"]
    published = signing.public_key_from_multibase(method["publicKeyMultibase"])
    assert signing.verify(
        credential, public_key_for=lambda m: published if m == method_id else None
    ).ok


def test_each_credential_aligns_to_the_case_items_and_carries_validity_and_status(
    client, certificate
):
    credential = certificate.credential
    alignment = credential["credentialSubject"]["achievement"]["alignment"]

    assert [a["targetUrl"] for a in alignment] == [c["uri"] for c in certificate.competencies]
    assert [(a["targetCode"], a["targetDescription"]) for a in alignment] == [
        ("PP.3.1", "Level reached: Developing"),
        ("PP.5.1", "Level reached: Developing"),
        ("PP.5.2", "Level reached: Competent"),
    ]
    assert {a["targetType"] for a in alignment} == {"CFItem"}
    for item in alignment:  # each URI is the CASE item served by the site
        served = client.get(path_of(item["targetUrl"]))
        assert served.status_code == HTTPStatus.OK
        assert served.json()["humanCodingScheme"] == item["targetCode"]
    assert credential["validUntil"] == f"{certificate.valid_until.isoformat()}T23:59:59Z"
    number, position = divmod(certificate.status_list_index, STATUS_LIST_SIZE)
    institution = certificate.institution.uuid
    list_url = f"http://testserver/credentials/issuers/{institution}/status/{number}/"
    assert credential["credentialStatus"] == {
        "id": f"{list_url}#{position}",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": str(position),
        "statusListCredential": list_url,
    }


def test_a_certificate_that_does_not_expire_has_no_valid_until(
    holder, course, rule, django_capture_on_commit_callbacks
):
    rule.validity_months = None
    rule.save(update_fields=["validity_months"])

    certificate = award(holder.user, course, django_capture_on_commit_callbacks)

    assert certificate.valid_until is None
    assert "validUntil" not in certificate.credential
    assert signing.verify(certificate.credential, public_key_for=our_key).ok


def test_the_credential_url_is_public_and_downloadable(client, certificate):
    response = client.get(path_of(certificate.credential["id"]))

    assert response.status_code == HTTPStatus.OK
    assert response.json() == certificate.credential
    download = client.get(path_of(certificate.credential["id"]), {"download": "1"})
    assert download["Content-Disposition"] == (
        f'attachment; filename="certificate-{certificate.display_code}.json"'
    )


# --- Uploading a credential file on /verify/ --------------------------------------------------


def test_an_untouched_credential_file_is_valid(client, certificate):
    response = upload(client, as_file(certificate.credential))

    assert response.status_code == HTTPStatus.OK
    assert text_of(response, "credential-status") == "Valid"
    assert text_of(response, "credential-message") == "The credential is authentic and valid."
    assert text_of(response, "holder-name") == "Amina Wanjiru Njoroge"
    assert text_of(response, "valid-until") == date_format(certificate.valid_until, "DATE_FORMAT")
    assert "certificate-status" not in response.content.decode()  # one verdict, not two
    assert reload(certificate).verification_count == 1


def _holder_renamed(credential):
    credential["credentialSubject"]["identifier"][0]["identityHash"] = "Someone Else"


def _level_raised(credential):
    alignment = credential["credentialSubject"]["achievement"]["alignment"]
    alignment[0]["targetDescription"] = "Level reached: Expert"


def _validity_extended(credential):
    credential["validUntil"] = "2099-12-31T23:59:59Z"


def _competency_added(credential):
    alignment = credential["credentialSubject"]["achievement"]["alignment"]
    alignment.append({**alignment[0], "targetCode": "PP.9.9"})


@pytest.mark.parametrize(
    "alter", [_holder_renamed, _level_raised, _validity_extended, _competency_added]
)
def test_an_altered_credential_is_not_authentic(client, certificate, alter):
    altered = copy.deepcopy(certificate.credential)
    alter(altered)

    response = upload(client, as_file(altered))

    assert response.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert text_of(response, "credential-status") == "Not authentic"
    assert "altered after it was signed" in text_of(response, "credential-message")
    assert "certificate-status" not in response.content.decode()  # no facts vouched for
    assert "Amina Wanjiru Njoroge" not in response.content.decode()
    assert reload(certificate).verification_count == 0


def test_a_credential_signed_with_another_key_is_not_authentic(client, certificate):
    unsigned = {k: v for k, v in certificate.credential.items() if k != "proof"}
    unsigned["credentialSubject"]["identifier"][0]["identityHash"] = "Forger"
    forged = signing.sign(
        unsigned,
        private_key=Ed25519PrivateKey.generate(),
        verification_method=certificate.credential["proof"][0]["verificationMethod"],
        created=timezone.now(),
    )

    response = upload(client, as_file(forged))

    assert text_of(response, "credential-status") == "Not authentic"
    assert "altered after it was signed" in text_of(response, "credential-message")


def test_a_credential_without_its_proof_is_not_authentic(client, certificate):
    bare = {k: v for k, v in certificate.credential.items() if k != "proof"}

    response = upload(client, as_file(bare))

    assert text_of(response, "credential-status") == "Not authentic"
    assert text_of(response, "credential-message") == "The credential has no proof."


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"%PDF-1.7 not a credential", "it is not JSON"),
        ("Zertifikat für Ämina".encode("latin-1"), "it is not JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "it is not JSON"),
        (b"", "it is not JSON"),
        (b'[{"@context": "https://www.w3.org/ns/credentials/v2"}]', "a JSON object"),
        (b'"a string"', "a JSON object"),
        (b'{"name": "no context"}', "a JSON object with an @context"),
    ],
)
def test_a_file_that_is_no_credential_is_refused_clearly(client, certificate, content, message):
    response = upload(client, content)

    assert response.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert text_of(response, "credential-status") == "Not a credential"
    assert message in text_of(response, "credential-message")
    assert "certificate-status" not in response.content.decode()


def test_a_file_too_large_to_be_a_credential_is_refused(client, catalogue):
    response = upload(client, b" " * (2 * 1024 * 1024 + 1))

    assert response.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert text_of(response, "credential-status") == "Not a credential"
    assert "too large" in text_of(response, "credential-message")


def test_after_revocation_the_file_says_revoked(client, certificate, people_a):
    revoke(certificate, people_a.manager, reason="Certificate obtained by impersonation")

    response = upload(client, as_file(certificate.credential))

    assert response.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert text_of(response, "credential-status") == "Revoked"
    message = text_of(response, "credential-message")
    assert "authentic, but the certificate was revoked" in message
    assert "Certificate obtained by impersonation" in message
    assert text_of(response, "revocation").endswith("Reason: Certificate obtained by impersonation")


def test_an_expired_certificate_file_says_expired(client, certificate):
    Certificate.objects.filter(pk=certificate.pk).update(
        valid_until=timezone.localdate() - timedelta(days=1)
    )

    response = upload(client, as_file(certificate.credential))

    assert text_of(response, "credential-status") == "Expired"
    assert text_of(response, "credential-message") == (
        "The credential is authentic, but it has expired."
    )


def test_an_earlier_version_is_authentic_but_says_it_was_re_issued(
    client, certificate, people_a, django_capture_on_commit_callbacks
):
    first = certificate.credential
    with django_capture_on_commit_callbacks(execute=True):
        services.certificate_reissue(
            certificate=certificate,
            actor=people_a.manager,
            reason="Name corrected",
            holder_name="Amina W. Njoroge",
        )
    reissued = reload(certificate)
    assert reissued.is_ready and reissued.version == 2
    assert reissued.credential["credentialSubject"]["identifier"][0]["identityHash"] == (
        "Amina W. Njoroge"
    )

    old = upload(client, as_file(first))
    new = upload(client, as_file(reissued.credential))

    assert text_of(old, "credential-status") == "Valid"
    assert "re-issued since" in text_of(old, "credential-superseded")
    assert text_of(old, "holder-name") == "Amina W. Njoroge"
    assert text_of(new, "credential-status") == "Valid"
    assert "credential-superseded" not in new.content.decode()


# --- The status list --------------------------------------------------------------------------


def _status_list(client, certificate) -> dict:
    response = client.get(
        path_of(certificate.credential["credentialStatus"]["statusListCredential"])
    )
    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"] == "application/ld+json; charset=utf-8"
    return response.json()


def _bit(status_list_credential: dict, certificate) -> bool:
    encoded = status_list_credential["credentialSubject"]["encodedList"]
    return status_list.is_set(
        encoded, int(certificate.credential["credentialStatus"]["statusListIndex"])
    )


def _keys_verify(client, document) -> bool:
    """Verify with the key the site publishes at the proof's verification method."""
    method_id = document["proof"][0]["verificationMethod"]
    keys_document = client.get(path_of(method_id.split("#")[0])).json()
    [method] = [m for m in keys_document["verificationMethod"] if m["id"] == method_id]
    public_key = signing.public_key_from_multibase(method["publicKeyMultibase"])
    return signing.verify(document, public_key_for=lambda m: public_key).ok


def test_the_status_list_shows_a_revocation_and_only_that_one(
    client, certificate, second_certificate, people_a
):
    number = certificate.status_list_index // STATUS_LIST_SIZE
    others = (
        [second_certificate]
        if second_certificate.status_list_index // STATUS_LIST_SIZE == number
        else []
    )
    before = _status_list(client, certificate)
    assert before["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    assert before["credentialSubject"]["type"] == "BitstringStatusList"
    assert before["credentialSubject"]["statusPurpose"] == "revocation"
    assert _keys_verify(client, before)
    assert not _bit(before, certificate)
    assert not _bit(_status_list(client, second_certificate), second_certificate)
    revoke(certificate, people_a.manager)

    after = _status_list(client, certificate)

    assert _keys_verify(client, after)
    assert _bit(after, certificate)
    bits = status_list.decode(after["credentialSubject"]["encodedList"])
    position = certificate.status_list_index % STATUS_LIST_SIZE
    assert [i for i in range(len(bits) * 8) if status_list.is_set(bits, i)] == [position]
    for other in others:
        assert not _bit(after, other)
    assert not _bit(_status_list(client, second_certificate), second_certificate)
    # Altering the list (un-revoking the certificate) breaks its signature.
    forged = copy.deepcopy(after)
    forged["credentialSubject"]["encodedList"] = before["credentialSubject"]["encodedList"]
    assert not _keys_verify(client, forged)


def test_a_status_list_nobody_uses_is_not_found(client, certificate):
    unused = certificate.status_list_index // STATUS_LIST_SIZE + 1000

    response = client.get(reverse("certificates:status_list", args=[unused]))

    assert response.status_code == HTTPStatus.NOT_FOUND


# --- Who may fetch the PDF --------------------------------------------------------------------


def _pdf(client, certificate):
    return client.get(reverse("certificates:pdf", args=[certificate.uuid]))


def test_the_holder_downloads_their_pdf(client, certificate, holder):
    client.force_login(holder.user)

    response = _pdf(client, certificate)

    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(b"".join(response))).pages)
    assert "Amina Wanjiru Njoroge" in text
    assert certificate.display_code in text


@pytest.mark.parametrize("role", ["instructor", "manager"])
def test_the_issuing_institutions_register_keepers_get_the_pdf(client, certificate, people_a, role):
    client.force_login(getattr(people_a, role))

    response = _pdf(client, certificate)

    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"] == "application/pdf"
    assert b"".join(response).startswith(b"%PDF")


def test_other_people_do_not_get_the_pdf(client, certificate, people_a, people_b):
    other_trainee = make_holder("other-trainee", "Neema Achieng")
    for user in (
        other_trainee,
        people_a.trainee,
        people_a.author,  # staff of the institution who do not keep its register
        people_a.supervisor,
        people_b.instructor,
        people_b.manager,
    ):
        client.force_login(user)
        response = _pdf(client, certificate)
        assert response.status_code == HTTPStatus.NOT_FOUND, user
        assert response["Content-Type"] != "application/pdf"
    client.logout()

    anonymous = _pdf(client, certificate)

    assert anonymous.status_code == HTTPStatus.FOUND
    assert anonymous.url.startswith(reverse("account_login"))


def test_a_revoked_certificate_is_no_longer_offered_to_its_holder(
    client, certificate, holder, people_a
):
    revoke(certificate, people_a.manager)
    client.force_login(holder.user)

    assert _pdf(client, certificate).status_code == HTTPStatus.NOT_FOUND
    client.force_login(people_a.manager)
    assert _pdf(client, certificate).status_code == HTTPStatus.OK  # the register keeps it
