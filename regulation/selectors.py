"""Reads of the regulation app: who works for which body, and what its jurisdiction holds.

A regulator sees the workers of their body's jurisdiction only: every read here starts from
:func:`jurisdiction_of` (through :func:`jurisdiction_profiles`), so nothing outside it can
reach a page, an export or the API. The other apps' regulator-facing pages (the certificate
register, the framework pages) ask for the same :class:`~lms.jurisdiction.Jurisdiction`
through the ``regulator_jurisdiction`` hook (:mod:`regulation.hooks`).
"""

from django.db.models import QuerySet

from lms import selectors as lms_selectors
from lms.jurisdiction import Jurisdiction
from lms.models import Institution, LearnerProfile
from regulation.models import (
    PopulationFigure,
    RegulatorApiKey,
    RegulatorMembership,
    RegulatoryBody,
)


def body_of(*, user) -> RegulatoryBody | None:
    """The regulatory body ``user`` works for, or None."""
    if not user.is_authenticated:
        return None
    membership = RegulatorMembership.objects.select_related("body").filter(user=user).first()
    return membership.body if membership else None


def body_by_slug(*, slug: str) -> RegulatoryBody | None:
    return RegulatoryBody.objects.filter(slug=slug).first()


def bodies() -> QuerySet[RegulatoryBody]:
    return RegulatoryBody.objects.all()


def regulator_user_ids() -> QuerySet:
    """The accounts of every member of a regulatory body (a subquery of user ids)."""
    return RegulatorMembership.objects.values("user_id")


def jurisdiction_of(*, body: RegulatoryBody) -> Jurisdiction:
    """The body's jurisdiction: its country, and its regions when it names some."""
    return Jurisdiction(country=body.country, regions=tuple(body.regions or ()))


def jurisdiction_profiles(*, body: RegulatoryBody) -> QuerySet[LearnerProfile]:
    """Profiles of the workers in the body's country (and regions, when it names some)."""
    return lms_selectors.learner_profiles_in(jurisdiction=jurisdiction_of(body=body))


def jurisdiction_institutions(*, body: RegulatoryBody) -> QuerySet[Institution]:
    return lms_selectors.institutions_in(country=body.country).order_by("name")


def population_figures(*, body: RegulatoryBody) -> QuerySet[PopulationFigure]:
    return PopulationFigure.objects.filter(body=body)


def api_keys_of(*, body: RegulatoryBody) -> QuerySet[RegulatorApiKey]:
    return RegulatorApiKey.objects.filter(body=body).select_related("created_by")
