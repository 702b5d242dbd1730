"""Courses kept on a phone and the actions queued there offline (courses.offline), through the
real views: what a phone may keep, and the sync endpoint that applies each queued action
exactly once, in order, and answers per action."""

import gzip
import html
import io
import json
import threading
import uuid
from datetime import timedelta
from http import HTTPStatus
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.files.base import ContentFile
from django.core.files.images import ImageFile
from django.db import connection, connections
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from PIL import Image as PillowImage
from wagtail.documents.models import Document
from wagtail.images.models import Image

from courses.models import (
    Enrolment,
    EnrolmentStatus,
    ModuleCompletion,
    ProgressEvent,
    QuizAttempt,
)
from courses.services import enrol
from tests.factories import UserFactory
from tests.learning import course_modules, right_answers, wrong_answers
from tests.services import IN_CI

pytestmark = pytest.mark.django_db

SYNC = "/learn/offline/sync/"
OFFLINE_DIR = Path(settings.BASE_DIR) / "courses"


def complete(module, *, event_id=None, occurred_at=None) -> dict:
    event = {"event_id": str(event_id or uuid.uuid4()), "kind": "complete", "module": module.pk}
    if occurred_at:
        event["occurred_at"] = occurred_at
    return event


def quiz(module, answers, *, event_id=None) -> dict:
    return {
        "event_id": str(event_id or uuid.uuid4()),
        "kind": "quiz",
        "module": module.pk,
        "answers": answers,
    }


def send(client, events, *, learner=None, **extra):
    payload = {"events": events}
    if learner is not None:
        payload["learner"] = learner
    return client.post(SYNC, json.dumps(payload), content_type="application/json", **extra)


def statuses(response) -> list[str]:
    return [result["status"] for result in response.json()["results"]]


@pytest.fixture
def enrolled(client, trainee, course):
    enrol(learner=trainee, course=course)
    client.force_login(trainee)
    return client


# --- Applying a queue ----------------------------------------------------------------------


def test_a_queue_is_applied_in_order_and_the_course_is_complete(enrolled, trainee, course):
    first, second = course_modules(course)
    events = [complete(first), quiz(second, right_answers(second))]

    response = send(enrolled, events, learner=trainee.pk)

    assert response.status_code == HTTPStatus.OK
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["applied", "applied"]
    assert [r["event_id"] for r in results] == [e["event_id"] for e in events]
    assert results[1]["score"] == 100.0 and results[1]["passed"] is True
    assert ProgressEvent.objects.filter(event_id__in=[e["event_id"] for e in events]).count() == 2
    assert ModuleCompletion.objects.filter(learner=trainee).count() == 2
    assert Enrolment.objects.get(learner=trainee, course=course).status == "completed"
    page = html.unescape(enrolled.get(course.url).content.decode())
    assert "100\u00a0% complete" in page  # a no-break space keeps the figure with its sign


def test_a_queue_sent_twice_is_applied_once(enrolled, trainee, course):
    first, second = course_modules(course)
    events = [complete(first), quiz(second, wrong_answers(second))]

    assert statuses(send(enrolled, events)) == ["applied", "applied"]
    assert statuses(send(enrolled, events)) == ["duplicate", "duplicate"]

    recorded = ProgressEvent.objects.filter(learner=trainee, verb__in=["completed", "failed"])
    assert recorded.count() == 2
    assert QuizAttempt.objects.filter(learner=trainee).count() == 1


def test_the_same_action_twice_in_one_queue_counts_once(enrolled, trainee, course):
    first, _second = course_modules(course)
    event = complete(first)

    assert statuses(send(enrolled, [event, event])) == ["applied", "duplicate"]
    assert ProgressEvent.objects.filter(event_id=event["event_id"]).count() == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_tabs_sending_the_same_queue_at_once_apply_it_once(trainee, course):
    """Two tabs (or a tab and Background Sync) send the same queue in parallel requests."""
    if connection.vendor != "postgresql":
        message = "concurrency is tested on PostgreSQL (set DATABASE_URL=postgres://…)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    first, second = course_modules(course)
    enrol(learner=trainee, course=course)
    events = [complete(first), quiz(second, right_answers(second))]
    tabs = [Client(), Client()]
    for tab in tabs:
        tab.force_login(trainee)
    answers = []
    barrier = threading.Barrier(2)

    def tab_sends(tab):
        barrier.wait()
        try:
            answers.append(statuses(send(tab, events)))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=tab_sends, args=(tab,)) for tab in tabs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(s for answer in answers for s in answer).count("applied") == 2
    assert ProgressEvent.objects.filter(event_id__in=[e["event_id"] for e in events]).count() == 2
    assert QuizAttempt.objects.filter(learner=trainee).count() == 1
    assert ModuleCompletion.objects.filter(learner=trainee).count() == 2


