"""xAPI beyond the basics: related agents and activities, formats, attachments, HEAD, and the
replay of statements stored before their learner was known or enrolled.

Helpers (statements, requests) come from test_xapi.py.
"""

import hashlib
import importlib
import json
import uuid
from email import policy
from email.parser import BytesParser
from http import HTTPStatus
from io import StringIO

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import connection

from competencies.models import CompetencyEvidence
from courses import services as course_services
from courses import xapi
from courses.models import (
    ModuleCompletion,
    ModulePage,
    ProgressEvent,
    ProgressSource,
    XapiAttachment,
    XapiKeyKind,
    XapiProgressStatus,
    XapiStatement,
    XapiStatementKey,
)
from lms import services as lms_services
from tests.courses.test_xapi import ACTIVITY, ADL, HOME, PROFILE, headers, post, statement, voiding

pytestmark = pytest.mark.django_db


ALICE = {"objectType": "Agent", "name": "Alice", "mbox": "mailto:alice@example.org"}
BOB = {"account": {"homePage": HOME, "name": "bob"}}
CAROL = {"mbox": "mailto:carol@example.org"}
OTHER = "https://moodle.example.org/xapi/activities/other"
PARENT = "https://moodle.example.org/xapi/courses/case-management"


def found(client, key, **params) -> set[str]:
    response = client.get("/xapi/statements", params, **headers(key))
    assert response.status_code == HTTPStatus.OK, response.content
    return {s["id"] for s in response.json()["statements"]}


def sent(client, key, *statements) -> list[str]:
    response = post(client, list(statements), key)
    assert response.status_code == HTTPStatus.OK, response.content
    return response.json()


# --- related_agents ---------------------------------------------------------------------------


def test_agent_filter_matches_actor_object_and_group_members(client, key_a):
    by_bob, about_bob, bob_in_group, bob_instructs = sent(
        client,
        key_a,
        statement(actor=BOB),
        statement(actor=ALICE, object={"objectType": "Agent", **BOB}),
        statement(actor={"objectType": "Group", "member": [CAROL, BOB]}),
        statement(actor=ALICE, context={"instructor": BOB}),
    )
    assert found(client, key_a, agent=json.dumps(BOB)) == {by_bob, about_bob, bob_in_group}
    assert found(client, key_a, agent=json.dumps(CAROL)) == {bob_in_group}
    assert bob_instructs not in found(client, key_a, agent=json.dumps(BOB))


def test_related_agents_adds_authority_instructor_team_and_substatements(client, key_a):
    team = {"objectType": "Group", "mbox": "mailto:team@example.org", "member": [BOB]}
    by_bob, instructs, in_team, sub_actor, sub_object, unrelated = sent(
        client,
        key_a,
        statement(actor=BOB),
        statement(actor=ALICE, context={"instructor": BOB}),
        statement(actor=ALICE, context={"team": team}),
        statement(
            actor=ALICE,
            object={
                "objectType": "SubStatement",
                "actor": BOB,
                "verb": {"id": ADL + "attempted"},
                "object": {"id": OTHER},
            },
        ),
        statement(
            actor=ALICE,
            object={
                "objectType": "SubStatement",
                "actor": CAROL,
                "verb": {"id": ADL + "mentored"},
                "object": {"objectType": "Agent", **BOB},
            },
        ),
        statement(actor=ALICE, context={"instructor": CAROL}),
    )
    bob = json.dumps(BOB)
    assert found(client, key_a, agent=bob, related_agents="true") == {
        by_bob,
        instructs,
        in_team,
        sub_actor,
        sub_object,
    }
    assert found(client, key_a, agent=bob, related_agents="false") == {by_bob}
    # A team is matched by its own identifier too, and an instructor who is not Bob is not.
    team_only = {"objectType": "Group", "mbox": "mailto:team@example.org"}
    assert found(client, key_a, agent=json.dumps(team_only), related_agents="true") == {in_team}
    assert unrelated not in found(client, key_a, agent=bob, related_agents="true")
    nobody = json.dumps({"mbox": "mailto:nobody@example.org"})
    assert found(client, key_a, agent=nobody, related_agents="true") == set()


def test_related_agents_matches_the_authority_the_lrs_returns(client, key_a):
    (sid,) = sent(client, key_a, statement())
    authority = client.get("/xapi/statements", {"statementId": sid}, **headers(key_a)).json()[
        "authority"
    ]
    assert found(client, key_a, agent=json.dumps(authority), related_agents="true") == {sid}
    assert found(client, key_a, agent=json.dumps(authority)) == set()


