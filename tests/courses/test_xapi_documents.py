"""The xAPI document resources (State, Activity Profile, Agent Profile) and the Activities and
Agents resources, as xAPI 1.0.3 Communication 2.2–2.7 and 3.1 describe them; the routes
without trailing-slash redirects; CORS and the Alternate Request Syntax (Communication 1.3).

Each test is named after the requirement it checks (XAPI-nnnnn ids of ADL's conformance
requirements where there is one).
"""

import json
from urllib.parse import urlencode

import pytest

from courses.models import XapiDocument
from tests.courses.test_xapi import ACTIVITY, headers, post, statement

pytestmark = pytest.mark.django_db

AGENT = {"objectType": "Agent", "mbox": "mailto:learner@example.org"}
STATE = "/xapi/activities/state"
ACTIVITY_PROFILE = "/xapi/activities/profile"
AGENT_PROFILE = "/xapi/agents/profile"
REGISTRATION = "6a2b0a8e-3c1e-4f51-9d0c-9a1f3b7c2d10"


def state_params(**overrides) -> dict:
    params = {"activityId": ACTIVITY, "agent": json.dumps(AGENT), "stateId": "bookmark"}
    params.update(overrides)
    return {k: v for k, v in params.items() if v is not None}


def send(client, method, path, params, key, body=b"", content_type="application/json", **extra):
    url = f"{path}?{urlencode(params)}"
    call = getattr(client, method.lower())
    if method in ("GET", "HEAD", "DELETE"):
        return call(url, **headers(key), **extra)
    if isinstance(body, dict | list):
        body = json.dumps(body)
    return call(url, body, content_type=content_type, **headers(key), **extra)


# --- Routes -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/xapi/statements",
        "/xapi/activities/state",
        "/xapi/activities/profile",
        "/xapi/agents/profile",
        "/xapi/activities",
        "/xapi/agents",
        "/xapi/about",
    ],
)
@pytest.mark.parametrize("slash", ["", "/"])
def test_every_resource_answers_at_its_path_without_redirect(client, key_a, path, slash):
    response = client.get(path + slash, **headers(key_a))
    assert response.status_code not in (301, 302, 308, 404, 500)
    assert response["X-Experience-API-Version"] == "1.0.3"


def test_post_to_the_state_path_is_not_redirected(client, key_a):
    response = send(client, "POST", STATE, state_params(), key_a, {"page": 3})
    assert response.status_code == 204


# --- State (Communication 2.3) ------------------------------------------------------------------


def test_xapi_00190_00188_state_put_then_get_returns_the_document_as_sent(client, key_a):
    put = send(client, "PUT", STATE, state_params(), key_a, b"\x00\x01binary", "image/png")
    assert put.status_code == 204
    got = send(client, "GET", STATE, state_params(), key_a)
    assert got.status_code == 200
    assert got.content == b"\x00\x01binary"
    assert got["Content-Type"] == "image/png"
    assert got["ETag"].startswith('"') and len(got["ETag"]) == 42
    assert got["Last-Modified"]
    document = XapiDocument.objects.get()
    assert (document.kind, document.activity_id, document.document_id) == (
        "state",
        ACTIVITY,
        "bookmark",
    )
    assert document.institution == key_a[0].institution


def test_xapi_00234_state_post_merges_json_objects_one_level_deep(client, key_a):
    send(client, "POST", STATE, state_params(), key_a, {"a": 1, "b": {"x": 1}})
    send(client, "POST", STATE, state_params(), key_a, {"b": {"y": 2}, "c": 3})
    got = send(client, "GET", STATE, state_params(), key_a).json()
    assert got == {"a": 1, "b": {"y": 2}, "c": 3}


def test_xapi_00232_state_post_merge_with_non_json_is_400_and_changes_nothing(client, key_a):
    send(client, "PUT", STATE, state_params(), key_a, b"plain", "text/plain")
    response = send(client, "POST", STATE, state_params(), key_a, {"a": 1})
    assert response.status_code == 400
    assert "application/json" in response.json()["error"]
    assert bytes(XapiDocument.objects.get().content) == b"plain"


