"""Each certificate as an Open Badges 3.0 ``OpenBadgeCredential`` (W3C VC 2.0), signed.

The credential is signed with the service's Ed25519 key (``DataIntegrityProof``, cryptosuite
``eddsa-rdfc-2022``); its issuer is the institution's profile, served with the public key at
a stable URL; its achievement is aligned to the CASE items of the certified competencies;
and its ``credentialStatus`` points into a ``BitstringStatusList`` that the same institution
issues, so a verifier learns of a revocation without asking about each certificate, from the
issuer it already trusts for the credential.

Every IRI here is built by :func:`lms.links.absolute_url`, from the site's one public address.
"""

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, time

from django.core.cache import cache
from django.db.models import Count, Max, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from certificates import keys, signing, status_list
from certificates.links import site_url
from certificates.models import STATUS_LIST_SIZE, Certificate, CertificateState
from lms.links import page_url

VC_CONTEXT = signing.CREDENTIALS_V2
OB_CONTEXT = signing.OPEN_BADGES_V3
#: Defines ``verificationMethod`` and ``assertionMethod``, which the issuer profile and the
#: keys document list (neither the VC nor the Open Badges context does).
DID_CONTEXT = signing.DID_V1
MULTIKEY_CONTEXT = signing.MULTIKEY_V1
#: The date a status list with no revocation yet says it is valid from.
STATUS_LISTS_START = datetime(2026, 1, 1, tzinfo=UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def issuer_id(institution) -> str:
    return site_url(reverse("certificates:issuer", args=[institution.uuid]))


def verification_method(institution) -> str:
    return (
        f"{issuer_id(institution)}#{signing.public_key_multibase(keys.signing_key().public_key())}"
    )


def status_list_url(institution, list_number: int) -> str:
    """The institution's status list that its certificates' bits ``list_number × 131,072``
    onwards are in."""
    return site_url(
        reverse("certificates:issuer_status_list", args=[institution.uuid, list_number])
    )


def service_status_list_url(list_number: int) -> str:
    """The list every institution's certificates shared before each institution issued its
    own: credentials signed then point here (docs/decisions/0006)."""
    return site_url(reverse("certificates:status_list", args=[list_number]))


def credential_url(certificate: Certificate) -> str:
    return site_url(reverse("certificates:credential", args=[certificate.uuid]))


def credential_build(*, certificate: Certificate) -> dict:
    """The unsigned OpenBadgeCredential of the certificate's current version."""
    list_number, position = divmod(certificate.status_list_index, STATUS_LIST_SIZE)
    credential = {
        "@context": [VC_CONTEXT, OB_CONTEXT],
        "id": credential_url(certificate),
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {
            "id": issuer_id(certificate.institution),
            "type": ["Profile"],
            "name": certificate.institution_name,
            "url": site_url("/"),
        },
        "validFrom": _iso(certificate.issued_at),
        "name": certificate.course_title,
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "identifier": [
                {
                    "type": "IdentityObject",
                    "identityHash": certificate.holder_name,
                    "identityType": "name",
                    "hashed": False,
                }
            ],
            "achievement": _achievement(certificate),
        },
        "credentialStatus": status_list.status_entry(
            list_url=status_list_url(certificate.institution, list_number), index=position
        ),
    }
    if certificate.valid_until:
        end = datetime.combine(certificate.valid_until, time(23, 59, 59), tzinfo=UTC)
        credential["validUntil"] = _iso(end)
    return credential


def _achievement(certificate: Certificate) -> dict:
    """The course's certificate as an OB 3.0 Achievement, aligned to the certified CASE items."""
    course_url = page_url(certificate.course) or site_url("/")
    alignments = [
        {
            "type": ["Alignment"],
            "targetName": f"{item['code']} {item['statement']}".strip(),
            "targetUrl": item["uri"],
            "targetCode": item["code"] or item["identifier"],
            "targetDescription": _("Level reached: %s") % item["level"],
            "targetFramework": f"{item['framework']} {item['framework_version']}".strip(),
            "targetType": "CFItem",
        }
        for item in certificate.competencies
    ]
    achievement = {
        "id": f"{course_url}#certificate-{certificate.course_version}",
        "type": ["Achievement"],
        "achievementType": "Certificate",
        "name": certificate.course_title,
        "description": _("Certificate of %(course)s, awarded by %(institution)s.")
        % {"course": certificate.course_title, "institution": certificate.institution_name},
        "criteria": {
            "narrative": _(
                "Awarded when the learner has met the course's criteria set by the institution."
            )
        },
        "humanCode": certificate.display_code,
    }
    if alignments:
        achievement["alignment"] = alignments
    return achievement