def test_related_agents_of_another_institution_are_invisible(client, key_a, key_b):
    sent(client, key_a, statement(actor=ALICE, context={"instructor": BOB}))
    assert found(client, key_b, agent=json.dumps(BOB), related_agents="true") == set()


# --- related_activities -----------------------------------------------------------------------


def test_related_activities_adds_context_and_substatement_activities(client, key_a):
    in_parent, in_grouping, in_substatement, unrelated = sent(
        client,
        key_a,
        statement(context={"contextActivities": {"parent": [{"id": PARENT}]}}),
        statement(
            object={"id": OTHER},
            context={"contextActivities": {"grouping": {"id": PARENT}}},  # a single activity
        ),
        statement(
            object={
                "objectType": "SubStatement",
                "actor": ALICE,
                "verb": {"id": ADL + "attempted"},
                "object": {"id": OTHER},
                "context": {"contextActivities": {"category": [{"id": PARENT}]}},
            },
        ),
        statement(object={"id": "https://moodle.example.org/xapi/activities/unrelated"}),
    )
    assert found(client, key_a, activity=PARENT, related_activities="true") == {
        in_parent,
        in_grouping,
        in_substatement,
    }
    assert found(client, key_a, activity=PARENT) == set()
    assert found(client, key_a, activity=OTHER) == {in_grouping}
    assert found(client, key_a, activity=OTHER, related_activities="true") == {
        in_grouping,
        in_substatement,
    }
    assert unrelated not in found(client, key_a, activity=PARENT, related_activities="true")


def test_related_filters_combine_with_the_others_and_page(client, key_a):
    ids = sent(
        client,
        key_a,
        *[
            statement(actor=ALICE, context={"contextActivities": {"parent": [{"id": PARENT}]}})
            for _ in range(3)
        ],
        statement(actor=CAROL, context={"contextActivities": {"parent": [{"id": PARENT}]}}),
    )
    params = {"activity": PARENT, "related_activities": "true", "agent": json.dumps(ALICE)}
    first = client.get("/xapi/statements", {**params, "limit": 2}, **headers(key_a)).json()
    assert "related_activities=true" in first["more"]
    second = client.get(first["more"], **headers(key_a)).json()
    assert [s["id"] for s in first["statements"] + second["statements"]] == ids[2::-1]


@pytest.mark.parametrize("name", ["related_agents", "related_activities", "ascending"])
def test_boolean_parameters_must_be_true_or_false(client, key_a, name):
    response = client.get("/xapi/statements", {name: "yes"}, **headers(key_a))
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert f"{name}: must be true or false" in response.json()["error"]


def test_related_lookups_use_the_key_index(key_a):
    """The related filters are one index look-up, on SQLite and on PostgreSQL alike."""
    queryset = xapi.statements_about(
        XapiStatement.objects.all(),
        institution=key_a[0].institution,
        kind=XapiKeyKind.AGENT,
        key="mbox:mailto:alice@example.org",
        related=True,
    )
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute(f"EXPLAIN {sql}", params)
        else:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        plan = " ".join(str(row) for row in cursor.fetchall())
    assert "xapi_statement_key_lookup" in plan


def test_keys_are_stored_with_the_statement(client, key_a):
    (sid,) = sent(
        client,
        key_a,
        statement(actor=ALICE, context={"instructor": BOB, "contextActivities": {"other": []}}),
    )
    keys = {
        (k.kind, k.key, k.related)
        for k in XapiStatementKey.objects.filter(statement__statement_id=sid)
    }
    assert keys == {
        ("agent", "mbox:mailto:alice@example.org", False),
        ("agent", f"account:{HOME}|bob", True),
        ("agent", f"account:urn:ssw:api-key|{key_a[0].prefix}", True),
        ("activity", ACTIVITY, False),
    }


