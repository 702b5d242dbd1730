"""Sign and verify Open Badges 3.0 credentials with Data Integrity proofs (eddsa-rdfc-2022).

A pure library: no models, no settings. :mod:`certificates.keys` supplies the keys.

The algorithm is W3C "Data Integrity EdDSA Cryptosuites v1.0", section 3.3: the proof
options (the proof without ``proofValue``, given the credential's ``@context``) and the
credential without its proof are each canonicalized to RDFC-1.0 N-Quads and hashed with
SHA-256; the Ed25519 signature covers the two hashes, options first.

JSON-LD contexts are served only from the copies in ``certificates/jsonld/``: nothing is
fetched from the network, so a credential that names any other context cannot be read. On
top of the standard processing, canonicalization refuses what would silently drop content
from the signed form (terms the contexts do not define, relative IRIs) – PyLD has no "safe
mode" of its own – and refuses blank-node structures built to make RDFC-1.0 run for hours.
"""

import copy
import functools
import hashlib
import json
import logging
import math
import re
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import base58
from cachetools import LRUCache
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.utils.translation import gettext
from pyld import jsonld
from pyld.canon import URDNA2015
from pyld.context_resolver import ContextResolver

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
# Orderings of look-alike blank nodes that canonicalization may try (see _BoundedURDNA2015).
_MAX_BLANK_NODE_ORDERINGS = 20_000


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
        # "static" lets PyLD keep the processed context between calls (3x faster).
        "tag": "static",
    }


# Processed contexts kept between calls; our own cache, so no other loader in the process
# can put a context under one of our URLs. The lock is there because cachetools caches are
# not thread-safe (threaded web or Celery workers).
_resolved_contexts = LRUCache(maxsize=100)
_canonicalize_lock = threading.Lock()


# --- Canonicalization ------------------------------------------------------------------


class _BoundedURDNA2015(URDNA2015):
    """RDFC-1.0 that gives up when ordering the blank nodes would take too many steps.

    Only "hash N-degree quads" is super-linear: it tries every ordering of each group of
    look-alike blank nodes. Real credentials have none or a few; "poison" graphs, a few
    hundred bytes long, would keep a worker busy for hours.
    """

    def __init__(self):
        super().__init__()
        self._orderings_tried = 0

    def create_hash_to_related(self, id_, issuer):
        hash_to_related = super().create_hash_to_related(id_, issuer)
        self._orderings_tried += 1 + sum(
            math.factorial(min(len(nodes), 20)) for nodes in hash_to_related.values()
        )
        if self._orderings_tried > _MAX_BLANK_NODE_ORDERINGS:
            raise CanonicalizationError("The document's blank nodes are too costly to order.")
        return hash_to_related


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


def canonicalize(document: dict) -> str:
    """Return the RDFC-1.0 (URDNA2015) canonical N-Quads of a JSON-LD ``document``.

    Raises :class:`CanonicalizationError` (a ``ValueError``) for a document that names an
    unknown context, is not valid JSON-LD, or would lose content in the conversion.
    """
    return _canonicalize(document, learn=False)


def _canonicalize(document: dict, *, learn: bool) -> str:
    """Through the template of the document's shape when there is one (see below).

    ``learn``: make the template when there is none yet — for the documents we sign, which
    come in a few shapes; not for whatever a verifier is handed.
    """
    canonical = _shapes.canonicalize(document, learn=learn)
    return canonical if canonical is not None else _canonicalize_fully(document)


