"""Signed statements (xAPI 1.0.3, Part Two, 2.6): the checks an LRS must make of a signature.

A signed statement carries an attachment with usageType :data:`SIGNATURE_USAGE` whose content
is a JWS (RFC 7515) in compact serialization; its payload is the statement as it was before
the signature was added, and its algorithm is RS256, RS384 or RS512. The LRS must refuse a
malformed signature with 400 and say why (2.6.s5): it decodes the JWS, checks that the signed
statement is *logically equivalent* to the one received (the comparison rules of 2.3.1), and,
when the JWS header carries an ``x5c`` certificate chain, checks the signature with the first
certificate's key. Without ``x5c`` the signature cannot be checked and a well-formed one is
accepted.

The spec says the x5c check is "to catch mistakes in the signature, not a security measure":
we do not build or trust the certificate chain, nor look at the certificate's dates (the
spec's own example certificate expired in 2014). Whoever relies on a signature checks it
again, as clients must (2.6.s6.b2).

Logical equivalence ignores what the LRS may assign or replace (2.3.1.b1) and differences of
serialization that are not part of the statement (2.3.1.b4-b7):

- ``authority``, ``stored`` and ``version``: always;
- ``id``: when the signed statement has none (the LRS assigned it), else compared as UUIDs;
- ``timestamp``: when the signed statement has none, else compared as instants;
- ``attachments``: the signature attachments themselves (a statement cannot carry its own
  signature's hash when it is signed); the others are compared, unordered, when the signed
  statement lists attachments at all (ADL's LRS and the conformance suite sign statements
  without them);
- the members of a Group (unordered), a context activity given as one object or a list of one,
  the case of an ``mbox``'s scheme and domain and of UUIDs;
- the JWT registered claims (RFC 7519, 4.1: ``iat``, ``exp``…) in the payload, which JWT
  libraries add by themselves (as ADL's LRS does: they are no statement properties).

Everything else, verb displays and activity definitions included, must be the same.
"""

import base64
import binascii
import json
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any, NoReturn

import jwt
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from jwt.api_jws import PyJWS

from courses.xapi_errors import XapiError

#: The usageType of a signature attachment (xAPI 1.0.3, Part Two, 2.6.s4.b1).
SIGNATURE_USAGE = "http://adlnet.gov/expapi/attachments/signature"
#: The contentType a signature attachment must have (2.6.s4.b1).
SIGNATURE_CONTENT_TYPE = "application/octet-stream"
#: The JWS algorithms a signature may use (2.6.s4.b4).
ALGORITHMS = ("RS256", "RS384", "RS512")
#: Properties the LRS assigns or replaces, never compared (2.3.1.b1).
LRS_ASSIGNED = ("authority", "stored", "version")
#: JWT registered claims (RFC 7519, 4.1) that JWT libraries add to a signed payload.
JWT_CLAIMS = ("iss", "sub", "aud", "exp", "nbf", "iat", "jti")

# Knows the RSA algorithms only: no other can verify, whatever a header says.
_JWS = PyJWS(algorithms=list(ALGORITHMS))


def is_signature(attachment: dict) -> bool:
    """Whether an attachment is a statement's signature (by its usageType, an exact IRI)."""
    return isinstance(attachment, dict) and attachment.get("usageType") == SIGNATURE_USAGE


def signature_check(
    *, statement: dict, attachment: dict, content: bytes | None, where: str = ""
) -> None:
    """Refuse a malformed signature of ``statement``, as xAPI 1.0.3 (Part Two, 2.6.s5) says.

    ``attachment`` is the signature attachment (see :func:`is_signature`) of the statement as
    received (``statement``: with the id the LRS assigned), ``content`` the content of its
    ``multipart/mixed`` part, ``None`` when none was sent: the signature must be, since the
    LRS never fetches a ``fileUrl``. ``where`` names the attachment in messages, e.g.
    ``"statement 1: attachments[2]"``. Raises :class:`courses.xapi_errors.XapiError` (400) naming
    what is wrong.
    """

    def fail(message: str, field: str = "") -> NoReturn:
        name = f"{where}{field}" if where else field.lstrip(".")
        raise XapiError(f"{name}: {message}" if name else message[:1].upper() + message[1:])

    if content is None:
        fail(
            "a signature's content must be sent as a part of a multipart/mixed request "
            "(a fileUrl is not fetched)."
        )
    content_type = str(attachment.get("contentType", ""))
    if content_type.split(";")[0].strip().lower() != SIGNATURE_CONTENT_TYPE:
        fail(
            f"must be {SIGNATURE_CONTENT_TYPE} for a signature, not '{content_type}'.",
            ".contentType",
        )
    token = _compact_jws(content, fail)
    try:
        decoded = _JWS.decode_complete(token, options={"verify_signature": False})
    except jwt.PyJWTError as error:
        fail(f"the signature is not a JWS in compact serialization ({error}).")
    header = decoded["header"]
    algorithm = header.get("alg")
    if algorithm not in ALGORITHMS:
        fail(f"the signature's alg {algorithm!r} is not allowed: use {', '.join(ALGORITHMS)}.")
    try:
        signed = json.loads(decoded["payload"])
    except (ValueError, RecursionError):
        signed = None
    if not isinstance(signed, dict):
        fail("the signature's payload is not a statement as a JSON object.")
    if "x5c" in header:
        _x5c_verify(token, header["x5c"], algorithm, fail)
    try:
        difference = statement_difference(signed, statement)
    except RecursionError:
        fail("the signature's payload is nested too deeply to be a statement.")
    if difference:
        fail(f"the signed statement differs from the statement sent: {difference}.")


