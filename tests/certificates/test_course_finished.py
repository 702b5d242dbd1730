"""The end of a course links the certificate: a learner who finished a course that awards
one finds it on the course page (or is told it is being prepared, or what it still
requires), and "My certificates" has a heading under its h1 for each certificate."""

import re
import uuid

import pytest
from django.urls import reverse

from certificates.models import Certificate, RenderStatus
from courses import services
from tests.learning import course_modules, finish_course, right_answers

pytestmark = pytest.mark.django_db

FINISHED = "You have completed “Case management for para-professionals”"


def finished_card(page: str) -> str:
    match = re.search(r'<section class="card finished".*?</section>', page, re.S)
    assert match, "no 'course finished' card on the page"
    return match.group(0)


def test_passing_the_last_quiz_leads_to_the_issued_certificate(
    client, people_a, course, certificate_rule, django_capture_on_commit_callbacks
):
    trainee = people_a.trainee
    first, second = course_modules(course)
    services.enrol(learner=trainee, course=course)
    services.module_complete(learner=trainee, module=first, event_id=uuid.uuid4())
    client.force_login(trainee)
    answers = {f"q-{q}": ids for q, ids in right_answers(second).items()}

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("courses:quiz_submit", args=[second.pk]),
            {**answers, "event_id": str(uuid.uuid4())},
        )
    page = client.get(response["Location"]).content.decode()

    certificate = Certificate.objects.get(learner=trainee, course=course)
    card = finished_card(page)
    assert FINISHED in card and "Your certificate has been issued." in card
    assert f'href="{reverse("certificates:pdf", args=[certificate.uuid])}?download=1"' in card
    assert f'href="{reverse("certificates:mine")}"' in card
    assert FINISHED in finished_card(client.get(course.url).content.decode())


def test_a_certificate_not_yet_rendered_is_said_to_be_prepared(
    client, graduate_certificate, people_a, course
):
    Certificate.objects.filter(pk=graduate_certificate.pk).update(
        render_status=RenderStatus.PENDING
    )
    client.force_login(people_a.trainee)

    card = finished_card(client.get(course.url).content.decode())

    assert "is being prepared" in card and reverse("certificates:mine") in card
    assert "Download your certificate" not in card


def test_a_certificate_that_also_needs_observations_says_what_is_missing(
    client, people_a, course, certificate_rule
):
    certificate_rule.require_observations = True
    certificate_rule.save()
    finish_course(people_a.trainee, course)
    client.force_login(people_a.trainee)

    card = finished_card(client.get(course.url).content.decode())

    assert "The certificate of this course also requires:" in card
    assert "<li>" in card
    assert not Certificate.objects.filter(learner=people_a.trainee).exists()


def test_a_course_without_a_certificate_says_only_that_it_is_complete(client, people_a, course):
    finish_course(people_a.trainee, course)
    client.force_login(people_a.trainee)

    card = finished_card(client.get(course.url).content.decode())

    assert FINISHED in card and "certificate" not in card.lower()


def test_my_certificates_puts_each_certificate_under_an_h2(client, graduate_certificate, people_a):
    client.force_login(people_a.trainee)

    page = client.get(reverse("certificates:mine")).content.decode()

    levels = [int(level) for level in re.findall(r"<h([1-6])\b", page)]
    assert levels[:2] == [1, 2]
    assert all(b - a <= 1 for a, b in zip(levels, levels[1:], strict=False))
    assert f"<h2>{graduate_certificate.course_title}</h2>" in page
