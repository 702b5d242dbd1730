"""Pages learners use must work on a cheap phone on a slow network: small, working without
JavaScript (the only scripts are our own offline helpers, deferred, adding to pages that work
without them), forms that work as plain HTML, and in the learner's language."""

import uuid

import pytest
from bs4 import BeautifulSoup
from django.conf import settings
from django.contrib.staticfiles import finders
from django.test import Client
from django.urls import reverse
from django.utils import translation

from courses import services
from courses.models import ModuleCompletion, ModulePage, QuizAttempt

pytestmark = pytest.mark.django_db

#: The most a learner's page may weigh, HTML alone.
HTML_BUDGET = 50 * 1024


@pytest.fixture(autouse=True)
def _back_to_the_default_language():
    """Requests in French leave French active on this thread; the next test starts afresh."""
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture
def learner(trainee, course):
    services.enrol(learner=trainee, course=course)
    return trainee


@pytest.fixture
def modules(course):
    return list(ModulePage.objects.child_of(course).order_by("path"))


def soup(response) -> BeautifulSoup:
    return BeautifulSoup(response.content.decode(), "html.parser")


def stylesheet_bytes(page: BeautifulSoup) -> int:
    """The size of the page's own stylesheets (served from this site, so counted here)."""
    total = 0
    for link in page.find_all("link", rel="stylesheet"):
        href = link["href"]
        assert href.startswith(settings.STATIC_URL), f"stylesheet from elsewhere: {href}"
        path = finders.find(href.removeprefix(settings.STATIC_URL))
        assert path, href
        with open(path, "rb") as file:
            total += len(file.read())
    return total


def only_our_deferred_scripts(page: BeautifulSoup) -> None:
    """Scripts only from this site's static files, deferred, with no inline code."""
    for script in page.find_all("script"):
        assert script.get("src", "").startswith(settings.STATIC_URL), script
        assert script.has_attr("defer") and not script.get_text(strip=True), script


def test_module_page_is_small_and_works_without_javascript(client, learner, modules):
    quiz_module = modules[1]
    client.force_login(learner)

    response = client.get(quiz_module.url)

    assert response.status_code == 200
    html = response.content
    assert len(html) < HTML_BUDGET, f"{len(html)} bytes of HTML"
    text = html.decode().lower()
    assert "javascript:" not in text
    page = soup(response)
    only_our_deferred_scripts(page)
    assert not [
        tag.name for tag in page.find_all(True) if any(a.startswith("on") for a in tag.attrs)
    ]
    # Nothing else to fetch but one small stylesheet: no web fonts, no third parties.
    assert len(html) + stylesheet_bytes(page) < HTML_BUDGET
    assert not page.find_all(["iframe", "video", "audio", "object", "embed"])
    assert page.find("meta", attrs={"name": "viewport"})["content"].startswith("width=device-width")


@pytest.mark.parametrize("which", ["catalogue", "course", "first module"])
def test_the_other_learner_pages_keep_the_budget(
    client, learner, course, catalogue, modules, which
):
    url = {"catalogue": catalogue.url, "course": course.url, "first module": modules[0].url}[which]
    client.force_login(learner)
    response = client.get(url)
    assert response.status_code == 200
    assert len(response.content) < HTML_BUDGET
    only_our_deferred_scripts(soup(response))


