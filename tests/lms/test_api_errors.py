"""Bad input to the JSON API: a 4xx in one error shape that names the field, nothing stored.

Whatever a client sends (a NUL character, which PostgreSQL cannot store, in any string of a
path, query, form or JSON body; values longer than their columns; JSON nested fifty thousand
levels deep; a body past Django's upload limit), the API answers 400 or 413 with
``{"detail", "errors", "fields"}`` and changes nothing (docs/decisions/0016).
"""

import json
from http import HTTPStatus

import pytest
from django.contrib.auth import get_user_model

from competencies.models import Framework
from courses.models import Enrolment, ProgressEvent
from lms.api_common import shared_statuses
from lms.models import LearnerIdentity

pytestmark = pytest.mark.django_db

LEARNER = {
    "external_id": "moodle-42",
    "full_name": "Wanjiru Kamau",
    "cadre": "volunteer",
    "sector": "community",
}


def bearer(key) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {key[1]}"}


def post(client, path, data, key, **extra):
    body = data if isinstance(data, str | bytes) else json.dumps(data)
    return client.post(path, body, content_type="application/json", **bearer(key), **extra)


def accounts() -> int:
    return get_user_model().objects.count()


def assert_refused(response, status, loc):
    """The one error shape, with the field's location among its problems."""
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"detail", "errors", "fields"}
    assert body["detail"]
    assert loc in [field["loc"] for field in body["fields"]], body
    assert len(body["errors"]) == len(body["fields"])
    return body


# --- NUL characters ---------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["external_id", "email", "username", "full_name", "region"])
def test_a_nul_in_any_learner_field_is_refused_and_no_account_is_made(client, key_a, field):
    before = accounts()
    learner = {**LEARNER, "email": "w@example.org", "username": "wanjiru", "region": "Nairobi"}
    learner[field] = learner[field][:3] + "\x00" + learner[field][3:]

    response = post(client, "/api/v1/learners", learner, key_a)

    body = assert_refused(response, HTTPStatus.BAD_REQUEST, ["body", field])
    assert f"{field}: contains a NUL character, which cannot be stored." in body["errors"]
    assert accounts() == before
    assert not LearnerIdentity.objects.exists()


def test_a_nul_in_one_events_learner_refuses_the_batch_naming_the_event(client, key_a, course):
    post(client, "/api/v1/learners", LEARNER, key_a)
    event = {"id": "8d2e6f0a-7d7b-4d8e-9a55-0e1c2b3a4f50", "verb": "enrolled"}
    events = [
        {**event, "learner": "moodle-42", "course_id": course.pk},
        {**event, "id": "8d2e6f0a-7d7b-4d8e-9a55-0e1c2b3a4f51", "learner": "moodle\x0042"},
    ]

    response = post(client, "/api/v1/progress/events", {"events": events}, key_a)

    body = assert_refused(response, HTTPStatus.BAD_REQUEST, ["body", "events", 1, "learner"])
    assert "events[1].learner: contains a NUL character" in body["errors"][0]
    assert not ProgressEvent.objects.exists()
    assert not Enrolment.objects.exists()


def test_a_nul_in_a_key_of_the_body_is_refused_too(client, key_a):
    response = post(client, "/api/v1/learners", '{"external_id\\u0000": "x"}', key_a)

    body = assert_refused(response, HTTPStatus.BAD_REQUEST, ["body"])
    assert body["errors"] == [
        "body: has a key that contains a NUL character, which cannot be stored."
    ]


def test_a_lone_surrogate_is_refused_like_a_nul(client, key_a):
    response = post(client, "/api/v1/learners", '{"external_id": "x\\ud800"}', key_a)

    body = assert_refused(response, HTTPStatus.BAD_REQUEST, ["body", "external_id"])
    assert "unpaired surrogate" in body["errors"][0]