def test_xapi_00235_state_post_of_invalid_json_is_400(client, key_a):
    response = send(client, "POST", STATE, state_params(), key_a, b"{not json")
    assert response.status_code == 400
    assert not XapiDocument.objects.exists()


def test_xapi_00218_state_registration_keeps_documents_apart(client, key_a):
    send(client, "PUT", STATE, state_params(registration=REGISTRATION), key_a, {"r": 1})
    send(client, "PUT", STATE, state_params(), key_a, {"r": 0})
    with_registration = send(client, "GET", STATE, state_params(registration=REGISTRATION), key_a)
    assert with_registration.json() == {"r": 1}
    assert send(client, "GET", STATE, state_params(), key_a).json() == {"r": 0}


def test_xapi_00194_state_ids_and_delete_without_registration_cover_every_registration(
    client, key_a
):
    send(client, "PUT", STATE, state_params(registration=REGISTRATION, stateId="r"), key_a, {})
    send(client, "PUT", STATE, state_params(stateId="plain"), key_a, {})
    listed = send(client, "GET", STATE, state_params(stateId=None), key_a).json()
    assert listed == ["plain", "r"]
    only = send(client, "GET", STATE, state_params(stateId=None, registration=REGISTRATION), key_a)
    assert only.json() == ["r"]
    send(client, "DELETE", STATE, state_params(stateId=None, registration=REGISTRATION), key_a)
    assert list(XapiDocument.objects.values_list("document_id", flat=True)) == ["plain"]
    send(client, "DELETE", STATE, state_params(stateId=None), key_a)
    assert not XapiDocument.objects.exists()


def test_xapi_00193_00195_state_get_without_state_id_lists_ids_since(client, key_a):
    send(client, "PUT", STATE, state_params(stateId="one"), key_a, {})
    first = XapiDocument.objects.get().updated
    send(client, "PUT", STATE, state_params(stateId="two"), key_a, {})
    listed = send(client, "GET", STATE, state_params(stateId=None), key_a).json()
    assert listed == ["one", "two"]
    since = send(client, "GET", STATE, state_params(stateId=None, since=first.isoformat()), key_a)
    assert since.json() == ["two"]


def test_xapi_00204_state_since_not_a_timestamp_is_400(client, key_a):
    response = send(client, "GET", STATE, state_params(stateId=None, since="yesterday"), key_a)
    assert response.status_code == 400


def test_xapi_00191_00194_state_delete_one_or_all(client, key_a):
    for state_id in ("one", "two", "three"):
        send(client, "PUT", STATE, state_params(stateId=state_id), key_a, {})
    assert send(client, "DELETE", STATE, state_params(stateId="one"), key_a).status_code == 204
    assert sorted(XapiDocument.objects.values_list("document_id", flat=True)) == ["three", "two"]
    assert send(client, "DELETE", STATE, state_params(stateId=None), key_a).status_code == 204
    assert not XapiDocument.objects.exists()
    assert send(client, "GET", STATE, state_params(stateId="one"), key_a).status_code == 404


@pytest.mark.parametrize("method", ["GET", "PUT", "POST", "DELETE"])
@pytest.mark.parametrize(
    ("missing", "params"),
    [
        ("activityId", state_params(activityId=None)),
        ("agent", state_params(agent=None)),
        ("agent", state_params(agent="not json")),
        ("agent", state_params(agent=json.dumps({"objectType": "Group", "member": [AGENT]}))),
        ("registration", state_params(registration="not-a-uuid")),
    ],
)
def test_xapi_00207_to_00215_state_without_or_with_bad_parameters_is_400(
    client, key_a, method, missing, params
):
    response = send(client, method, STATE, params, key_a, {"a": 1})
    assert response.status_code == 400
    assert missing in response.json()["error"]
    assert not XapiDocument.objects.exists()


def test_xapi_00206_00211_state_put_or_post_without_state_id_is_400(client, key_a):
    for method in ("PUT", "POST"):
        response = send(client, method, STATE, state_params(stateId=None), key_a, {"a": 1})
        assert response.status_code == 400
        assert "stateId" in response.json()["error"]


