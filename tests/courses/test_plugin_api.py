"""The plugin API other LMSs use: learners by external id, enrolments, progress and batches.

Who may do what: an institution's API key reaches its own learners and courses only; another
institution's are answered as unknown. Browser sessions are refused (401) even for the
institution's manager: these endpoints are for systems, and a key names one institution.
"""

import uuid
from datetime import timedelta
from http import HTTPStatus

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from courses import demo as courses_demo
from courses import ingest
from courses import services as course_services
from courses.models import (
    Enrolment,
    EnrolmentStatus,
    ModuleCompletion,
    ModulePage,
    ProgressEvent,
    ProgressSource,
)
from lms import services as lms_services
from lms.models import LearnerIdentity
from tests.db_faults import failing_inserts
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

LEARNER = {
    "external_id": "moodle-42",
    "full_name": "Wanjiru Kamau",
    "email": "wanjiru@example.org",
    "cadre": "volunteer",
    "sector": "community",
    "region": "Nairobi",
}


@pytest.fixture
def course_b(institution_b, published_framework):
    return courses_demo.seed_course(institution=institution_b, framework=published_framework)


def auth(key) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {key[1]}"}


def modules(course) -> list[ModulePage]:
    return list(ModulePage.objects.child_of(course).order_by("path"))


def post(client, path, data, key):
    return client.post(path, data, content_type="application/json", **auth(key))


def learner_of(client, key, **overrides):
    response = post(client, "/api/v1/learners", {**LEARNER, **overrides}, key)
    assert response.status_code in (HTTPStatus.CREATED, HTTPStatus.OK), response.content
    return LearnerIdentity.objects.get(
        institution=key[0].institution, external_id=response.json()["external_id"]
    ).user


def event(course=None, module=None, *, learner="moodle-42", verb="completed", **fields) -> dict:
    data = {"id": str(uuid.uuid4()), "learner": learner, "verb": verb, **fields}
    if course is not None:
        data["course_id"] = course.pk
    if module is not None:
        data["module_id"] = module.pk
    return data


def counts() -> dict:
    return {
        "events": ProgressEvent.objects.count(),
        "enrolments": Enrolment.objects.count(),
        "completions": ModuleCompletion.objects.count(),
    }


# --- Learners: create or match ---------------------------------------------------------------


def test_create_then_match_the_same_learner(client, key_a, institution_a):
    users_before = get_user_model().objects.count()
    first = post(client, "/api/v1/learners", LEARNER, key_a)
    assert first.status_code == HTTPStatus.CREATED
    body = first.json()
    assert body["created"] is True
    assert body["full_name"] == "Wanjiru Kamau"
    assert body["country"] == "KE"  # the institution's country by default
    assert body["email"] == "wanjiru@example.org"
    assert body["username"].startswith("ubuntu-")

    again = post(client, "/api/v1/learners", {**LEARNER, "region": "Kisumu"}, key_a)
    assert again.status_code == HTTPStatus.OK
    assert again.json()["created"] is False
    assert again.json()["username"] == body["username"]
    assert again.json()["region"] == "Kisumu"
    assert get_user_model().objects.count() == users_before + 1
    identity = LearnerIdentity.objects.get()
    assert identity.institution == institution_a
    assert identity.user.learner_profile.region == "Kisumu"
    assert not identity.user.has_usable_password()

    # A match needs only the external id; the profile stays as it was.
    bare = post(client, "/api/v1/learners", {"external_id": "moodle-42"}, key_a)
    assert bare.status_code == HTTPStatus.OK
    assert bare.json()["full_name"] == "Wanjiru Kamau"


def test_the_service_is_idempotent_and_checks_the_external_id(institution_a):
    with pytest.raises(lms_services.LearnerIdentityError, match="slashes"):
        lms_services.learner_match_or_create(
            institution=institution_a,
            external_id="KE/SW/1",
            full_name="X",
            cadre="volunteer",
            sector="ngo",
        )
    created = lms_services.learner_match_or_create(
        institution=institution_a,
        external_id="KE-SW-1",
        full_name="Otieno",
        cadre="volunteer",
        sector="ngo",
    )
    assert created.created
    matched = lms_services.learner_match_or_create(institution=institution_a, external_id="KE-SW-1")
    assert not matched.created
    assert matched.identity.user == created.identity.user
    assert LearnerIdentity.objects.count() == 1