def _to_rdf(document: dict) -> dict:
    """Expand ``document`` and convert it to an RDF dataset, refusing any loss on the way."""
    options = {
        "base": None,  # relative IRIs stay relative (and are refused), as in jsonld.js
        "documentLoader": load_document,
        "contextResolver": ContextResolver(_resolved_contexts, load_document),
    }
    try:
        with _canonicalize_lock:
            # Expand first on our own, to hear about every dropped term.
            expanded = jsonld.expand(document, options, on_property_dropped=_refuse_dropped_term)
            _check_iris(expanded)
            # What jsonld.normalize() does, with a bounded RDFC-1.0 in place of PyLD's.
            return jsonld.to_rdf(expanded, {**options, "produceGeneralizedRdf": False})
    except CanonicalizationError:
        raise
    except UnknownContextError as error:
        raise CanonicalizationError(str(error)) from error
    except jsonld.JsonLdError as error:
        raise CanonicalizationError(_jsonld_error_message(error)) from error
    except (TypeError, ValueError, KeyError, AttributeError, RecursionError) as error:
        # PyLD does not check every shape of input before using it.
        raise CanonicalizationError(f"Not valid JSON-LD ({type(error).__name__}).") from error


def _canonicalize_fully(document: dict) -> str:
    return _canonical_nquads(_to_rdf(document))


def _canonical_nquads(dataset: dict) -> str:
    try:
        return _BoundedURDNA2015().main(dataset, {"format": "application/n-quads"})
    except CanonicalizationError:
        raise
    except (TypeError, ValueError, KeyError, AttributeError, RecursionError) as error:
        raise CanonicalizationError(f"Not valid JSON-LD ({type(error).__name__}).") from error


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


# --- Documents of a known shape --------------------------------------------------------
#
# Expanding JSON-LD and converting it to RDF is nearly all the cost of canonicalizing (about
# 10 ms a credential with PyLD, against 1 ms for RDFC-1.0 itself). Yet the credentials we
# sign all have the same few shapes: the same keys, types and contexts, only the strings
# differ. So the dataset of each shape is made once, from a copy of the document whose
# strings are replaced by unique placeholder IRIs, and each document of that shape gets the
# dataset with its own strings put in the placeholders' places; RDFC-1.0 then labels and
# orders it as usual. That gives exactly the full algorithm's result, because:
#
# - what the contexts do to a string depends only on where it stands (its key and the types
#   around it, all part of the shape), except in IRI positions, where a compact IRI, a term
#   or a relative IRI would be expanded: there a string is put in only if it is an absolute
#   IRI whose scheme is no term of any context we ship, like the placeholder it replaces;
#   any other string there (a term such as "assertionMethod") becomes part of the shape,
#   whose own template keeps it;
# - keys, types, ``@context`` and other keywords, numbers and booleans are the shape itself;
# - two strings naming the same IRI make one node, as in the full algorithm: the quads they
#   share are kept once;
# - a placeholder that the conversion changed (lower-cased, put inside a JSON literal,
#   dropped) makes the shape unfit for templates, and documents of that shape take the full
#   path; so does a shape whose first document does not give the full algorithm's result.

_PLACEHOLDER_PREFIX = f"urn:X-Slot-{secrets.token_hex(6)}:"
_TEMPLATE_SHAPES = 64  # a few hundred kilobytes each at most
_UNFIT = object()  # the shape's documents take the full path


def _is_structural(key: str) -> bool:
    """Keys whose value is part of a document's shape, not a string to put in a slot."""
    return key == "type" or (key.startswith("@") and key not in ("@id", "@value"))


class _Slot:
    __slots__ = ("index",)

    def __init__(self, index: int):
        self.index = index


def _shape_of(document, keep: frozenset = frozenset()) -> tuple[tuple, list[str]]:
    """A hashable key of the document's shape, and its strings in document order.

    Strings whose index is in ``keep`` stay part of the shape.
    """
    strings: list[str] = []

    def key(node):
        if isinstance(node, dict):
            return (
                "{",
                tuple(
                    (name, ("=", _frozen(value)) if _is_structural(name) else key(value))
                    for name, value in sorted(node.items())
                ),
            )
        if isinstance(node, list):
            return ("[", tuple(key(item) for item in node))
        if isinstance(node, str):
            strings.append(node)
            index = len(strings) - 1
            return ("s", node) if index in keep else ("slot", index)
        return ("=", _frozen(node))

    return key(document), strings


