"""Learning where the network is not, in a real browser on a 360×740 phone: a trainee keeps
the demo course on the phone, goes offline, reads and completes both modules (the second by
its quiz), reloads offline, comes back online in two tabs, and the server holds each action
once; then sees 100 % and the certificate. An action the server refuses is shown.

A network that looks connected but carries nothing ("lie-fi": requests fail or hang) queues
the action as if offline, and it is counted once even when the first request got through.
On a shared phone, logging out removes the kept course and warns of unsent actions, which
stay with their owner and are never applied to the next person who logs in.

The service worker needs a real origin: the live server's ``http://localhost:<port>`` is one.
Each step leaves a screenshot in ``test-artifacts/screenshots/<test name>/``.
"""

import io
import json
import random
import re
import uuid

import pytest
from django.core.files.images import ImageFile
from PIL import Image as PillowImage
from PIL import ImageDraw, ImageFilter
from playwright.sync_api import Page, expect
from wagtail.images.models import Image

from certificates.models import Certificate, CertificateRule, CertificateTemplate
from courses.models import (
    Enrolment,
    EnrolmentStatus,
    ModuleCompletion,
    ProgressEvent,
    QuizAttempt,
)
from courses.services import enrol
from lms import services as lms_services
from tests.e2e.browser import PHONE, assert_fits_phone, log_in
from tests.factories import UserFactory, learner_profile_data
from tests.learning import course_modules

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

COURSE = "Case management for para-professionals"
MODULE_1 = "Opening a case"
MODULE_2 = "Planning with the family"
#: Issuing the certificate renders its PDF in the sync request (Celery is eager in tests):
#: WeasyPrint's first render of a run loads fonts and takes seconds.
RENDER_TIMEOUT_MS = 30_000
#: What a module page with an image may cost over the network, everything included.
MODULE_WITH_IMAGE_BUDGET = 150 * 1024
#: Seconds the phone waits for a network that looks connected (OFFLINE_NETWORK_TIMEOUT):
#: shorter than in production (8), to keep the tests quick; pages here answer far sooner.
LIE_FI_TIMEOUT = 3
ACTION_URLS = "**/modules/*/complete/"
SYNC_URL = "**/learn/offline/sync/"
SAVED = "Saved on this phone, will be sent when you are online."
ONE_QUEUED = "1 action saved on this phone, will be sent when you are online."


@pytest.fixture
def serve_media(settings):
    settings.ROOT_URLCONF = "tests.e2e.media_urls"


@pytest.fixture
def certificate_rule(course, institution_a) -> CertificateRule:
    template = CertificateTemplate.objects.create(
        institution=institution_a,
        name="Ubuntu standard",
        signatory_name="Grace Wanjiku",
        signatory_title="Director of Training",
    )
    return CertificateRule.objects.create(
        course=course, template=template, require_modules=True, require_quizzes=True
    )


def photograph() -> ImageFile:
    """A camera-sized picture (1600×1200 JPEG, about 280 KB) with the shapes and grain of a
    photo: its phone-sized rendition weighs what a real one does."""
    shapes = random.Random(1)
    picture = PillowImage.new("RGB", (1600, 1200), "#c9d8c5")
    draw = ImageDraw.Draw(picture)
    for _ in range(400):
        x, y, r = shapes.randrange(1600), shapes.randrange(1200), shapes.randrange(10, 120)
        colour = tuple(shapes.randrange(256) for _ in range(3))
        draw.ellipse([x, y, x + r, y + r], fill=colour)
    picture = picture.filter(ImageFilter.GaussianBlur(3))
    grain = PillowImage.effect_noise((1600, 1200), 40).convert("RGB")
    picture = PillowImage.blend(picture, grain.filter(ImageFilter.GaussianBlur(1)), 0.15)
    data = io.BytesIO()
    picture.save(data, "JPEG", quality=90)
    return ImageFile(data, name="home-visit.jpg")


