"""xAPI statements from other LMSs: validation as xAPI 1.0.3 says, storage, queries, and progress.

An institution's API key (HTTP Basic, the key as username) reaches its own statements only.
Statements about an activity mapped to one of its modules, with completed / passed / failed /
scored, become progress events — and so module completions and competence.
"""

import base64
import json
import uuid
from http import HTTPStatus

import pytest

from courses import demo as courses_demo
from courses.models import (
    Enrolment,
    ModuleCompletion,
    ModulePage,
    ProgressEvent,
    ProgressSource,
    XapiProgressStatus,
    XapiStatement,
)
from lms import services as lms_services
from tests.db_faults import failing_inserts

pytestmark = pytest.mark.django_db

ACTIVITY = "https://moodle.example.org/xapi/activities/case-management-1"
ADL = "http://adlnet.gov/expapi/verbs/"
HOME = "https://moodle.example.org"
PROFILE = {"cadre": "volunteer", "sector": "community", "region": "Nairobi"}


def basic(username: str, password: str = "") -> dict:
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"HTTP_AUTHORIZATION": f"Basic {token}"}


def headers(key, version="1.0.3") -> dict:
    result = basic(key[1], "anything")
    if version is not None:
        result["HTTP_X_EXPERIENCE_API_VERSION"] = version
    return result


