"""Fixtures of the certificates tests: institution A's certificate design, the demo course's
certificate, and a learner who earned it through the real services."""

import uuid

import pytest

from certificates.models import Certificate, CertificateRule, CertificateTemplate
from courses import services as course_services
from courses.models import ModulePage


def right_answers(quiz_block) -> dict[str, list[str]]:
    return {
        question.id: [
            answer.id
            for answer in question.value["answers"].bound_blocks
            if answer.value["is_correct"]
        ]
        for question in quiz_block.value["questions"].bound_blocks
    }


def finish_course(learner, course) -> None:
    """Enrol and finish every module of the course (the quizzes with the right answers)."""
    course_services.enrol(learner=learner, course=course)
    for module in ModulePage.objects.child_of(course).live().order_by("path"):
        quiz = module.quiz_block()
        if quiz is None:
            course_services.module_complete(learner=learner, module=module, event_id=uuid.uuid4())
        else:
            course_services.quiz_submit(
                learner=learner, module=module, answers=right_answers(quiz), event_id=uuid.uuid4()
            )


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