def test_state_put_without_if_match_replaces_the_state(client, key_a):
    """Content saves its bookmark over and over without ETags: State takes it."""
    send(client, "PUT", STATE, state_params(), key_a, {"page": 1})
    assert send(client, "PUT", STATE, state_params(), key_a, {"page": 2}).status_code == 204
    assert send(client, "GET", STATE, state_params(), key_a).json() == {"page": 2}


def test_state_larger_than_the_limit_is_413(client, key_a, settings):
    settings.XAPI_MAX_BODY_BYTES = 10
    response = send(client, "PUT", STATE, state_params(), key_a, b"x" * 11, "text/plain")
    assert response.status_code == 413
    assert not XapiDocument.objects.exists()


# --- Isolation ----------------------------------------------------------------------------------


def test_an_institutions_key_never_sees_anothers_documents(client, key_a, key_b):
    send(client, "PUT", STATE, state_params(), key_a, {"mine": "a"})
    profile = {"activityId": ACTIVITY, "profileId": "p"}
    send(client, "PUT", ACTIVITY_PROFILE, profile, key_a, {"mine": "a"}, HTTP_IF_NONE_MATCH="*")
    # B reads nothing of A's, lists nothing, and its writes and deletes leave A's alone.
    assert send(client, "GET", STATE, state_params(), key_b).status_code == 404
    assert send(client, "GET", STATE, state_params(stateId=None), key_b).json() == []
    assert send(client, "GET", ACTIVITY_PROFILE, profile, key_b).status_code == 404
    assert send(client, "POST", STATE, state_params(), key_b, {"mine": "b"}).status_code == 204
    assert send(client, "DELETE", STATE, state_params(stateId=None), key_b).status_code == 204
    assert send(client, "GET", STATE, state_params(), key_a).json() == {"mine": "a"}
    assert send(client, "GET", ACTIVITY_PROFILE, profile, key_a).json() == {"mine": "a"}
    assert XapiDocument.objects.filter(institution=key_b[0].institution).count() == 0


def test_documents_need_an_api_key(client):
    response = client.get(f"{STATE}?{urlencode(state_params())}")
    assert response.status_code == 401


# --- Profiles and concurrency (Communication 2.6, 2.7, 3.1) -------------------------------------


def test_xapi_00322_profile_etag_is_a_quoted_sha1_and_if_match_guards_put(client, key_a):
    params = {"activityId": ACTIVITY, "profileId": "prefs"}
    assert (
        send(client, "PUT", ACTIVITY_PROFILE, params, key_a, {"v": 1}, HTTP_IF_NONE_MATCH="*")
    ).status_code == 204
    etag = send(client, "GET", ACTIVITY_PROFILE, params, key_a)["ETag"]
    assert etag.startswith('"') and etag.endswith('"') and len(etag) == 42
    stale = '"' + "1" * 40 + '"'
    refused = send(client, "PUT", ACTIVITY_PROFILE, params, key_a, {"v": 9}, HTTP_IF_MATCH=stale)
    assert refused.status_code == 412
    again = send(client, "PUT", ACTIVITY_PROFILE, params, key_a, {"v": 9}, HTTP_IF_NONE_MATCH="*")
    assert again.status_code == 412
    assert send(client, "GET", ACTIVITY_PROFILE, params, key_a).json() == {"v": 1}
    done = send(client, "PUT", ACTIVITY_PROFILE, params, key_a, {"v": 2}, HTTP_IF_MATCH=etag)
    assert done.status_code == 204
    assert send(client, "GET", ACTIVITY_PROFILE, params, key_a).json() == {"v": 2}