def credential_build_signed(*, certificate: Certificate) -> dict:
    return signing.sign(
        credential_build(certificate=certificate),
        private_key=keys.signing_key(),
        verification_method=verification_method(certificate.institution),
        created=timezone.now().replace(microsecond=0),
    )


def _in_list(certificates: QuerySet, list_number: int) -> QuerySet:
    return certificates.filter(
        status_list_index__gte=list_number * STATUS_LIST_SIZE,
        status_list_index__lt=(list_number + 1) * STATUS_LIST_SIZE,
    )


def status_list_in_use(*, institution, list_number: int) -> bool:
    """Whether some certificate of the institution is a bit of this list (only those exist)."""
    return (
        list_number >= 0
        and _in_list(Certificate.objects.filter(institution=institution), list_number).exists()
    )


def service_status_list_in_use(*, list_number: int) -> bool:
    """Whether some certificate is a bit of this list of the service's."""
    return list_number >= 0 and _in_list(Certificate.objects.all(), list_number).exists()


def status_list_credential(*, institution, list_number: int) -> dict:
    """The institution's signed ``BitstringStatusListCredential`` of one list.

    Its issuer is the institution, as in the credentials whose status it holds: Bitstring
    Status List v1.0 lets the two issuers differ, but a verifier must trust both, and common
    verifiers (Digital Bazaar's among them) refuse a list whose issuer is not the credential's
    unless told otherwise.
    """
    return _signed_status_list(
        revoked=_in_list(
            Certificate.objects.filter(institution=institution, state=CertificateState.REVOKED),
            list_number,
        ),
        list_number=list_number,
        url=status_list_url(institution, list_number),
        issuer={"id": issuer_id(institution), "name": institution.name},
        verification_method=verification_method(institution),
    )


def service_status_list_credential(*, list_number: int) -> dict:
    """The service's signed list of every institution's certificates, which credentials
    signed before each institution issued its own point to (docs/decisions/0006).

    Its issuer is the service's keys document, the controller of the key that signs it; the
    recommendation allows a list's issuer to differ from the credential's.
    """
    return _signed_status_list(
        revoked=_in_list(Certificate.objects.filter(state=CertificateState.REVOKED), list_number),
        list_number=list_number,
        url=service_status_list_url(list_number),
        issuer=service_issuer_id(),
        verification_method=service_verification_method(),
    )


def _signed_status_list(
    *, revoked: QuerySet, list_number: int, url: str, issuer, verification_method: str
) -> dict:
    """A status list signed, rebuilt when a revocation lands.

    Kept in the cache under the list's URL and the state of its revocations (how many, the
    latest), so a revocation needs nothing cleared: the next request finds no list for the
    new state.
    """
    state = revoked.aggregate(n=Count("pk"), last=Max("revoked_at"))
    last = state["last"].timestamp() if state["last"] else 0
    cache_key = f"certificates:status-list:{url}:{state['n']}:{last}"
    cached = cache.get(cache_key)
    if cached is not None:
        return json.loads(cached)
    low = list_number * STATUS_LIST_SIZE
    positions = [index - low for index in revoked.values_list("status_list_index", flat=True)]
    unsigned = status_list.status_list_credential(
        list_url=url,
        issuer=issuer,
        encoded_list=status_list.encode(positions, length=STATUS_LIST_SIZE),
        valid_from=state["last"] or STATUS_LISTS_START,
    )
    signed = signing.sign(
        unsigned,
        private_key=keys.signing_key(),
        verification_method=verification_method,
        created=timezone.now().replace(microsecond=0),
    )
    cache.set(cache_key, json.dumps(signed), timeout=3600)
    return signed


def service_issuer_id() -> str:
    """The service itself, as the controller of its keys: the keys document's URL."""
    return site_url(reverse("certificates:keys"))


