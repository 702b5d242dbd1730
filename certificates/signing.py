"""Sign and verify Open Badges 3.0 credentials with Data Integrity proofs (eddsa-rdfc-2022).

A pure library: no models, no settings. :mod:`certificates.keys` supplies the keys.

The algorithm is W3C "Data Integrity EdDSA Cryptosuites v1.0", section 3.3: the proof
options (the proof without ``proofValue``, given the credential's ``@context``) and the
credential without its proof are each canonicalized to RDFC-1.0 N-Quads and hashed with
SHA-256; the Ed25519 signature covers the two hashes, options first.

Canonicalization goes through PyLD's public API only: ``jsonld.expand``, ``jsonld.to_rdf``
and ``jsonld.normalize`` (URDNA2015, which is RDFC-1.0). JSON-LD contexts are served only
from the copies in ``certificates/jsonld/``: nothing is fetched from the network, so a
credential that names any other context cannot be read. On top of the standard processing,
canonicalization refuses what would silently drop content from the signed form (terms the
contexts do not define, relative IRIs) – PyLD has no "safe mode" of its own – and refuses
blank-node structures that would make RDFC-1.0 run for hours (see
:func:`refuse_costly_blank_nodes`).
"""

import copy
import functools
import hashlib
import json
import logging
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import base58
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.utils.translation import gettext
from pyld import jsonld

logger = logging.getLogger(__name__)

CREDENTIALS_V2 = "https://www.w3.org/ns/credentials/v2"
OPEN_BADGES_V3 = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
DATA_INTEGRITY_V2 = "https://w3id.org/security/data-integrity/v2"
MULTIKEY_V1 = "https://w3id.org/security/multikey/v1"
DID_V1 = "https://www.w3.org/ns/did/v1"

#: The only contexts a document may use, each read from ``certificates/jsonld/``.
CONTEXT_FILES = {
    CREDENTIALS_V2: "credentials-v2.json",
    OPEN_BADGES_V3: "ob-v3p0-3.0.3.json",
    DATA_INTEGRITY_V2: "data-integrity-v2.json",
    MULTIKEY_V1: "multikey-v1.json",
    DID_V1: "did-v1.json",
}
_CONTEXTS_DIR = Path(__file__).resolve().parent / "jsonld"

PROOF_TYPE = "DataIntegrityProof"
CRYPTOSUITE = "eddsa-rdfc-2022"
PROOF_PURPOSE = "assertionMethod"

#: Documents larger than this (as JSON) are not verified: canonicalizing them would tie up
#: a worker, and a certificate is a few kilobytes (tens with an embedded image).
MAX_VERIFY_BYTES = 1024 * 1024

# Ed25519 multicodec prefix of a Multikey public key (varint 0xed).
_ED25519_PUB_MULTICODEC = b"\xed\x01"
# base58 decoding is quadratic: refuse long strings before decoding them.
_MAX_MULTIBASE_CHARS = 200
# PyLD's own test for an absolute IRI, so that we refuse exactly what it would drop.
_ABSOLUTE_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:\S*$")
_NQUADS = "application/n-quads"


class UnknownContextError(ValueError):
    """A document named a JSON-LD context that this service does not ship."""

    def __init__(self, url):
        self.url = url
        super().__init__(
            f"The JSON-LD context {url!r} is not one of the contexts this service ships "
            f"({', '.join(CONTEXT_FILES)}); it is never fetched from the network."
        )


class CanonicalizationError(ValueError):
    """A document that cannot be canonicalized safely; the message says why."""


@dataclass(frozen=True)
class Verification:
    ok: bool
    reason: str


# --- JSON-LD contexts ------------------------------------------------------------------


@functools.cache
def _contexts() -> dict[str, dict]:
    return {
        url: json.loads((_CONTEXTS_DIR / name).read_text(encoding="utf-8"))
        for url, name in CONTEXT_FILES.items()
    }


def load_document(url: str, options: dict | None = None) -> dict:
    """PyLD document loader that serves only :data:`CONTEXT_FILES` and never the network."""
    contexts = _contexts()
    if url not in contexts:
        raise UnknownContextError(url)
    return {
        "contentType": "application/ld+json",
        "contextUrl": None,
        "documentUrl": url,
        # PyLD may rewrite a context in place; hand it a copy of ours.
        "document": copy.deepcopy(contexts[url]),
    }