def test_xapi_00273_profile_put_without_etag_headers_is_refused(client, key_a):
    params = {"agent": json.dumps(AGENT), "profileId": "prefs"}
    new = send(client, "PUT", AGENT_PROFILE, params, key_a, {"v": 1})
    assert new.status_code == 400
    assert not XapiDocument.objects.exists()
    created = send(client, "PUT", AGENT_PROFILE, params, key_a, {"v": 1}, HTTP_IF_NONE_MATCH="*")
    assert created.status_code == 204
    response = send(client, "PUT", AGENT_PROFILE, params, key_a, {"v": 2})
    assert response.status_code == 409
    assert "If-Match" in response.json()["error"]
    assert send(client, "GET", AGENT_PROFILE, params, key_a).json() == {"v": 1}


def test_xapi_00279_00270_agent_profile_post_merges_and_lists_ids(client, key_a):
    params = {"agent": json.dumps(AGENT), "profileId": "prefs"}
    send(client, "POST", AGENT_PROFILE, params, key_a, {"a": 1})
    send(client, "POST", AGENT_PROFILE, params, key_a, {"b": 2})
    assert send(client, "GET", AGENT_PROFILE, params, key_a).json() == {"a": 1, "b": 2}
    listed = send(client, "GET", AGENT_PROFILE, {"agent": json.dumps(AGENT)}, key_a)
    assert listed.json() == ["prefs"]


def test_xapi_00265_profile_delete_needs_a_profile_id(client, key_a):
    response = send(client, "DELETE", ACTIVITY_PROFILE, {"activityId": ACTIVITY}, key_a)
    assert response.status_code == 400
    assert "profileId" in response.json()["error"]


# --- Activities and Agents (Communication 2.4, 2.5) ---------------------------------------------


def test_activities_resource_merges_the_definitions_statements_give(client, key_a, key_b):
    def about(language, name):
        target = {"id": ACTIVITY, "definition": {"name": {language: name}}}
        return statement(object=target)

    post(client, about("en-US", "Case management"), key_a)
    post(client, about("fr-FR", "Gestion de cas"), key_a)
    post(client, about("es", "Manejo de casos"), key_b)
    got = client.get("/xapi/activities", {"activityId": ACTIVITY}, **headers(key_a))
    assert got.status_code == 200
    assert got.json() == {
        "objectType": "Activity",
        "id": ACTIVITY,
        "definition": {"name": {"en-US": "Case management", "fr-FR": "Gestion de cas"}},
    }


def test_xapi_00250_activities_without_activity_id_is_400(client, key_a):
    assert client.get("/xapi/activities", **headers(key_a)).status_code == 400


def test_xapi_00248_agents_resource_returns_a_person(client, key_a):
    agent = {"objectType": "Agent", "name": "Amina", "mbox": "mailto:amina@example.org"}
    got = client.get("/xapi/agents", {"agent": json.dumps(agent)}, **headers(key_a))
    assert got.status_code == 200
    assert got.json() == {
        "objectType": "Person",
        "name": ["Amina"],
        "mbox": ["mailto:amina@example.org"],
    }


def test_xapi_00243_00249_agents_without_or_with_an_invalid_agent_is_400(client, key_a):
    assert client.get("/xapi/agents", **headers(key_a)).status_code == 400
    invalid = json.dumps({"objectType": "Agent", "name": "no identifier"})
    assert client.get("/xapi/agents", {"agent": invalid}, **headers(key_a)).status_code == 400


# --- CORS and the Alternate Request Syntax (Communication 1.3) ----------------------------------


def test_cors_preflight_is_answered_without_a_key_and_names_the_headers(client):
    response = client.options(
        STATE,
        HTTP_ORIGIN="https://content.example.org",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="PUT",
    )
    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == "*"
    allowed = response["Access-Control-Allow-Headers"]
    for name in ("Authorization", "X-Experience-API-Version", "Content-Type", "If-Match"):
        assert name in allowed
    assert "If-None-Match" in allowed
    assert "PUT" in response["Access-Control-Allow-Methods"]


def test_cors_answers_expose_etag_and_consistent_through(client, key_a):
    send(client, "PUT", STATE, state_params(), key_a, {"a": 1})
    response = send(client, "GET", STATE, state_params(), key_a)
    assert response["Access-Control-Allow-Origin"] == "*"
    exposed = response["Access-Control-Expose-Headers"]
    for name in ("ETag", "Last-Modified", "X-Experience-API-Consistent-Through"):
        assert name in exposed


