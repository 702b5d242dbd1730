"""W3C Bitstring Status List v1.0: the public list that says which credentials are revoked.

Each credential carries a ``credentialStatus`` entry pointing at one bit of a list; the
list is a GZIP-compressed bitstring published inside a signed
``BitstringStatusListCredential``. Bit 0 is the left-most (most significant) bit of the
first byte. Lists are at least 131,072 bits long so that one credential's status cannot
be told from the list's size ("herd privacy", section 6.1 of the specification).
"""

import base64
import gzip
import re
import zlib
from collections.abc import Iterable
from datetime import datetime

from certificates.signing import CREDENTIALS_V2, xsd_datetime

MIN_LENGTH = 131_072  # bits: 16 KB, the specification's minimum
#: Decoded lists larger than this are refused (a compressed list could otherwise unpack to
#: gigabytes); it is 128 times the minimum.
MAX_DECODED_BYTES = 2 * 1024 * 1024
#: The single-bit purposes of the specification ("message" needs several bits per entry).
PURPOSES = ("revocation", "suspension", "refresh")

_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")


def encode(revoked_indexes: Iterable[int], *, length: int = MIN_LENGTH) -> str:
    """The ``encodedList`` of a bitstring of ``length`` bits with ``revoked_indexes`` set.

    GZIP-compressed, base64url without padding, with the multibase prefix ``u``. The GZIP
    header carries no timestamp, so the same bits always give the same string.
    """
    if not isinstance(length, int) or length < MIN_LENGTH or length % 8:
        raise ValueError(f"A status list is a multiple of 8 bits, at least {MIN_LENGTH}.")
    bits = bytearray(length // 8)
    for index in revoked_indexes:
        _check_index(index, length)
        bits[index // 8] |= 0x80 >> (index % 8)
    compressed = gzip.compress(bytes(bits), mtime=0)
    return "u" + base64.urlsafe_b64encode(compressed).decode("ascii").rstrip("=")


def decode(encoded: str) -> bytes:
    """The bitstring of an ``encodedList``; ``ValueError`` says what is wrong with it."""
    if not isinstance(encoded, str) or not encoded.startswith("u"):
        raise ValueError("An encoded status list starts with 'u' (multibase base64url).")
    payload = encoded[1:]
    if not _BASE64URL.fullmatch(payload) or len(payload) % 4 == 1:
        raise ValueError("The encoded status list is not base64url without padding.")
    compressed = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)  # GZIP only
    try:
        bits = decompressor.decompress(compressed, MAX_DECODED_BYTES + 1)
    except zlib.error as error:
        raise ValueError("The encoded status list is not GZIP-compressed.") from error
    if len(bits) > MAX_DECODED_BYTES:
        raise ValueError("The encoded status list unpacks to more than the allowed size.")
    if not decompressor.eof:
        raise ValueError("The encoded status list is cut short.")
    return bits


def is_set(encoded_or_bytes: str | bytes, index: int) -> bool:
    """Whether bit ``index`` is set (for a revocation list: the credential is revoked)."""
    bits = decode(encoded_or_bytes) if isinstance(encoded_or_bytes, str) else encoded_or_bytes
    _check_index(index, len(bits) * 8)
    return bool(bits[index // 8] & (0x80 >> (index % 8)))


def _check_index(index, length: int) -> None:
    if not isinstance(index, int) or isinstance(index, bool):
        raise ValueError(f"A status list index is a whole number, not {index!r}.")
    if not 0 <= index < length:
        raise ValueError(f"Status list index {index} is out of range (0 to {length - 1}).")


def status_list_credential(
    *,
    list_url: str,
    issuer: dict | str,
    encoded_list: str,
    valid_from: datetime,
    purpose: str = "revocation",
) -> dict:
    """The unsigned ``BitstringStatusListCredential`` published at ``list_url``.

    It uses the VC 2.0 context alone, so ``issuer`` is an id or an object with VC terms
    only (``id``, ``name``, ``description``); sign it with :func:`certificates.signing.sign`.
    """
    _check_purpose(purpose)
    return {
        "@context": [CREDENTIALS_V2],
        "id": list_url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer,
        "validFrom": xsd_datetime(valid_from),
        "credentialSubject": {
            "id": f"{list_url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": purpose,
            "encodedList": encoded_list,
        },
    }


def status_entry(*, list_url: str, index: int, purpose: str = "revocation") -> dict:
    """The ``credentialStatus`` of a credential whose status is bit ``index`` of the list."""
    _check_purpose(purpose)
    if not isinstance(index, int) or isinstance(index, bool) or index < 0:
        raise ValueError(f"A status list index is a whole number from 0, not {index!r}.")
    return {
        "id": f"{list_url}#{index}",
        "type": "BitstringStatusListEntry",
        "statusPurpose": purpose,
        "statusListIndex": str(index),
        "statusListCredential": list_url,
    }


def _check_purpose(purpose: str) -> None:
    if purpose not in PURPOSES:
        raise ValueError(f"The status purpose is one of {', '.join(PURPOSES)}, not {purpose!r}.")
