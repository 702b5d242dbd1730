"""W3C Bitstring Status List v1.0: encoding, bit order, limits, and the signed list credential."""

import base64
import gzip
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from certificates import signing, status_list

LIST_URL = "https://learn.example.org/certificates/status/0"

# The example list of the W3C specification (section 2.1): 131,072 bits, none set.
SPEC_EXAMPLE = "uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def test_round_trip():
    revoked = {0, 7, 8, 4242, 131_071}
    encoded = status_list.encode(revoked)

    bits = status_list.decode(encoded)

    assert [i for i in range(131_072) if status_list.is_set(bits, i)] == sorted(revoked)
    assert status_list.is_set(encoded, 4242)
    assert not status_list.is_set(encoded, 4243)


def test_index_zero_is_the_leftmost_bit_of_the_first_byte():
    assert status_list.decode(status_list.encode([0]))[:2] == b"\x80\x00"
    assert status_list.decode(status_list.encode([7]))[:2] == b"\x01\x00"
    assert status_list.decode(status_list.encode([9]))[:2] == b"\x00\x40"


def test_default_length_is_the_16_kb_minimum_and_the_encoding_is_gzip_base64url():
    encoded = status_list.encode([])
    compressed = base64.urlsafe_b64decode(encoded[1:] + "=" * (-len(encoded[1:]) % 4))

    assert status_list.decode(encoded) == bytes(16_384)
    assert encoded.startswith("u")
    assert "=" not in encoded and "+" not in encoded and "/" not in encoded
    assert gzip.decompress(compressed) == bytes(16_384)
    assert status_list.encode([3, 1]) == status_list.encode([1, 3])  # no timestamp inside


def test_longer_lists():
    encoded = status_list.encode([262_143], length=262_144)

    assert len(status_list.decode(encoded)) == 32_768
    assert status_list.is_set(encoded, 262_143)


def test_decodes_the_specification_example():
    bits = status_list.decode(SPEC_EXAMPLE)

    assert bits == bytes(16_384)
    assert not status_list.is_set(SPEC_EXAMPLE, 131_071)


@pytest.mark.parametrize(
    ("indexes", "length", "message"),
    [
        ([], 8 * 1024, "at least 131072"),
        ([], 131_073, "multiple of 8"),
        ([131_072], 131_072, "out of range"),
        ([-1], 131_072, "out of range"),
        (["12"], 131_072, "whole number"),
        ([True], 131_072, "whole number"),
    ],
)
def test_encode_refuses_bad_input(indexes, length, message):
    with pytest.raises(ValueError, match=message):
        status_list.encode(indexes, length=length)


@pytest.mark.parametrize(
    ("encoded", "message"),
    [
        (SPEC_EXAMPLE[1:], "starts with 'u'"),
        ("z" + SPEC_EXAMPLE[1:], "starts with 'u'"),
        (b"uH4sI", "starts with 'u'"),
        ("uH4sI*AAA", "not base64url"),
        (SPEC_EXAMPLE + "=", "not base64url"),
        ("u" + b64url(b"not compressed at all"), "not GZIP"),
        (SPEC_EXAMPLE[:31], "cut short"),
        ("u" + b64url(gzip.compress(bytes(status_list.MAX_DECODED_BYTES + 1))), "allowed size"),
    ],
)
def test_decode_refuses_malformed_lists(encoded, message):
    with pytest.raises(ValueError, match=message):
        status_list.decode(encoded)


@pytest.mark.parametrize("index", [131_072, -1, 1.5])
def test_is_set_refuses_indexes_outside_the_list(index):
    with pytest.raises(ValueError):
        status_list.is_set(SPEC_EXAMPLE, index)


def test_status_entry():
    assert status_list.status_entry(list_url=LIST_URL, index=42) == {
        "id": f"{LIST_URL}#42",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": "42",
        "statusListCredential": LIST_URL,
    }
    assert status_list.status_entry(list_url=LIST_URL, index=0, purpose="suspension")[
        "statusPurpose"
    ] == ("suspension")
    with pytest.raises(ValueError):
        status_list.status_entry(list_url=LIST_URL, index=-1)
    with pytest.raises(ValueError):
        status_list.status_entry(list_url=LIST_URL, index=1, purpose="message")


def test_status_list_credential_is_signed_and_verifies():
    key = Ed25519PrivateKey.generate()
    method = "https://learn.example.org/certificates/keys#" + signing.public_key_multibase(
        key.public_key()
    )
    encoded = status_list.encode([5])
    unsigned = status_list.status_list_credential(
        list_url=LIST_URL,
        issuer={"id": "https://learn.example.org/", "name": "SSW Learning"},
        encoded_list=encoded,
        valid_from=datetime(2026, 11, 23, 10, 0, tzinfo=UTC),
    )

    signed = signing.sign(
        unsigned, private_key=key, verification_method=method, created="2026-11-23T10:00:00Z"
    )

    assert unsigned == {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": LIST_URL,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": {"id": "https://learn.example.org/", "name": "SSW Learning"},
        "validFrom": "2026-11-23T10:00:00Z",
        "credentialSubject": {
            "id": f"{LIST_URL}#list",
            "type": "BitstringStatusList",
            "statusPurpose": "revocation",
            "encodedList": encoded,
        },
    }
    assert signing.verify(signed, public_key_for=lambda m: key.public_key()).ok
    signed["credentialSubject"]["encodedList"] = status_list.encode([])
    assert signing.verify(signed, public_key_for=lambda m: key.public_key()).reason == (
        "The signature does not match: the credential was altered after it was signed."
    )
