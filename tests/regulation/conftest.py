"""Fixtures of the regulation tests: two bodies in two countries, their regulators, and
workers of each with enrolments and certificates made as the other apps store them."""

import datetime
import itertools
from dataclasses import dataclass

import pytest
from django.utils import timezone

from certificates.models import Certificate, CertificateTemplate
from courses.models import Enrolment
from lms import services as lms_services
from regulation import services
from tests.conftest import enable_totp
from tests.factories import UserFactory, learner_profile_data

_numbers = itertools.count(1)


@dataclass
class Bodies:
    kenya: object
    cambodia: object
    kenya_regulator: object
    cambodia_regulator: object


@pytest.fixture
def bodies(db) -> Bodies:
    kenya = services.body_create(name="Kenya Council", slug="kenya", country="KE")
    cambodia = services.body_create(name="Cambodia Council", slug="cambodia", country="KH")
    regulators = []
    for body in (kenya, cambodia):
        user = UserFactory(username=f"regulator-{body.slug}")
        services.regulator_add(user=user, body=body)
        enable_totp(user)
        regulators.append(user)
    return Bodies(kenya, cambodia, *regulators)


def make_worker(username: str, **profile):
    user = UserFactory(username=username)
    lms_services.learner_profile_save(
        user=user, **learner_profile_data(full_name=username.title(), **profile)
    )
    return user


def enrol(learner, course, *, enrolled_at=None, completed_at=None) -> Enrolment:
    return Enrolment.objects.create(
        learner=learner,
        course=course,
        status="completed" if completed_at else "active",
        enrolled_at=enrolled_at or timezone.now(),
        completed_at=completed_at,
    )


def certify(learner, course, institution, *, issued_at=None, valid_until=None, revoked=False):
    """A certificate row as the certificates app stores one (not rendered: no PDF needed)."""
    number = next(_numbers)
    template = CertificateTemplate.objects.filter(institution=institution).first()
    if template is None:
        template = CertificateTemplate.objects.create(
            institution=institution, name="Standard", signatory_name="S", signatory_title="T"
        )
    issued_at = issued_at or timezone.now()
    return Certificate.objects.create(
        code=f"TEST{number:013d}",
        learner=learner,
        course=course,
        course_version=str(number),
        institution=institution,
        template=template,
        method="manual",
        holder_name=learner.learner_profile.full_name,
        course_title=course.title,
        institution_name=institution.name,
        issued_at=issued_at,
        valid_until=valid_until,
        status_list_index=900_000 + number,
        state="revoked" if revoked else "active",
        revoked_at=timezone.now() if revoked else None,
    )


def days(n: int) -> datetime.date:
    return timezone.localdate() + datetime.timedelta(days=n)