def statement(**overrides) -> dict:
    data = {
        "actor": {"objectType": "Agent", "account": {"homePage": HOME, "name": "moodle-42"}},
        "verb": {"id": ADL + "completed", "display": {"en-US": "completed"}},
        "object": {"objectType": "Activity", "id": ACTIVITY},
        "timestamp": "2026-11-20T10:00:00+03:00",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def post(client, data, key, **extra):
    return client.post(
        "/xapi/statements",
        json.dumps(data),
        content_type="application/json",
        **extra,
        **({} if "HTTP_AUTHORIZATION" in extra else headers(key)),
    )


def put(client, statement_id, data, key):
    return client.put(
        f"/xapi/statements?statementId={statement_id}",
        json.dumps(data),
        content_type="application/json",
        **headers(key),
    )


def get(client, key, **params):
    return client.get("/xapi/statements", params, **headers(key))


def reason(response) -> str:
    return response.json()["error"]


# --- About, authentication, version --------------------------------------------------------


def test_about_needs_no_key(client):
    response = client.get("/xapi/about")
    assert response.status_code == HTTPStatus.OK
    assert response.json() == {"version": ["1.0.3"]}
    assert response["X-Experience-API-Version"] == "1.0.3"


def test_no_key_is_401(client, key_a):
    response = client.get("/xapi/statements", HTTP_X_EXPERIENCE_API_VERSION="1.0.3")
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response["WWW-Authenticate"].startswith("Basic")
    wrong = client.get(
        "/xapi/statements", HTTP_X_EXPERIENCE_API_VERSION="1.0.3", **basic("sswk_nope_nope")
    )
    assert wrong.status_code == HTTPStatus.UNAUTHORIZED


def test_key_as_username_or_password(client, key_a):
    as_user = client.get(
        "/xapi/statements", HTTP_X_EXPERIENCE_API_VERSION="1.0.3", **basic(key_a[1])
    )
    as_password = client.get(
        "/xapi/statements", HTTP_X_EXPERIENCE_API_VERSION="1.0.3", **basic("lrs", key_a[1])
    )
    assert as_user.status_code == as_password.status_code == HTTPStatus.OK


def test_revoked_key_is_401(client, key_a, people_a):
    lms_services.api_key_revoke(api_key=key_a[0], revoked_by=people_a.manager)
    assert get(client, key_a).status_code == HTTPStatus.UNAUTHORIZED


@pytest.mark.parametrize("version", [None, "0.95", "2.0.0", "banana"])
def test_version_header_required(client, key_a, version):
    response = client.post(
        "/xapi/statements",
        json.dumps(statement()),
        content_type="application/json",
        **headers(key_a, version=version),
    )
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "X-Experience-API-Version" in reason(response)
    assert not XapiStatement.objects.exists()


@pytest.mark.parametrize("version", ["1.0.0", "1.0.3", "1.0"])
def test_version_1_0_x_accepted(client, key_a, version):
    response = client.post(
        "/xapi/statements",
        json.dumps(statement()),
        content_type="application/json",
        **headers(key_a, version=version),
    )
    assert response.status_code == HTTPStatus.OK
    assert XapiStatement.objects.get().statement_id == uuid.UUID(response.json()[0])


# --- Validation ------------------------------------------------------------------------------

INVALID = [
    ("missing actor", {"actor": None}, "actor: required"),
    (
        "two IFIs",
        {"actor": {"mbox": "mailto:a@example.org", "account": {"homePage": HOME, "name": "x"}}},
        "actor: has 2 inverse functional identifiers",
    ),
    ("no IFI", {"actor": {"name": "Nobody"}}, "actor: an Agent needs exactly one"),
    ("mbox without mailto", {"actor": {"mbox": "a@example.org"}}, "actor.mbox"),
    ("bad sha1", {"actor": {"mbox_sha1sum": "xyz"}}, "actor.mbox_sha1sum"),
    ("account without name", {"actor": {"account": {"homePage": HOME}}}, "actor.account.name"),
    ("bad verb IRI", {"verb": {"id": "completed"}}, "verb.id"),
    ("verb with space", {"verb": {"id": "http://x y/z"}}, "verb.id"),
    ("missing verb", {"verb": None}, "verb: required"),
    ("missing object", {"object": None}, "object: required"),
    ("object without IRI", {"object": {"id": "not an iri"}}, "object.id"),
    ("bad UUID", {"id": "not-a-uuid"}, "id: 'not-a-uuid' is not a valid UUID"),
    ("short UUID", {"id": "12345678123456781234567812345678"}, "id:"),
    ("timestamp without zone", {"timestamp": "2026-11-20T10:00:00"}, "timestamp"),
    ("timestamp nonsense", {"timestamp": "yesterday"}, "timestamp"),
    ("scaled over 1", {"result": {"score": {"scaled": 1.5}}}, "result.score.scaled"),
    ("raw over max", {"result": {"score": {"raw": 11, "min": 0, "max": 10}}}, "result.score.raw"),
    ("success not bool", {"result": {"success": "yes"}}, "result.success"),
    ("bad duration", {"result": {"duration": "10 minutes"}}, "result.duration"),
    ("extra property", {"colour": "blue"}, "unexpected properties colour"),
    ("bad registration", {"context": {"registration": "nope"}}, "context.registration"),
    (
        "voiding without StatementRef",
        {"verb": {"id": ADL + "voided"}},
        "object: a voiding statement's object must be a StatementRef",
    ),
]


@pytest.mark.parametrize(("case", "overrides", "message"), INVALID, ids=[c[0] for c in INVALID])
def test_invalid_statement_is_400_with_reason(client, key_a, case, overrides, message):
    response = post(client, statement(**overrides), key_a)
    assert response.status_code == HTTPStatus.BAD_REQUEST, case
    assert message in reason(response)
    assert not XapiStatement.objects.exists()


def test_one_invalid_statement_refuses_the_batch(client, key_a):
    response = post(client, [statement(), statement(verb={"id": "nope"})], key_a)
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert reason(response).startswith("statement 1: verb.id")
    assert not XapiStatement.objects.exists()


def test_same_id_twice_in_one_batch_is_400(client, key_a):
    sid = str(uuid.uuid4())
    response = post(client, [statement(id=sid), statement(id=sid)], key_a)
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "appears twice" in response.json()["error"]
    assert not XapiStatement.objects.exists()


def test_agents_groups_and_other_objects_are_valid(client, key_a):
    group = {
        "objectType": "Group",
        "member": [{"mbox": "mailto:a@example.org"}, {"openid": "https://id.example.org/b"}],
    }
    sha = {"mbox_sha1sum": "a" * 40}
    statements = [
        statement(actor=group),
        statement(actor=sha, object={"objectType": "Agent", "mbox": "mailto:c@example.org"}),
        statement(
            object={
                "objectType": "SubStatement",
                "actor": sha,
                "verb": {"id": ADL + "attempted"},
                "object": {"id": ACTIVITY},
            }
        ),
        statement(
            result={"score": {"scaled": -0.5}, "success": False, "duration": "PT1H30M"},
            context={"registration": str(uuid.uuid4()), "platform": "Moodle"},
        ),
    ]
    response = post(client, statements, key_a)
    assert response.status_code == HTTPStatus.OK, response.content
    assert len(response.json()) == 4


# --- Storage, duplicates, PUT ---------------------------------------------------------------


def test_post_assigns_ids_and_keeps_the_raw_statement(client, key_a):
    sent = statement(context={"extensions": {"https://example.org/ext/cohort": [1, 2]}})
    response = post(client, sent, key_a)
    assert response.status_code == HTTPStatus.OK
    (statement_id,) = response.json()
    uuid.UUID(statement_id)
    stored = XapiStatement.objects.get()
    assert stored.raw == {**sent, "id": statement_id}
    got = get(client, key_a, statementId=statement_id)
    assert got.status_code == HTTPStatus.OK
    body = got.json()
    assert body["context"] == sent["context"]
    assert body["id"] == statement_id
    assert body["stored"]
    assert body["authority"]["objectType"] == "Agent"
    assert body["authority"]["name"] == "Moodle A"


def test_put_with_statement_id(client, key_a):
    sid = str(uuid.uuid4())
    response = put(client, sid, statement(), key_a)
    assert response.status_code == HTTPStatus.NO_CONTENT
    assert XapiStatement.objects.get().statement_id == uuid.UUID(sid)
    # The same statement again: a no-op.
    assert put(client, sid, statement(id=sid), key_a).status_code == HTTPStatus.NO_CONTENT
    assert XapiStatement.objects.count() == 1


def test_put_needs_statement_id_matching_the_body(client, key_a):
    assert (
        client.put(
            "/xapi/statements", json.dumps(statement()), "application/json", **headers(key_a)
        ).status_code
        == HTTPStatus.BAD_REQUEST
    )
    response = put(client, str(uuid.uuid4()), statement(id=str(uuid.uuid4())), key_a)
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "statementId" in reason(response)


def test_identical_duplicate_is_a_no_op(client, key_a):
    sid = str(uuid.uuid4())
    assert post(client, statement(id=sid), key_a).status_code == HTTPStatus.OK
    again = post(client, statement(id=sid), key_a)
    assert again.status_code == HTTPStatus.OK
    assert again.json() == [sid]
    assert XapiStatement.objects.count() == 1


def test_conflicting_duplicate_is_409(client, key_a):
    sid = str(uuid.uuid4())
    assert post(client, statement(id=sid), key_a).status_code == HTTPStatus.OK
    other = statement(id=sid, verb={"id": ADL + "failed"})
    response = post(client, [statement(), other], key_a)
    assert response.status_code == HTTPStatus.CONFLICT
    assert sid in reason(response)
    assert XapiStatement.objects.count() == 1  # the batch's other statement is not kept
    assert put(client, sid, other, key_a).status_code == HTTPStatus.CONFLICT


def test_same_id_at_two_institutions_are_two_statements(client, key_a, key_b):
    sid = str(uuid.uuid4())
    assert post(client, statement(id=sid), key_a).status_code == HTTPStatus.OK
    other = statement(id=sid, verb={"id": ADL + "failed"})
    assert post(client, other, key_b).status_code == HTTPStatus.OK
    assert XapiStatement.objects.filter(statement_id=sid).count() == 2


def test_wrong_content_type_is_400(client, key_a):
    response = client.post(
        "/xapi/statements", "actor=x", content_type="text/plain", **headers(key_a)
    )
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "application/json" in response.content.decode()
    assert not XapiStatement.objects.exists()


# --- Queries ----------------------------------------------------------------------------------


def test_other_institutions_statements_are_invisible(client, key_a, key_b):
    (sid,) = post(client, statement(), key_a).json()
    assert get(client, key_b, statementId=sid).status_code == HTTPStatus.NOT_FOUND
    assert get(client, key_b).json()["statements"] == []
    assert [s["id"] for s in get(client, key_a).json()["statements"]] == [sid]


def test_get_filters(client, key_a):
    alice = {"mbox": "mailto:alice@example.org"}
    bob = {"account": {"homePage": HOME, "name": "bob"}}
    other_activity = "https://moodle.example.org/xapi/activities/other"
    ids = {
        "alice-completed": post(client, statement(actor=alice), key_a).json()[0],
        "alice-failed": post(
            client, statement(actor=alice, verb={"id": ADL + "failed"}), key_a
        ).json()[0],
        "bob-other": post(
            client, statement(actor=bob, object={"id": other_activity}), key_a
        ).json()[0],
    }

    def found(**params):
        response = get(client, key_a, **params)
        assert response.status_code == HTTPStatus.OK, response.content
        return {s["id"] for s in response.json()["statements"]}

    assert found(agent=json.dumps(alice)) == {ids["alice-completed"], ids["alice-failed"]}
    assert found(agent=json.dumps({"mbox": "mailto:ALICE@example.org"})) == found(
        agent=json.dumps(alice)
    )
    assert found(agent=json.dumps(bob)) == {ids["bob-other"]}
    assert found(verb=ADL + "failed") == {ids["alice-failed"]}
    assert found(activity=other_activity) == {ids["bob-other"]}
    assert found(activity=ACTIVITY, verb=ADL + "completed") == {ids["alice-completed"]}
    stored = XapiStatement.objects.get(statement_id=ids["alice-failed"]).stored
    assert found(since=stored.isoformat()) == {ids["bob-other"]}
    assert found(until=stored.isoformat()) == {ids["alice-completed"], ids["alice-failed"]}
    response = get(client, key_a)
    assert response["X-Experience-API-Consistent-Through"]


@pytest.mark.parametrize(
    "params",
    [
        {"agent": "not json"},
        {"agent": json.dumps({"name": "no ifi"})},
        {"verb": "completed"},
        {"since": "2026-11-20"},
        {"limit": "-1"},
        {"statementId": "nope"},
        {"statementId": str(uuid.uuid4()), "verb": ADL + "completed"},
        {"colour": "blue"},
    ],
)
def test_bad_query_is_400(client, key_a, params):
    assert get(client, key_a, **params).status_code == HTTPStatus.BAD_REQUEST


def test_more_pages_through_everything_once(client, key_a):
    sent = post(client, [statement() for _ in range(7)], key_a).json()
    seen = []
    response = get(client, key_a, limit=3, verb=ADL + "completed")
    pages = 0
    while True:
        body = response.json()
        pages += 1
        assert len(body["statements"]) <= 3
        seen += [s["id"] for s in body["statements"]]
        if not body["more"]:
            break
        assert body["more"].startswith("/xapi/statements?")
        assert "verb=" in body["more"]
        response = client.get(body["more"], **headers(key_a))
        assert response.status_code == HTTPStatus.OK
    assert pages == 3
    assert seen == list(reversed(sent))  # newest first, each once


def test_ascending_paging(client, key_a):
    sent = post(client, [statement() for _ in range(4)], key_a).json()
    first = get(client, key_a, limit=2, ascending="true").json()
    second = client.get(first["more"], **headers(key_a)).json()
    assert [s["id"] for s in first["statements"] + second["statements"]] == sent
    assert second["more"] == ""


# --- Voiding ----------------------------------------------------------------------------------


def voiding(target: str, **overrides) -> dict:
    return statement(
        verb={"id": ADL + "voided"},
        object={"objectType": "StatementRef", "id": target},
        **overrides,
    )


def test_voiding_hides_the_target(client, key_a):
    (target,) = post(client, statement(), key_a).json()
    (voider,) = post(client, voiding(target), key_a).json()
    assert XapiStatement.objects.get(statement_id=target).voided
    assert get(client, key_a, statementId=target).status_code == HTTPStatus.NOT_FOUND
    assert get(client, key_a, voidedStatementId=target).json()["id"] == target
    assert get(client, key_a, voidedStatementId=voider).status_code == HTTPStatus.NOT_FOUND
    assert {s["id"] for s in get(client, key_a).json()["statements"]} == {voider}


def test_a_voiding_statement_cannot_be_voided(client, key_a):
    (target,) = post(client, statement(), key_a).json()
    (voider,) = post(client, voiding(target), key_a).json()
    response = post(client, voiding(voider), key_a)
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert XapiStatement.objects.count() == 2
    assert not XapiStatement.objects.get(statement_id=voider).voided


def test_voiding_another_institutions_statement_does_nothing(client, key_a, key_b):
    (target,) = post(client, statement(), key_a).json()
    assert post(client, voiding(target), key_b).status_code == HTTPStatus.OK
    assert not XapiStatement.objects.get(
        statement_id=target, institution=key_a[0].institution
    ).voided


# --- Progress ---------------------------------------------------------------------------------


@pytest.fixture
def mapped(course, key_a, client):
    """The course's first module mapped to ACTIVITY; learner moodle-42 enrolled in the course."""
    module = ModulePage.objects.child_of(course).order_by("path").first()
    module.xapi_activity_iri = ACTIVITY
    module.save_revision().publish()
    learner = lms_services.learner_match_or_create(
        institution=key_a[0].institution,
        external_id="moodle-42",
        full_name="Wanjiru Kamau",
        **PROFILE,
    ).identity.user
    response = client.post(
        "/api/v1/learners/moodle-42/enrolments",
        {"course_id": course.pk},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key_a[1]}",
    )
    assert response.status_code in (HTTPStatus.CREATED, HTTPStatus.OK), response.content
    assert Enrolment.objects.filter(learner=learner, course=course).exists()
    return module.specific, learner