def _frozen(value):
    """A hashable, type-exact copy of a JSON value (so that 1, 1.0 and true differ)."""
    if isinstance(value, dict):
        return ("{", tuple(sorted((name, _frozen(item)) for name, item in value.items())))
    if isinstance(value, list):
        return ("[", tuple(_frozen(item) for item in value))
    return (type(value).__name__, value)


def _with_placeholders(document, keep: frozenset):
    """The document with each string, but those kept, replaced by its placeholder IRI.

    Walks the document in the same order as :func:`_shape_of`, so indexes agree.
    """
    counter = iter(range(10**9))

    def walk(node):
        if isinstance(node, dict):
            return {
                name: value if _is_structural(name) else walk(value)
                for name, value in sorted(node.items())
            }
        if isinstance(node, list):
            return [walk(item) for item in node]
        if isinstance(node, str):
            index = next(counter)
            return node if index in keep else f"{_PLACEHOLDER_PREFIX}{index}"
        return node

    return walk(document)


@functools.cache
def _context_terms() -> frozenset[str]:
    """Every term any shipped context defines, at any depth (scoped contexts too)."""
    terms = set()

    def collect(node):
        if isinstance(node, dict):
            for name, value in node.items():
                if name == "@context" and isinstance(value, dict):
                    terms.update(term for term in value if not term.startswith("@"))
                collect(value)
        elif isinstance(node, list):
            for item in node:
                collect(item)

    for context in _contexts().values():
        collect(context)
    return frozenset(terms)


def _stays_as_is_in_iri_position(value: str) -> bool:
    """An absolute IRI that no context could rewrite (not a term, no term as its scheme)."""
    if not _ABSOLUTE_IRI.match(value) or value.startswith("_:"):
        return False
    terms = _context_terms()
    return value not in terms and value.split(":", 1)[0] not in terms


class _NotTemplatable(Exception):
    """A shape whose documents cannot go through a template; the message says why."""


_POSITIONS = ("subject", "predicate", "object")


class _Template:
    """A shape's RDF dataset, with slots where the document's strings go."""

    def __init__(self, dataset: dict, strings: int, keep: frozenset):
        #: Per graph, its triples: for each position, (index of the string or None, component).
        self.graphs: list[tuple[str, list[tuple]]] = []
        self.iri_slots: set[int] = set()
        found: set[int] = set()
        for graph_name, triples in dataset.items():
            if _PLACEHOLDER_PREFIX in graph_name:
                raise _NotTemplatable("a string names a graph")
            rows = []
            for triple in triples:
                row = []
                for position in _POSITIONS:
                    component = triple[position]
                    index = _placeholder_index(component)
                    if index is not None:
                        if position == "predicate":
                            raise _NotTemplatable("a string became a predicate")
                        if component["type"] == "IRI":
                            self.iri_slots.add(index)
                        found.add(index)
                    row.append((index, component))
                rows.append(tuple(row))
            self.graphs.append((graph_name, rows))
        if found != set(range(strings)) - keep:
            raise _NotTemplatable("a string is not in the dataset as it was written")

    def unfit_strings(self, strings: list[str]) -> frozenset[int]:
        """Strings in IRI positions that a context might rewrite: not for this template."""
        return frozenset(
            index for index in self.iri_slots if not _stays_as_is_in_iri_position(strings[index])
        )

    def dataset(self, strings: list[str]) -> dict:
        """The document's dataset: new quads (RDFC-1.0 changes them), each one once."""
        dataset = {}
        for graph_name, rows in self.graphs:
            triples, seen = [], set()
            for row in rows:
                triple = {
                    position: dict(component)
                    if index is None
                    else {**component, "value": strings[index]}
                    for position, (index, component) in zip(_POSITIONS, row, strict=True)
                }
                identity = tuple(tuple(sorted(part.items())) for part in triple.values())
                if identity not in seen:  # two slots held the same IRI: one node, merged
                    seen.add(identity)
                    triples.append(triple)
            dataset[graph_name] = triples
        return dataset


