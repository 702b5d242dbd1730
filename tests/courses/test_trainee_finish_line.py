"""What a trainee reads on a phone on the way through a course, and at its end.

- a percentage never breaks between the number and "%" (a no-break space);
- the previous and next modules are two separate links, each labelled;
- a course whose last required module is done says the course is complete, on the page
  and in the message;
- a course without modules says so, and neither "0 % complete" nor "completed".
"""

import html
import re
import uuid

import pytest
from django.urls import reverse

from courses import services
from tests.learning import course_modules, right_answers, wrong_answers

pytestmark = pytest.mark.django_db

NBSP = "\u00a0"


def text_of(response) -> str:
    """The page as its reader sees the text: tags dropped, entities (``&nbsp;``) decoded,
    runs of ordinary spaces folded (no-break spaces kept)."""
    body = re.sub(r"<[^>]+>", " ", response.content.decode())
    return re.sub(r"[ \t\n]+", " ", html.unescape(body))


def post_quiz(client, module, answers):
    data = {f"q-{question}": ids for question, ids in answers.items()}
    return client.post(
        reverse("courses:quiz_submit", args=[module.pk]),
        {**data, "event_id": str(uuid.uuid4())},
        follow=True,
    )


@pytest.fixture
def enrolled(client, trainee, course):
    services.enrol(learner=trainee, course=course)
    client.force_login(trainee)
    return client


def test_a_percentage_keeps_its_number_and_sign_together(enrolled, course):
    first, second = course_modules(course)

    assert f"0{NBSP}% of the course complete" in text_of(enrolled.get(first.url))
    assert f"0{NBSP}% complete" in text_of(enrolled.get(course.url))
    assert f"You scored 0{NBSP}%" in text_of(post_quiz(enrolled, second, wrong_answers(second)))


def test_the_previous_and_next_modules_are_separate_labelled_links(enrolled, course):
    first, second = course_modules(course)

    page = enrolled.get(second.url).content.decode()
    nav = re.search(r'<nav class="module-nav"[^>]*>(.*?)</nav>', page, re.S).group(1)
    items = [
        " ".join(html.unescape(re.sub(r"<[^>]+>", " ", item)).split())
        for item in re.findall(r"<li[^>]*>(.*?)</li>", nav, re.S)
    ]

    assert items == [
        f"Previous module ← {first.title}",
        "Last module Back to the course",
    ]
    assert f'href="{first.url}"' in nav and f'href="{course.url}"' in nav


def test_passing_the_last_quiz_says_the_course_is_complete(enrolled, course):
    first, second = course_modules(course)
    enrolled.post(reverse("courses:module_complete", args=[first.pk]), {"event_id": uuid.uuid4()})

    page = text_of(post_quiz(enrolled, second, right_answers(second)))

    assert f"You passed with 100{NBSP}%. You have completed “{course.title}”." in page
    assert f"✓ You have completed “{course.title}”" in page
    course_page = text_of(enrolled.get(course.url))
    assert f"✓ You have completed “{course.title}”" in course_page
    assert f"100{NBSP}% complete" in course_page


def test_passing_a_quiz_before_the_end_says_only_the_module_is_complete(enrolled, course):
    _first, second = course_modules(course)

    page = text_of(post_quiz(enrolled, second, right_answers(second)))

    assert f"You passed with 100{NBSP}%. Module complete." in page
    assert "You have completed “" not in page


def test_a_course_without_modules_says_so_without_progress_or_completion(client, trainee, course):
    for module in course_modules(course):
        module.unpublish()
    client.force_login(trainee)

    page = text_of(client.get(course.url))

    assert "This course has no modules yet: come back later." in page
    assert "% complete" not in page and "You have completed" not in page
    assert "Enrol in this course" not in page