@pytest.fixture
def illustrated_course(course, serve_media):
    """The demo course, its first module opening with a photograph."""
    image = Image.objects.create(title="A home visit", file=photograph())
    first = course_modules(course)[0]
    body = [
        {"type": b.block_type, "value": b.block.get_prep_value(b.value), "id": b.id}
        for b in first.body
    ]
    body.insert(
        0,
        {
            "type": "image",
            "value": {"image": image.pk, "caption": "A home visit", "alt_text": "A worker"},
            "id": str(uuid.uuid4()),
        },
    )
    first.body = json.dumps(body)
    first.save_revision().publish()
    return course


def wait_for_service_worker(page: Page) -> None:
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    if not page.evaluate("navigator.serviceWorker.controller !== null"):
        page.reload()
    assert page.evaluate("navigator.serviceWorker.controller !== null")


def queued_ids(page: Page) -> list[str]:
    return page.evaluate("SSWQueue.all('events').then(es => es.map(e => e.event_id))")


def page_weight(page: Page, url: str) -> tuple[int, list[str]]:
    """Bytes a page costs over the network (headers and bodies of every response), with
    lazy images scrolled into view."""
    responses = []
    page.on("requestfinished", lambda request: responses.append(request))
    page.goto(url)
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    page.wait_for_load_state("networkidle")
    total, lines = 0, []
    for request in responses:
        sizes = request.sizes()
        size = sizes["responseBodySize"] + sizes["responseHeadersSize"]
        total += size
        lines.append(f"{size:>8} {request.url}")
    return total, lines


# --- The whole way ------------------------------------------------------------------------