def _context_resolver() -> jsonld.ContextResolver:
    """A PyLD ``ContextResolver`` (documented in PyLD's README) of our own.

    PyLD's default keeps contexts in a process-wide cache, under their URLs, where another
    loader in the process could put its own version of one of ours. Ours loads only through
    :func:`load_document` and keeps what it has processed for as long as it is used.
    """
    return jsonld.ContextResolver({}, load_document)


class ContextsForSigning:
    """One resolver for the documents this service signs, reused from one to the next.

    Reused as PyLD's README shows, a resolver keeps the contexts it has processed, which
    spares most of the work of expanding the next credential. Those documents name only the
    shipped contexts, whose scoped contexts are a fixed few, so what it keeps stays small;
    should a caller sign documents with inline contexts of their own, a new resolver starts
    once its cache holds more than ``max_contexts``. The lock is there because processed
    contexts are not safe to share between threads (threaded web or Celery workers).

    :func:`sign` uses one of its own; ``resolver`` (the PyLD ``ContextResolver`` in use) and
    ``cache`` (what it has processed) are there to be read.
    """

    def __init__(self, *, max_contexts: int):
        self.max_contexts = max_contexts
        self.lock = threading.Lock()
        self._start_afresh()

    def canonicalize(self, document: dict) -> str:
        """:func:`canonicalize`, through the resolver kept for signing."""
        with self.lock:
            if len(self.cache) > self.max_contexts:
                self._start_afresh()
            return _canonicalize_with(document, resolver=self.resolver)

    def _start_afresh(self) -> None:
        self.cache: dict = {}
        self.resolver = jsonld.ContextResolver(self.cache, load_document)


_for_signing = ContextsForSigning(max_contexts=256)


# --- Canonicalization ------------------------------------------------------------------


def canonicalize(document: dict) -> str:
    """Return the RDFC-1.0 (URDNA2015) canonical N-Quads of a JSON-LD ``document``.

    For any document, such as one a verifier is handed: its contexts are processed for this
    call alone, so nothing of it stays in memory.

    Raises :class:`CanonicalizationError` (a ``ValueError``) for a document that names an
    unknown context, is not valid JSON-LD, would lose content in the conversion, or whose
    blank nodes would be too costly to order.
    """
    return _canonicalize_with(document, resolver=_context_resolver())


def _canonicalize_with(document: dict, *, resolver: jsonld.ContextResolver) -> str:
    return _canonical_nquads(_rdf_dataset(document, resolver=resolver))


def _rdf_dataset(document: dict, *, resolver: jsonld.ContextResolver) -> dict:
    """Expand ``document`` and convert it to an RDF dataset, refusing any loss on the way."""
    options = {
        # No base IRI (the JSON-LD API's null): relative IRIs stay relative, and are refused.
        "base": None,
        "documentLoader": load_document,
        "contextResolver": resolver,
    }
    try:
        # Expand first on our own, to hear about every dropped term and see every IRI.
        expanded = jsonld.expand(document, options, on_property_dropped=_refuse_dropped_term)
        _check_iris(expanded)
        return jsonld.to_rdf(expanded, options)
    except CanonicalizationError:
        raise
    except UnknownContextError as error:
        raise CanonicalizationError(str(error)) from error
    except jsonld.JsonLdError as error:
        raise CanonicalizationError(_jsonld_error_message(error)) from error
    except (TypeError, ValueError, KeyError, AttributeError, RecursionError) as error:
        # PyLD does not check every shape of input before using it.
        raise CanonicalizationError(f"Not valid JSON-LD ({type(error).__name__}).") from error


def _canonical_nquads(dataset: dict) -> str:
    """RDFC-1.0 of the dataset, by ``jsonld.normalize`` of its N-Quads, once it is safe to."""
    refuse_costly_blank_nodes(dataset)
    try:
        return jsonld.normalize(
            jsonld.JsonLdProcessor.to_nquads(dataset),
            {
                "algorithm": "URDNA2015",
                "inputFormat": _NQUADS,
                "format": _NQUADS,
                "documentLoader": load_document,
            },
        )
    except jsonld.JsonLdError as error:
        raise CanonicalizationError(_jsonld_error_message(error)) from error


def _refuse_dropped_term(term):
    raise CanonicalizationError(
        f"The term {term!r} is not defined by the document's @context, so it would be left "
        "out of the signed form."
    )