def test_a_nul_in_a_query_parameter_is_refused(client, key_a, published_framework):
    response = client.get("/api/v1/frameworks?status=%00", **bearer(key_a))

    assert_refused(response, HTTPStatus.BAD_REQUEST, ["query", "status"])


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/learners/%00",
        "/api/v1/learners/a%00b/progress",
        "/api/v1/learners/%00/certificates",
        "/api/v1/learners/%00/competencies",
    ],
)
def test_a_nul_in_a_path_parameter_is_refused(client, key_a, path):
    response = client.get(path, **bearer(key_a))

    assert_refused(response, HTTPStatus.BAD_REQUEST, ["path", "external_id"])


def test_a_nul_in_a_form_field_is_refused_and_nothing_is_imported(client, people_a):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(people_a.author)
    before = Framework.objects.count()
    upload = SimpleUploadedFile("f.csv", b"a,b\n", content_type="text/csv")

    response = client.post("/api/v1/frameworks/import", {"format": "moo\x00dle", "file": upload})

    assert_refused(response, HTTPStatus.BAD_REQUEST, ["form", "format"])
    assert Framework.objects.count() == before


def test_a_key_with_a_nul_is_no_key(client, key_a):
    api_key, secret = key_a
    forged = f"sswk_{api_key.prefix[:6]}\x00{api_key.prefix[7:]}_{secret.rsplit('_', 1)[1]}"

    response = client.get("/api/v1/me", HTTP_X_API_KEY=forged)

    assert response.status_code == HTTPStatus.UNAUTHORIZED


# --- Values longer than their columns, values the account model refuses -----------------------


def test_a_500_character_username_is_refused_with_its_limit(client, key_a):
    before = accounts()

    response = post(client, "/api/v1/learners", {**LEARNER, "username": "u" * 500}, key_a)

    body = assert_refused(response, HTTPStatus.BAD_REQUEST, ["body", "username"])
    assert "at most 150 characters" in body["errors"][0]
    assert accounts() == before


@pytest.mark.parametrize(
    ("field", "longest"),
    [("external_id", 100), ("full_name", 200), ("email", 254), ("organisation", 200)],
)
def test_each_text_field_is_as_long_as_its_column_allows(client, key_a, field, longest):
    value = "a" * (longest + 1)
    if field == "email":
        value = "a" * (longest - 11) + "@example.org"

    response = post(client, "/api/v1/learners", {**LEARNER, field: value}, key_a)

    assert_refused(response, HTTPStatus.BAD_REQUEST, ["body", field])
    assert not LearnerIdentity.objects.exists()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [("username", "has spaces", "Enter a valid username"), ("email", "nope", "valid email")],
)
def test_a_username_or_email_the_account_model_refuses_is_a_400(
    client, key_a, field, value, message
):
    response = post(client, "/api/v1/learners", {**LEARNER, field: value}, key_a)

    body = assert_refused(response, HTTPStatus.BAD_REQUEST, ["body", field])
    assert message in body["errors"][0]
    assert not LearnerIdentity.objects.exists()


# --- Nesting, parse errors, size --------------------------------------------------------------


def test_fifty_thousand_nested_arrays_are_refused_without_recursing(client, key_a):
    deep = '{"events": [' + "[" * 50_000 + "]" * 50_000 + "]}"

    response = post(client, "/api/v1/progress/events", deep, key_a)

    body = assert_refused(response, HTTPStatus.BAD_REQUEST, ["body"])
    assert "more than 64 levels deep" in body["detail"]


def test_an_unparsable_body_is_answered_in_the_same_shape(client, key_a):
    response = post(client, "/api/v1/learners", "{not json", key_a)

    body = assert_refused(response, HTTPStatus.BAD_REQUEST, ["body"])
    assert body["errors"][0].startswith("body: is not valid JSON: Expecting property name")


@pytest.mark.parametrize("debug", [False, True])
def test_a_body_past_the_upload_limit_is_a_413_in_json(client, key_a, settings, debug):
    settings.DEBUG = debug
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    big = {**LEARNER, "full_name": "x" * 2000}

    response = post(client, "/api/v1/learners", big, key_a)

    body = assert_refused(response, HTTPStatus.REQUEST_ENTITY_TOO_LARGE, ["body"])
    assert "1000 bytes at most" in body["detail"]
    assert not LearnerIdentity.objects.exists()