@pytest.mark.browser
def test_a_course_kept_on_a_phone_is_learned_offline_and_sent_once(
    live_server, trainee, illustrated_course, certificate_rule, open_page, shot
):
    course = illustrated_course
    first, second = course_modules(course)
    phone = open_page(**PHONE)
    context = phone.context
    log_in(phone, live_server.url, trainee.username, course.url)
    expect(phone.get_by_role("heading", level=1)).to_have_text(COURSE)
    phone.get_by_role("button", name="Enrol in this course").tap()
    expect(phone.get_by_role("heading", level=1)).to_have_text(MODULE_1)

    # What a module page with a photograph costs over the network, on a first visit.
    # A first visit: the session's cookies, nothing cached, no service worker.
    measuring = open_page(**PHONE, service_workers="block", storage_state=context.storage_state())
    weight, lines = page_weight(measuring, f"{live_server.url}{first.url}")
    print(f"module page with an image: {weight} bytes over the network\n" + "\n".join(lines))
    assert any("/media/images/" in line and ".webp" in line for line in lines)
    assert weight < MODULE_WITH_IMAGE_BUDGET
    measuring.context.close()

    # --- Keep the course on the phone ---
    phone.goto(f"{live_server.url}{course.url}")
    wait_for_service_worker(phone)
    kept = phone.get_by_role("region", name="On this phone")
    expect(kept).to_contain_text("This course is not kept on this phone.")
    expect(kept).to_contain_text(re.compile(r"About \d+(\.\d)? KB on this phone\."))
    assert_fits_phone(phone)
    shot(phone, "course page, not kept yet")
    kept.get_by_role("button", name="Keep this course on my phone").tap()
    expect(kept).to_contain_text(re.compile(r"Kept on this phone: \d+(\.\d)? KB, saved on "))
    expect(kept.get_by_role("button", name="Remove it from this phone")).to_be_visible()
    shot(phone, "course kept on the phone")

    # --- Offline: read both modules, complete the first, answer the second's quiz ---
    context.set_offline(True)
    assert phone.evaluate("fetch('/learning/').then(() => 'reached', () => 'offline')") == (
        "offline"
    )
    response = phone.goto(f"{live_server.url}{first.url}")
    assert response.from_service_worker
    expect(phone.get_by_role("heading", level=1)).to_have_text(MODULE_1)
    photo = phone.get_by_role("img", name="A worker")
    photo.scroll_into_view_if_needed()
    expect(photo).to_have_js_property("complete", True)
    assert phone.evaluate("document.querySelector('figure img').naturalWidth") == 720
    phone.get_by_role("button", name="Mark this module complete").tap()
    expect(phone.locator(".offline-saved")).to_have_text(
        "Saved on this phone, will be sent when you are online."
    )
    expect(phone.locator(".offline-status")).to_contain_text(
        "1 action saved on this phone, will be sent when you are online."
    )
    shot(phone, "offline, module 1 completed on the phone")

    phone.goto(f"{live_server.url}{second.url}")
    expect(phone.get_by_role("heading", level=1)).to_have_text(MODULE_2)
    quiz = phone.locator("#quiz")
    who = quiz.get_by_role("group", name=re.compile("Who should agree the goals"))
    who.get_by_role("radio", name="The child, the family and the worker").check()
    which = quiz.get_by_role("group", name=re.compile("Which belong in every case plan"))
    for answer in ("Goals", "Who does each action", "When you will review the plan"):
        which.get_by_role("checkbox", name=answer).check()
    quiz.get_by_role("button", name="Submit answers").tap()
    expect(quiz.locator(".offline-saved")).to_have_text(
        "Your answers are saved on this phone. They will be scored when you are online."
    )
    expect(quiz).not_to_contain_text("Correct.")  # scored on the server, not here
    shot(phone, "offline, quiz answered on the phone")

    phone.reload()
    expect(phone.get_by_role("heading", level=1)).to_have_text(MODULE_2)
    status = phone.locator(".offline-status")
    expect(status).to_contain_text(
        "2 actions saved on this phone, will be sent when you are online."
    )
    expect(status.get_by_role("button", name="Send now")).to_be_visible()
    expect(phone.locator("#quiz .offline-saved")).to_be_visible()
    assert_fits_phone(phone)
    shot(phone, "offline, reloaded")
    ids = queued_ids(phone)
    assert len(ids) == 2
    phone.evaluate("SSWQueue.all('events').then(es => { window.sentBefore = es; })")
    assert not ProgressEvent.objects.filter(event_id__in=ids).exists()  # still on the phone

    # --- Online again, in two tabs at once: each action is applied once ---
    other_tab = context.new_page()
    other_tab.goto(f"{live_server.url}{first.url}")
    expect(other_tab.locator(".offline-status")).to_contain_text("2 actions saved")
    context.set_offline(False)
    for tab in (phone, other_tab):
        expect(tab.locator(".offline-status")).to_have_text("", timeout=RENDER_TIMEOUT_MS)
    expect(phone.get_by_text("Sent from this phone: 2.")).to_be_visible()
    expect(phone.get_by_text("“Planning with the family”: you passed with 100 %.")).to_be_visible()
    shot(phone, "online again, sent")
    assert ProgressEvent.objects.filter(event_id__in=ids).count() == 2
    assert sorted(ProgressEvent.objects.filter(learner=trainee).values_list("verb", flat=True)) == [
        "completed",
        "enrolled",
        "passed",
    ]
    assert ModuleCompletion.objects.filter(learner=trainee).count() == 2
    assert phone.evaluate("SSWQueue.all('events')") == []

    # The same actions sent again (a tab that kept an old copy of the queue): duplicates.
    for action in phone.evaluate("window.sentBefore"):
        phone.evaluate("action => SSWQueue.put('events', action)", action)
    again = phone.evaluate(
        "learner => SSWQueue.send(learner,"
        " document.querySelector('[name=csrfmiddlewaretoken]').value)",
        trainee.pk,
    )
    assert [(a["event_id"], a["status"]) for a in again] == [(i, "duplicate") for i in ids]
    assert ProgressEvent.objects.filter(event_id__in=ids).count() == 2

    phone.goto(f"{live_server.url}{course.url}")
    expect(phone.locator("main")).to_contain_text("100 % complete")
    phone.goto(f"{live_server.url}/certificates/")
    expect(phone.locator("main")).to_contain_text(COURSE)
    assert Certificate.objects.filter(learner=trainee, course=course).count() == 1
    shot(phone, "the certificate")