def test_completed_statement_completes_the_module(client, key_a, mapped):
    module, learner = mapped
    response = post(client, statement(), key_a)
    assert response.status_code == HTTPStatus.OK
    (sid,) = response.json()
    assert response["X-SSW-Progress"] == f"{sid}=applied"
    event = ProgressEvent.objects.get(event_id=sid)
    assert (event.learner, event.module, event.verb) == (learner, module, "completed")
    assert event.source == ProgressSource.XAPI
    assert event.recorded_by == key_a[0]
    assert event.occurred_at.isoformat() == "2026-11-20T07:00:00+00:00"
    completion = ModuleCompletion.objects.get(learner=learner, module=module)
    assert completion.event == event
    stored = XapiStatement.objects.get(statement_id=sid)
    assert stored.progress_event == event
    assert stored.progress_status == XapiProgressStatus.APPLIED
    # Sent again: nothing new.
    assert post(client, statement(id=sid), key_a).status_code == HTTPStatus.OK
    assert ProgressEvent.objects.filter(source=ProgressSource.XAPI).count() == 1


def test_completion_is_evidence_of_competence(client, key_a, mapped):
    from competencies.models import CompetencyEvidence

    module, learner = mapped
    post(client, statement(), key_a)
    mapped_competencies = set(module.competency_mappings.values_list("competency_id", flat=True))
    assert mapped_competencies
    assert mapped_competencies <= set(
        CompetencyEvidence.objects.filter(learner=learner).values_list("competency_id", flat=True)
    )