def test_the_data_migration_gives_stored_statements_their_keys(client, key_a):
    migration = importlib.import_module(
        "courses.migrations.0005_xapi_statement_keys_of_stored_statements"
    )
    sent(
        client,
        key_a,
        statement(actor={"objectType": "Group", "member": [ALICE, BOB]}),
        statement(
            object={
                "objectType": "SubStatement",
                "actor": CAROL,
                "verb": {"id": ADL + "attempted"},
                "object": {"objectType": "Agent", **BOB},
                "context": {"team": {"objectType": "Group", "member": [ALICE]}},
            },
            context={"contextActivities": {"parent": {"id": PARENT}}},
        ),
    )
    before = set(XapiStatementKey.objects.values_list("statement_id", "kind", "key", "related"))
    XapiStatementKey.objects.all().delete()
    migration.add_keys(apps, None)
    after = set(XapiStatementKey.objects.values_list("statement_id", "kind", "key", "related"))
    assert after == before
    assert len(after) > 8


# --- format -----------------------------------------------------------------------------------

RICH = {
    "actor": ALICE,
    "verb": {"id": ADL + "answered", "display": {"en-US": "answered", "fr-FR": "a répondu"}},
    "object": {
        "objectType": "Activity",
        "id": ACTIVITY,
        "definition": {
            "name": {"en-US": "Case management", "fr-FR": "Gestion de cas", "sw": "Usimamizi"},
            "description": {"en-US": "A quiz", "fr-FR": "Un quiz"},
            "type": "http://adlnet.gov/expapi/activities/cmi.interaction",
            "interactionType": "choice",
            "choices": [{"id": "a", "description": {"en-US": "Refer", "fr-FR": "Orienter"}}],
        },
    },
    "context": {
        "instructor": {"name": "Bob", **BOB},
        "team": {"objectType": "Group", "name": "Team", "member": [{"name": "Carol", **CAROL}]},
        "contextActivities": {"parent": {"id": PARENT, "definition": {"name": {"en": "P"}}}},
    },
    "timestamp": "2026-11-20T10:00:00+03:00",
}


def test_format_ids_keeps_only_identifiers(client, key_a):
    (sid,) = sent(client, key_a, RICH)
    got = client.get(
        "/xapi/statements", {"statementId": sid, "format": "ids"}, **headers(key_a)
    ).json()
    assert got["actor"] == {"objectType": "Agent", "mbox": "mailto:alice@example.org"}
    assert got["verb"] == {"id": ADL + "answered"}
    assert got["object"] == {"id": ACTIVITY}
    assert got["context"]["instructor"] == {"objectType": "Agent", **BOB}
    # An anonymous group is identified by its members.
    assert got["context"]["team"] == {
        "objectType": "Group",
        "member": [{"objectType": "Agent", "mbox": "mailto:carol@example.org"}],
    }
    assert got["context"]["contextActivities"] == {"parent": [{"id": PARENT}]}
    assert got["authority"] == {
        "objectType": "Agent",
        "account": {"homePage": "urn:ssw:api-key", "name": key_a[0].prefix},
    }
    assert (got["id"], got["timestamp"]) == (sid, RICH["timestamp"])
    # In a query too; the raw statement is untouched.
    listed = client.get("/xapi/statements", {"format": "ids"}, **headers(key_a)).json()
    assert listed["statements"][0]["verb"] == {"id": ADL + "answered"}
    assert XapiStatement.objects.get().raw["verb"] == RICH["verb"]


def test_format_canonical_picks_one_language_per_map(client, key_a):
    (sid,) = sent(client, key_a, RICH)

    def canonical(accept_language=None):
        extra = {"HTTP_ACCEPT_LANGUAGE": accept_language} if accept_language else {}
        response = client.get(
            "/xapi/statements",
            {"statementId": sid, "format": "canonical"},
            **headers(key_a),
            **extra,
        )
        assert response.status_code == HTTPStatus.OK
        assert "Accept-Language" in response["Vary"]
        return response.json()

    french = canonical("fr;q=0.9, en;q=0.5")
    assert french["verb"]["display"] == {"fr-FR": "a répondu"}
    assert french["object"]["definition"]["name"] == {"fr-FR": "Gestion de cas"}
    assert french["object"]["definition"]["description"] == {"fr-FR": "Un quiz"}
    assert french["object"]["definition"]["choices"] == [
        {"id": "a", "description": {"fr-FR": "Orienter"}}
    ]
    # Agents stay exact.
    assert french["actor"] == ALICE
    assert french["context"]["instructor"] == {"name": "Bob", **BOB}
    swahili = canonical("sw-KE, en;q=0.1")
    assert swahili["object"]["definition"]["name"] == {"sw": "Usimamizi"}
    assert swahili["object"]["definition"]["description"] == {"en-US": "A quiz"}
    # No header, or no language that fits: the site's language (English), else the first tag
    # in alphabetical order.
    assert canonical()["verb"]["display"] == {"en-US": "answered"}
    assert canonical("de")["object"]["definition"]["name"] == {"en-US": "Case management"}
    assert canonical("*")["object"]["definition"]["name"] == {"en-US": "Case management"}