@pytest.mark.browser
def test_an_action_the_server_refuses_is_shown_to_the_learner(
    live_server, trainee, course, open_page, shot
):
    first, _second = course_modules(course)
    enrol(learner=trainee, course=course)
    phone = open_page(**PHONE)
    log_in(phone, live_server.url, trainee.username, first.url)
    expect(phone.get_by_role("heading", level=1)).to_have_text(MODULE_1)
    wait_for_service_worker(phone)

    phone.context.set_offline(True)
    phone.get_by_role("button", name="Mark this module complete").tap()
    expect(phone.locator(".offline-status")).to_contain_text("1 action saved on this phone")
    # Meanwhile, the institution withdrew the learner from the course.
    Enrolment.objects.filter(learner=trainee).update(status=EnrolmentStatus.WITHDRAWN)
    phone.context.set_offline(False)

    refused = phone.get_by_role("alert")
    expect(refused).to_contain_text("Not recorded (saved on this phone, refused by the server):")
    expect(refused).to_contain_text(f"{MODULE_1}: You are not enrolled in “{COURSE}”.")
    assert_fits_phone(phone)
    shot(phone, "refused action shown")
    assert not ModuleCompletion.objects.exists()
    refused.get_by_role("button", name="Dismiss").tap()
    expect(phone.get_by_role("alert")).to_have_count(0)


@pytest.mark.browser
def test_a_kept_course_follows_its_republishing_and_can_be_removed(
    live_server, trainee, course, open_page, shot
):
    first, second = course_modules(course)
    enrol(learner=trainee, course=course)
    phone = open_page(**PHONE)
    log_in(phone, live_server.url, trainee.username, course.url)
    expect(phone.get_by_role("heading", level=1)).to_have_text(COURSE)
    wait_for_service_worker(phone)
    kept = phone.get_by_role("region", name="On this phone")
    kept.get_by_role("button", name="Keep this course on my phone").tap()
    expect(kept).to_contain_text("Kept on this phone:")
    cache = f"ssw-course-{course.pk}"
    cached_paths = (
        f"caches.open('{cache}').then(c => c.keys())"
        ".then(rs => rs.map(r => new URL(r.url).pathname).sort())"
    )
    assert phone.evaluate(cached_paths) == sorted([course.url, first.url, second.url])

    # The author republishes a module; the learner's next online visit brings the copy up to date.
    first.title = "Opening a case, step by step"
    first.save_revision().publish()
    phone.reload()
    expect(kept).to_contain_text("The course changed: the copy on this phone is up to date again")
    shot(phone, "kept copy updated after republishing")
    phone.context.set_offline(True)
    phone.goto(f"{live_server.url}{first.url}")
    expect(phone.get_by_role("heading", level=1)).to_have_text("Opening a case, step by step")

    # Offline, a page not kept: the offline page, listing the courses on this phone.
    phone.goto(f"{live_server.url}/profile/")
    expect(phone.get_by_role("heading", level=1)).to_have_text("You are offline")
    on_phone = phone.get_by_role("region", name="Courses on this phone")
    expect(on_phone.get_by_role("link", name=COURSE)).to_have_attribute(
        "href", re.compile(course.url)
    )
    assert_fits_phone(phone)
    shot(phone, "offline page")

    phone.context.set_offline(False)
    phone.goto(f"{live_server.url}{course.url}")
    kept.get_by_role("button", name="Remove it from this phone").tap()
    expect(kept).to_contain_text("Removed from this phone.")
    assert phone.evaluate(f"caches.has('{cache}')") is False
    shot(phone, "removed from the phone")


# --- Lie-fi: connected, but the network carries nothing ------------------------------------
# The service worker posts the form, so its requests are routed on the browser context
# (a page's routes do not see a worker's requests).