def _progress_write_failing(error: Exception, *, times: int):
    """Make writing a module completion fail ``times`` times, after its row is written (as a
    unique clash with a parallel request, or derived state refusing, does); yields the
    tries, True if it failed."""
    return failing_inserts("courses_modulecompletion", error, times=times)


def _stored_id(response) -> str:
    """The id of the one statement a POST stored."""
    assert response.status_code == HTTPStatus.OK, response.content
    (sid,) = response.json()
    return sid


def test_a_clash_in_writing_progress_stores_the_statement_again_whole(client, key_a, mapped):
    """The first try writes the progress in the request's transaction alone; a clash rolls it
    all back and the second try, in savepoints, stores the statement and its progress once."""
    from django.db import IntegrityError

    module, learner = mapped
    with _progress_write_failing(IntegrityError("clash"), times=1) as calls:
        response = post(client, statement(), key_a)

    sid = _stored_id(response)
    assert response["X-SSW-Progress"] == f"{sid}=applied"
    assert calls == [True, False]
    assert ProgressEvent.objects.filter(event_id=sid).count() == 1
    assert ModuleCompletion.objects.filter(learner=learner, module=module).count() == 1
    stored = XapiStatement.objects.get(statement_id=sid)  # one row, not one a try
    assert stored.progress_status == XapiProgressStatus.APPLIED
    assert stored.progress_event == ProgressEvent.objects.get(event_id=sid)
    # Its query keys, written with it on the second try: its actor and activity are found.
    assert {("agent", f"account:{HOME}|moodle-42"), ("activity", ACTIVITY)} <= set(
        stored.keys.values_list("kind", "key")
    )
    assert [s["id"] for s in get(client, key_a, activity=ACTIVITY).json()["statements"]] == [sid]


