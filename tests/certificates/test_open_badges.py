"""Credentials as the standards read them: 1EdTech's JSON Schema for an Open Badges 3.0
AchievementCredential, every IRI at the site's one address, issuer profiles and key documents
that a JSON-LD processor reads whole, and status lists that a verifier can check the way
Bitstring Status List v1.0 and common verifiers do (the list's issuer and key, its controller
document). Credentials signed before these changes (the proof as one object, the status in
the service's list) still verify.

``data/ob3-achievementcredential.schema.json`` is 1EdTech's schema
(``$id`` …/ob_v3p0_achievementcredential-jsonschema1.json), copied unchanged.
"""

import copy
import json
from http import HTTPStatus
from pathlib import Path
from urllib.parse import urlsplit

import jsonschema
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from certificates import credentials, keys, signing, status_list
from certificates.models import STATUS_LIST_SIZE
from tests.certificates.fixtures_verify import *  # noqa: F403
from tests.certificates.fixtures_verify import award, reload, revoke

pytestmark = pytest.mark.django_db

SCHEMA = json.loads(
    (Path(__file__).parent / "data" / "ob3-achievementcredential.schema.json").read_text()
)


def schema_errors(credential: dict) -> list[tuple[str, str]]:
    """(where, which rule of the schema) of each error, e.g. ("proof", "type")."""
    validator = jsonschema.Draft201909Validator(SCHEMA)
    return [
        ("/".join(map(str, error.absolute_path)), error.validator)
        for error in validator.iter_errors(credential)
    ]


def path_of(url: str) -> str:
    parts = urlsplit(url)
    assert parts.netloc == "testserver", url
    return parts.path


def iris(node, key: str = "") -> list[tuple[str, str]]:
    """Every (property, value) of the document whose value is an http(s) IRI."""
    if isinstance(node, dict):
        return [pair for name, value in node.items() for pair in iris(value, name)]
    if isinstance(node, list):
        return [pair for value in node for pair in iris(value, key)]
    if isinstance(node, str) and node.startswith(("http://", "https://")):
        return [(key, node)]
    return []


def resolve_method(client, method_id: str) -> tuple[dict, dict]:
    """A verifier's dereferencing of a proof's ``verificationMethod``: the document at its
    URL, and the method in it. Controlled Identifiers v1.0 then wants the method's
    controller to be that document, listing it for ``assertionMethod``."""
    response = client.get(path_of(method_id.split("#")[0]))
    assert response.status_code == HTTPStatus.OK
    document = response.json()
    [method] = [m for m in document["verificationMethod"] if m["id"] == method_id]
    return document, method


def verify_as_a_verifier_would(client, document: dict) -> dict:
    """Check a signed document with the key its proof names, as fetched from the site;
    return the controller document."""
    [proof] = document["proof"]
    controller, method = resolve_method(client, proof["verificationMethod"])
    assert method["controller"] == controller["id"]
    assert method["id"] in controller["assertionMethod"]
    public_key = signing.public_key_from_multibase(method["publicKeyMultibase"])
    assert signing.verify(document, public_key_for=lambda m: public_key).ok
    return controller


def fetch_status_list(client, credential: dict) -> dict:
    response = client.get(path_of(credential["credentialStatus"]["statusListCredential"]))
    assert response.status_code == HTTPStatus.OK
    return response.json()


def upload(client, document: dict):
    content = json.dumps(document).encode()
    return client.post(
        reverse("certificates:verify"),
        {"credential": SimpleUploadedFile("credential.json", content, "application/json")},
    )


# --- 1EdTech's schema -------------------------------------------------------------------------


def test_credentials_are_valid_against_1edtechs_achievementcredential_schema(certificate):
    assert schema_errors(certificate.credential) == []
    assert isinstance(certificate.credential["proof"], list)


def test_a_credential_with_its_proof_as_one_object_is_what_the_schema_refused(certificate):
    """What credentials were before: the schema wants ``proof`` as an array."""
    old_style = {**certificate.credential, "proof": certificate.credential["proof"][0]}

    assert schema_errors(old_style) == [("proof", "type")]


# --- One address for every IRI ----------------------------------------------------------------


def test_every_iri_of_a_credential_is_at_the_sites_address(
    settings, holder, course, rule, django_capture_on_commit_callbacks
):
    settings.SITE_BASE_URL = "https://learning.example.org:8443"

    credential = award(holder.user, course, django_capture_on_commit_callbacks).credential

    found = iris({key: value for key, value in credential.items() if key != "@context"})
    assert {key for key, _iri in found} >= {
        "id",
        "url",
        "targetUrl",
        "statusListCredential",
        "verificationMethod",
    }
    assert [
        (key, iri) for key, iri in found if not iri.startswith("https://learning.example.org:8443/")
    ] == []
    achievement = credential["credentialSubject"]["achievement"]
    assert achievement["id"] == (
        "https://learning.example.org:8443/ubuntu/case-management/#certificate-1"
    )
    assert schema_errors(credential) == []


