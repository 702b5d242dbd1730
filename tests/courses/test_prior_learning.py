"""Recognised prior learning: an institution's managers and instructors record it in the admin;
it becomes evidence, attainment and (where the criteria allow) a certificate at once."""

import uuid
from http import HTTPStatus

import pytest
from django.urls import reverse
from django.utils import timezone

from competencies.models import CompetencyAttainment, CompetencyEvidence, ScaleLevel
from courses import services
from courses.selectors import course_competencies

pytestmark = pytest.mark.django_db


def form_data(course, learner, **overrides):
    mapping = course_competencies(course=course)[0]
    return {
        "learner": learner.pk,
        "competency": mapping.competency.pk,
        "level": mapping.target_level.pk,
        "observed_on": "2024-06-30",
        "title": "Diploma in Social Work, University of Nairobi, 2019",
        "evidence_url": "https://uon.example.ac.ke/verify/123",
        "notes": "Transcript checked by the registrar.",
        "event_id": str(uuid.uuid4()),
        **overrides,
    }


def test_a_manager_recognises_prior_learning_and_it_counts_at_once(
    client, people_a, trainee, course
):
    services.enrol(learner=trainee, course=course)
    client.force_login(people_a.manager)
    data = form_data(course, trainee)
    response = client.post(reverse("courses_prior_learning"), data, follow=True)
    assert response.status_code == HTTPStatus.OK
    page = response.content.decode()
    assert "Prior learning of new-trainee recognised" in page
    assert "Diploma in Social Work, University of Nairobi, 2019" in page
    evidence = CompetencyEvidence.objects.get(source_kind="prior_learning")
    assert evidence.learner == trainee and evidence.recorded_by == people_a.manager
    assert evidence.source_uri == data["evidence_url"]
    assert evidence.notes == "Transcript checked by the registrar."
    assert evidence.occurred_at.date().isoformat() == "2024-06-30"
    attainment = CompetencyAttainment.objects.get(learner=trainee, competency=evidence.competency)
    assert attainment.level_id == data["level"]


def test_an_instructor_may_recognise_too(client, people_a, trainee, course):
    services.enrol(learner=trainee, course=course)
    client.force_login(people_a.instructor)
    client.post(reverse("courses_prior_learning"), form_data(course, trainee))
    assert CompetencyEvidence.objects.filter(source_kind="prior_learning").count() == 1


@pytest.mark.parametrize("role", ["supervisor", "author", "trainee"])
def test_other_roles_cannot(client, people_a, trainee, course, role):
    services.enrol(learner=trainee, course=course)
    client.force_login(getattr(people_a, role))
    response = client.post(reverse("courses_prior_learning"), form_data(course, trainee))
    assert response.status_code in (HTTPStatus.FOUND, HTTPStatus.FORBIDDEN)
    assert not CompetencyEvidence.objects.exists()


def test_another_institutions_manager_cannot_reach_a_learner(client, people_b, trainee, course):
    services.enrol(learner=trainee, course=course)
    client.force_login(people_b.manager)
    response = client.post(reverse("courses_prior_learning"), form_data(course, trainee))
    assert "not enrolled in any of Mekong College" in response.content.decode()
    assert not CompetencyEvidence.objects.exists()


def test_future_dates_missing_titles_and_foreign_levels_are_refused(people_a, trainee, course):
    services.enrol(learner=trainee, course=course)
    mapping = course_competencies(course=course)[0]
    base = {
        "recorded_by": people_a.manager,
        "institution": course.institution,
        "learner": trainee,
        "competency": mapping.competency,
        "level": mapping.target_level,
        "achieved_on": timezone.localdate(),
        "title": "Certificate in child protection",
    }
    future = timezone.localdate().replace(year=timezone.localdate().year + 1)
    with pytest.raises(services.LearningError, match="future"):
        services.prior_learning_record(**{**base, "achieved_on": future})
    with pytest.raises(services.LearningError, match="Say what is recognised"):
        services.prior_learning_record(**{**base, "title": "  "})
    other_level = ScaleLevel.objects.exclude(framework=mapping.competency.framework).first()
    if other_level is not None:
        with pytest.raises(services.LearningError, match="own framework"):
            services.prior_learning_record(**{**base, "level": other_level})
    assert not CompetencyEvidence.objects.exists()
