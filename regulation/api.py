"""The regulation app in the JSON API (/api/v1/…).

- ``GET /register/{body}``: anyone, no key; the body's public register (listed workers
  only); rate-limited per client like verification.
- ``GET /regulation/register``, ``/regulation/statistics``, ``/regulation/cpd/{number}``:
  a regulatory body's own systems, with one of its regulator API keys; everything is
  within the body's jurisdiction.
"""

import datetime
from decimal import Decimal
from typing import Literal

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema
from ninja.errors import HttpError
from ninja.security import APIKeyHeader, HttpBearer
from pydantic import Field
from wagtail import hooks

from certificates import verification_cache
from certificates import views as certificate_views
from lms.api_common import ErrorOut
from regulation import counting, cpd, figures, register, selectors, services
from regulation.models import RegulatorApiKey, RegulatoryBody

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


# --- For a regulatory body's own systems ---------------------------------------------------


class RegulatorBearer(HttpBearer):
    openapi_description = "A regulatory body's API key: `Authorization: Bearer sswreg_…`."

    def authenticate(self, request: HttpRequest, token: str) -> RegulatorApiKey | None:
        found = services.regulator_api_key_authenticate(key=token)
        if found is not None:
            request.regulator_key = found
        return found


class RegulatorHeader(APIKeyHeader):
    param_name = "X-Regulator-Key"
    openapi_description = "A regulatory body's API key in the X-Regulator-Key header."

    def authenticate(self, request: HttpRequest, key: str | None) -> RegulatorApiKey | None:
        found = services.regulator_api_key_authenticate(key=key) if key else None
        if found is not None:
            request.regulator_key = found
        return found


regulator_key_auth = [RegulatorBearer(), RegulatorHeader()]


class StatisticsQuery(Schema):
    group: Literal["region", "district", "cadre", "sector", "is_paid", "institution"] = "region"
    region: str = Field("", max_length=120)
    district: str = Field("", max_length=120)
    cadre: Literal["", "professional", "para_professional", "volunteer"] = ""
    sector: Literal["", "government", "ngo", "community"] = ""
    paid: Literal["", "paid", "unpaid"] = ""
    institution: int | None = Field(None, ge=1, le=2**62, description="An institution's id.")
    date_from: datetime.date | None = None
    date_to: datetime.date | None = None


class GroupOut(Schema):
    key: str | int | bool | None
    label: str
    workers: int | None = Field(description="None by institution (see total).")
    enrolled: int
    trained: int
    certified: int
    valid: int


class MonthOut(Schema):
    month: str = Field(description="YYYY-MM")
    issued: int
    revoked: int
    expired: int


class StatisticsOut(Schema):
    body: str
    as_of: datetime.datetime = Field(
        description="When the numbers were counted (they are counted ahead, every few "
        "minutes; figures older than REGULATION_FIGURES_SECONDS, default 600, are counted "
        "again)."
    )
    group: str
    rows: list[GroupOut]
    total: GroupOut
    months: list[MonthOut]
    expiring_in_90_days: int


class RequirementStatusOut(Schema):
    title: str
    period_start: datetime.date
    period_end: datetime.date
    required_hours: Decimal
    course_hours: Decimal
    activity_hours: Decimal
    done_hours: Decimal
    met: bool


class CpdStatusOut(Schema):
    name: str
    registration_number: str
    cadre: str
    requirements: list[RequirementStatusOut]


def _key_body(request) -> RegulatoryBody:
    return request.regulator_key.body


@router.get(
    "/regulation/register",
    auth=regulator_key_auth,
    response={200: RegisterOut},
    summary="Search the body's register (every certified worker of its jurisdiction)",
)
def register_jurisdiction(request, query: Query[RegisterQuery]):
    body = _key_body(request)
    entries = register.search(body=body, text=query.q, everyone=True)
    return RegisterOut(body=body.name, results=_entries_out(entries))


@router.get(
    "/regulation/statistics",
    auth=regulator_key_auth,
    response={200: StatisticsOut},
    summary="Workforce statistics of the jurisdiction: the numbers of the workspace's pages",
)
def statistics_json(request, query: Query[StatisticsQuery]):
    body = _key_body(request)
    if query.date_from and query.date_to and query.date_from > query.date_to:
        raise HttpError(400, _("The start of the date range is after its end."))
    counted_at = counting.figures_as_of(body=body)
    filters = figures.Filters(
        region=query.region,
        district=query.district,
        cadre=query.cadre,
        sector=query.sector,
        paid=query.paid,
        institution_id=query.institution,
        date_from=query.date_from,
        date_to=query.date_to,
    )
    rows = figures.by_dimension(body=body, filters=filters, dimension=query.group)

    def out(row) -> GroupOut:
        return GroupOut(
            key=row.key,
            label=row.label,
            workers=row.workers,
            enrolled=row.enrolled,
            trained=row.trained,
            certified=row.certified,
            valid=row.valid,
        )

    return StatisticsOut(
        body=body.name,
        as_of=counted_at,
        group=query.group,
        rows=[out(r) for r in rows],
        total=out(figures.total_of(body=body, filters=filters, dimension=query.group, rows=rows)),
        months=[
            MonthOut(
                month=m.month.strftime("%Y-%m"),
                issued=m.issued,
                revoked=m.revoked,
                expired=m.expired,
            )
            for m in figures.by_month(body=body, filters=filters)
        ],
        expiring_in_90_days=figures.expiring_count(body=body, filters=filters),
    )


@router.get(
    "/regulation/cpd/{registration_number}",
    auth=regulator_key_auth,
    response={200: CpdStatusOut, 404: ErrorOut},
    summary="A worker's CPD status, by their registration number",
    description="Progress toward each current requirement of the body that applies to the "
    "worker. 404 for a number no worker of the jurisdiction holds.",
)
def cpd_status(request, registration_number: str):
    body = _key_body(request)
    profile = (
        selectors.jurisdiction_profiles(body=body)
        .exclude(worker_registration_number="")
        .filter(worker_registration_number=registration_number)
        .select_related("user")
        .first()
    )
    if profile is None:
        raise HttpError(404, _("No worker of the jurisdiction has this registration number."))
    return CpdStatusOut(
        name=profile.full_name,
        registration_number=profile.worker_registration_number,
        cadre=profile.cadre,
        requirements=[
            RequirementStatusOut(
                title=p.requirement.title,
                period_start=p.requirement.period_start,
                period_end=p.requirement.period_end,
                required_hours=p.requirement.hours,
                course_hours=p.course_hours,
                activity_hours=p.activity_hours,
                done_hours=p.done,
                met=p.met,
            )
            for p in cpd.learner_progress(learner=profile.user)
            if p.requirement.body_id == body.pk
        ],
    )


@hooks.register("register_api_routers")
def register_regulation_router():
    return "/", router