def test_a_statement_s_progress_needs_no_savepoint_of_its_own(client, key_a, mapped):
    """Two round trips fewer: the request's transaction is tried again whole on a clash."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        response = post(client, statement(), key_a)

    assert response["X-SSW-Progress"].endswith("=applied")
    savepoints = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SAVEPOINT")]
    assert len(savepoints) == 1  # the request's transaction, inside the test's


def test_progress_refused_while_writing_is_rejected_and_the_statement_kept(client, key_a, mapped):
    from courses.services import LearningError

    module, learner = mapped
    with _progress_write_failing(LearningError("No level to attain."), times=3) as calls:
        response = post(client, statement(), key_a)

    sid = _stored_id(response)
    assert response["X-SSW-Progress"] == f"{sid}=rejected"
    # The first try, then in savepoints the events set-wise, then the event alone.
    assert calls == [True, True, True]
    assert not ProgressEvent.objects.filter(event_id=sid).exists()
    assert not ModuleCompletion.objects.filter(learner=learner, module=module).exists()
    stored = XapiStatement.objects.get(statement_id=sid)
    assert stored.progress_status == XapiProgressStatus.REJECTED
    assert stored.progress_reason == "No level to attain."


@pytest.mark.parametrize(
    ("verb", "result", "progress_verb", "score", "success", "completes"),
    [
        ("passed", {"score": {"scaled": 0.85}}, "passed", "85.00", True, True),
        ("failed", {"score": {"raw": 3, "max": 10}}, "failed", "30.00", False, False),
        ("scored", {"score": {"raw": 7, "min": 0, "max": 10}}, "attempted", "70.00", None, False),
    ],
)
def test_verbs_and_scores(
    client, key_a, mapped, verb, result, progress_verb, score, success, completes
):
    module, learner = mapped
    (sid,) = post(client, statement(verb={"id": ADL + verb}, result=result), key_a).json()
    event = ProgressEvent.objects.get(event_id=sid)
    assert event.verb == progress_verb
    assert str(event.score) == score
    assert event.success is success
    assert ModuleCompletion.objects.filter(learner=learner, module=module).exists() is completes


def test_other_verbs_and_activities_store_without_progress(client, key_a, mapped):
    post(client, statement(verb={"id": ADL + "attempted"}), key_a)
    post(client, statement(object={"id": "https://elsewhere.example.org/a"}), key_a)
    assert not ProgressEvent.objects.filter(source=ProgressSource.XAPI).exists()
    assert set(XapiStatement.objects.values_list("progress_status", flat=True)) == {
        XapiProgressStatus.NOT_MAPPED
    }


def test_unknown_learner_is_stored_without_progress(client, key_a, mapped):
    actor = {"account": {"homePage": HOME, "name": "nobody-here"}}
    response = post(client, statement(actor=actor), key_a)
    assert response.status_code == HTTPStatus.OK
    (sid,) = response.json()
    assert response["X-SSW-Progress"] == f"{sid}=unknown_learner"
    assert XapiStatement.objects.get(statement_id=sid).progress_status == (
        XapiProgressStatus.UNKNOWN_LEARNER
    )
    assert not ProgressEvent.objects.filter(source=ProgressSource.XAPI).exists()


def test_unenrolled_learner_progress_is_rejected_but_statement_kept(client, key_a, mapped):
    lms_services.learner_match_or_create(
        institution=key_a[0].institution, external_id="ext-7", full_name="Ext Seven", **PROFILE
    )
    actor = {"account": {"homePage": HOME, "name": "ext-7"}}
    response = post(client, statement(actor=actor), key_a)
    assert response.status_code == HTTPStatus.OK
    stored = XapiStatement.objects.get()
    assert stored.progress_status == XapiProgressStatus.REJECTED
    assert "not enrolled" in stored.progress_reason


def test_another_institutions_module_is_not_mapped(client, key_b, mapped, institution_b):
    lms_services.learner_match_or_create(
        institution=institution_b, external_id="moodle-42", full_name="B Learner", **PROFILE
    )
    response = post(client, statement(), key_b)
    assert response.status_code == HTTPStatus.OK
    assert XapiStatement.objects.get().progress_status == XapiProgressStatus.NOT_MAPPED
    assert not ProgressEvent.objects.filter(source=ProgressSource.XAPI).exists()


def test_unpublished_mapping_is_not_used(client, key_a, mapped):
    module, _learner = mapped
    module.unpublish()
    post(client, statement(), key_a)
    assert XapiStatement.objects.get().progress_status == XapiProgressStatus.NOT_MAPPED


def test_voiding_keeps_derived_progress(client, key_a, mapped):
    module, learner = mapped
    (target,) = post(client, statement(), key_a).json()
    assert post(client, voiding(target), key_a).status_code == HTTPStatus.OK
    assert ProgressEvent.objects.filter(event_id=target).exists()
    assert ModuleCompletion.objects.filter(learner=learner, module=module).exists()


def test_course_b_mapping_with_same_iri_stays_apart(
    client, key_a, key_b, mapped, institution_b, published_framework
):
    course_b = courses_demo.seed_course(institution=institution_b, framework=published_framework)
    module_b = ModulePage.objects.child_of(course_b).order_by("path").first()
    module_b.xapi_activity_iri = ACTIVITY
    module_b.save_revision().publish()
    module, learner = mapped
    (sid,) = post(client, statement(), key_a).json()
    assert ProgressEvent.objects.get(event_id=sid).module == module