def test_the_time_the_phone_recorded_is_kept_when_plausible(enrolled, trainee, course):
    first, _second = course_modules(course)
    yesterday = timezone.now() - timedelta(days=1)
    future = timezone.now() + timedelta(days=3)
    kept, corrected = (
        complete(first, occurred_at=yesterday.isoformat()),
        complete(first, occurred_at=future.isoformat()),
    )

    send(enrolled, [kept, corrected])

    assert ProgressEvent.objects.get(event_id=kept["event_id"]).occurred_at == yesterday
    assert ProgressEvent.objects.get(event_id=corrected["event_id"]).occurred_at <= timezone.now()
    assert ProgressEvent.objects.get(event_id=kept["event_id"]).extra == {"offline": True}


# --- Rejections, shown to the learner --------------------------------------------------------


def test_actions_of_a_learner_unenrolled_meanwhile_are_rejected_with_the_reason(
    enrolled, trainee, course
):
    first, _second = course_modules(course)
    Enrolment.objects.filter(learner=trainee, course=course).update(
        status=EnrolmentStatus.WITHDRAWN
    )

    result = send(enrolled, [complete(first)]).json()["results"][0]

    assert result["status"] == "rejected"
    assert result["reason"] == f"You are not enrolled in “{course.title}”."
    assert result["module"] == first.title
    assert not ModuleCompletion.objects.exists()


def test_an_action_on_a_removed_module_is_rejected_but_an_earlier_one_stays_a_duplicate(
    enrolled, trainee, course
):
    first, second = course_modules(course)
    done = complete(first)
    send(enrolled, [done])
    first.unpublish()

    results = send(enrolled, [done, complete(first), quiz(second, right_answers(second))])

    assert statuses(results) == ["duplicate", "rejected", "applied"]
    assert results.json()["results"][1]["reason"] == "This module was removed from the course."
    assert ProgressEvent.objects.filter(learner=trainee, verb="completed").count() == 1


def test_one_refused_action_does_not_hold_back_the_rest(enrolled, trainee, course):
    first, second = course_modules(course)
    events = [
        {"event_id": "not-a-uuid", "kind": "complete", "module": first.pk},
        complete(second),  # a module with a quiz is completed by passing it
        {"event_id": str(uuid.uuid4()), "kind": "dance", "module": first.pk},
        quiz(second, {"no-such-question": ["x"]}),
        {"event_id": str(uuid.uuid4()), "kind": "complete", "module": [first.pk]},
        "not an object",
        complete(first),
    ]

    results = send(enrolled, events).json()["results"]

    assert [r["status"] for r in results] == ["rejected"] * 6 + ["applied"]
    assert [r["reason"] for r in results[:6]] == [
        "This action has no valid id (a UUID).",
        "Pass this module's quiz to complete it.",
        "Unknown kind of action: dance",
        "These answers are not for this quiz; nothing was recorded.",
        "This module was removed from the course.",
        "This action has no valid id (a UUID).",
    ]
    assert ProgressEvent.objects.filter(learner=trainee).exclude(verb="enrolled").count() == 1


# --- Only the learner's own actions, only with the session and CSRF token ---------------------


def test_an_id_another_learner_used_is_rejected_and_changes_nothing(client, trainee, course):
    first, _second = course_modules(course)
    other = UserFactory(username="other-trainee")
    for learner in (trainee, other):
        enrol(learner=learner, course=course)
    event = complete(first)
    client.force_login(other)
    send(client, [event])
    client.force_login(trainee)

    result = send(client, [event]).json()["results"][0]

    assert result == {
        "event_id": event["event_id"],
        "status": "rejected",
        "reason": "This action's id was used by another account.",
    }
    assert not ModuleCompletion.objects.filter(learner=trainee).exists()