def test_quiz_is_a_plain_html_form(learner, modules):
    """Without JavaScript: read the form as a browser would, submit what it says, pass."""
    quiz_module = modules[1]
    quiz = quiz_module.quiz_block()
    client = Client(enforce_csrf_checks=True)  # as a browser: the token comes from the page
    client.force_login(learner)

    page = soup(client.get(quiz_module.url))
    section = page.find(id="quiz")
    form = section.find("form")
    assert form["method"].lower() == "post"
    assert form["action"] == reverse("courses:quiz_submit", args=[quiz_module.pk])
    hidden = {i["name"]: i["value"] for i in form.find_all("input", type="hidden")}
    assert set(hidden) == {"csrfmiddlewaretoken", "event_id"}
    uuid.UUID(hidden["event_id"])  # a fresh id: a double submit is recorded once
    assert form.find("button", type="submit").get_text(strip=True) == "Submit answers"

    # One group per question: radios for a one-answer question, checkboxes for several,
    # each labelled with its answer's text and valued with the answer's block id.
    questions = quiz.value["questions"].bound_blocks
    fieldsets = form.find_all("fieldset")
    assert len(fieldsets) == len(questions)
    chosen = {}
    for fieldset, question in zip(fieldsets, questions, strict=True):
        assert question.value["text"] in fieldset.legend.get_text()
        inputs = fieldset.find_all("input")
        kind = "radio" if question.value["kind"] == "single" else "checkbox"
        assert {i["type"] for i in inputs} == {kind}
        assert {i["name"] for i in inputs} == {f"q-{question.id}"}
        answers = question.value["answers"].bound_blocks
        assert [i["value"] for i in inputs] == [a.id for a in answers]
        assert [i.find_parent("label").get_text(strip=True) for i in inputs] == [
            a.value["text"] for a in answers
        ]
        assert not any(i.has_attr("disabled") for i in inputs)
        chosen[f"q-{question.id}"] = [a.id for a in answers if a.value["is_correct"]]

    response = client.post(form["action"], {**hidden, **chosen})

    assert response.status_code == 302
    assert response["Location"].startswith(f"{quiz_module.url}?attempt=")
    assert response["Location"].endswith("#quiz")
    attempt = QuizAttempt.objects.get(learner=learner, module=quiz_module)
    assert attempt.passed and attempt.score == 100
    page = soup(client.get(response["Location"]))
    assert "You passed with 100\u00a0%" in page.get_text()
    assert page.find(id="quiz").find("form") is None  # done: nothing more to submit


def test_mark_complete_is_a_plain_html_form(learner, modules):
    first = modules[0]
    client = Client(enforce_csrf_checks=True)
    client.force_login(learner)
    page = soup(client.get(first.url))
    form = page.find("form", action=reverse("courses:module_complete", args=[first.pk]))
    assert form["method"].lower() == "post"
    fields = {i["name"]: i["value"] for i in form.find_all("input")}
    assert set(fields) == {"csrfmiddlewaretoken", "event_id"}
    response = client.post(form["action"], fields)
    assert response.status_code == 302 and response["Location"] == modules[1].url
    assert ModuleCompletion.objects.filter(learner=learner, module=first).exists()


# --- Language ---------------------------------------------------------------------------------


def html_lang(response) -> str:
    return soup(response).html["lang"]


def test_module_page_is_english_by_default(client, learner, modules):
    client.force_login(learner)
    response = client.get(modules[1].url)
    assert html_lang(response) == "en"
    response = client.get(modules[1].url, HTTP_ACCEPT_LANGUAGE="sw")  # not offered: English
    assert html_lang(response) == "en"


def test_module_page_in_french_from_the_browser_language(client, learner, modules):
    client.force_login(learner)
    response = client.get(modules[1].url, HTTP_ACCEPT_LANGUAGE="fr-FR,fr;q=0.9,en;q=0.5")
    assert response.status_code == 200
    assert html_lang(response) == "fr"
    assert response["Content-Language"] == "fr"
    # The language switcher shows the language in use.
    assert soup(response).find("select", id="language").find("option", selected=True)["value"] == (
        "fr"
    )


def test_module_page_in_french_from_the_language_cookie(client, learner, modules):
    client.force_login(learner)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    # The cookie (set by the language switcher) wins over the browser's language.
    response = client.get(modules[1].url, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert html_lang(response) == "fr"


def test_language_switcher_sets_the_cookie(client, learner, modules):
    client.force_login(learner)
    response = client.post(reverse("set_language"), {"language": "fr", "next": modules[1].url})
    assert response.status_code == 302 and response["Location"] == modules[1].url
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "fr"
    assert html_lang(client.get(modules[1].url)) == "fr"