# --- Issuer profiles and keys, read whole by a JSON-LD processor ------------------------------


def test_issuer_profiles_and_the_keys_document_define_every_term_they_use(institution_a):
    """``verificationMethod`` and ``assertionMethod`` come from the DID v1 context: without
    it a JSON-LD processor drops them (and canonicalize refuses to)."""
    for document in (credentials.issuer_profile(institution_a), credentials.keys_document()):
        assert signing.DID_V1 in document["@context"]
        nquads = signing.canonicalize(document)
        for method_id in document["assertionMethod"]:
            assert f"<https://w3id.org/security#assertionMethod> <{method_id}>" in nquads
            assert f"<https://w3id.org/security#verificationMethod> <{method_id}>" in nquads


def test_the_keys_document_is_the_controller_of_the_services_keys(client, certificate):
    document = client.get(reverse("certificates:keys")).json()

    assert document["id"] == "http://testserver/credentials/keys/"
    assert {method["controller"] for method in document["verificationMethod"]} == {document["id"]}
    assert document["assertionMethod"] == [m["id"] for m in document["verificationMethod"]]


# --- Status lists -----------------------------------------------------------------------------


def test_the_status_list_is_issued_by_the_institution_that_issued_the_credential(
    client, certificate, people_a
):
    """What Digital Bazaar's verifier checks by default (``verifyMatchingIssuers``): the two
    issuers are the same, the list verifies with its issuer's key, its purpose is the
    entry's and the bit is the certificate's."""
    credential = certificate.credential
    entry = credential["credentialStatus"]
    number, position = divmod(certificate.status_list_index, STATUS_LIST_SIZE)
    assert entry["statusListCredential"] == (
        f"http://testserver/credentials/issuers/{certificate.institution.uuid}/status/{number}/"
    )
    revoke(certificate, people_a.manager)

    listed = fetch_status_list(client, credential)

    assert listed["issuer"] == {"id": credential["issuer"]["id"], "name": "Ubuntu Institute"}
    assert listed["id"] == entry["statusListCredential"]
    assert "BitstringStatusListCredential" in listed["type"]
    assert listed["credentialSubject"]["statusPurpose"] == entry["statusPurpose"]
    controller = verify_as_a_verifier_would(client, listed)
    assert controller["id"] == credential["issuer"]["id"]
    assert status_list.is_set(listed["credentialSubject"]["encodedList"], int(position))
    assert int(entry["statusListIndex"]) == position


def test_an_institutions_list_holds_only_its_own_certificates(
    client, certificate, people_a, institution_b
):
    number = certificate.status_list_index // STATUS_LIST_SIZE
    revoke(certificate, people_a.manager)

    other = client.get(
        reverse("certificates:issuer_status_list", args=[institution_b.uuid, number])
    )
    ours = client.get(
        reverse("certificates:issuer_status_list", args=[certificate.institution.uuid, number])
    )

    assert other.status_code == HTTPStatus.NOT_FOUND  # institution B issued nothing
    assert ours.status_code == HTTPStatus.OK
    bits = status_list.decode(ours.json()["credentialSubject"]["encodedList"])
    assert sum(bin(byte).count("1") for byte in bits) == 1


# --- Credentials signed before these changes --------------------------------------------------


def credential_as_signed_before(certificate) -> dict:
    """The certificate's credential as the service signed it before: its status in the
    service's list, and the proof as a single object."""
    unsigned = credentials.credential_build(certificate=certificate)
    number, _position = divmod(certificate.status_list_index, STATUS_LIST_SIZE)
    old_list = f"http://testserver/credentials/status/{number}/"
    unsigned["credentialStatus"]["id"] = unsigned["credentialStatus"]["id"].replace(
        unsigned["credentialStatus"]["statusListCredential"], old_list
    )
    unsigned["credentialStatus"]["statusListCredential"] = old_list
    signed = signing.sign(
        unsigned,
        private_key=keys.signing_key(),
        verification_method=credentials.verification_method(certificate.institution),
        created=timezone.now(),
    )
    return {**signed, "proof": signed["proof"][0]}


def test_credentials_issued_before_still_verify_and_their_status_list_still_checks(
    client, certificate, people_a
):
    old = credential_as_signed_before(certificate)
    certificate.credential = old
    certificate.save(update_fields=["credential"])

    before = upload(client, copy.deepcopy(old))

    assert before.status_code == HTTPStatus.OK
    assert "The credential is authentic and valid." in before.content.decode()
    assert "re-issued since" not in before.content.decode()
    revoke(reload(certificate), people_a.manager)
    listed = fetch_status_list(client, old)
    controller = verify_as_a_verifier_would(client, listed)
    assert listed["issuer"] == controller["id"] == "http://testserver/credentials/keys/"
    position = int(old["credentialStatus"]["statusListIndex"])
    assert status_list.is_set(listed["credentialSubject"]["encodedList"], position)
    after = upload(client, old)
    assert after.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert "authentic, but the certificate was revoked" in after.content.decode()