def test_a_queue_saved_by_another_account_is_refused_whole(enrolled, trainee, course):
    first, _second = course_modules(course)

    response = send(enrolled, [complete(first)], learner=trainee.pk + 1000)

    assert response.status_code == HTTPStatus.CONFLICT
    assert "another account" in response.json()["error"]
    assert not ModuleCompletion.objects.exists()


def test_anonymous_visitors_send_nothing(client, course):
    first, _second = course_modules(course)

    response = send(client, [complete(first)])

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json() == {"error": "Log in to send what you did offline."}
    assert not ProgressEvent.objects.filter(verb="completed").exists()


def test_a_request_without_the_csrf_token_is_refused(trainee, course):
    first, _second = course_modules(course)
    enrol(learner=trainee, course=course)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(trainee)

    refused = send(browser, [complete(first)])
    browser.get(course.url)  # the page sets the CSRF cookie the script sends back
    accepted = send(browser, [complete(first)], HTTP_X_CSRFTOKEN=browser.cookies["csrftoken"].value)

    assert refused.status_code == HTTPStatus.FORBIDDEN
    assert statuses(accepted) == ["applied"]
    assert ModuleCompletion.objects.filter(learner=trainee).count() == 1


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ("{", "The request's body is not valid JSON"),
        ('{"events": 3}', "The request must be a JSON object with a list of events."),
        ("[]", "The request must be a JSON object with a list of events."),
        (
            json.dumps({"events": [{}] * 101}),
            "Send at most 100 actions at a time (this request has 101).",
        ),
    ],
)
def test_a_malformed_request_is_refused_naming_the_problem(enrolled, body, error):
    response = enrolled.post(SYNC, body, content_type="application/json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["error"].startswith(error)
    assert not ProgressEvent.objects.exclude(verb="enrolled").exists()


# --- What a phone keeps ------------------------------------------------------------------------


def test_an_enrolled_learner_gets_what_to_keep_and_a_version(enrolled, course):
    modules = course_modules(course)
    url = reverse("offline:course_manifest", args=[course.pk])

    manifest = enrolled.get(url).json()

    assert manifest["pages"] == [course.url, *(m.url for m in modules)]
    assert manifest["modules"] == {str(m.pk): m.title for m in modules}
    assert manifest["version"] == enrolled.get(url).json()["version"]
    modules[0].save_revision().publish()  # republished: the phone's copy is stale
    assert enrolled.get(url).json()["version"] != manifest["version"]


@pytest.mark.parametrize("who", ["anonymous", "not enrolled", "withdrawn"])
def test_only_an_enrolled_learner_may_keep_a_course(client, trainee, course, who):
    if who != "anonymous":
        client.force_login(trainee)
    if who == "withdrawn":
        enrol(learner=trainee, course=course)
        Enrolment.objects.update(status=EnrolmentStatus.WITHDRAWN)

    response = client.get(reverse("offline:course_manifest", args=[course.pk]))

    expected = HTTPStatus.UNAUTHORIZED if who == "anonymous" else HTTPStatus.FORBIDDEN
    assert response.status_code == expected
    assert "pages" not in response.json()


def test_the_kept_quiz_page_does_not_tell_the_right_answers(enrolled, course):
    _first, second = course_modules(course)
    page = enrolled.get(second.url).content.decode()

    for question in second.quiz_block().value["questions"]:
        for answer in question["answers"]:
            assert escape(answer["text"]) in page
            if answer["feedback"]:
                assert escape(answer["feedback"]) not in page
    assert "is_correct" not in page and "Correct." not in page


# --- The installable site and its service worker ----------------------------------------------


def test_the_site_is_installable(client, catalogue):
    manifest = client.get("/manifest.webmanifest")

    assert manifest["Content-Type"] == "application/manifest+json"
    data = manifest.json()
    assert data["display"] == "standalone" and data["theme_color"] == "#0b3d66"
    sizes = {icon["sizes"] for icon in data["icons"]}
    assert {"192x192", "512x512"} <= sizes
    for icon in data["icons"]:
        assert finders.find(icon["src"].removeprefix(settings.STATIC_URL)), icon["src"]
    page = client.get(catalogue.url).content.decode()
    assert '<link rel="manifest" href="/manifest.webmanifest">' in page
    assert '<meta name="theme-color" content="#0b3d66">' in page


def test_the_service_worker_is_served_from_the_root_and_never_cached(client):
    response = client.get("/sw.js")

    assert response["Content-Type"].startswith("text/javascript")
    assert response["Service-Worker-Allowed"] == "/"
    assert "no-cache" in response["Cache-Control"]
    script = response.content.decode()
    assert 'importScripts("/static/courses/offline/queue.js")' in script
    assert '"/static/lms/site.css"' in script and '"/learn/offline/"' in script
    assert "script-src 'self'" in response["Content-Security-Policy"]


def test_the_service_worker_gives_up_on_a_dead_network_after_the_set_time(client, settings):
    """A phone that looks online on a network carrying nothing ("lie-fi") waits this long
    before it queues the action and shows the kept page (tests/e2e/test_offline.py)."""
    assert "var TIMEOUT = 8000;" in client.get("/sw.js").content.decode()

    settings.OFFLINE_NETWORK_TIMEOUT = 2.5

    assert "var TIMEOUT = 2500;" in client.get("/sw.js").content.decode()


def test_every_page_tells_the_script_where_logging_out_posts(client, trainee, catalogue):
    """Logging out removes the learner's kept courses first (offline.js): the script finds
    the log-out forms by their address."""
    client.force_login(trainee)
    page = client.get(catalogue.url).content.decode()

    assert f'data-logout="{reverse("account_logout")}"' in page
    assert f'action="{reverse("account_logout")}"' in page


def test_the_offline_page_says_so(client):
    page = client.get("/learn/offline/").content.decode()

    assert "You are offline" in page and "not kept on this phone" in page


def test_the_service_worker_and_scripts_stay_under_20_kb_compressed(client):
    """What a phone downloads to work offline: the worker and the pages' scripts, gzipped."""
    worker = client.get("/sw.js").content
    scripts = [
        (OFFLINE_DIR / "static" / "courses" / "offline" / name).read_bytes()
        for name in ("queue.js", "offline.js")
    ]
    compressed = sum(len(gzip.compress(body, 9)) for body in [worker, *scripts])
    print(f"service worker and scripts: {compressed} bytes gzipped")
    assert compressed < 20_000


def test_no_third_party_code_at_run_time(client):
    worker = client.get("/sw.js").content.decode()
    scripts = [
        (OFFLINE_DIR / "static" / "courses" / "offline" / name).read_text()
        for name in ("queue.js", "offline.js")
    ]
    for text in [worker, *scripts]:
        assert "http://" not in text and "https://" not in text


# --- In French ------------------------------------------------------------------------------


def test_keeping_a_course_and_refused_actions_speak_french(enrolled, trainee, course):
    first, _second = course_modules(course)
    enrolled.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    page = enrolled.get(course.url).content.decode()
    assert "Garder ce cours sur mon téléphone" in page
    assert "Sur ce téléphone" in page
    assert (
        "1 action enregistrée sur ce téléphone, elle sera envoyée quand vous serez en ligne."
        in page
    )
    first.unpublish()

    result = send(enrolled, [complete(first)]).json()["results"][0]

    assert result["reason"] == "Ce module a été retiré du cours."


def test_what_to_keep_lists_phone_sized_images_and_documents_with_their_sizes(enrolled, course):
    first = course_modules(course)[0]
    picture = io.BytesIO()
    PillowImage.new("RGB", (1600, 1200), "#3f6e8c").save(picture, "JPEG")
    image = Image.objects.create(title="A visit", file=ImageFile(picture, name="visit.jpg"))
    document = Document.objects.create(
        title="Case plan form", file=ContentFile(b"x" * 2500, name="case-plan.pdf")
    )
    body = [
        {"type": b.block_type, "value": b.block.get_prep_value(b.value), "id": b.id}
        for b in first.body
    ]
    body += [
        {"type": "image", "value": {"image": image.pk, "alt_text": "A visit"}},
        {"type": "document", "value": {"document": document.pk, "title": "The form"}},
    ]
    first.body = json.dumps(body)
    first.save_revision().publish()

    manifest = enrolled.get(reverse("offline:course_manifest", args=[course.pk])).json()

    rendition = image.get_rendition("max-720x720|format-webp")
    assert manifest["images"] == [{"url": rendition.url, "bytes": rendition.file.size}]
    assert manifest["documents"] == [{"url": document.url, "title": "The form", "bytes": 2500}]
    page = enrolled.get(first.url).content.decode()
    assert rendition.url in page  # the very file the module page shows