def test_format_canonical_without_the_sites_language_takes_the_first_tag(client, key_a):
    verb = {"id": ADL + "answered", "display": {"sw": "alijibu", "fr-FR": "a répondu"}}
    (sid,) = sent(client, key_a, statement(verb=verb))
    got = client.get(
        "/xapi/statements",
        {"statementId": sid, "format": "canonical"},
        HTTP_ACCEPT_LANGUAGE="de-DE",
        **headers(key_a),
    ).json()
    assert got["verb"]["display"] == {"fr-FR": "a répondu"}


def test_format_exact_is_as_received_with_context_activities_as_lists(client, key_a):
    (sid,) = sent(client, key_a, RICH)
    for params in ({"statementId": sid}, {"statementId": sid, "format": "exact"}):
        got = client.get("/xapi/statements", params, **headers(key_a)).json()
        assert got["verb"] == RICH["verb"]
        assert got["object"] == RICH["object"]
        assert got["context"]["contextActivities"]["parent"] == [
            RICH["context"]["contextActivities"]["parent"]
        ]


def test_unknown_format_is_400(client, key_a):
    response = client.get("/xapi/statements", {"format": "short"}, **headers(key_a))
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "format: 'short'" in response.json()["error"]


# --- Attachments ------------------------------------------------------------------------------

CONTENT = b"%PDF-1.7\r\n\x00\xff binary \r\n--not-a-boundary\r\n"
SHA2 = hashlib.sha256(CONTENT).hexdigest()
BOUNDARY = "abcABC0123'()+_,-./:=?"


def attachment(content: bytes = CONTENT, **overrides) -> dict:
    data = {
        "usageType": "http://id.tincanapi.com/attachment/certificate-of-completion",
        "display": {"en-US": "Certificate"},
        "contentType": "application/pdf",
        "length": len(content),
        "sha2": hashlib.sha256(content).hexdigest(),
    }
    data.update(overrides)
    return data


def multipart(statements, parts, *, boundary: str = BOUNDARY) -> bytes:
    """A multipart/mixed body as xAPI 1.0.3 (Part Three, 1.5.2) describes it."""
    body = f"--{boundary}\r\nContent-Type:application/json\r\n\r\n".encode()
    body += json.dumps(statements).encode()
    for part in parts:
        if isinstance(part, bytes):
            part = {"content": part}
        content = part["content"]
        digest = part.get("hash", hashlib.sha256(content).hexdigest())
        body += f"\r\n--{boundary}\r\nContent-Type:application/pdf\r\n".encode()
        if part.get("encoding", "binary"):
            body += f"Content-Transfer-Encoding:{part.get('encoding', 'binary')}\r\n".encode()
        body += f"X-Experience-API-Hash:{digest}\r\n\r\n".encode() + content
    return body + f"\r\n--{boundary}--".encode()


def post_multipart(client, key, statements, parts, *, method="post", path="/xapi/statements"):
    return getattr(client, method)(
        path,
        multipart(statements, parts),
        content_type=f'multipart/mixed; boundary="{BOUNDARY}"',
        **headers(key),
    )


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def split(response) -> list:
    """The parts of a multipart/mixed response."""
    head = f"Content-Type: {response['Content-Type']}\r\n\r\n".encode()
    message = BytesParser(policy=policy.HTTP).parsebytes(
        head + b"".join(response.streaming_content)
    )
    return list(message.iter_parts())