def service_verification_method() -> str:
    return service_issuer_id() + "#" + signing.public_key_multibase(keys.signing_key().public_key())


def _verification_methods(controller: str) -> list[dict]:
    """The Multikey documents of the keys that verify: the current one, then retired ones."""
    return [
        signing.multikey_document(
            public_key, key_id=f"{controller}#{multibase}", controller=controller
        )
        for multibase, public_key in keys.known_public_keys().items()
    ]


def issuer_profile(institution) -> dict:
    """The institution's issuer profile, with the public key(s) its credentials verify with.

    It is also the controller document of those keys (W3C Controlled Identifiers): each
    method's ``controller`` is the profile's ``id``, and ``assertionMethod`` lists them.
    """
    methods = _verification_methods(issuer_id(institution))
    return {
        "@context": [VC_CONTEXT, OB_CONTEXT, DID_CONTEXT, MULTIKEY_CONTEXT],
        "id": issuer_id(institution),
        "type": ["Profile"],
        "name": institution.name,
        "url": site_url("/"),
        "verificationMethod": methods,
        "assertionMethod": [method["id"] for method in methods],
    }


def keys_document() -> dict:
    """The service's own keys: the controller document of the key that signs its status
    lists (:func:`service_status_list_credential`)."""
    methods = _verification_methods(service_issuer_id())
    return {
        "@context": [DID_CONTEXT, MULTIKEY_CONTEXT],
        "id": service_issuer_id(),
        "verificationMethod": methods,
        "assertionMethod": [method["id"] for method in methods],
    }


# --- Checking an uploaded credential -----------------------------------------------------------


@dataclass(frozen=True)
class CredentialCheck:
    """What an uploaded credential file turned out to be.

    ``status``: valid / expired / revoked (authentic, with our record's status), tampered
    (the signature does not hold: altered, or not signed by us), unknown (signed by us, but
    no certificate of ours has its id), unreadable (not a credential at all).
    """

    status: str
    message: str
    certificate: Certificate | None = None
    #: Authentic, but an earlier version: the certificate was re-issued since.
    superseded: bool = False


def _public_key_for(verification_method_id: str):
    """Our keys only: a credential signed by anyone else is not ours to vouch for."""
    if "#" not in verification_method_id:
        return None
    return keys.known_public_keys().get(verification_method_id.rsplit("#", 1)[1])


def _unsigned(document: dict) -> dict:
    return {key: value for key, value in document.items() if key != "proof"}


def credential_check(document) -> CredentialCheck:
    """Check a credential file: signature, then our record of it, status and expiry."""
    if not isinstance(document, dict) or "@context" not in document:
        return CredentialCheck(
            "unreadable",
            _("The file is not a credential: a credential is a JSON object with an @context."),
        )
    result = signing.verify(document, public_key_for=_public_key_for)
    if not result.ok:
        return CredentialCheck("tampered", result.reason)
    credential_id = str(document.get("id", ""))
    uuid_part = credential_id.rstrip("/").rsplit("/", 1)[-1]
    certificate = (
        Certificate.objects.filter(uuid=uuid_part).first() if _is_uuid(uuid_part) else None
    )
    if certificate is None:
        return CredentialCheck(
            "unknown", _("The signature is ours, but no certificate of ours has this id.")
        )
    superseded = bool(certificate.credential) and _unsigned(certificate.credential) != _unsigned(
        document
    )
    if certificate.is_revoked:
        return CredentialCheck(
            "revoked",
            _(
                "The credential is authentic, but the certificate was revoked on %(date)s: "
                "%(reason)s"
            )
            % {
                "date": date_format(timezone.localtime(certificate.revoked_at).date()),
                "reason": certificate.revocation_reason,
            },
            certificate,
            superseded,
        )
    valid_until = document.get("validUntil")
    if certificate.is_expired() or (
        isinstance(valid_until, str) and valid_until < _iso(timezone.now())
    ):
        return CredentialCheck(
            "expired",
            _("The credential is authentic, but it has expired."),
            certificate,
            superseded,
        )
    return CredentialCheck(
        "valid", _("The credential is authentic and valid."), certificate, superseded
    )


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
