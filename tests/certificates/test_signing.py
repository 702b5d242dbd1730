"""Data Integrity proofs (eddsa-rdfc-2022), Multikey, and the signing key from configuration.

The known-answer vector is the 1EdTech Open Badges 3.0 one: canonical N-Quads and the
proofValue must match it byte for byte (Ed25519 is deterministic).
"""

import copy
import json
import socket
import stat
from datetime import UTC, datetime, timedelta, timezone
from io import StringIO
from pathlib import Path

import base58
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from pyld import jsonld

from certificates import keys, signing

VECTOR = json.loads(
    (Path(__file__).parent / "data" / "ob3-eddsa-rdfc-2022-vector.json").read_text()
)
PRIVATE_KEY = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(VECTOR["privateKeyHex"]))
PUBLIC_KEY = PRIVATE_KEY.public_key()
METHOD = VECTOR["proofOptions"]["verificationMethod"]


def signed_vector() -> dict:
    return signing.sign(
        VECTOR["credential"],
        private_key=PRIVATE_KEY,
        verification_method=METHOD,
        created=VECTOR["proofOptions"]["created"],
    )


def our_key(method: str):
    return PUBLIC_KEY if method == METHOD else None


def raw(public_key) -> bytes:
    return public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)


@pytest.fixture
def no_network(monkeypatch):
    """Record any attempt to open a connection (verify() would swallow an exception)."""
    attempts = []

    def refuse(self, address, *args, **kwargs):
        attempts.append(address)
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", lambda *args, **kwargs: refuse(None, args))
    return attempts


# --- The known-answer vector ------------------------------------------------------------


def test_vector_key_pair_is_consistent():
    assert raw(PUBLIC_KEY).hex() == VECTOR["publicKeyHex"]
    assert signing.public_key_multibase(PUBLIC_KEY) == VECTOR["publicKeyMultibase"]
    assert METHOD.endswith("#" + VECTOR["publicKeyMultibase"])


def test_canonical_credential_matches_vector():
    assert signing.canonicalize(VECTOR["credential"]) == VECTOR["expected"]["credentialNQuads"]


def test_canonical_proof_options_match_vector():
    proof_config = {**VECTOR["proofOptions"], "@context": VECTOR["credential"]["@context"]}

    assert signing.canonicalize(proof_config) == VECTOR["expected"]["proofOptionsNQuads"]


def test_signing_the_vector_gives_its_proof_value():
    signed = signed_vector()

    # A proof set of one, as Open Badges 3.0's schema wants; the proof itself exactly the
    # vector's.
    assert signed["proof"] == [
        {**VECTOR["proofOptions"], "proofValue": VECTOR["expected"]["proofValue"]}
    ]
    assert {key: value for key, value in signed.items() if key != "proof"} == VECTOR["credential"]


def test_sign_leaves_its_input_alone_and_refuses_a_second_proof():
    credential = copy.deepcopy(VECTOR["credential"])
    signed = signing.sign(
        credential,
        private_key=PRIVATE_KEY,
        verification_method=METHOD,
        created="2026-01-01T00:00:00Z",
    )
    signed["credentialSubject"]["id"] = "did:example:changed"

    assert credential == VECTOR["credential"]
    with pytest.raises(ValueError, match="already has a proof"):
        signing.sign(
            signed, private_key=PRIVATE_KEY, verification_method=METHOD, created="2026-01-01"
        )


def test_created_is_written_in_utc_to_the_second():
    east_africa = timezone(timedelta(hours=3))
    signed = signing.sign(
        VECTOR["credential"],
        private_key=PRIVATE_KEY,
        verification_method=METHOD,
        created=datetime(2026, 3, 1, 12, 30, 15, 999, tzinfo=east_africa),
    )

    assert signed["proof"][0]["created"] == "2026-03-01T09:30:15Z"
    assert signing.verify(signed, public_key_for=our_key).ok
    with pytest.raises(ValueError, match="naive"):
        signing.sign(
            VECTOR["credential"],
            private_key=PRIVATE_KEY,
            verification_method=METHOD,
            created=datetime(2026, 3, 1),
        )


def test_sign_refuses_content_that_would_not_be_signed():
    undefined_term = {**VECTOR["credential"], "grade": "A"}
    relative_subject = copy.deepcopy(VECTOR["credential"])
    relative_subject["credentialSubject"]["id"] = "learner-42"

    with pytest.raises(signing.CanonicalizationError, match="'grade' is not defined"):
        signing.sign(
            undefined_term, private_key=PRIVATE_KEY, verification_method=METHOD, created="x"
        )
    with pytest.raises(signing.CanonicalizationError, match="'learner-42' is not an absolute IRI"):
        signing.canonicalize(relative_subject)