@pytest.fixture
def lie_fi_timeout(settings):
    settings.OFFLINE_NETWORK_TIMEOUT = LIE_FI_TIMEOUT


def enrolled_on_module(live_server, trainee, course, open_page) -> Page:
    first, _second = course_modules(course)
    enrol(learner=trainee, course=course)
    phone = open_page(**PHONE)
    log_in(phone, live_server.url, trainee.username, first.url)
    expect(phone.get_by_role("heading", level=1)).to_have_text(MODULE_1)
    wait_for_service_worker(phone)
    return phone


@pytest.mark.browser
@pytest.mark.parametrize("network", ["fails", "hangs"])
def test_an_action_on_a_connected_but_dead_network_is_saved_on_the_phone_and_sent_once(
    live_server, trainee, course, open_page, shot, lie_fi_timeout, network
):
    phone = enrolled_on_module(live_server, trainee, course, open_page)
    context = phone.context
    hanging = []
    if network == "fails":
        context.route(ACTION_URLS, lambda route: route.abort())
    else:  # no answer ever: the phone gives up after LIE_FI_TIMEOUT
        context.route(ACTION_URLS, lambda route: hanging.append(route))
    context.route(SYNC_URL, lambda route: route.abort())
    assert phone.evaluate("navigator.onLine") is True

    phone.get_by_role("button", name="Mark this module complete").tap()

    status = phone.locator(".offline-status")
    expect(phone.locator(".offline-saved")).to_have_text(SAVED)
    expect(status).to_contain_text(ONE_QUEUED)
    expect(status.get_by_role("button", name="Send now")).to_be_visible()
    assert len(hanging) == (1 if network == "hangs" else 0)
    assert_fits_phone(phone)
    shot(phone, f"network {network}, action saved on the phone")
    ids = queued_ids(phone)
    assert len(ids) == 1
    assert not ProgressEvent.objects.filter(event_id__in=ids).exists()
    assert not ModuleCompletion.objects.exists()

    context.unroute(ACTION_URLS)
    context.unroute(SYNC_URL)
    status.get_by_role("button", name="Send now").tap()

    expect(phone.get_by_text("Sent from this phone: 1.")).to_be_visible()
    expect(status).to_have_text("")
    shot(phone, "network back, sent")
    assert ProgressEvent.objects.filter(event_id=ids[0], learner=trainee).count() == 1
    assert ModuleCompletion.objects.filter(learner=trainee).count() == 1
    assert queued_ids(phone) == []


@pytest.mark.browser
def test_quiz_answers_on_a_connected_but_dead_network_are_saved_and_scored_once_sent(
    live_server, trainee, course, open_page, shot, lie_fi_timeout
):
    _first, second = course_modules(course)
    phone = enrolled_on_module(live_server, trainee, course, open_page)
    phone.goto(f"{live_server.url}{second.url}")
    phone.context.route("**/modules/*/quiz/", lambda route: route.abort())
    phone.context.route(SYNC_URL, lambda route: route.abort())
    quiz = phone.locator("#quiz")
    who = quiz.get_by_role("group", name=re.compile("Who should agree the goals"))
    who.get_by_role("radio", name="The child, the family and the worker").check()
    which = quiz.get_by_role("group", name=re.compile("Which belong in every case plan"))
    for answer in ("Goals", "Who does each action", "When you will review the plan"):
        which.get_by_role("checkbox", name=answer).check()

    quiz.get_by_role("button", name="Submit answers").tap()

    expect(quiz.locator(".offline-saved")).to_have_text(
        "Your answers are saved on this phone. They will be scored when you are online."
    )
    expect(phone.locator(".offline-status")).to_contain_text(ONE_QUEUED)
    shot(phone, "quiz answers saved on the phone")
    assert not QuizAttempt.objects.exists()
    phone.context.unroute("**/modules/*/quiz/")
    phone.context.unroute(SYNC_URL)
    phone.locator(".offline-status").get_by_role("button", name="Send now").tap()

    expect(phone.get_by_text("“Planning with the family”: you passed with 100 %.")).to_be_visible()
    assert QuizAttempt.objects.filter(learner=trainee, passed=True).count() == 1