def statement_difference(signed: dict, received: dict) -> str | None:
    """Where a signed statement and the statement received differ logically, or ``None``.

    The answer is a path such as ``verb.id`` or ``context.contextActivities.parent[0]``. What
    is ignored is listed in this module's docstring (xAPI 1.0.3, Part Two, 2.3.1).
    """
    signed = {k: v for k, v in signed.items() if k not in LRS_ASSIGNED + JWT_CLAIMS}
    received = {k: v for k, v in received.items() if k not in LRS_ASSIGNED}
    if "id" in signed and _uuid(signed["id"]) != _uuid(received.get("id")):
        return "id"
    if "timestamp" in signed and _instant(signed["timestamp"]) != _instant(
        received.get("timestamp")
    ):
        return "timestamp"
    if "attachments" in signed and _attachments(signed["attachments"]) != _attachments(
        received.get("attachments")
    ):
        return "attachments"
    for name in ("id", "timestamp", "attachments"):
        signed.pop(name, None)
        received.pop(name, None)
    return _first_difference(_canonical(signed), _canonical(received), "")


# --- Decoding and verifying the JWS -------------------------------------------------------------


def _compact_jws(content: bytes, fail: Callable[[str], NoReturn]) -> str:
    """The JWS as text, refused when it is not in compact serialization (2.6.s4.b2)."""
    try:
        token = content.decode("ascii").strip()
    except UnicodeDecodeError:
        fail("the signature is not a JWS in compact serialization (it is not ASCII text).")
    if token.startswith("{"):
        fail(
            "the signature is a JWS in JSON serialization: xAPI asks for the compact "
            "serialization (header.payload.signature)."
        )
    if token.count(".") != 2:
        fail(
            "the signature is not a JWS in compact serialization "
            "(three base64url parts separated by dots)."
        )
    return token


def _x5c_verify(token: str, chain: Any, algorithm: str, fail: Callable[[str], NoReturn]) -> None:
    """Check the signature with the key of the first certificate of ``x5c`` (RFC 7515, 4.1.6:
    base64, not base64url, DER). The chain itself is not checked: see the module docstring."""
    if not isinstance(chain, list) or not chain or not isinstance(chain[0], str):
        fail("the signature's x5c header is not a list of base64 certificates.")
    try:
        certificate = x509.load_der_x509_certificate(base64.b64decode(chain[0], validate=True))
    except (binascii.Error, ValueError):
        fail("the signature's x5c[0] is not a base64 DER X.509 certificate.")
    key = certificate.public_key()
    if not isinstance(key, RSAPublicKey):
        fail(f"the signature's x5c[0] certificate has no RSA key, which {algorithm} needs.")
    try:
        _JWS.decode_complete(token, key=key, algorithms=[algorithm])
    except jwt.InvalidSignatureError:
        fail("the signature does not verify with the key of its x5c certificate.")
    except jwt.PyJWTError as error:
        fail(f"the signature does not verify with the key of its x5c certificate ({error}).")


# --- Logical equivalence (Part Two, 2.3.1) ------------------------------------------------------


def _uuid(value: Any) -> Any:
    try:
        return uuid.UUID(value)
    except (TypeError, ValueError, AttributeError):
        return value


def _instant(value: Any) -> Any:
    """A timestamp as a point in time, whatever its time zone (2.3.1.b4)."""
    try:
        parsed = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return value
    return parsed if parsed.tzinfo is not None else value


def _attachments(value: Any) -> Any:
    """The attachments other than signatures, in an order of their own."""
    if not isinstance(value, list):
        return value
    kept = [_canonical(item) for item in value if not is_signature(item)]
    return sorted(kept, key=lambda item: json.dumps(item, sort_keys=True, default=str))


def _canonical(value: Any, key: str = "") -> Any:
    """``value`` with the differences of 2.3.1 that do not count made the same.

    Extension values are left as they are: they are anybody's JSON.
    """
    if key == "extensions" or not isinstance(value, dict | list):
        if key == "mbox" and isinstance(value, str) and "@" in value:
            local, domain = value.rsplit("@", 1)
            scheme, _, name = local.partition(":")
            return f"{scheme.lower()}:{name}@{domain.lower()}"
        if key == "registration" and isinstance(value, str):
            return str(_uuid(value))
        if key == "timestamp":
            return _instant(value)
        return value
    if isinstance(value, list):
        return [_canonical(item) for item in value]
    result = {name: _canonical(item, name) for name, item in value.items()}
    if key == "contextActivities":
        result = {name: [item] if isinstance(item, dict) else item for name, item in result.items()}
    if result.get("objectType") == "Group" and isinstance(result.get("member"), list):
        result["member"] = sorted(
            result["member"], key=lambda item: json.dumps(item, sort_keys=True, default=str)
        )
    if result.get("objectType") == "StatementRef" and "id" in result:
        result["id"] = _uuid(result["id"])
    return result


def _first_difference(signed: Any, received: Any, path: str) -> str | None:
    """The path of the first place where two canonical JSON values differ, else ``None``."""
    if isinstance(signed, dict) and isinstance(received, dict):
        for name in sorted(set(signed) | set(received)):
            where = f"{path}.{name}" if path else name
            if name not in signed or name not in received:
                return where
            found = _first_difference(signed[name], received[name], where)
            if found:
                return found
        return None
    if isinstance(signed, list) and isinstance(received, list):
        if len(signed) != len(received):
            return path
        for index, (left, right) in enumerate(zip(signed, received, strict=True)):
            found = _first_difference(left, right, f"{path}[{index}]")
            if found:
                return found
        return None
    if _kind(signed) != _kind(received) or signed != received:
        return path or "the statement"
    return None


def _kind(value: Any) -> str:
    """JSON's type of a value: ``true`` is no ``1``, ``1.0`` is ``1``."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__