# --- verify() ---------------------------------------------------------------------------


def test_verify_accepts_the_signed_vector():
    assert signing.verify(signed_vector(), public_key_for=our_key) == signing.Verification(
        ok=True, reason="The signature is valid."
    )


def test_verify_accepts_a_proof_that_repeats_the_credential_context():
    signed = signed_vector()
    signed["proof"] = [{"@context": signed["@context"], **signed["proof"][0]}]

    assert signing.verify(signed, public_key_for=our_key).ok


def test_verify_accepts_a_single_proof_object_as_signed_before_proof_sets():
    """Credentials issued before the proof became a set of one hold the proof itself."""
    signed = signed_vector()
    [proof] = signed["proof"]
    signed["proof"] = proof

    assert signing.verify(signed, public_key_for=our_key).ok


ALTERED = "The signature does not match: the credential was altered after it was signed."


def _set(path, value):
    def change(document):
        *parents, last = path
        target = document
        for key in parents:
            target = target[key]
        target[last] = value

    return change


def _proof(key, value):
    return _set(["proof", 0, key], value)


def _drop_proof(document):
    del document["proof"]


def _sign_with_another_key(document):
    other = signing.sign(
        {key: value for key, value in document.items() if key != "proof"},
        private_key=Ed25519PrivateKey.generate(),
        verification_method=METHOD,
        created=document["proof"][0]["created"],
    )
    document["proof"] = other["proof"]


NOT_A_SIGNATURE = "The proof's value is not a base58btc Ed25519 signature."
EVIL_KEY = "https://evil.example/keys#z6Mk"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (_set(["name"], "Leadership Badge"), ALTERED),
        (_set(["credentialSubject", "id"], "did:example:someone-else"), ALTERED),
        (_set(["credentialSubject", "achievement", "criteria", "narrative"], "None."), ALTERED),
        (_set(["validFrom"], "2009-01-01T00:00:00Z"), ALTERED),
        (_proof("created", "2011-01-01T19:23:24Z"), ALTERED),
        (_sign_with_another_key, ALTERED),
        (_drop_proof, "The credential has no proof."),
        (_set(["proof"], "z5x9a"), "The credential's proof is not a single proof object."),
        (_proof("type", "Ed25519Signature2020"), "The proof's type is not DataIntegrityProof."),
        (
            _proof("cryptosuite", "ecdsa-rdfc-2019"),
            "The proof's cryptosuite is not eddsa-rdfc-2022.",
        ),
        (_proof("cryptosuite", None), "The proof's cryptosuite is not eddsa-rdfc-2022."),
        (_proof("proofPurpose", "authentication"), "The proof's purpose is not assertionMethod."),
        (_proof("proofValue", "z0OIl0OIl"), NOT_A_SIGNATURE),
        (_proof("proofValue", "u" + "A" * 86), NOT_A_SIGNATURE),
        (_proof("proofValue", "z" + base58.b58encode(bytes(63)).decode()), NOT_A_SIGNATURE),
        (_proof("proofValue", "z" + "2" * 5000), NOT_A_SIGNATURE),
        (_proof("proofValue", ["z5x9a"]), NOT_A_SIGNATURE),
        (_proof("verificationMethod", None), "The proof does not say which key signed it."),
        (
            _proof("verificationMethod", EVIL_KEY),
            f"The signing key {EVIL_KEY} is not one of this service's keys.",
        ),
        (
            _proof("@context", [signing.DID_V1]),
            "The proof's @context does not match the credential's.",
        ),
    ],
)
def test_verify_refuses(change, reason):
    document = signed_vector()
    change(document)

    assert signing.verify(document, public_key_for=our_key) == signing.Verification(
        ok=False, reason=reason
    )


@pytest.mark.parametrize(
    ("change", "detail"),
    [
        (_set(["grade"], "A"), "The term 'grade' is not defined"),
        (_set(["type"], ["VerifiableCredential", "Diploma"]), "'Diploma' is not an absolute IRI"),
        (_set(["@context"], 5), "Not valid JSON-LD"),
        (_set(["@context"], [{"@version": 2.0}]), "Not valid JSON-LD"),
        (_set(["credentialSubject"], {"@id": 17}), "Not valid JSON-LD"),
    ],
)
def test_verify_refuses_what_is_not_readable_json_ld(change, detail):
    document = signed_vector()
    change(document)

    result = signing.verify(document, public_key_for=our_key)

    assert not result.ok
    assert result.reason.startswith("The file is not a JSON-LD credential we can read.")
    assert detail in result.reason