def _check_iris(node) -> None:
    """Refuse relative IRIs in expanded JSON-LD: RDF conversion drops them without a word."""
    if isinstance(node, list):
        for item in node:
            _check_iris(item)
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        if key == "@value":
            continue  # a literal, possibly a JSON object (@json): not JSON-LD inside
        if key in ("@id", "@type"):
            if key == "@type" and value == "@json":
                continue
            for iri in value if isinstance(value, list) else [value]:
                if not (
                    isinstance(iri, str) and (iri.startswith("_:") or _ABSOLUTE_IRI.match(iri))
                ):
                    raise CanonicalizationError(
                        f"{iri!r} is not an absolute IRI, so it would be left out of the "
                        "signed form."
                    )
        else:
            _check_iris(value)


def _jsonld_error_message(error: BaseException) -> str:
    """The most telling message in the chain of causes PyLD wraps around an error."""
    cause = error
    while cause is not None:
        if isinstance(cause, UnknownContextError | CanonicalizationError):
            return str(cause)
        cause = cause.__cause__ or cause.__context__
    innermost = error
    while isinstance(innermost.__cause__, jsonld.JsonLdError):
        innermost = innermost.__cause__
    return f"Not valid JSON-LD: {innermost.args[0] if innermost.args else innermost}"


# --- Blank nodes that would make RDFC-1.0 run for hours ----------------------------------
#
# RDFC-1.0 names each blank node after a hash of the quads it is in, with its own name
# replaced by "a" and every other blank node's by "z" (its "first-degree" hash). Where that
# hash is unique, as it is for every blank node of the documents we sign, the work is a
# pass over the quads and a sort. Only blank nodes that share their first-degree hash with
# another – that "look alike" – go through "Hash N-Degree Quads", the one step that is not
# bounded: it groups the blank nodes in the node's quads, tries every ordering of each group
# and recurses into those not yet named. A few hundred bytes of look-alike nodes linked to
# each other (a clique, or merely a chain of look-alike pairs) keep it busy for hours.
#
# The rule: look-alike blank nodes are accepted only when no other blank node is in any of
# their quads. For such a node, Hash N-Degree Quads finds nothing to order or recurse into
# and is one more pass over its quads, so the whole run stays a pass and a sort whatever the
# document. Look-alikes that are plain leaves – two identical alignments, say – still pass.
# The check runs on the RDF dataset of ``jsonld.to_rdf`` before ``jsonld.normalize`` sees it.


def _blank_node_quads(dataset: dict) -> dict[str, list[tuple]]:
    """Each blank node of ``dataset`` (the form ``jsonld.to_rdf`` returns) and its quads.

    A quad is (subject, predicate, object, graph name), the graph name ``None`` for the
    default graph; a quad that holds a node twice is listed twice, as RDFC-1.0 does.
    """
    quads_of: dict[str, list[tuple]] = {}
    for graph_name, triples in dataset.items():
        graph = None
        if graph_name != "@default":
            kind = "blank node" if graph_name.startswith("_:") else "IRI"
            graph = {"type": kind, "value": graph_name}
        for triple in triples:
            quad = (triple["subject"], triple["predicate"], triple["object"], graph)
            for node in _blank_nodes(quad):
                quads_of.setdefault(node, []).append(quad)
    return quads_of


def _blank_nodes(quad: tuple) -> Iterator[str]:
    """The blank nodes in the quad's subject, object and graph name, in that order."""
    for term in (quad[0], quad[2], quad[3]):
        if term is not None and term["type"] == "blank node":
            yield term["value"]


def _first_degree_view(quad: tuple, node: str) -> tuple:
    """The quad as ``node``'s first-degree hash sees it: itself "a", other blank nodes "z".

    Literals are told apart by their text alone, which is coarser than RDFC-1.0 (it also
    reads the datatype and language): whatever it cannot tell apart, neither can this.
    """

    def term(component):
        if component is None:
            return ("", "")
        if component["type"] == "blank node":
            return ("blank node", "a" if component["value"] == node else "z")
        return (component["type"], component["value"])

    subject, predicate, object_, graph = quad
    return (term(subject), predicate["value"], term(object_), term(graph))


def look_alike_blank_nodes(dataset: dict) -> set[str]:
    """The blank nodes of ``dataset`` that share their first-degree view with another."""
    return _look_alikes(_blank_node_quads(dataset))


def _look_alikes(quads_of: dict[str, list[tuple]]) -> set[str]:
    groups: dict[tuple, list[str]] = {}
    for node, quads in quads_of.items():
        view = tuple(sorted(_first_degree_view(quad, node) for quad in quads))
        groups.setdefault(view, []).append(node)
    return {node for nodes in groups.values() if len(nodes) > 1 for node in nodes}