def _alternate(client, path, method, form, key):
    fields = {"X-Experience-API-Version": "1.0.3", **form}
    fields["Authorization"] = headers(key)["HTTP_AUTHORIZATION"]
    return client.post(
        f"{path}?method={method}",
        urlencode(fields),
        content_type="application/x-www-form-urlencoded",
    )


def test_xapi_00148_alternate_syntax_get_returns_a_statement_result(client, key_a):
    post(client, statement(), key_a)
    response = _alternate(client, "/xapi/statements", "GET", {"limit": "1"}, key_a)
    assert response.status_code == 200
    assert len(response.json()["statements"]) == 1
    assert "X-Experience-API-Consistent-Through" in response


def test_alternate_syntax_put_stores_state_and_statements(client, key_a):
    form = {
        **state_params(),
        "content": json.dumps({"page": 7}),
        "Content-Type": "application/json",
    }
    assert _alternate(client, STATE, "PUT", form, key_a).status_code == 204
    assert send(client, "GET", STATE, state_params(), key_a).json() == {"page": 7}
    sid = "0b5c6a5e-8f6b-4d43-9b57-3c0c3f1a7e21"
    form = {"statementId": sid, "content": json.dumps(statement())}
    assert _alternate(client, "/xapi/statements", "PUT", form, key_a).status_code == 204
    assert (
        client.get("/xapi/statements", {"statementId": sid}, **headers(key_a)).json()["id"] == sid
    )


def test_xapi_00336_alternate_syntax_with_extra_query_parameters_is_400(client, key_a):
    response = client.post(
        "/xapi/statements?method=PUT&statementId=0b5c6a5e-8f6b-4d43-9b57-3c0c3f1a7e21",
        urlencode({"content": json.dumps(statement())}),
        content_type="application/x-www-form-urlencoded",
        **headers(key_a),
    )
    assert response.status_code == 400


def test_alternate_syntax_not_sent_as_post_is_400(client, key_a):
    response = client.put(
        "/xapi/statements?method=POST",
        json.dumps(statement()),
        content_type="application/json",
        **headers(key_a),
    )
    assert response.status_code == 400


def test_alternate_syntax_put_without_content_is_400(client, key_a):
    response = _alternate(client, "/xapi/statements", "PUT", {"statementId": REGISTRATION}, key_a)
    assert response.status_code == 400
    assert "content" in response.json()["error"]


def test_alternate_syntax_form_headers_are_headers(client, key_a):
    form = {"statementId": REGISTRATION, "content": json.dumps(statement())}
    fields = {
        **form,
        "X-Experience-API-Version": "0.8",
        "Authorization": headers(key_a)["HTTP_AUTHORIZATION"],
    }
    response = client.post(
        "/xapi/statements?method=PUT",
        urlencode(fields),
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 400
    assert "0.8" in response.json()["error"]


def test_xapi_00126_head_of_a_document_has_the_get_headers_without_body(client, key_a):
    send(client, "PUT", STATE, state_params(), key_a, {"page": 4})
    got = send(client, "GET", STATE, state_params(), key_a)
    head = send(client, "HEAD", STATE, state_params(), key_a)
    assert head.status_code == 200
    assert head.content == b""
    assert head["ETag"] == got["ETag"]
    assert head["Content-Length"] == str(len(got.content))


def test_alternate_syntax_delete_removes_the_state(client, key_a):
    send(client, "PUT", STATE, state_params(), key_a, {"page": 4})
    assert _alternate(client, STATE, "DELETE", state_params(), key_a).status_code == 204
    assert not XapiDocument.objects.exists()


def test_cors_preflight_of_the_statement_resource(client):
    response = client.options("/xapi/statements", HTTP_ORIGIN="https://content.example.org")
    assert response.status_code == 204
    assert "POST" in response["Access-Control-Allow-Methods"]
    assert response["Access-Control-Allow-Origin"] == "*"