def test_creating_needs_a_full_profile_and_changes_nothing_otherwise(client, key_a):
    users_before = get_user_model().objects.count()
    response = post(
        client, "/api/v1/learners", {"external_id": "k-1", "full_name": "Sok", "cadre": "x"}, key_a
    )
    assert response.status_code == HTTPStatus.BAD_REQUEST
    errors = response.json()["errors"]
    assert any(e.startswith("cadre:") for e in errors)
    assert any(e.startswith("sector:") for e in errors)
    assert get_user_model().objects.count() == users_before
    assert not LearnerIdentity.objects.exists()


def test_an_existing_account_is_never_taken_over(client, key_a, people_a):
    """Matching by e-mail would let an institution reach anyone's records: refused, 409."""
    taken = {**LEARNER, "email": people_a.trainee.email}
    response = post(client, "/api/v1/learners", taken, key_a)
    assert response.status_code == HTTPStatus.CONFLICT
    assert "already uses" in response.json()["errors"][0]
    assert not LearnerIdentity.objects.exists()
    response = post(client, "/api/v1/learners", {**LEARNER, "username": "trainee-a"}, key_a)
    assert response.status_code == HTTPStatus.CONFLICT
    assert "already taken" in response.json()["errors"][0]


def test_a_slash_in_an_external_id_is_refused_by_the_schema(client, key_a):
    response = post(client, "/api/v1/learners", {**LEARNER, "external_id": "KE/SW/9"}, key_a)
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert [field["loc"] for field in response.json()["fields"]] == [["body", "external_id"]]
    assert not LearnerIdentity.objects.exists()


def test_external_ids_belong_to_their_institution(client, key_a, key_b):
    """The same external id at two institutions is two learners, each seen by its own key."""
    a = learner_of(client, key_a)
    b = learner_of(client, key_b, email="other@example.org", full_name="Sokha Chan")
    assert a != b
    body_a = client.get("/api/v1/learners/moodle-42", **auth(key_a)).json()
    body_b = client.get("/api/v1/learners/moodle-42", **auth(key_b)).json()
    assert (body_a["full_name"], body_b["full_name"]) == ("Wanjiru Kamau", "Sokha Chan")


# --- Permission matrix ------------------------------------------------------------------------

ENDPOINTS = [
    ("get", "/api/v1/learners/moodle-42"),
    ("get", "/api/v1/learners/moodle-42/progress"),
    ("post", "/api/v1/learners/moodle-42/enrolments"),
    ("post", "/api/v1/learners"),
    ("post", "/api/v1/progress/events"),
]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_anonymous_callers_are_unauthorised(client, key_a, course, method, path):
    learner_of(client, key_a)
    before = counts()
    response = getattr(client, method)(path, {}, content_type="application/json")
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert counts() == before


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_browser_sessions_are_refused_even_the_institutions_manager(
    client, key_a, course, people_a, method, path
):
    learner_of(client, key_a)
    client.force_login(people_a.manager)
    before = counts()
    data = {"course_id": course.pk} if path.endswith("enrolments") else {}
    response = getattr(client, method)(path, data, content_type="application/json")
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert counts() == before


def test_a_key_cannot_read_another_institutions_learner(client, key_a, key_b, course):
    learner = learner_of(client, key_a)
    course_services.enrol(learner=learner, course=course, by_institution=True)
    for path in ("/api/v1/learners/moodle-42", "/api/v1/learners/moodle-42/progress"):
        assert client.get(path, **auth(key_a)).status_code == HTTPStatus.OK
        response = client.get(path, **auth(key_b))
        assert response.status_code == HTTPStatus.NOT_FOUND
        assert "Wanjiru" not in response.content.decode()
        assert "No learner with external id 'moodle-42'" in response.json()["detail"]


