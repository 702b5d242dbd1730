"""Fixtures for the verification tests: a course that awards a certificate, and learners who
earn it through the real services (enrol, complete, pass the quiz) with rendering run by the
(eager) Celery task once the progress transaction commits.

Import what a test module needs: ``from tests.certificates.fixtures_verify import *``.
"""

from dataclasses import dataclass

import pytest
from django.core.cache import cache

from certificates import services
from certificates.models import Certificate, CertificateRule, CertificateTemplate
from lms import services as lms_services
from tests.factories import UserFactory, learner_profile_data
from tests.learning import finish_course

__all__ = [
    "Holder",
    "PRIVATE",
    "award",
    "certificate",
    "clear_cache",
    "earn",
    "holder",
    "make_holder",
    "reload",
    "revoke",
    "rule",
    "second_certificate",
]

#: What the holder's account and profile hold that no verifier may learn. (There is no
#: phone number anywhere in the data model, so there is none to leak.)
PRIVATE = {
    "email": "amina.private@example.org",
    "username": "amina-login-7731",
    "worker_registration_number": "PSW-REG-99817",
    "organisation": "Kibera Child Protection Volunteers",
    "region": "Mombasa-Region-Unique",
    "district": "Likoni-District-Unique",
}


@pytest.fixture(autouse=True)
def clear_cache():
    """Rate-limit counters live in the cache: every test starts with a clean slate."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def rule(course) -> CertificateRule:
    """The demo course awards a certificate valid for 24 months: modules done, quiz passed."""
    template = CertificateTemplate.objects.create(
        institution=course.institution,
        name="Standard certificate",
        signatory_name="Grace Wanjiku",
        signatory_title="Director of Training",
    )
    return CertificateRule.objects.create(
        course=course,
        template=template,
        require_modules=True,
        require_quizzes=True,
        validity_months=24,
    )


def earn(learner, course) -> None:
    """The learner enrols and finishes every module (right answers to the quiz)."""
    finish_course(learner, course)


def award(learner, course, capture) -> Certificate:
    """Earn the certificate and let the rendering task run after commit, as in production."""
    with capture(execute=True):
        earn(learner, course)
    certificate = Certificate.objects.get(learner=learner, course=course)
    assert certificate.is_ready, certificate.render_error
    return certificate


@dataclass
class Holder:
    user: object
    full_name: str


def make_holder(username: str, full_name: str, **profile):
    user = UserFactory(username=username, email=f"{username}@example.org")
    lms_services.learner_profile_save(
        user=user, **learner_profile_data(full_name=full_name, **profile)
    )
    return user


@pytest.fixture
def holder(db) -> Holder:
    """A learner whose account and profile are full of things a verifier must never see."""
    user = UserFactory(
        username=PRIVATE["username"],
        email=PRIVATE["email"],
        first_name="Amina",
        last_name="Njoroge",
    )
    lms_services.learner_profile_save(
        user=user,
        **learner_profile_data(
            full_name="Amina Wanjiru Njoroge",
            organisation=PRIVATE["organisation"],
            region=PRIVATE["region"],
            district=PRIVATE["district"],
            worker_registration_number=PRIVATE["worker_registration_number"],
        ),
    )
    return Holder(user=user, full_name="Amina Wanjiru Njoroge")


@pytest.fixture
def certificate(holder, course, rule, django_capture_on_commit_callbacks) -> Certificate:
    return award(holder.user, course, django_capture_on_commit_callbacks)


@pytest.fixture
def second_certificate(course, rule, django_capture_on_commit_callbacks) -> Certificate:
    """Another learner's certificate of the same course (its status bit must never move)."""
    user = make_holder("second-holder", "Baraka Otieno")
    return award(user, course, django_capture_on_commit_callbacks)


def reload(certificate: Certificate) -> Certificate:
    return Certificate.objects.get(pk=certificate.pk)


def revoke(certificate: Certificate, actor, reason: str = "Obtained by fraud") -> Certificate:
    return services.certificate_revoke(certificate=certificate, actor=actor, reason=reason)