def test_verify_never_fetches_an_unknown_context(no_network):
    document = signed_vector()
    document["@context"] = [*document["@context"], "https://evil.example/context.jsonld"]

    result = signing.verify(document, public_key_for=our_key)

    assert not result.ok
    assert "'https://evil.example/context.jsonld' is not one of the contexts" in result.reason
    assert "never fetched from the network" in result.reason
    assert no_network == []


@pytest.mark.parametrize(
    "document",
    [
        None,
        [],
        [{"@context": signing.CREDENTIALS_V2}],
        "credential",
        42,
        4.2,
        True,
        {},
        {"proof": {}},
    ],
)
def test_verify_refuses_what_is_not_a_credential(document):
    assert signing.verify(document, public_key_for=our_key) == signing.Verification(
        ok=False,
        reason="The file is not a JSON-LD credential: it is not a JSON object with @context.",
    )


def test_verify_refuses_values_json_cannot_hold():
    nan = {**signed_vector(), "name": float("nan")}
    a_set = {**signed_vector(), "name": {"Teamwork"}}

    for document in (nan, a_set):
        result = signing.verify(document, public_key_for=our_key)
        assert result == signing.Verification(
            ok=False, reason="The file is not a JSON-LD credential: it is not plain JSON."
        )


def test_verify_refuses_huge_documents_before_reading_them():
    document = {**signed_vector(), "description": "x" * signing.MAX_VERIFY_BYTES}

    assert signing.verify(document, public_key_for=our_key).reason == (
        "The credential is too large to verify."
    )


def test_verify_survives_deep_nesting():
    document = signed_vector()
    nested = {"narrative": "deep"}
    for _ in range(5000):
        nested = {"criteria": nested}
    document["credentialSubject"]["achievement"]["criteria"] = nested

    result = signing.verify(document, public_key_for=our_key)

    assert not result.ok
    assert result.reason.startswith("The file is not a JSON-LD credential")


def test_verify_gives_up_on_blank_node_poison_graphs_quickly():
    """Every blank node linked to every other: RDFC-1.0 would try 11! orderings each."""
    knows = "https://example.com/knows"
    clique = [
        {"id": f"_:b{i}", knows: [{"id": f"_:b{j}"} for j in range(12) if j != i]}
        for i in range(12)
    ]
    document = signed_vector()
    document["credentialSubject"] = clique
    started = datetime.now(UTC)

    result = signing.verify(document, public_key_for=our_key)

    assert not result.ok
    assert "blank nodes are too costly to order" in result.reason
    assert datetime.now(UTC) - started < timedelta(seconds=2)


def test_verify_gives_up_quickly_on_a_chain_of_look_alike_pairs():
    """Look-alike groups of only two, each pair linked to the next: RDFC-1.0's work doubles
    with every pair, so a bound on the size of a group is not enough."""
    after = "https://example.com/after"
    levels = 20
    chain = [
        {"id": f"_:{side}{level}", after: [{"id": f"_:a{level + 1}"}, {"id": f"_:b{level + 1}"}]}
        for level in range(levels)
        for side in "ab"
    ]
    document = signed_vector()
    document["credentialSubject"] = chain
    started = datetime.now(UTC)

    result = signing.verify(document, public_key_for=our_key)

    assert not result.ok
    assert "blank nodes are too costly to order: 42 of them look alike" in result.reason
    assert datetime.now(UTC) - started < timedelta(seconds=2)


def test_look_alike_blank_nodes_that_are_leaves_are_signed_and_verified():
    """Two identical alignments are two blank nodes with the same statements and no other
    blank node in them: RDFC-1.0 orders them cheaply, so they are accepted."""
    credential = copy.deepcopy(VECTOR["credential"])
    alignment = {
        "type": ["Alignment"],
        "targetName": "PP.3.1 Identifies strengths",
        "targetUrl": "https://example.edu/CFItems/1",
        "targetType": "CFItem",
    }
    credential["credentialSubject"]["achievement"]["alignment"] = [alignment, dict(alignment)]

    signed = signing.sign(
        credential, private_key=PRIVATE_KEY, verification_method=METHOD, created="2026-01-01"
    )
    canonical = signing.canonicalize(credential)

    assert signing.verify(signed, public_key_for=our_key).ok
    name_lines = [line for line in canonical.splitlines() if "PP.3.1" in line]
    assert len(name_lines) == 2  # one per alignment, under two canonical labels
    assert len({line.split(" ", 1)[0] for line in name_lines}) == 2