def test_a_key_cannot_write_another_institutions_learner_or_course(
    client, key_a, key_b, course, course_b
):
    learner = learner_of(client, key_a)
    learner_of(client, key_b, external_id="kolibri-7", email="b7@example.org")
    before = counts()
    # B enrolling A's learner: the learner is unknown to B.
    response = post(
        client, "/api/v1/learners/moodle-42/enrolments", {"course_id": course_b.pk}, key_b
    )
    assert response.status_code == HTTPStatus.NOT_FOUND
    # B enrolling its own learner in A's course: the course is unknown to B.
    response = post(
        client, "/api/v1/learners/kolibri-7/enrolments", {"course_id": course.pk}, key_b
    )
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert f"No course {course.pk}" in response.json()["detail"]
    # Events: A's learner on B's course, B's learner on A's course and module.
    course_services.enrol(learner=learner, course=course, by_institution=True)
    before = counts()
    batch = [
        event(course_b, verb="enrolled", learner="moodle-42"),
        event(course, verb="enrolled", learner="kolibri-7"),
        event(module=modules(course)[0], learner="kolibri-7"),
        event(module=modules(course)[0], learner="moodle-42"),  # A's learner, via B's key
    ]
    body = post(client, "/api/v1/progress/events", {"events": batch}, key_b).json()
    assert [r["status"] for r in body["results"]] == ["rejected"] * 4
    reasons = [r["reason"] for r in body["results"]]
    assert "No learner with external id 'moodle-42'" in reasons[0]
    assert f"No course {course.pk}" in reasons[1]
    assert f"No module {modules(course)[0].pk}" in reasons[2]
    assert "No learner with external id 'moodle-42'" in reasons[3]
    assert counts() == before


# --- Enrolment and progress -------------------------------------------------------------------


def test_enrol_is_idempotent_and_recorded_as_the_keys(client, key_a, course):
    learner = learner_of(client, key_a)
    course.self_enrolment = False  # the institution enrols its own learners anyway
    course.save_revision().publish()
    path = "/api/v1/learners/moodle-42/enrolments"
    first = post(client, path, {"course_id": course.pk}, key_a)
    assert first.status_code == HTTPStatus.CREATED
    assert first.json()["course_title"] == course.title
    assert first.json()["status"] == "active"
    assert first.json()["percent"] == 0
    again = post(client, path, {"course_id": course.pk}, key_a)
    assert again.status_code == HTTPStatus.OK
    assert again.json()["created"] is False
    assert Enrolment.objects.filter(learner=learner, course=course).count() == 1
    recorded = ProgressEvent.objects.get(learner=learner)
    assert (recorded.source, recorded.recorded_by) == (ProgressSource.API, key_a[0])


def test_progress_shows_enrolments_completions_and_attempts(client, key_a, course):
    learner = learner_of(client, key_a)
    first, second = modules(course)
    batch = [
        event(course, verb="enrolled"),
        event(module=first, verb="completed", timestamp="2026-01-05T09:30:00+03:00"),
    ]
    body = post(client, "/api/v1/progress/events", {"events": batch}, key_a).json()
    assert body["applied"] == 2, body
    # A quiz attempt on our own pages shows too.
    quiz = second.quiz_block()
    wrong = {}
    for question in quiz.value["questions"].bound_blocks:
        answers = question.value["answers"].bound_blocks
        wrong[question.id] = [next(a.id for a in answers if not a.value["is_correct"])]
    course_services.quiz_submit(
        learner=learner, module=second, answers=wrong, event_id=uuid.uuid4()
    )
    progress = client.get("/api/v1/learners/moodle-42/progress", **auth(key_a)).json()
    assert progress["external_id"] == "moodle-42"
    [enrolment] = progress["enrolments"]
    assert (enrolment["course_id"], enrolment["status"], enrolment["percent"]) == (
        course.pk,
        "active",
        50,
    )
    [completion] = progress["module_completions"]
    assert completion["module_id"] == first.pk
    assert completion["completed_at"].startswith("2026-01-05T06:30:00")
    [attempt] = progress["quiz_attempts"]
    assert (attempt["module_id"], attempt["passed"], attempt["score"]) == (second.pk, False, 0)


def test_progress_shows_only_the_institutions_own_courses(
    client, key_a, key_b, course, course_b, django_assert_max_num_queries
):
    """A learner of A who also studies at B: A's key sees A's course only."""
    learner = learner_of(client, key_a)
    course_services.enrol(learner=learner, course=course, by_institution=True)
    course_services.enrol(learner=learner, course=course_b, by_institution=True)
    course_services.module_complete(
        learner=learner, module=modules(course_b)[0], event_id=uuid.uuid4()
    )
    with django_assert_max_num_queries(12):
        progress = client.get("/api/v1/learners/moodle-42/progress", **auth(key_a)).json()
    assert [e["course_id"] for e in progress["enrolments"]] == [course.pk]
    assert progress["module_completions"] == []


# --- Batches of progress events ---------------------------------------------------------------