@pytest.mark.browser
def test_an_action_whose_answer_was_lost_is_sent_again_as_a_duplicate_and_counted_once(
    live_server, trainee, course, open_page, shot, lie_fi_timeout
):
    phone = enrolled_on_module(live_server, trainee, course, open_page)
    context = phone.context

    def reached_then_lost(route):
        route.fetch(max_redirects=0)  # the server applies the action…
        route.abort()  # …and its answer never reaches the phone

    context.route(ACTION_URLS, reached_then_lost)
    context.route(SYNC_URL, lambda route: route.abort())

    phone.get_by_role("button", name="Mark this module complete").tap()

    status = phone.locator(".offline-status")
    expect(status).to_contain_text(ONE_QUEUED)
    ids = queued_ids(phone)
    assert ProgressEvent.objects.filter(event_id=ids[0]).count() == 1  # it got there

    context.unroute(ACTION_URLS)
    context.unroute(SYNC_URL)
    with phone.expect_response(SYNC_URL) as sync:
        status.get_by_role("button", name="Send now").tap()

    assert [(r["event_id"], r["status"]) for r in sync.value.json()["results"]] == [
        (ids[0], "duplicate")
    ]
    expect(status).to_have_text("")
    shot(phone, "sent again, a duplicate")
    assert ProgressEvent.objects.filter(event_id=ids[0]).count() == 1
    assert ProgressEvent.objects.filter(learner=trainee, verb="completed").count() == 1
    assert ModuleCompletion.objects.filter(learner=trainee).count() == 1


# --- A shared phone: logging out ------------------------------------------------------------


def action_left_unsent(phone: Page) -> list[str]:
    """Complete the module offline, come back to a network on which the sync fails: the
    action waits on the phone."""
    context = phone.context
    context.route(SYNC_URL, lambda route: route.abort())
    context.set_offline(True)
    phone.get_by_role("button", name="Mark this module complete").tap()
    expect(phone.locator(".offline-status")).to_contain_text(ONE_QUEUED)
    context.set_offline(False)
    expect(phone.get_by_text("Could not send now")).to_be_visible()
    return queued_ids(phone)


def log_out(phone: Page) -> None:
    phone.get_by_role("button", name="Log out", exact=True).tap()


def expect_logged_out(phone: Page) -> None:
    main_menu = phone.get_by_role("navigation", name="Main")
    expect(main_menu.get_by_role("link", name="Log in")).to_be_visible()