def nquads_dataset(nquads: str) -> dict:
    return jsonld.JsonLdProcessor.parse_nquads(nquads)


@pytest.mark.parametrize(
    ("nquads", "look_alike"),
    [
        # Told apart by what they say.
        ('_:x <http://ex/name> "A" .\n_:y <http://ex/name> "B" .\n', set()),
        # The same statements: alike, whatever their names.
        ('_:x <http://ex/name> "A" .\n_:y <http://ex/name> "A" .\n', {"_:x", "_:y"}),
        # Other blank nodes count as one "z": the same from where each stands.
        (
            "_:x <http://ex/knows> _:p .\n_:y <http://ex/knows> _:q .\n"
            '_:p <http://ex/name> "P" .\n_:q <http://ex/name> "Q" .\n',
            {"_:x", "_:y"},
        ),
        # Which side of a statement a node is on counts.
        ("_:x <http://ex/knows> _:y .\n", set()),
        # So does the graph a statement is in.
        (
            '_:x <http://ex/name> "A" <http://ex/g1> .\n'
            '_:y <http://ex/name> "A" <http://ex/g2> .\n',
            set(),
        ),
        # Literals are told apart by their text alone (coarser than RDFC-1.0, never finer).
        (
            '_:x <http://ex/n> "1"^^<http://www.w3.org/2001/XMLSchema#integer> .\n'
            '_:y <http://ex/n> "1" .\n_:z <http://ex/n> "1"@en .\n',
            {"_:x", "_:y", "_:z"},
        ),
    ],
)
def test_look_alike_blank_nodes(nquads, look_alike):
    assert signing.look_alike_blank_nodes(nquads_dataset(nquads)) == look_alike


@pytest.mark.parametrize(
    "nquads",
    [
        # Two look-alikes linked to each other.
        "_:x <http://ex/knows> _:y .\n_:y <http://ex/knows> _:x .\n",
        # Two look-alikes, each linked to a blank node that is not one.
        (
            "_:x <http://ex/knows> _:p .\n_:y <http://ex/knows> _:q .\n"
            '_:p <http://ex/name> "P" .\n_:q <http://ex/name> "Q" .\n'
        ),
        # Two look-alikes in a graph named by a blank node.
        '_:x <http://ex/name> "A" _:g .\n_:y <http://ex/name> "A" _:g .\n',
    ],
)
def test_look_alikes_linked_to_other_blank_nodes_are_refused(nquads):
    with pytest.raises(signing.CanonicalizationError, match="too costly to order"):
        signing.refuse_costly_blank_nodes(nquads_dataset(nquads))


def test_look_alikes_that_are_leaves_and_linked_unique_nodes_pass():
    dataset = nquads_dataset(
        "<http://ex/a> <http://ex/has> _:x .\n<http://ex/a> <http://ex/has> _:y .\n"
        '_:x <http://ex/name> "A" .\n_:y <http://ex/name> "A" .\n'
        '_:p <http://ex/knows> _:q .\n_:q <http://ex/knows> _:p .\n_:q <http://ex/name> "Q" .\n'
    )

    signing.refuse_costly_blank_nodes(dataset)  # no error

    assert signing.look_alike_blank_nodes(dataset) == {"_:x", "_:y"}


def test_the_resolver_kept_for_signing_stays_small_and_starts_afresh_past_its_bound():
    """Our documents (only the shipped contexts) keep one resolver; inline contexts of a
    caller's own would make it grow, so past the bound a new one starts."""
    contexts = signing.ContextsForSigning(max_contexts=64)
    first = contexts.resolver
    proof_config = {**VECTOR["proofOptions"], "@context": VECTOR["credential"]["@context"]}
    for document in (VECTOR["credential"], proof_config, VECTOR["credential"]):
        assert contexts.canonicalize(document) == signing.canonicalize(document)
    kept = len(contexts.cache)

    assert contexts.resolver is first
    assert 0 < kept < 64
    for index in range(70):
        term = f"grade{index}"
        document = {
            **VECTOR["credential"],
            "@context": [*VECTOR["credential"]["@context"], {term: f"https://example.com/{term}"}],
            term: "A",
        }
        assert contexts.canonicalize(document) == signing.canonicalize(document)
        assert len(contexts.cache) <= 64 + 1
    assert contexts.resolver is not first