def test_a_form_past_the_upload_limit_in_a_session_is_a_413_in_json_too(client, people_a, settings):
    """A session's CSRF check reads the form before the operation does: still a 413."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(people_a.author)
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    before = Framework.objects.count()
    upload = SimpleUploadedFile("f.csv", b"a,b\n", content_type="text/csv")

    response = client.post(
        "/api/v1/frameworks/import", {"format": "moodle", "owner": "x" * 2000, "file": upload}
    )

    assert_refused(response, HTTPStatus.REQUEST_ENTITY_TOO_LARGE, ["body"])
    assert Framework.objects.count() == before


def test_schema_errors_are_400_with_the_field_not_ninja_s_422(client, key_a):
    response = post(client, "/api/v1/learners/moodle-42/enrolments", {"course_id": "x"}, key_a)

    body = assert_refused(response, HTTPStatus.BAD_REQUEST, ["body", "course_id"])
    assert body["errors"][0].startswith("course_id: Input should be a valid integer")


def test_an_invalid_identifier_in_the_path_is_a_400_naming_it(client, key_a):
    response = client.get("/api/v1/frameworks/not-a-uuid", **bearer(key_a))

    assert_refused(response, HTTPStatus.BAD_REQUEST, ["path", "identifier"])


def test_not_found_is_the_same_shape(client, key_a):
    response = client.get(
        "/api/v1/frameworks/6c1f3b9e-0d55-4c8e-b2f5-6f0a2b4c7d11", **bearer(key_a)
    )

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json() == {
        "detail": "No Framework matches the given query.",
        "errors": [],
        "fields": [],
    }


def test_the_case_api_answers_in_the_same_shape(client):
    response = client.get("/ims/case/v1p1/CFPackages/nope")

    assert_refused(response, HTTPStatus.BAD_REQUEST, ["path", "identifier"])
    response = client.get("/ims/case/v1p1/CFItems/%00")
    assert_refused(response, HTTPStatus.BAD_REQUEST, ["path", "identifier"])


# --- The schema says all of it ----------------------------------------------------------------


@pytest.mark.parametrize("url", ["/api/v1/openapi.json", "/ims/case/v1p1/openapi.json"])
def test_every_operation_documents_the_statuses_the_shared_handlers_answer(client, url):
    """400 where it takes input, 401 where it needs a key, 403 where a session may post,
    404 where the path names something, 413 where it takes a body: each in the ErrorOut shape."""
    schema = client.get(url).json()
    error_ref = "#/components/schemas/ErrorOut"
    assert "ErrorOut" in schema["components"]["schemas"]
    checked = 0
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            expected = set(shared_statuses(method, operation))
            documented = {int(status) for status in operation["responses"]}
            assert expected <= documented, (method, path, expected - documented)
            for status in documented - {200, 201}:
                content = operation["responses"][str(status)]["content"]["application/json"]
                reference = content["schema"]["$ref"]
                name = reference.rsplit("/", 1)[1]
                assert reference == error_ref or set(
                    schema["components"]["schemas"][name]["properties"]
                ) >= {"detail", "errors", "fields"}, (method, path, status)
            if operation.get("parameters") or "requestBody" in operation:
                assert 400 in documented
            assert 422 not in documented
            checked += 1
    assert checked >= 4


def test_the_schema_says_no_string_may_hold_a_nul(client):
    schema = client.get("/api/v1/openapi.json").json()
    learner = schema["components"]["schemas"]["LearnerIn"]["properties"]
    assert learner["username"]["anyOf"][0]["pattern"] == "^[^\\u0000]*$"
    assert learner["username"]["anyOf"][0]["maxLength"] == 150
    assert "\\x00" in learner["external_id"]["pattern"]
    frameworks = schema["paths"]["/api/v1/frameworks"]["get"]["parameters"]
    status = next(p for p in frameworks if p["name"] == "status")
    assert status["schema"]["anyOf"][0]["pattern"] == "^[^\\u0000]*$"
