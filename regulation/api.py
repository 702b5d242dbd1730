"""The regulation app in the JSON API (/api/v1/…).

- ``GET /register/{body}``: anyone, no key; the body's public register (listed workers
  only); rate-limited per client like verification.
"""

from django.shortcuts import get_object_or_404
from ninja import Query, Router, Schema
from pydantic import Field
from wagtail import hooks

from certificates import verification_cache
from certificates import views as certificate_views
from lms.api_common import ErrorOut
from regulation import register
from regulation.models import RegulatoryBody

router = Router(tags=["regulation"])


class RegisteredCertificateOut(Schema):
    course: str
    institution: str
    issued_on: str
    valid_until: str | None
    competencies: list[str]


class RegisterEntryOut(Schema):
    name: str = Field(description="As printed on the newest valid certificate.")
    cadre: str
    registration_number: str
    region: str
    certificates: list[RegisteredCertificateOut]


class RegisterOut(Schema):
    body: str
    results: list[RegisterEntryOut]


class RegisterQuery(Schema):
    q: str = Field(
        min_length=register.MIN_QUERY_LENGTH,
        max_length=200,
        description="A name (or part of one), a worker registration number or a certificate code.",
    )


def _entries_out(entries) -> list[RegisterEntryOut]:
    return [RegisterEntryOut.model_validate(entry, from_attributes=True) for entry in entries]


@router.get(
    "/register/{body}",
    auth=None,
    response={200: RegisterOut, 404: ErrorOut, 429: ErrorOut},
    summary="Search a regulatory body's public register",
    description="No authentication. Only certified workers who chose to be listed, with their "
    "valid certificates; no e-mail address or date of birth. Rate-limited per client like "
    "verification: 429 with Retry-After.",
)
def register_public(request, body: str, query: Query[RegisterQuery]):
    found = get_object_or_404(RegulatoryBody, slug=body)
    allowance = verification_cache.lookup_allowed(client=verification_cache.client_of(request))
    if not allowance.allowed:
        return certificate_views.too_many_json(retry_after=allowance.retry_after)
    entries = register.search(body=found, text=query.q, everyone=False)
    return RegisterOut(body=found.name, results=_entries_out(entries))


@hooks.register("register_api_routers")
def register_regulation_router():
    return "/", router