@pytest.mark.browser
def test_logging_out_removes_the_kept_course_and_keeps_unsent_actions_for_their_owner_only(
    live_server, trainee, course, open_page, shot
):
    first, _second = course_modules(course)
    next_person = UserFactory(username="next-trainee")
    lms_services.learner_profile_save(user=next_person, **learner_profile_data())
    for learner in (trainee, next_person):
        enrol(learner=learner, course=course)
    phone = open_page(**PHONE)
    context = phone.context
    log_in(phone, live_server.url, trainee.username, course.url)
    expect(phone.get_by_role("heading", level=1)).to_have_text(COURSE)
    wait_for_service_worker(phone)
    kept = phone.get_by_role("region", name="On this phone")
    kept.get_by_role("button", name="Keep this course on my phone").tap()
    expect(kept).to_contain_text("Kept on this phone:")
    cache = f"ssw-course-{course.pk}"
    phone.goto(f"{live_server.url}{first.url}")
    ids = action_left_unsent(phone)

    # Logging out first warns of the action not sent; nothing is removed until the choice.
    log_out(phone)
    warning = phone.get_by_role("alert")
    expect(warning).to_have_text(
        re.compile(
            r"^1 action saved on this phone has not been sent yet\. If you log out now, it "
            r"stays on this phone and is sent the next time you log in here\."
        )
    )
    expect(warning.get_by_role("button", name="Send now")).to_be_focused()
    assert phone.evaluate(f"caches.has('{cache}')") is True
    assert_fits_phone(phone)
    shot(phone, "warned of the unsent action")
    warning.get_by_role("button", name="Log out anyway").tap()
    expect_logged_out(phone)
    assert phone.evaluate(f"caches.has('{cache}')") is False
    # The offline page is kept again as a visitor sees it (no courses of anyone).
    phone.wait_for_function("caches.match('/learn/offline/').then(found => !!found)")

    # Offline, the course's pages are no longer on the phone. (Routes off first: with one
    # set, Playwright fails an offline navigation before the worker sees it; and the page
    # after logging out must be the worker's before the network goes.)
    context.unroute(SYNC_URL)
    wait_for_service_worker(phone)
    # No new worker still installing (an install refills the shell, offline page included),
    # and the offline page kept.
    phone.wait_for_function(
        "navigator.serviceWorker.getRegistration()"
        ".then(r => !!r && !!r.active && !r.installing && !r.waiting)"
        ".then(settled => settled && caches.match('/learn/offline/').then(found => !!found))"
    )
    context.set_offline(True)
    phone.goto(f"{live_server.url}{first.url}")
    expect(phone.get_by_role("heading", level=1)).to_have_text("You are offline")
    expect(phone.get_by_role("region", name="Courses on this phone")).to_have_count(0)
    expect(phone.locator("main")).not_to_contain_text(MODULE_1)
    shot(phone, "logged out, offline: the course is gone")
    context.set_offline(False)

    # The next person logs in on the same phone: the first one's action is not theirs.
    log_in(phone, live_server.url, next_person.username, first.url)
    expect(phone.get_by_role("heading", level=1)).to_have_text(MODULE_1)
    expect(phone.locator(".offline-status")).to_have_text("")
    expect(phone.get_by_role("button", name="Mark this module complete")).to_be_visible()
    # Sent as the worker sends every account's queue: the server refuses it whole.
    sent_by_the_worker = "SSWQueue.send(null).then(() => 'sent', () => 'refused')"
    assert phone.evaluate(sent_by_the_worker) == "refused"
    assert queued_ids(phone) == ids
    assert not ProgressEvent.objects.filter(event_id__in=ids).exists()
    assert not ModuleCompletion.objects.exists()
    shot(phone, "the next person sees nothing of it")
    log_out(phone)  # nothing of theirs waits: no warning
    expect_logged_out(phone)

    # Its owner logs in again: it is sent, for them, once.
    log_in(phone, live_server.url, trainee.username, first.url)
    expect(phone.get_by_text("Sent from this phone: 1.")).to_be_visible()
    shot(phone, "the owner is back: sent")
    assert ProgressEvent.objects.get(event_id=ids[0]).learner == trainee
    assert ModuleCompletion.objects.filter(learner=trainee).count() == 1
    assert not ModuleCompletion.objects.filter(learner=next_person).exists()


@pytest.mark.browser
def test_unsent_actions_can_be_sent_from_the_log_out_warning(
    live_server, trainee, course, open_page, shot
):
    phone = enrolled_on_module(live_server, trainee, course, open_page)
    ids = action_left_unsent(phone)
    log_out(phone)
    warning = phone.get_by_role("alert")
    expect(warning).to_contain_text("1 action saved on this phone has not been sent yet.")

    phone.context.unroute(SYNC_URL)
    warning.get_by_role("button", name="Send now").tap()

    expect(phone.get_by_text("Sent from this phone: 1.")).to_be_visible()
    expect(phone.get_by_role("alert")).to_have_count(0)
    shot(phone, "sent from the warning")
    assert ProgressEvent.objects.filter(event_id=ids[0], learner=trainee).count() == 1
    log_out(phone)
    expect_logged_out(phone)
    assert ModuleCompletion.objects.filter(learner=trainee).count() == 1