def refuse_costly_blank_nodes(dataset: dict) -> None:
    """Raise :class:`CanonicalizationError` for a dataset whose look-alike blank nodes are
    linked to other blank nodes (see above): RDFC-1.0 could take hours to order them."""
    quads_of = _blank_node_quads(dataset)
    look_alike = _look_alikes(quads_of)
    tangled = {
        node
        for node in look_alike
        if any(other != node for quad in quads_of[node] for other in _blank_nodes(quad))
    }
    if tangled:
        raise CanonicalizationError(
            f"The document's blank nodes are too costly to order: {len(tangled)} of them look "
            "alike (the same statements but for their names) and are linked to other blank "
            "nodes."
        )


# --- Signing ---------------------------------------------------------------------------


def xsd_datetime(value: datetime | str) -> str:
    """An aware datetime as an XSD dateTime in UTC to the second; a string passes through."""
    if isinstance(value, str):
        return value
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("A naive datetime has no time zone; pass an aware one.")
    return value.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def _hash_data(proof_config_nquads: str, credential_nquads: str) -> bytes:
    """What the signature covers: the two canonical forms' SHA-256 hashes, options first."""
    return (
        hashlib.sha256(proof_config_nquads.encode()).digest()
        + hashlib.sha256(credential_nquads.encode()).digest()
    )


def _proof_config(unsecured: dict, proof_options: dict) -> dict:
    return {**proof_options, "@context": unsecured["@context"]}


def sign(
    credential: dict,
    *,
    private_key: Ed25519PrivateKey,
    verification_method: str,
    created: datetime | str,
    proof_purpose: str = PROOF_PURPOSE,
) -> dict:
    """Return a copy of ``credential`` with a DataIntegrityProof (eddsa-rdfc-2022) added.

    The proof is written as a set of one (``"proof": [{...}]``): Open Badges 3.0's JSON
    Schema wants an array, and VC Data Integrity reads one proof or a set alike (so does
    :func:`verify`, for documents signed with the proof as a single object).
    Ed25519 is deterministic: the same credential, key and options give the same proof.
    Raises ``ValueError`` for a credential that already has a proof or cannot be
    canonicalized (:class:`CanonicalizationError`).
    """
    if "proof" in credential:
        raise ValueError("The credential already has a proof.")
    if "@context" not in credential:
        raise ValueError("The credential has no @context.")
    proof = {
        "type": PROOF_TYPE,
        "cryptosuite": CRYPTOSUITE,
        "created": xsd_datetime(created),
        "verificationMethod": verification_method,
        "proofPurpose": proof_purpose,
    }
    unsecured = copy.deepcopy(credential)
    data = _hash_data(
        _for_signing.canonicalize(_proof_config(unsecured, proof)),
        _for_signing.canonicalize(unsecured),
    )
    signature = private_key.sign(data)
    proof["proofValue"] = "z" + base58.b58encode(signature).decode("ascii")
    return {**unsecured, "proof": [proof]}


def verify(
    document: dict, *, public_key_for: Callable[[str], Ed25519PublicKey | None]
) -> Verification:
    """Check the eddsa-rdfc-2022 proof of ``document``; never raises, whatever it is given.

    ``public_key_for`` maps the proof's ``verificationMethod`` to one of this service's
    public keys, or to ``None`` when it is not one of them.
    """
    try:
        problem = _problem(document, public_key_for)
    except Exception:  # hostile input must get an answer, not a server error
        logger.warning("Credential verification failed unexpectedly.", exc_info=True)
        problem = gettext("The file is not a JSON-LD credential we can read.")
    if problem:
        return Verification(ok=False, reason=problem)
    return Verification(ok=True, reason=gettext("The signature is valid."))