def test_a_batch_applies_events_with_their_derived_state(client, key_a, course):
    learner = learner_of(client, key_a)
    first, second = modules(course)
    batch = [
        event(course, verb="enrolled"),
        event(module=first, verb="completed"),
        event(module=second, verb="passed", score=85, success=True),
    ]
    response = post(client, "/api/v1/progress/events", {"events": batch}, key_a)
    assert response.status_code == HTTPStatus.OK
    body = response.json()
    assert (body["applied"], body["duplicate"], body["rejected"]) == (3, 0, 0)
    assert [r["id"] for r in body["results"]] == [e["id"] for e in batch]
    enrolment = Enrolment.objects.get(learner=learner, course=course)
    assert enrolment.status == EnrolmentStatus.COMPLETED
    assert set(
        ModuleCompletion.objects.filter(learner=learner).values_list("module", flat=True)
    ) == {
        first.pk,
        second.pk,
    }
    passed = ProgressEvent.objects.get(event_id=batch[2]["id"])
    assert (passed.score, passed.success, passed.source) == (85, True, ProgressSource.API)
    assert passed.recorded_by == key_a[0]


def test_replaying_a_batch_changes_nothing(client, key_a, course):
    learner_of(client, key_a)
    first, second = modules(course)
    batch = [
        event(course, verb="enrolled"),
        event(module=first, verb="viewed"),
        event(module=first, verb="completed"),
        event(module=second, verb="failed", score=20, success=False),
    ]
    first_run = post(client, "/api/v1/progress/events", {"events": batch}, key_a).json()
    assert first_run["applied"] == 4
    after_first = counts()
    second_run = post(client, "/api/v1/progress/events", {"events": batch}, key_a).json()
    assert (second_run["applied"], second_run["duplicate"], second_run["rejected"]) == (0, 4, 0)
    assert {r["status"] for r in second_run["results"]} == {"duplicate"}
    assert counts() == after_first


def test_a_repeated_id_within_a_batch_is_a_duplicate(client, key_a, course):
    learner_of(client, key_a)
    enrolled = event(course, verb="enrolled")
    body = post(
        client, "/api/v1/progress/events", {"events": [enrolled, dict(enrolled)]}, key_a
    ).json()
    assert [r["status"] for r in body["results"]] == ["applied", "duplicate"]
    assert ProgressEvent.objects.count() == 1


def test_a_mixed_batch_applies_the_good_and_rejects_the_bad_with_reasons(
    client, key_a, course, course_b
):
    learner = learner_of(client, key_a)
    first, second = modules(course)
    good_enrol = event(course, verb="enrolled")
    good_complete = event(module=first)
    reused = event(course, verb="viewed")
    reused["id"] = good_enrol["id"]  # the same id for a different event: after the first
    bad = [
        event(module=first, learner="nobody"),
        {**event(module=first), "id": "not-a-uuid"},
        event(module=first, verb="observed"),
        event(module=first, score=150),
        event(),  # neither course nor module
        event(module=first, timestamp=(timezone.now() + timedelta(days=2)).isoformat()),
        event(course_b, verb="enrolled"),
        event(course, module=modules(course_b)[0]),
        {**event(module=first), "colour": "blue"},
        "not even an object",
    ]
    batch = [good_enrol, *bad[:5], good_complete, *bad[5:], reused]
    response = post(client, "/api/v1/progress/events", {"events": batch}, key_a)
    assert response.status_code == HTTPStatus.OK
    results = response.json()["results"]
    statuses = [r["status"] for r in results]
    assert statuses == ["applied", *["rejected"] * 5, "applied", *["rejected"] * 6]
    reasons = {i: r["reason"] for i, r in enumerate(results) if r["status"] == "rejected"}
    assert all(reasons.values())
    assert "No learner with external id 'nobody'" in reasons[1]
    assert reasons[2].startswith("id:") and results[2]["id"] == "not-a-uuid"
    assert "verb must be one of" in reasons[3] and "observed" in reasons[3]
    assert reasons[4].startswith("score:")
    assert "give course_id or module_id" in reasons[5]
    assert "timestamp is in the future" in reasons[7]
    assert "No course" in reasons[8]
    assert "No module" in reasons[9]
    assert reasons[10].startswith("colour:")
    assert results[11]["id"] is None
    assert "already used for a different event" in reasons[12]
    # Exactly the two good events, with their derived state, and no trace of the others.
    assert set(ProgressEvent.objects.values_list("event_id", flat=True)) == {
        uuid.UUID(good_enrol["id"]),
        uuid.UUID(good_complete["id"]),
    }
    assert list(ModuleCompletion.objects.values_list("learner", "module")) == [
        (learner.pk, first.pk)
    ]


