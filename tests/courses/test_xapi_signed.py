"""Signed xAPI statements (xAPI 1.0.3, Part Two, 2.6): what the LRS accepts and refuses.

A signature is a JWS in compact serialization, sent as an attachment's content; its payload is
the statement as signed, which must be logically equivalent to the statement sent. With an
``x5c`` header the signature is verified with the certificate's key.
"""

import base64
import hashlib
import json
import re
import uuid
from datetime import UTC, datetime
from http import HTTPStatus

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from jwt.api_jws import PyJWS

from courses.models import XapiAttachment, XapiStatement
from courses.xapi import XapiError
from courses.xapi_signatures import SIGNATURE_USAGE, is_signature, signature_check
from tests.courses.test_xapi import ADL, HOME, headers, statement
from tests.courses.test_xapi_more import attachment

STATEMENT_ID = "5ad0c2b4-7d7e-4e26-9a7a-3c1b2f3e4d5a"
JWS = PyJWS()  # PyJWT's default: also HS256 and "none", to make what the LRS must refuse


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def other_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def certificate(key) -> str:
    """A self-signed X.509 certificate of ``key``, as an ``x5c`` entry (base64 DER)."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Moodle statement signer")])
    built = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(datetime(2026, 1, 1, tzinfo=UTC))
        .not_valid_after(datetime(2027, 1, 1, tzinfo=UTC))
        .sign(key, hashes.SHA256())
    )
    return base64.b64encode(built.public_bytes(Encoding.DER)).decode()


def signed_statement(**overrides) -> dict:
    """A statement as its LMS signs it: with its id, before the signature is attached."""
    return statement(id=STATEMENT_ID, **overrides)


def sign(payload, key, *, alg: str = "RS256", x5c=None) -> bytes:
    """A compact JWS of ``payload`` (a statement, or the exact bytes to sign)."""
    if not isinstance(payload, bytes):
        payload = json.dumps(payload).encode()
    extra = {"x5c": x5c} if x5c is not None else None
    return JWS.encode(payload, key, algorithm=alg, headers=extra).encode()


def signature_attachment(content: bytes, **overrides) -> dict:
    return attachment(
        content,
        **{
            "usageType": SIGNATURE_USAGE,
            "display": {"en-US": "Signature"},
            "contentType": "application/octet-stream",
            **overrides,
        },
    )


def received(signed: dict, content: bytes, **overrides) -> dict:
    """The statement sent: the signed one with the signature attachment added."""
    data = {**signed, **overrides}
    data["attachments"] = [*data.get("attachments", []), signature_attachment(content)]
    return data


def check(sent: dict, content: bytes | None, **kwargs) -> None:
    attachment = next(a for a in sent["attachments"] if is_signature(a))
    signature_check(statement=sent, attachment=attachment, content=content, **kwargs)


def refused(message: str):
    """Expect the check to refuse with ``message`` (its first letter is a capital without
    ``where``)."""
    return pytest.raises(XapiError, match="(?i)" + re.escape(message))


# --- Well-formed signatures -------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["RS256", "RS384", "RS512"])
def test_a_signature_that_verifies_with_its_x5c_certificate_is_accepted(key, alg):
    signed = signed_statement()
    content = sign(signed, key, alg=alg, x5c=[certificate(key)])
    check(received(signed, content), content)


def test_a_signature_without_x5c_is_accepted_when_well_formed(key):
    signed = signed_statement()
    content = sign(signed, key)
    check(received(signed, content), content)


def test_a_signature_with_a_trailing_newline_is_accepted(key):
    signed = signed_statement()
    content = sign(signed, key, x5c=[certificate(key)]) + b"\r\n"
    check(received(signed, content), content)


@pytest.mark.parametrize(
    ("signed_changes", "received_changes"),
    [
        pytest.param({}, {"stored": "2026-11-21T08:00:00Z"}, id="stored added by the LRS"),
        pytest.param(
            {},
            {"authority": {"objectType": "Agent", "account": {"homePage": HOME, "name": "k"}}},
            id="authority added",
        ),
        pytest.param({"version": "1.0.0"}, {"version": "1.0.3"}, id="version replaced"),
        pytest.param({"id": None}, {}, id="id assigned after signing"),
        pytest.param({"id": STATEMENT_ID.upper()}, {}, id="the same id in capitals"),
        pytest.param({"timestamp": None}, {}, id="timestamp assigned after signing"),
        pytest.param(
            {"timestamp": "2026-11-20T07:00:00.000Z"},
            {"timestamp": "2026-11-20T10:00:00+03:00"},
            id="the same instant in another time zone",
        ),
        pytest.param({"iat": 1795000000, "exp": 1895000000}, {}, id="JWT claims a library added"),
        pytest.param(
            {"context": {"contextActivities": {"parent": {"id": HOME + "/course/7"}}}},
            {"context": {"contextActivities": {"parent": [{"id": HOME + "/course/7"}]}}},
            id="one context activity as an object or a list",
        ),
        pytest.param(
            {
                "actor": {
                    "objectType": "Group",
                    "member": [{"mbox": "mailto:ana@example.org"}, {"mbox": "mailto:bo@ex.org"}],
                }
            },
            {
                "actor": {
                    "objectType": "Group",
                    "member": [{"mbox": "mailto:bo@ex.org"}, {"mbox": "mailto:ana@Example.ORG"}],
                }
            },
            id="group members in another order, an e-mail domain in capitals",
        ),
    ],
)
def test_logically_equivalent_statements_are_accepted(key, signed_changes, received_changes):
    signed = {k: v for k, v in {**signed_statement(), **signed_changes}.items() if v is not None}
    content = sign(signed, key, x5c=[certificate(key)])
    sent = {k: v for k, v in signed.items() if k not in ("iat", "exp")}
    sent.update(id=STATEMENT_ID, timestamp=signed_statement()["timestamp"])
    sent.update(received_changes)
    check(received(sent, content), content)


def test_key_order_and_spacing_of_the_signed_json_do_not_matter(key):
    signed = signed_statement()
    text = json.dumps(dict(reversed(list(signed.items()))), indent=4, ensure_ascii=True)
    content = sign(text.encode(), key, x5c=[certificate(key)])
    check(received(signed, content), content)


def test_other_attachments_are_compared_without_the_signature_and_their_order(key):
    pdf = attachment(b"certificate!")
    photo = {**pdf, "contentType": "image/png", "sha2": hashlib.sha256(b"photo").hexdigest()}
    signed = signed_statement(attachments=[pdf, photo])
    content = sign(signed, key, x5c=[certificate(key)])
    sent = received(signed, content)
    sent["attachments"] = [sent["attachments"][2], photo, pdf]
    check(sent, content)

    # Signed without any attachments (as ADL's LRS and the conformance suite do): not compared.
    bare = signed_statement()
    content = sign(bare, key)
    check(received({**bare, "attachments": [pdf]}, content), content)


# --- Malformed signatures ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"verb": {"id": "http://adlnet.gov/expapi/verbs/passed"}}, "verb.display"),
        (
            {"verb": {"id": ADL + "passed", "display": {"en-US": "completed"}}},
            "verb.id",
        ),
        ({"result": {"completion": True}}, "result"),
        ({"id": str(uuid.uuid4())}, "id"),
        ({"timestamp": "2026-11-20T10:00:01+03:00"}, "timestamp"),
        (
            {"object": {"objectType": "Activity", "id": HOME + "/a", "definition": {}}},
            "object.definition",
        ),
    ],
)
def test_a_statement_that_differs_from_the_signed_one_is_refused(key, change, path):
    signed = signed_statement()
    content = sign(signed, key, x5c=[certificate(key)])
    with refused(f"the signed statement differs from the statement sent: {path}."):
        check(received(signed, content, **change), content)


def test_a_signed_timestamp_the_statement_sent_has_not_is_refused(key):
    signed = signed_statement()
    content = sign(signed, key)
    sent = received(signed, content)
    del sent["timestamp"]
    with refused("differs from the statement sent: timestamp."):
        check(sent, content)


def test_extension_values_are_compared_as_json_types(key):
    signed = signed_statement(result={"extensions": {HOME + "/ext/ok": True}})
    content = sign(signed, key)
    sent = received(signed, content, result={"extensions": {HOME + "/ext/ok": 1}})
    with refused("differs from the statement sent: result.extensions.https://moodle"):
        check(sent, content)


def test_a_signed_attachment_that_is_not_sent_is_refused(key):
    pdf = attachment(b"certificate!")
    signed = signed_statement(attachments=[pdf])
    content = sign(signed, key)
    sent = received(signed, content)
    sent["attachments"][0] = {**pdf, "sha2": hashlib.sha256(b"another").hexdigest()}
    with refused("differs from the statement sent: attachments."):
        check(sent, content)


def test_a_tampered_payload_does_not_verify_with_the_x5c_certificate(key):
    signed = signed_statement()
    header, _, signature = sign(signed, key, x5c=[certificate(key)]).split(b".")
    forged = signed_statement(verb={"id": "http://adlnet.gov/expapi/verbs/passed"})
    payload = base64.urlsafe_b64encode(json.dumps(forged).encode()).rstrip(b"=")
    content = b".".join([header, payload, signature])
    with refused("the signature does not verify with the key of its x5c certificate."):
        check(received(forged, content), content)


def test_a_signature_by_another_key_than_the_x5c_certificates_is_refused(key, other_key):
    signed = signed_statement()
    content = sign(signed, other_key, x5c=[certificate(key)])
    with refused("attachments[0]: the signature does not verify with the key of its x5c"):
        check(received(signed, content), content, where="attachments[0]")


@pytest.mark.parametrize(("alg", "secret"), [("HS256", b"s" * 32), ("none", None)])
def test_algorithms_other_than_rsa_with_sha2_are_refused(alg, secret):
    signed = signed_statement()
    content = sign(signed, secret, alg=alg)
    with refused(f"the signature's alg '{alg}' is not allowed: use RS256, RS384, RS512."):
        check(received(signed, content), content)


def test_an_ecdsa_signature_is_refused_even_with_its_certificate():
    ec_key = ec.generate_private_key(ec.SECP256R1())
    signed = signed_statement()
    content = sign(signed, ec_key, alg="ES256", x5c=[certificate(ec_key)])
    with refused("alg 'ES256' is not allowed"):
        check(received(signed, content), content)


def test_an_x5c_certificate_without_an_rsa_key_is_refused(key):
    signed = signed_statement()
    content = sign(signed, key, x5c=[certificate(ec.generate_private_key(ec.SECP256R1()))])
    with refused("the signature's x5c[0] certificate has no RSA key, which RS256 needs."):
        check(received(signed, content), content)


@pytest.mark.parametrize(
    ("x5c", "message"),
    [
        ("MIIB", "the signature's x5c header is not a list of base64 certificates."),
        ([], "the signature's x5c header is not a list of base64 certificates."),
        (["not base64!"], "the signature's x5c[0] is not a base64 DER X.509 certificate."),
        (["AAAA"], "the signature's x5c[0] is not a base64 DER X.509 certificate."),
    ],
)
def test_a_malformed_x5c_is_refused(key, x5c, message):
    signed = signed_statement()
    content = sign(signed, key, x5c=x5c)
    with refused(message):
        check(received(signed, content), content)


def _segment(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"not a signature", "the signature is not a JWS in compact serialization (three"),
        (b"\xff\xfe.\x00.\x01", "(it is not ASCII text)"),
        (
            b'{"payload": "e30", "signatures": []}',
            "the signature is a JWS in JSON serialization: xAPI asks for the compact",
        ),
        (b"a.b.c", "the signature is not a JWS in compact serialization (Invalid header"),
        (
            _segment(b'{"alg": "RS256"}') + b".%%%.c2ln",
            "the signature is not a JWS in compact serialization (Invalid payload padding",
        ),
        (
            _segment(b'{"alg": "RS256"}') + b"." + _segment(b"not json") + b".c2ln",
            "the signature's payload is not a statement as a JSON object.",
        ),
        (
            _segment(b'{"alg": "RS256"}') + b"." + _segment(b"[1, 2]") + b".c2ln",
            "the signature's payload is not a statement as a JSON object.",
        ),
        (
            _segment(b'{"alg": "RS256", "crit": ["exp"], "exp": 1}')
            + b"."
            + _segment(b"{}")
            + b".c2ln",
            "the signature is not a JWS in compact serialization (Unsupported critical",
        ),
    ],
)
def test_what_is_not_a_compact_jws_of_a_statement_is_refused(content, message):
    with refused(message):
        check(received(signed_statement(), content), content)


def test_a_payload_nested_too_deeply_is_refused(key):
    deep: list = []
    for _ in range(700):
        deep = [deep]
    content = sign(b'{"object": ' + json.dumps(deep).encode() + b"}", key)
    with refused("the signature's payload is nested too deeply to be a statement."):
        check(received(signed_statement(), content), content)


def test_a_signature_attachment_must_be_application_octet_stream(key):
    signed = signed_statement()
    content = sign(signed, key)
    sent = received(signed, content)
    sent["attachments"][0]["contentType"] = "text/plain; charset=ascii"
    with refused(
        "statement 1: attachments[0].contentType: must be application/octet-stream for a "
        "signature, not 'text/plain; charset=ascii'."
    ):
        check(sent, content, where="statement 1: attachments[0]")
    sent["attachments"][0]["contentType"] = "Application/Octet-Stream"
    check(sent, content)


def test_a_signature_must_be_sent_as_a_part(key):
    signed = signed_statement()
    content = sign(signed, key)
    sent = received(signed, content)
    sent["attachments"][0]["fileUrl"] = "https://moodle.example.org/signatures/1.jws"
    with refused("attachments[0]: a signature's content must be sent as a part of a multipart"):
        check(sent, None, where="attachments[0]")
    with refused("A signature's content must be sent"):
        check(sent, None)


def test_is_signature_goes_by_the_usage_type():
    assert is_signature(signature_attachment(b"x"))
    assert not is_signature(signature_attachment(b"x", usageType=SIGNATURE_USAGE.upper()))
    assert not is_signature({"contentType": "application/octet-stream"})
    assert not is_signature("not an attachment")


# --- Through /xapi/statements (wired in by the lead) ------------------------------------------

BOUNDARY = "signed-statement-boundary"


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def post_signed(client, api_key, sent: dict, content: bytes):
    """POST a statement and its signature as multipart/mixed (xAPI 1.0.3, Part Three, 1.5.2)."""
    body = (
        f"--{BOUNDARY}\r\nContent-Type: application/json\r\n\r\n".encode()
        + json.dumps(sent).encode()
        + f"\r\n--{BOUNDARY}\r\nContent-Type: application/octet-stream\r\n".encode()
        + b"Content-Transfer-Encoding: binary\r\n"
        + f"X-Experience-API-Hash: {hashlib.sha256(content).hexdigest()}\r\n\r\n".encode()
        + content
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )
    return client.post(
        "/xapi/statements",
        body,
        content_type=f"multipart/mixed; boundary={BOUNDARY}",
        **headers(api_key),
    )


@pytest.mark.django_db
def test_a_signed_statement_is_stored_with_its_signature(client, key_a, media, key):
    signed = signed_statement()
    content = sign(signed, key, x5c=[certificate(key)])
    response = post_signed(client, key_a, received(signed, content), content)
    assert response.status_code == HTTPStatus.OK, response.content
    assert response.json() == [STATEMENT_ID]
    stored = XapiStatement.objects.get(statement_id=STATEMENT_ID)
    assert stored.raw["attachments"] == [signature_attachment(content)]
    kept = XapiAttachment.objects.get()
    assert (kept.sha2, kept.content_type) == (
        hashlib.sha256(content).hexdigest(),
        "application/octet-stream",
    )
    assert (media / kept.file.name).read_bytes() == content
    got = client.get("/xapi/statements", {"statementId": STATEMENT_ID}, **headers(key_a))
    assert got.json()["verb"] == signed["verb"]


@pytest.mark.django_db
def test_a_tampered_signed_statement_is_refused_and_nothing_is_stored(client, key_a, media, key):
    signed = signed_statement()
    content = sign(signed, key, x5c=[certificate(key)])
    forged = received(signed, content, verb={"id": "http://adlnet.gov/expapi/verbs/passed"})
    response = post_signed(client, key_a, forged, content)
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["error"] == (
        "attachments[0]: the signed statement differs from the statement sent: verb.display."
    )
    assert not XapiStatement.objects.exists()
    assert not XapiAttachment.objects.exists()
    assert not [path for path in media.rglob("*") if path.is_file()]


@pytest.mark.django_db
def test_a_signature_given_by_file_url_only_is_refused(client, key_a, key):
    signed = signed_statement()
    content = sign(signed, key)
    sent = received(signed, content)
    sent["attachments"][0]["fileUrl"] = "https://moodle.example.org/signatures/1.jws"
    response = client.post(
        "/xapi/statements", json.dumps(sent), content_type="application/json", **headers(key_a)
    )
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert (
        "attachments[0]: a signature's content must be sent as a part" in (response.json()["error"])
    )
    assert not XapiStatement.objects.exists()
