"""Fixtures of the certificates tests: institution A's certificate design, the demo course's
certificate, and a learner who earned it through the real services."""

import pytest

from certificates.models import Certificate, CertificateRule, CertificateTemplate
from tests.learning import finish_course


@pytest.fixture
def certificate_template(institution_a) -> CertificateTemplate:
    return CertificateTemplate.objects.create(
        institution=institution_a,
        name="Ubuntu standard",
        signatory_name="Grace Wanjiku",
        signatory_title="Director of Training",
    )


@pytest.fixture
def certificate_rule(course, certificate_template) -> CertificateRule:
    """The demo course awards a certificate for 24 months once its modules are complete."""
    return CertificateRule.objects.create(
        course=course, template=certificate_template, require_modules=True, validity_months=24
    )


@pytest.fixture
def graduate_certificate(
    people_a, course, certificate_rule, django_capture_on_commit_callbacks
) -> Certificate:
    """Institution A's trainee finished the demo course: the certificate was issued
    automatically and rendered by the (eager) Celery task after the progress committed."""
    with django_capture_on_commit_callbacks(execute=True):
        finish_course(people_a.trainee, course)
    certificate = Certificate.objects.get(learner=people_a.trainee, course=course)
    assert certificate.is_ready, certificate.render_error
    return certificate