def test_verify_answers_when_the_key_lookup_fails():
    def broken_lookup(method):
        raise RuntimeError("database down")

    result = signing.verify(signed_vector(), public_key_for=broken_lookup)

    assert result == signing.Verification(
        ok=False, reason="The file is not a JSON-LD credential we can read."
    )


# --- Contexts and Multikey ----------------------------------------------------------------


@pytest.mark.parametrize("url", list(signing.CONTEXT_FILES))
def test_loader_serves_each_shipped_context(url):
    document = signing.load_document(url, {})

    assert document["documentUrl"] == url
    assert "@context" in document["document"]


def test_loader_refuses_anything_else(no_network):
    with pytest.raises(signing.UnknownContextError, match="never fetched"):
        signing.load_document("https://www.w3.org/2018/credentials/v1", {})
    assert no_network == []


def test_multikey_round_trip():
    key = Ed25519PrivateKey.generate().public_key()
    multibase = signing.public_key_multibase(key)

    assert multibase.startswith("z6Mk")
    assert raw(signing.public_key_from_multibase(multibase)) == raw(key)
    assert raw(signing.public_key_from_multibase(VECTOR["publicKeyMultibase"])) == raw(PUBLIC_KEY)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "6MkjZRZv3aez3r18pB1RBFJR1kwUVJ5jHt92JmQwXbd5hwi",  # no multibase prefix
        "z6MkjZRZv3aez3r18pB1RBFJR1kwUVJ5jHt92JmQwXbd5hw0",  # 0 is not base58
        "z" + base58.b58encode(b"\xed\x01" + bytes(31)).decode(),  # too short
        "z" + base58.b58encode(b"\xec\x01" + bytes(32)).decode(),  # an X25519 key
        "z" + "2" * 10_000,
        None,
    ],
)
def test_public_key_from_multibase_refuses_bad_input(value):
    with pytest.raises(ValueError):
        signing.public_key_from_multibase(value)


def test_multikey_document():
    document = signing.multikey_document(
        PUBLIC_KEY, key_id=METHOD, controller="https://example.edu/issuers/565049"
    )

    assert document == {
        "@context": "https://w3id.org/security/multikey/v1",
        "id": METHOD,
        "type": "Multikey",
        "controller": "https://example.edu/issuers/565049",
        "publicKeyMultibase": VECTOR["publicKeyMultibase"],
    }
    multibase = document["publicKeyMultibase"]
    quad = f'<{METHOD}> <https://w3id.org/security#publicKeyMultibase> "{multibase}"'
    assert quad in signing.canonicalize(document)


# --- The signing key from configuration ---------------------------------------------------

VECTOR_SEED_MULTIBASE = "z" + base58.b58encode(bytes.fromhex(VECTOR["privateKeyHex"])).decode()


@pytest.fixture
def no_key(settings, tmp_path):
    """Production-like settings with no key configured."""
    settings.DEBUG = False
    settings.BASE_DIR = tmp_path
    settings.CERTIFICATE_SIGNING_KEY = ""
    settings.CERTIFICATE_SIGNING_KEY_FILE = ""
    settings.CERTIFICATE_SIGNING_KEY_AUTOGENERATE = False
    settings.CERTIFICATE_PREVIOUS_PUBLIC_KEYS = []
    keys.reset_cache()
    yield settings
    keys.reset_cache()


@pytest.mark.parametrize(
    "value",
    [VECTOR_SEED_MULTIBASE, VECTOR["privateKeyHex"], VECTOR["privateKeyHex"].upper() + "\n"],
)
def test_signing_key_from_the_setting(no_key, value):
    no_key.CERTIFICATE_SIGNING_KEY = value

    assert raw(keys.signing_key().public_key()) == raw(PUBLIC_KEY)


def test_signing_key_from_a_file(no_key, tmp_path):
    path = tmp_path / "signing-key"
    path.write_text(VECTOR_SEED_MULTIBASE + "\n")
    no_key.CERTIFICATE_SIGNING_KEY_FILE = str(path)

    assert raw(keys.signing_key().public_key()) == raw(PUBLIC_KEY)
    assert not (tmp_path / "var").exists()