def test_attachment_round_trip(client, key_a, media):
    response = post_multipart(client, key_a, statement(attachments=[attachment()]), [CONTENT])
    assert response.status_code == HTTPStatus.OK, response.content
    (sid,) = response.json()
    stored = XapiAttachment.objects.get()
    assert (stored.sha2, stored.length, stored.content_type) == (
        SHA2,
        len(CONTENT),
        "application/pdf",
    )
    assert stored.file.name == f"xapi-attachments/{key_a[0].institution.pk}/{SHA2}"
    assert (media / stored.file.name).read_bytes() == CONTENT

    got = client.get(
        "/xapi/statements", {"statementId": sid, "attachments": "true"}, **headers(key_a)
    )
    assert got.status_code == HTTPStatus.OK
    assert got["Content-Type"].startswith("multipart/mixed; boundary=")
    first, second = split(got)
    assert first.get_content_type() == "application/json"
    assert json.loads(first.get_payload(decode=True))["attachments"] == [attachment()]
    assert second["X-Experience-API-Hash"] == SHA2
    assert second["Content-Transfer-Encoding"] == "binary"
    assert second.get_content_type() == "application/pdf"
    assert second.get_payload(decode=True) == CONTENT

    # A query with attachments=true: the StatementResult, then each content once.
    sent(client, key_a, statement(attachments=[attachment(fileUrl="https://lms.example.org/c")]))
    listed = client.get("/xapi/statements", {"attachments": "true"}, **headers(key_a))
    parts = split(listed)
    assert len(json.loads(parts[0].get_payload(decode=True))["statements"]) == 2
    assert [part.get_payload(decode=True) for part in parts[1:]] == [CONTENT]
    # Without attachments=true: JSON only.
    plain = client.get("/xapi/statements", {"statementId": sid}, **headers(key_a))
    assert plain["Content-Type"] == "application/json"


def test_attachment_with_put_and_content_kept_once(client, key_a, media):
    sid = str(uuid.uuid4())
    response = post_multipart(
        client,
        key_a,
        statement(attachments=[attachment()]),
        [CONTENT],
        method="put",
        path=f"/xapi/statements?statementId={sid}",
    )
    assert response.status_code == HTTPStatus.NO_CONTENT, response.content
    again = post_multipart(
        client,
        key_a,
        [statement(attachments=[attachment()]), statement(attachments=[attachment()])],
        [CONTENT],
    )
    assert again.status_code == HTTPStatus.OK
    assert XapiStatement.objects.count() == 3
    assert XapiAttachment.objects.count() == 1
    assert len(list((media / "xapi-attachments").rglob("*"))) == 2  # a folder and one file


@pytest.mark.parametrize(
    ("statements", "parts", "message"),
    [
        (
            statement(attachments=[attachment()]),
            [{"content": CONTENT, "hash": hashlib.sha256(b"something else").hexdigest()}],
            "does not match the part's content",
        ),
        (statement(attachments=[attachment()]), [], "has no fileUrl, and no part"),
        (
            statement(attachments=[attachment(fileUrl="https://lms.example.org/c")]),
            [CONTENT, b"a second file"],
            "is not the content of any attachment",
        ),
        (statement(), [CONTENT], "is not the content of any attachment"),
        (
            statement(attachments=[attachment()]),
            [{"content": CONTENT, "encoding": "base64"}],
            "Part 2: needs Content-Transfer-Encoding: binary",
        ),
        (
            statement(attachments=[attachment()]),
            [{"content": CONTENT, "encoding": ""}],
            "Part 2: needs Content-Transfer-Encoding: binary",
        ),
        (
            statement(attachments=[attachment()]),
            [{"content": CONTENT, "hash": "not-a-hash"}],
            "is not a hexadecimal SHA-2 hash",
        ),
        (
            [statement(), statement(attachments=[attachment(usageType="certificate")])],
            [CONTENT],
            "statement 1: attachments[0].usageType",
        ),
        (
            statement(attachments=[{**attachment(), "contentType": "pdf"}]),
            [CONTENT],
            "attachments[0].contentType",
        ),
    ],
    ids=[
        "hash mismatch",
        "missing part",
        "part of no attachment",
        "part without attachments",
        "base64 part",
        "no transfer encoding",
        "bad hash",
        "bad usageType",
        "bad contentType",
    ],
)
def test_bad_attachments_are_400_and_store_nothing(
    client, key_a, media, statements, parts, message
):
    response = post_multipart(client, key_a, statements, parts)
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert message in response.json()["error"]
    assert not XapiStatement.objects.exists()
    assert not XapiAttachment.objects.exists()
    assert not (media / "xapi-attachments").exists()


def test_json_statements_need_a_file_url_for_each_attachment(client, key_a, media):
    missing = post(client, statement(attachments=[attachment()]), key_a)
    assert missing.status_code == HTTPStatus.BAD_REQUEST
    assert "has no fileUrl, and no part" in missing.json()["error"]
    with_url = post(client, statement(attachments=[attachment(fileUrl="https://x.org/c")]), key_a)
    assert with_url.status_code == HTTPStatus.OK
    assert not XapiAttachment.objects.exists()