def test_an_event_the_learner_cannot_do_is_rejected_and_leaves_nothing(client, key_a, course):
    learner_of(client, key_a)
    first = modules(course)[0]
    not_enrolled = event(module=first)
    body = post(client, "/api/v1/progress/events", {"events": [not_enrolled]}, key_a).json()
    assert body["results"][0]["status"] == "rejected"
    assert "not enrolled" in body["results"][0]["reason"]
    assert counts() == {"events": 0, "enrolments": 0, "completions": 0}


def test_a_failure_half_way_through_an_event_leaves_no_half_event(client, key_a, course):
    """If the derived state cannot be written, the event's own row goes too; others stay."""
    learner_of(client, key_a)
    first, second = modules(course)
    batch = [
        event(course, verb="enrolled"),
        event(module=second, verb="completed"),
        event(module=first, verb="completed"),
    ]
    with failing_inserts(
        "courses_modulecompletion",
        course_services.LearningError("disk on fire"),
        times=10,
        when=lambda rows: any(row["module_id"] == second.pk for row in rows),
    ):
        body = post(client, "/api/v1/progress/events", {"events": batch}, key_a).json()
    assert [r["status"] for r in body["results"]] == ["applied", "rejected", "applied"]
    assert body["results"][1]["reason"] == "disk on fire"
    assert not ProgressEvent.objects.filter(event_id=batch[1]["id"]).exists()
    assert list(ModuleCompletion.objects.values_list("module", flat=True)) == [first.pk]


def test_an_event_id_used_for_another_learner_is_rejected(client, key_a, course, people_a):
    learner_of(client, key_a)
    other = UserFactory(username="someone-else")
    course_services.enrol(learner=other, course=course)
    taken = ProgressEvent.objects.get(learner=other).event_id
    body = post(
        client,
        "/api/v1/progress/events",
        {"events": [{**event(course, verb="enrolled"), "id": str(taken)}]},
        key_a,
    ).json()
    assert body["results"][0]["status"] == "rejected"
    assert "another learner" in body["results"][0]["reason"]
    assert not Enrolment.objects.filter(learner__learner_identities__isnull=False).exists()


def test_a_batch_holds_at_most_1000_events(client, key_a, course):
    learner_of(client, key_a)
    too_many = [event(course, verb="enrolled") for _ in range(ingest.MAX_BATCH_EVENTS + 1)]
    response = post(client, "/api/v1/progress/events", {"events": too_many}, key_a)
    assert response.status_code == HTTPStatus.BAD_REQUEST
    message = "A batch holds at most 1000 events; this one has 1001. Send it in smaller batches."
    assert response.json() == {
        "detail": message,
        "errors": [f"events: {message}"],
        "fields": [{"loc": ["body", "events"], "msg": message}],
    }
    assert counts() == {"events": 0, "enrolments": 0, "completions": 0}
    # Exactly 1,000 is accepted (here all for an unknown learner: rejected one by one).
    response = post(
        client,
        "/api/v1/progress/events",
        {"events": [{**e, "learner": "nobody"} for e in too_many[:-1]]},
        key_a,
    )
    assert response.status_code == HTTPStatus.OK
    assert response.json()["rejected"] == 1000


# --- Schema -----------------------------------------------------------------------------------


def test_the_schema_documents_the_plugin_endpoints(client, catalogue):
    schema = client.get("/api/v1/openapi.json").json()
    expected = {
        ("/api/v1/learners", "post"),
        ("/api/v1/learners/{external_id}", "get"),
        ("/api/v1/learners/{external_id}/enrolments", "post"),
        ("/api/v1/learners/{external_id}/progress", "get"),
        ("/api/v1/progress/events", "post"),
    }
    for path, method in expected:
        operation = schema["paths"][path][method]
        assert operation["summary"] and operation["description"], path
        # Keys only: no cookie session.
        assert operation["security"] == [{"BearerApiKey": []}, {"HeaderApiKey": []}], path
    batch = schema["components"]["schemas"]["ProgressBatchIn"]["properties"]["events"]
    # An event as documented, or any other JSON value (rejected on its own, not the batch).
    event, anything = batch["items"]["anyOf"]
    assert event["required"] == ["id", "learner", "verb"]
    assert "passed" in event["properties"]["verb"]["enum"]
    assert "observed" not in event["properties"]["verb"]["enum"]
    assert anything == {"$ref": "#/components/schemas/JsonValue"}
    assert "cadre" in schema["components"]["schemas"]["LearnerIn"]["properties"]
