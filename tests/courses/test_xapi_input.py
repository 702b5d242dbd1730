"""xAPI input no store could take: a 400 that says where, and nothing stored.

A NUL character anywhere in a statement (PostgreSQL refuses it in text and in jsonb), JSON
nested deeper than 64 levels (the decoder would recurse until it crashed), and a NUL in a
query parameter are refused before anything is written.
"""

import json
from http import HTTPStatus

import pytest

from courses.models import XapiStatement
from courses.xapi import XapiError
from courses.xapi_multipart import statements_parse
from tests.courses.test_xapi import ACTIVITY, headers, post, reason, statement

pytestmark = pytest.mark.django_db


def account(name: str) -> dict:
    return {"objectType": "Agent", "account": {"homePage": "https://lms.example.org", "name": name}}


@pytest.mark.parametrize(
    ("sent", "where"),
    [
        (statement(actor=account("moodle\x0042")), "[0].actor.account.name"),
        (statement(object={"objectType": "Activity", "id": ACTIVITY + "\x00"}), "[0].object.id"),
        (
            statement(context={"extensions": {"https://x.example.org/e": {"deep": ["a\x00"]}}}),
            "[0].context.extensions.https://x.example.org/e.deep[0]",
        ),
    ],
)
def test_a_nul_anywhere_in_a_statement_is_refused_and_nothing_is_stored(client, key_a, sent, where):
    response = post(client, [sent], key_a)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert reason(response) == (
        f"The body, at {where}, contains a NUL character, which cannot be stored."
    )
    assert not XapiStatement.objects.exists()


def test_extensions_nested_fifty_thousand_deep_are_refused_without_recursing(client, key_a):
    extension = "[" * 50_000 + "]" * 50_000
    body = json.dumps(statement(context={"extensions": {"https://x.example.org/e": []}}))
    body = body.replace("[]", extension)

    response = client.post(
        "/xapi/statements", body, content_type="application/json", **headers(key_a)
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert reason(response) == "The body nests arrays and objects more than 64 levels deep."
    assert not XapiStatement.objects.exists()


def test_a_statement_sent_with_attachments_is_checked_the_same_way():
    body = (
        b"--b\r\nContent-Type: application/json\r\n\r\n"
        + json.dumps([statement(actor=account("x\x00"))]).encode()
        + b"\r\n--b--\r\n"
    )
    with pytest.raises(
        XapiError, match=r"first part, at \[0\]\.actor\.account\.name, contains a NUL"
    ):
        statements_parse(body, content_type="multipart/mixed; boundary=b")


@pytest.mark.parametrize(
    "query",
    ["verb=http%3A%2F%2Fx.example.org%2Fv%00", "activity=%00", "statementId=%00", "limit%00=1"],
)
def test_a_nul_in_a_query_parameter_is_refused(client, key_a, query):
    response = client.get(f"/xapi/statements?{query}", **headers(key_a))

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "contains a NUL character" in reason(response)


def test_an_agent_filter_that_nests_too_deeply_is_refused(client, key_a):
    response = client.get("/xapi/statements", {"agent": "[" * 5000}, **headers(key_a))

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert reason(response) == "agent nests arrays and objects more than 64 levels deep."