def test_malformed_multipart_is_400(client, key_a, media):
    body = multipart(statement(), [])
    for broken, content_type, message in [
        (body[: -len(BOUNDARY) - 4], f'multipart/mixed; boundary="{BOUNDARY}"', "malformed"),
        (body, "multipart/mixed", "needs a boundary"),
        (body.replace(b"application/json", b"text/plain"), None, "first part must be"),
        (body.replace(b'"actor"', b"actor"), None, "first part is not valid JSON"),
    ]:
        response = client.post(
            "/xapi/statements",
            broken,
            content_type=content_type or f'multipart/mixed; boundary="{BOUNDARY}"',
            **headers(key_a),
        )
        assert response.status_code == HTTPStatus.BAD_REQUEST, message
        assert message in response.json()["error"]
    assert not XapiStatement.objects.exists()


def test_too_large_body_is_413(client, key_a, media, settings):
    settings.XAPI_MAX_BODY_BYTES = 1000
    big = b"x" * 2000
    response = post_multipart(client, key_a, statement(attachments=[attachment(big)]), [big])
    assert response.status_code == HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    assert "1000 bytes at most" in response.json()["error"]
    assert not XapiStatement.objects.exists()
    assert not (media / "xapi-attachments").exists()


def test_another_institutions_content_is_not_served(client, key_a, key_b, media):
    post_multipart(client, key_a, statement(attachments=[attachment()]), [CONTENT])
    # B names the same hash with a fileUrl: B has never sent the content, so gets none.
    (sid,) = sent(client, key_b, statement(attachments=[attachment(fileUrl="https://b.org/c")]))
    got = client.get(
        "/xapi/statements", {"statementId": sid, "attachments": "true"}, **headers(key_b)
    )
    assert len(split(got)) == 1


def test_a_duplicate_statement_does_not_store_its_parts(client, key_a, media):
    sid = str(uuid.uuid4())
    assert sent(client, key_a, statement(id=sid, attachments=[attachment(fileUrl="https://x.org")]))
    again = post_multipart(
        client,
        key_a,
        statement(id=sid, attachments=[attachment(fileUrl="https://x.org")]),
        [CONTENT],
    )
    assert again.status_code == HTTPStatus.OK
    assert not XapiAttachment.objects.exists()


# --- HEAD and the alternate request syntax ----------------------------------------------------


def test_head_answers_as_get_without_the_body(client, key_a):
    about = client.get("/xapi/about")
    head = client.head("/xapi/about")
    assert head.status_code == HTTPStatus.OK
    assert head.content == b""
    assert head["Content-Length"] == str(len(about.content))
    assert head["X-Experience-API-Version"] == "1.0.3"

    (sid,) = sent(client, key_a, statement())
    got = client.get("/xapi/statements", {"statementId": sid}, **headers(key_a))
    head = client.head("/xapi/statements", {"statementId": sid}, **headers(key_a))
    assert head.status_code == HTTPStatus.OK
    assert head.content == b""
    assert head["Last-Modified"] == got["Last-Modified"]
    assert head["Content-Length"] == str(len(got.content))
    assert head["X-Experience-API-Consistent-Through"]
    missing = client.head("/xapi/statements", {"statementId": str(uuid.uuid4())}, **headers(key_a))
    assert missing.status_code == HTTPStatus.NOT_FOUND
    assert client.head("/xapi/statements").status_code == HTTPStatus.UNAUTHORIZED


def test_alternate_request_syntax_is_refused_clearly(client, key_a):
    response = client.post(
        "/xapi/statements?method=PUT",
        {"content": json.dumps(statement()), "statementId": str(uuid.uuid4())},
        **headers(key_a),
    )
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "alternate request syntax" in response.json()["error"]
    assert not XapiStatement.objects.exists()


# --- Replay -----------------------------------------------------------------------------------


@pytest.fixture
def module(course):
    """The course's first module, mapped to ACTIVITY (no learner yet)."""
    module = ModulePage.objects.child_of(course).order_by("path").first()
    module.xapi_activity_iri = ACTIVITY
    module.save_revision().publish()
    return module.specific


def actor(external_id: str) -> dict:
    return {"objectType": "Agent", "account": {"homePage": HOME, "name": external_id}}


