"""Certificates in the JSON API (/api/v1/…).

- ``GET /verify/{code}``: anyone, no key; the minimal public facts; rate-limited per client.
- ``POST /verify``: many codes at once, for an institution's API key or a logged-in regulator.
- ``GET /learners/{external_id}/certificates``: an institution's certificates of one of its
  learners (by the external id it gave them), with links to the PDF and signed credential.
"""

from typing import Annotated

from django.http import JsonResponse
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from ninja import Router, Schema
from ninja.errors import HttpError
from ninja.responses import Status
from pydantic import ConfigDict, Field
from wagtail import hooks

from certificates import credentials, links, selectors, services, verification_cache, views
from certificates.permissions import may_verify_in_bulk
from certificates.verification import BULK_MAX_CODES, bulk_max_codes, bulk_rows
from lms import selectors as lms_selectors
from lms.api_auth import api_key_auth
from lms.api_common import ErrorOut, error_body

router = Router(tags=["certificates"])


class CompetencyOut(Schema):
    code: str
    statement: str
    level: str
    uri: str


class FrameworkOut(Schema):
    title: str
    version: str


class VerificationOut(Schema):
    code: str
    status: str = Field(description="valid, expired or revoked")
    holder_name: str
    course: str
    course_version: str
    institution: str
    issued_on: str
    valid_until: str | None
    revoked_on: str | None
    revocation_reason: str | None
    version: int
    renewed_by: str | None
    framework: FrameworkOut | None
    competencies: list[CompetencyOut]


class ProblemOut(ErrorOut):
    problem: str = Field(
        description="typo (fails the check symbol), unknown (nobody issued it) or rate (429)"
    )


#: Longer than any code as people type it (with spaces and dashes): longer is not a code.
CODE_MAX_LENGTH = 100


class BulkIn(Schema):
    model_config = ConfigDict(extra="forbid")

    # The cap is enforced by the endpoint, whose refusal names it (and the rate's own cap).
    codes: list[Annotated[str, Field(max_length=CODE_MAX_LENGTH)]] = Field(
        description=f"At most {BULK_MAX_CODES:,} codes.",
        json_schema_extra={"maxItems": BULK_MAX_CODES},
    )


class BulkRowOut(Schema):
    input: str
    code: str
    status: str = Field(description="valid, expired, revoked, typo or unknown")
    holder_name: str
    course: str
    institution: str
    issued_on: str
    valid_until: str
    revoked_on: str
    revocation_reason: str
    message: str


class BulkOut(Schema):
    results: list[BulkRowOut]


@router.get(
    "/verify/{code}",
    auth=None,
    response={200: VerificationOut, 404: ProblemOut, 429: ProblemOut},
    summary="Verify one certificate by its code",
    description="No authentication. Dashes, spaces, case and O/0, I/1 confusions are forgiven. "
    "A code that fails its check symbol is a `typo`; a well-formed code nobody issued is "
    "`unknown`. Rate-limited per client: 429 with Retry-After.",
)
def verify(request, code: str):
    result = services.certificate_verify(text=code, client=verification_cache.client_of(request))
    if result.limited:
        return views.too_many_json(retry_after=result.retry_after)
    if result.facts is None:
        lookup = result.lookup
        fields = [(("path", "code"), lookup.message)]
        return Status(404, {**error_body(lookup.message, fields), "problem": lookup.problem})
    # The facts are VerificationOut's fields exactly (the tests hold them to it), so they go
    # out as they are, without being validated into the schema a second time on the hottest
    # public endpoint.
    return JsonResponse(result.facts)


@router.post(
    "/verify",
    response={200: BulkOut, 400: ErrorOut, 403: ErrorOut, 429: ProblemOut},
    summary="Verify many certificates",
    description=f"Up to {BULK_MAX_CODES:,} codes; one result per code, in order. "
    "Each API key (or person) may verify a limited number of codes in any span of a "
    "period (`CERTIFICATE_BULK_VERIFY_RATE`, by default 5,000 a minute): past it, 429 with "
    "Retry-After.",
)
def verify_many(request, payload: BulkIn):
    user = getattr(request, "user", None)
    if getattr(request, "api_key", None) is None and not (
        user is not None and user.is_authenticated and may_verify_in_bulk(user)
    ):
        raise HttpError(403, _("Bulk verification is for regulators and training institutions."))
    most, count = bulk_max_codes(), len(payload.codes)
    if count > most:
        problem = _("at most %(max)s codes in one request; this one has %(n)s.") % {
            "max": number_format(most, force_grouping=True),
            "n": number_format(count, force_grouping=True),
        }
        return Status(
            400, error_body(_("Too many codes: %s") % problem, [(("body", "codes"), problem)])
        )
    allowance = views.bulk_allowance(request, codes=count)
    if not allowance.allowed:
        return views.rate_refusal_json(
            message=views.bulk_too_many_message(allowance, codes=count),
            retry_after=allowance.retry_after,
        )
    return {"results": bulk_rows(payload.codes)}


class CertificateOut(VerificationOut):
    id: str
    pdf_url: str | None
    credential_url: str | None
    verification_url: str


@router.get(
    "/learners/{external_id}/certificates",
    auth=api_key_auth,
    response={200: list[CertificateOut], 404: ErrorOut},
    summary="A learner's certificates from your institution",
)
def learner_certificates(request, external_id: str):
    identity = lms_selectors.learner_identity_for(
        institution=request.api_key.institution, external_id=external_id
    )
    if identity is None:
        raise HttpError(
            404, _("No learner with external id '%s' at your institution.") % external_id
        )
    certificates = selectors.learner_certificates(learner=identity.user).filter(
        institution=request.api_key.institution
    )
    return [
        {
            **selectors.verification_facts(certificate),
            "id": str(certificate.uuid),
            "pdf_url": links.pdf_url(certificate) if certificate.is_ready else None,
            "credential_url": credentials.credential_url(certificate)
            if certificate.credential
            else None,
            "verification_url": links.verification_url(certificate),
        }
        for certificate in certificates
    ]


@hooks.register("register_api_routers")
def register_certificates_router():
    return "/", router