def test_no_key_in_production_fails_loudly(no_key):
    with pytest.raises(ImproperlyConfigured) as error:
        keys.signing_key()

    assert "CERTIFICATE_SIGNING_KEY" in str(error.value)
    assert "python manage.py certificate_signing_key" in str(error.value)
    assert not (no_key.BASE_DIR / "var").exists()


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("CERTIFICATE_SIGNING_KEY", "not-a-key", "neither 'z' \\+ base58btc nor 64 hex digits"),
        ("CERTIFICATE_SIGNING_KEY", "z0OIl", "not base58btc"),
        ("CERTIFICATE_SIGNING_KEY", VECTOR["publicKeyMultibase"], "is it the public key"),
        ("CERTIFICATE_SIGNING_KEY", VECTOR["privateKeyHex"][:-2], "neither"),
        ("CERTIFICATE_SIGNING_KEY_FILE", "/nonexistent/signing-key", "cannot be read"),
    ],
)
def test_malformed_key_settings_fail_loudly(no_key, setting, value, message):
    setattr(no_key, setting, value)

    with pytest.raises(ImproperlyConfigured, match=message) as error:
        keys.signing_key()
    assert setting in str(error.value)


def test_key_and_key_file_together_are_refused(no_key, tmp_path):
    no_key.CERTIFICATE_SIGNING_KEY = VECTOR_SEED_MULTIBASE
    no_key.CERTIFICATE_SIGNING_KEY_FILE = str(tmp_path / "signing-key")

    with pytest.raises(ImproperlyConfigured, match="not both"):
        keys.signing_key()


@pytest.mark.parametrize("setting", ["DEBUG", "CERTIFICATE_SIGNING_KEY_AUTOGENERATE"])
def test_development_key_is_created_once_owner_only(no_key, setting):
    setattr(no_key, setting, True)
    path = no_key.BASE_DIR / "var" / "certificate-signing-key"

    first = keys.signing_key()
    keys.reset_cache()
    second = keys.signing_key()

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().strip() == keys.private_key_text(first)
    assert raw(second.public_key()) == raw(first.public_key())
    assert [p.name for p in path.parent.iterdir()] == ["certificate-signing-key"]


def test_known_public_keys_include_previous_ones(no_key):
    retired = signing.public_key_multibase(Ed25519PrivateKey.generate().public_key())
    no_key.CERTIFICATE_SIGNING_KEY = VECTOR_SEED_MULTIBASE
    no_key.CERTIFICATE_PREVIOUS_PUBLIC_KEYS = [retired]

    assert list(keys.known_public_keys()) == [VECTOR["publicKeyMultibase"], retired]

    no_key.CERTIFICATE_PREVIOUS_PUBLIC_KEYS = f" {retired} ,"  # as read from the environment

    assert list(keys.known_public_keys()) == [VECTOR["publicKeyMultibase"], retired]

    no_key.CERTIFICATE_PREVIOUS_PUBLIC_KEYS = ["z6MkNotAKey"]

    with pytest.raises(ImproperlyConfigured, match="CERTIFICATE_PREVIOUS_PUBLIC_KEYS"):
        keys.known_public_keys()


def test_command_prints_a_usable_key(no_key):
    out = StringIO()
    call_command("certificate_signing_key", stdout=out)
    lines = out.getvalue().splitlines()
    setting_line = next(line for line in lines if line.startswith("CERTIFICATE_SIGNING_KEY="))
    public = next(line for line in lines if line.startswith("Public key")).rsplit(" ", 1)[1]

    no_key.CERTIFICATE_SIGNING_KEY = setting_line.split("=", 1)[1]

    assert signing.public_key_multibase(keys.signing_key().public_key()) == public
    assert "in the environment" in out.getvalue()


def test_command_writes_an_owner_only_file_and_will_not_overwrite_it(no_key, tmp_path):
    path = tmp_path / "secrets" / "signing-key"
    call_command("certificate_signing_key", "--file", str(path), stdout=StringIO())
    written = path.read_text()

    no_key.CERTIFICATE_SIGNING_KEY_FILE = str(path)

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert keys.private_key_text(keys.signing_key()) == written.strip()
    with pytest.raises(CommandError, match="already exists; pass --force"):
        call_command("certificate_signing_key", "--file", str(path), stdout=StringIO())
    assert path.read_text() == written

    call_command("certificate_signing_key", "--file", str(path), "--force", stdout=StringIO())

    assert path.read_text() != written
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["signing-key"]