def create_learner(client, key, external_id: str):
    response = client.post(
        "/api/v1/learners",
        {"external_id": external_id, "full_name": "Achieng Otieno", **PROFILE},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key[1]}",
    )
    assert response.status_code == HTTPStatus.CREATED, response.content
    return lms_services.learner_match_or_create(
        institution=key[0].institution, external_id=external_id
    ).identity.user


def status_of(sid: str) -> str:
    return XapiStatement.objects.get(statement_id=sid).progress_status


def test_enrolment_replays_statements_sent_before_the_learner_existed(
    client, key_a, module, course, django_capture_on_commit_callbacks
):
    scored, completed = sent(
        client,
        key_a,
        statement(
            actor=actor("moodle-77"), verb={"id": ADL + "scored"}, result={"score": {"scaled": 0.4}}
        ),
        statement(actor=actor("moodle-77")),
    )
    (voided,) = sent(client, key_a, statement(actor=actor("moodle-77")))
    sent(client, key_a, voiding(voided))
    assert {status_of(scored), status_of(completed)} == {XapiProgressStatus.UNKNOWN_LEARNER}

    learner = create_learner(client, key_a, "moodle-77")
    assert status_of(completed) == XapiProgressStatus.UNKNOWN_LEARNER  # no enrolment yet
    with django_capture_on_commit_callbacks() as callbacks:
        course_services.enrol(learner=learner, course=course, by_institution=True)
    # Enqueued on commit, not run inside the enrolment's transaction.
    assert status_of(completed) == XapiProgressStatus.UNKNOWN_LEARNER
    for callback in callbacks:
        callback()

    events = list(ProgressEvent.objects.filter(source=ProgressSource.XAPI).order_by("pk"))
    assert [(str(e.event_id), e.verb) for e in events] == [
        (scored, "attempted"),
        (completed, "completed"),
    ]  # in the order the statements were stored
    assert status_of(scored) == status_of(completed) == XapiProgressStatus.APPLIED
    assert XapiStatement.objects.get(statement_id=completed).progress_event == events[1]
    assert ModuleCompletion.objects.get(learner=learner, module=module).event == events[1]
    mapped_competencies = set(module.competency_mappings.values_list("competency_id", flat=True))
    assert mapped_competencies
    evidence = list(
        CompetencyEvidence.objects.filter(learner=learner).values_list("competency_id", flat=True)
    )
    assert set(evidence) == mapped_competencies
    # The voided statement brought nothing.
    assert status_of(voided) == XapiProgressStatus.UNKNOWN_LEARNER
    assert not ProgressEvent.objects.filter(event_id=voided).exists()

    # Replaying again (the command, twice) changes nothing.
    for _ in range(2):
        out = StringIO()
        call_command("xapi_replay", stdout=out)
        assert out.getvalue() == "No statement was waiting for a learner, enrolment or mapping.\n"
    assert ProgressEvent.objects.filter(source=ProgressSource.XAPI).count() == 2
    assert ModuleCompletion.objects.filter(learner=learner).count() == 1
    assert sorted(
        CompetencyEvidence.objects.filter(learner=learner).values_list("competency_id", flat=True)
    ) == sorted(evidence)


def test_command_replays_after_an_enrolment_through_the_plugin_api(client, key_a, module, course):
    learner = create_learner(client, key_a, "moodle-78")
    (sid,) = sent(client, key_a, statement(actor=actor("moodle-78")))
    assert status_of(sid) == XapiProgressStatus.REJECTED  # known, but not enrolled

    out = StringIO()
    call_command("xapi_replay", "--institution", "ubuntu", stdout=out)
    assert out.getvalue() == "ubuntu: 1 rejected\nReplayed 1 statement(s): 1 rejected.\n"
    assert "not enrolled" in XapiStatement.objects.get(statement_id=sid).progress_reason

    response = client.post(
        "/api/v1/learners/moodle-78/enrolments",
        {"course_id": course.pk},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key_a[1]}",
    )
    assert response.status_code == HTTPStatus.CREATED
    out = StringIO()
    call_command("xapi_replay", "--institution", "ubuntu", "--learner", "moodle-78", stdout=out)
    assert out.getvalue() == "ubuntu: 1 applied\nReplayed 1 statement(s): 1 applied.\n"
    assert status_of(sid) == XapiProgressStatus.APPLIED
    assert ModuleCompletion.objects.filter(learner=learner, module=module).exists()
    out = StringIO()
    call_command("xapi_replay", "--institution", "ubuntu", stdout=out)
    assert "No statement was waiting" in out.getvalue()
    assert ProgressEvent.objects.filter(event_id=sid).count() == 1


