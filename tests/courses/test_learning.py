"""A trainee's path through a course, through the real views and services."""

import uuid
from http import HTTPStatus

import pytest
from django.urls import reverse

from courses import services
from courses.models import (
    Enrolment,
    ModuleCompletion,
    ModulePage,
    ProgressEvent,
    QuizAttempt,
)

pytestmark = pytest.mark.django_db


def modules(course):
    return list(ModulePage.objects.child_of(course).order_by("path"))


def quiz_ids(module):
    """(question ids, {question id: (correct answer ids, wrong answer ids)})."""
    quiz = module.quiz_block()
    result = {}
    for question in quiz.value["questions"].bound_blocks:
        right = [a.id for a in question.value["answers"].bound_blocks if a.value["is_correct"]]
        wrong = [a.id for a in question.value["answers"].bound_blocks if not a.value["is_correct"]]
        result[question.id] = (right, wrong)
    return result


def test_trainee_enrols_reads_passes_and_completes(client, trainee, course):
    first, second = modules(course)
    client.force_login(trainee)
    page = client.get(course.url).content.decode()
    assert "Enrol in this course" in page
    assert "PP.5.2" in page and "Competent" in page  # what the course builds

    response = client.post(
        reverse("courses:enrol", args=[course.pk]), {"event_id": str(uuid.uuid4())}
    )
    assert response["Location"] == first.url
    assert Enrolment.objects.get(learner=trainee, course=course).status == "active"

    page = client.get(first.url).content.decode()
    assert "Meet Amani" in page and "0&nbsp;% of the course complete" in page
    client.post(
        reverse("courses:module_complete", args=[first.pk]), {"event_id": str(uuid.uuid4())}
    )
    assert ModuleCompletion.objects.filter(learner=trainee, module=first).exists()

    ids = quiz_ids(second)
    wrong = {f"q-{q}": [w[0]] for q, (r, w) in ids.items()}
    response = client.post(
        reverse("courses:quiz_submit", args=[second.pk]),
        {**wrong, "event_id": str(uuid.uuid4())},
        follow=True,
    )
    page = response.content.decode()
    assert "You scored 0\u00a0%" in page and "Not quite." in page
    assert "The family must own the plan." in page
    assert not ModuleCompletion.objects.filter(learner=trainee, module=second).exists()

    right = {f"q-{q}": r for q, (r, w) in ids.items()}
    response = client.post(
        reverse("courses:quiz_submit", args=[second.pk]),
        {**right, "event_id": str(uuid.uuid4())},
        follow=True,
    )
    assert "You passed with 100\u00a0%" in response.content.decode()
    attempts = QuizAttempt.objects.filter(learner=trainee, module=second).order_by("attempted_at")
    assert [(a.score, a.passed) for a in attempts] == [(0, False), (100, True)]
    enrolment = Enrolment.objects.get(learner=trainee, course=course)
    assert enrolment.status == "completed" and enrolment.completed_at is not None
    dashboard = client.get(reverse("lms:dashboard")).content.decode()
    assert "Case management for para-professionals" in dashboard and "Completed" in dashboard
    assert "100&nbsp;% complete" in client.get(course.url).content.decode()


def test_the_same_event_id_is_applied_once(trainee, course):
    first = modules(course)[0]
    services.enrol(learner=trainee, course=course)
    event_id = uuid.uuid4()
    one = services.module_complete(learner=trainee, module=first, event_id=event_id)
    two = services.module_complete(learner=trainee, module=first, event_id=event_id)
    assert one.created and not two.created
    assert ProgressEvent.objects.filter(event_id=event_id).count() == 1
    assert ModuleCompletion.objects.filter(learner=trainee, module=first).count() == 1


def test_double_click_enrol_keeps_one_enrolment(client, trainee, course):
    client.force_login(trainee)
    event_id = str(uuid.uuid4())
    for _ in range(2):
        client.post(reverse("courses:enrol", args=[course.pk]), {"event_id": event_id})
    assert Enrolment.objects.filter(learner=trainee).count() == 1
    assert ProgressEvent.objects.filter(learner=trainee).count() == 1


def test_progress_in_a_course_not_enrolled_is_refused(client, trainee, course):
    first = modules(course)[0]
    client.force_login(trainee)
    response = client.post(
        reverse("courses:module_complete", args=[first.pk]), {"event_id": str(uuid.uuid4())}
    )
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert "You are not enrolled in" in response.content.decode()
    assert not ProgressEvent.objects.exists()


def test_answers_for_another_quiz_or_unknown_ids_are_refused(client, trainee, course):
    first, second = modules(course)
    services.enrol(learner=trainee, course=course)
    client.force_login(trainee)
    for payload in (
        {"q-not-a-question": ["x"]},
        {f"q-{next(iter(quiz_ids(second)))}": ["not-an-answer"]},
    ):
        response = client.post(
            reverse("courses:quiz_submit", args=[second.pk]),
            {**payload, "event_id": str(uuid.uuid4())},
        )
        assert response.status_code == HTTPStatus.BAD_REQUEST
    # A module without a quiz takes no answers.
    response = client.post(
        reverse("courses:quiz_submit", args=[first.pk]), {"event_id": str(uuid.uuid4())}
    )
    assert "This module has no quiz." in response.content.decode()
    assert not QuizAttempt.objects.exists()
    assert not ProgressEvent.objects.filter(verb__in=["passed", "failed"]).exists()


def test_two_answers_to_a_one_answer_question_are_refused(trainee, course):
    second = modules(course)[1]
    services.enrol(learner=trainee, course=course)
    single = next(iter(quiz_ids(second).items()))
    question_id, (right, wrong) = single
    with pytest.raises(services.LearningError, match="Choose only one answer"):
        services.quiz_submit(
            learner=trainee,
            module=second,
            answers={question_id: right + wrong[:1]},
            event_id=uuid.uuid4(),
        )
    assert not QuizAttempt.objects.exists()


def test_missing_csrf_token_is_refused(trainee, course):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(trainee)
    response = client.post(reverse("courses:enrol", args=[course.pk]))
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert not Enrolment.objects.exists()


def test_retake_limit(trainee, course):
    second = modules(course)[1]
    course.max_quiz_attempts = 1
    course.save_revision().publish()
    services.enrol(learner=trainee, course=course)
    ids = quiz_ids(second)
    wrong = {q: w[:1] for q, (r, w) in ids.items()}
    services.quiz_submit(learner=trainee, module=second, answers=wrong, event_id=uuid.uuid4())
    with pytest.raises(services.LearningError, match="used all your attempts"):
        services.quiz_submit(learner=trainee, module=second, answers=wrong, event_id=uuid.uuid4())
    assert QuizAttempt.objects.count() == 1


def test_catalogue_filters(client, course):
    page = client.get("/").content.decode()
    assert "Case management for para-professionals" in page
    page = client.get("/?language=fr").content.decode()
    assert "No course matches these filters." in page
    page = client.get("/?cadre=volunteer&institution=ubuntu").content.decode()
    assert "Case management for para-professionals" in page
    page = client.get("/?institution=mekong").content.decode()
    assert "Case management for para-professionals" not in page