def _placeholder_index(component: dict) -> int | None:
    """The index of the string whose placeholder is this component's value, unchanged."""
    value = component["value"]
    others = [str(item) for name, item in component.items() if name != "value"]
    if any(_PLACEHOLDER_PREFIX in item for item in others):
        raise _NotTemplatable("a string was changed on its way to RDF")
    if not value.startswith(_PLACEHOLDER_PREFIX):
        if _PLACEHOLDER_PREFIX in value:
            raise _NotTemplatable("a string was changed on its way to RDF")
        return None
    index = value[len(_PLACEHOLDER_PREFIX) :]
    if not index.isdigit() or component["type"] not in ("IRI", "literal"):
        raise _NotTemplatable("a string was changed on its way to RDF")
    return int(index)


class _ShapeTemplates:
    """The templates of the shapes seen so far (a bounded number), shared by threads."""

    def __init__(self, size: int):
        self._templates = LRUCache(maxsize=size)
        self._lock = threading.Lock()

    def canonicalize(self, document: dict, *, learn: bool) -> str | None:
        """The canonical N-Quads through the shape's template; None for the full path."""
        keep = frozenset()
        for _attempt in range(2):
            key, strings = _shape_of(document, keep)
            with self._lock:
                template = self._templates.get(key)
            if template is None:
                if not learn:
                    return None
                template = self._learn(key, document, keep, strings)
            if template is _UNFIT:
                return None
            unfit = template.unfit_strings(strings)
            if not unfit:
                return _canonical_nquads(template.dataset(strings))
            # Strings a context rewrites (e.g. "assertionMethod", a term) are part of the
            # shape: the next attempt looks for the template that keeps them.
            keep = unfit
        return None

    def _learn(self, key, document: dict, keep: frozenset, strings: list[str]):
        try:
            template = _Template(_to_rdf(_with_placeholders(document, keep)), len(strings), keep)
        except (CanonicalizationError, _NotTemplatable) as error:
            logger.info("Documents of this shape are canonicalized fully: %s", error)
            template = _UNFIT
        # The first document of a shape goes both ways, which must agree (a
        # CanonicalizationError here is the document's own fault, and tells what it is).
        if (
            template is not _UNFIT
            and not template.unfit_strings(strings)
            and _canonical_nquads(template.dataset(strings)) != _canonicalize_fully(document)
        ):
            logger.warning("A canonicalization template disagreed; its shape goes fully.")
            template = _UNFIT
        with self._lock:
            self._templates[key] = template
        return template


_shapes = _ShapeTemplates(_TEMPLATE_SHAPES)


# --- Signing ---------------------------------------------------------------------------


def xsd_datetime(value: datetime | str) -> str:
    """An aware datetime as an XSD dateTime in UTC to the second; a string passes through."""
    if isinstance(value, str):
        return value
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("A naive datetime has no time zone; pass an aware one.")
    return value.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def _hash_data(unsecured: dict, proof_options: dict, *, learn: bool = False) -> bytes:
    proof_config = {**proof_options, "@context": unsecured["@context"]}
    return (
        hashlib.sha256(_canonicalize(proof_config, learn=learn).encode()).digest()
        + hashlib.sha256(_canonicalize(unsecured, learn=learn).encode()).digest()
    )


def sign(
    credential: dict,
    *,
    private_key: Ed25519PrivateKey,
    verification_method: str,
    created: datetime | str,
    proof_purpose: str = PROOF_PURPOSE,
) -> dict:
    """Return a copy of ``credential`` with a DataIntegrityProof (eddsa-rdfc-2022) added.

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
    signature = private_key.sign(_hash_data(unsecured, proof, learn=True))
    proof["proofValue"] = "z" + base58.b58encode(signature).decode("ascii")
    return {**unsecured, "proof": proof}


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

    proof_options = {key: value for key, value in proof.items() if key != "proofValue"}
    proof_context = proof_options.pop("@context", None)
    if proof_context is not None and not _starts_with(document["@context"], proof_context):
        return gettext("The proof's @context does not match the credential's.")
    unsecured = {key: value for key, value in document.items() if key != "proof"}
    try:
        data = _hash_data(unsecured, proof_options)
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