def test_an_enrolment_through_the_plugin_api_replays_by_itself(
    client, key_a, module, course, django_capture_on_commit_callbacks
):
    learner = create_learner(client, key_a, "moodle-77")
    (sid,) = sent(client, key_a, statement(actor=actor("moodle-77")))
    assert status_of(sid) == XapiProgressStatus.REJECTED  # known, but not enrolled

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/api/v1/learners/moodle-77/enrolments",
            {"course_id": course.pk},
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {key_a[1]}",
        )
    assert response.status_code == HTTPStatus.CREATED
    assert status_of(sid) == XapiProgressStatus.APPLIED
    assert ModuleCompletion.objects.filter(learner=learner, module=module).exists()
    assert ProgressEvent.objects.filter(event_id=sid).count() == 1


def test_replay_of_one_learner_leaves_the_others(client, key_a, key_b, module, course):
    mine, theirs = sent(
        client, key_a, statement(actor=actor("moodle-79")), statement(actor=actor("moodle-80"))
    )
    (other_institution,) = sent(client, key_b, statement(actor=actor("moodle-79")))
    learner = create_learner(client, key_a, "moodle-79")
    course_services.enrol(learner=learner, course=course, by_institution=True)

    statuses = xapi.statements_replay(institution=key_a[0].institution, external_ids=["moodle-79"])
    assert statuses == {XapiProgressStatus.APPLIED: 1}
    assert status_of(mine) == XapiProgressStatus.APPLIED
    assert XapiStatement.objects.get(statement_id=theirs).progress_status == (
        XapiProgressStatus.UNKNOWN_LEARNER
    )
    assert XapiStatement.objects.get(statement_id=other_institution).progress_status == (
        XapiProgressStatus.NOT_MAPPED
    )
    assert xapi.statements_replay(institution=key_a[0].institution) == {
        XapiProgressStatus.UNKNOWN_LEARNER: 1
    }
    assert xapi.learner_statements_replay(learner_id=learner.pk) == {}


def test_replay_applies_statements_whose_activity_was_mapped_later(client, key_a, course):
    learner = create_learner(client, key_a, "moodle-81")
    course_services.enrol(learner=learner, course=course, by_institution=True)
    (sid,) = sent(client, key_a, statement(actor=actor("moodle-81")))
    assert status_of(sid) == XapiProgressStatus.NOT_MAPPED
    module = ModulePage.objects.child_of(course).order_by("path").first()
    module.xapi_activity_iri = ACTIVITY
    module.save_revision().publish()
    out = StringIO()
    call_command("xapi_replay", "--learner", "moodle-81", stdout=out)
    assert out.getvalue().startswith("ubuntu: 1 applied\n")
    assert status_of(sid) == XapiProgressStatus.APPLIED


def test_replay_command_names_an_unknown_institution():
    with pytest.raises(CommandError, match="No institution has the slug 'nowhere'"):
        call_command("xapi_replay", "--institution", "nowhere")


def test_the_replay_task_is_idempotent(client, key_a, module, course):
    from courses.tasks import replay_xapi_statements

    (sid,) = sent(client, key_a, statement(actor=actor("moodle-82")))
    learner = create_learner(client, key_a, "moodle-82")
    course_services.enrol(learner=learner, course=course, by_institution=True)
    assert replay_xapi_statements.delay([learner.pk]).get() == {"applied": 1}
    assert replay_xapi_statements.delay([learner.pk]).get() == {}
    assert ProgressEvent.objects.filter(event_id=sid).count() == 1


def test_head_with_attachments_sends_the_headers_only(client, key_a, media):
    response = post_multipart(client, key_a, statement(attachments=[attachment()]), [CONTENT])
    (sid,) = response.json()
    params = {"statementId": sid, "attachments": "true"}
    head = client.head("/xapi/statements", params, **headers(key_a))
    assert head.status_code == HTTPStatus.OK
    assert head["Content-Type"].startswith("multipart/mixed; boundary=")
    assert b"".join(head.streaming_content) == b""
    assert not head.has_header("Content-Length")