def _problem(document, public_key_for) -> str | None:
    """Why ``document`` does not verify, or ``None`` when it does."""
    if not isinstance(document, dict) or "@context" not in document:
        return gettext(
            "The file is not a JSON-LD credential: it is not a JSON object with @context."
        )
    try:
        size = len(json.dumps(document, allow_nan=False))
    except (TypeError, ValueError, RecursionError):
        return gettext("The file is not a JSON-LD credential: it is not plain JSON.")
    if size > MAX_VERIFY_BYTES:
        return gettext("The credential is too large to verify.")

    proof = document.get("proof")
    if proof is None:
        return gettext("The credential has no proof.")
    # A set of one proof, as :func:`sign` writes it, or the proof itself, as documents signed
    # before it wrote a set hold it: Data Integrity reads both alike.
    if isinstance(proof, list) and len(proof) == 1:
        proof = proof[0]
    if not isinstance(proof, dict):
        return gettext("The credential's proof is not a single proof object.")
    if proof.get("type") != PROOF_TYPE:
        return gettext("The proof's type is not DataIntegrityProof.")
    if proof.get("cryptosuite") != CRYPTOSUITE:
        return gettext("The proof's cryptosuite is not eddsa-rdfc-2022.")
    if proof.get("proofPurpose") != PROOF_PURPOSE:
        return gettext("The proof's purpose is not assertionMethod.")
    signature = _signature_bytes(proof.get("proofValue"))
    if signature is None:
        return gettext("The proof's value is not a base58btc Ed25519 signature.")
    method = proof.get("verificationMethod")
    if not isinstance(method, str) or not method:
        return gettext("The proof does not say which key signed it.")
    public_key = public_key_for(method)
    if public_key is None:
        return gettext("The signing key %(key)s is not one of this service's keys.") % {
            "key": method
        }
    return _signature_problem(document, proof, signature=signature, public_key=public_key)


def _signature_problem(
    document: dict, proof: dict, *, signature: bytes, public_key: Ed25519PublicKey
) -> str | None:
    """Why the signature does not cover the document's canonical form, or ``None``."""
    proof_options = {key: value for key, value in proof.items() if key != "proofValue"}
    proof_context = proof_options.pop("@context", None)
    if proof_context is not None and not _starts_with(document["@context"], proof_context):
        return gettext("The proof's @context does not match the credential's.")
    unsecured = {key: value for key, value in document.items() if key != "proof"}
    try:
        # A resolver for this verification alone, shared by its two canonical forms: nothing
        # of a document we are handed stays in memory once it is answered.
        resolver = _context_resolver()
        data = _hash_data(
            _canonicalize_with(_proof_config(unsecured, proof_options), resolver=resolver),
            _canonicalize_with(unsecured, resolver=resolver),
        )
    except CanonicalizationError as error:
        return gettext("The file is not a JSON-LD credential we can read.") + f" {error}"
    try:
        public_key.verify(signature, data)
    except InvalidSignature:
        return gettext(
            "The signature does not match: the credential was altered after it was signed."
        )
    return None


def _signature_bytes(proof_value) -> bytes | None:
    if not isinstance(proof_value, str) or not proof_value.startswith("z"):
        return None
    if len(proof_value) > _MAX_MULTIBASE_CHARS:
        return None
    try:
        signature = base58.b58decode(proof_value[1:])
    except ValueError:
        return None
    return signature if len(signature) == 64 else None


def _starts_with(context, prefix) -> bool:
    context = context if isinstance(context, list) else [context]
    prefix = prefix if isinstance(prefix, list) else [prefix]
    return context[: len(prefix)] == prefix


# --- Multikey --------------------------------------------------------------------------


def public_key_multibase(public_key: Ed25519PublicKey) -> str:
    """The Multikey ``publicKeyMultibase`` of an Ed25519 key: ``z`` + base58btc(0xed01 ‖ key)."""
    raw = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return "z" + base58.b58encode(_ED25519_PUB_MULTICODEC + raw).decode("ascii")


def public_key_from_multibase(value: str) -> Ed25519PublicKey:
    """Parse a Multikey ``publicKeyMultibase``; ``ValueError`` says what is wrong with it."""
    if not isinstance(value, str) or not value.startswith("z"):
        raise ValueError("An Ed25519 Multikey starts with 'z' (base58btc).")
    if len(value) > _MAX_MULTIBASE_CHARS:
        raise ValueError("The value is far too long for an Ed25519 Multikey.")
    try:
        decoded = base58.b58decode(value[1:])
    except ValueError as error:
        raise ValueError("The value is not base58btc.") from error
    if len(decoded) != 34 or not decoded.startswith(_ED25519_PUB_MULTICODEC):
        raise ValueError("The value is not an Ed25519 public key (0xed01 and 32 bytes).")
    return Ed25519PublicKey.from_public_bytes(decoded[2:])


def multikey_document(public_key: Ed25519PublicKey, *, key_id: str, controller: str) -> dict:
    """The Multikey verification method document that a ``verificationMethod`` resolves to."""
    return {
        "@context": MULTIKEY_V1,
        "id": key_id,
        "type": "Multikey",
        "controller": controller,
        "publicKeyMultibase": public_key_multibase(public_key),
    }
