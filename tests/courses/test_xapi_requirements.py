"""Statement requirements of xAPI 1.0.3, one test per requirement id of ADL's conformance
requirements (XAPI-nnnnn), built from the spec's text: what a client sees, and what is stored.
"""

import hashlib
import json

import pytest

from courses.models import XapiStatement
from tests.courses.test_xapi import ACTIVITY, ADL, get, headers, post, statement
from tests.courses.test_xapi_more import media, post_multipart  # noqa: F401 - media: a fixture

pytestmark = pytest.mark.django_db

MBOX = {"objectType": "Agent", "mbox": "mailto:ann@example.org"}


def refused(client, key, data) -> str:
    response = post(client, data, key)
    assert response.status_code == 400, response.content
    assert not XapiStatement.objects.exists()
    return response.json()["error"]


def interaction(**definition) -> dict:
    return statement(object={"id": ACTIVITY, "definition": definition})


@pytest.mark.parametrize(
    "spelled",
    [
        "true-faLse",
        "choiCe",
        "fill-iN",
        "long-fiLl-in",
        "matchIng",
        "perfOrmance",
        "seqUencing",
        "liKert",
        "nUmeric",
        "Other",
    ],
)
def test_xapi_00009_interaction_type_is_case_sensitive(client, key_a, spelled):
    assert "interactionType" in refused(client, key_a, interaction(interactionType=spelled))


@pytest.mark.parametrize(
    "value",
    ["http://adlnet.gov/expapi/activities/cmi.interaction", 12, {"type": "choice"}, "essay"],
)
def test_xapi_00049_interaction_type_is_one_of_the_list(client, key_a, value):
    assert "interactionType" in refused(client, key_a, interaction(interactionType=value))


def test_xapi_00049_every_listed_interaction_type_is_taken(client, key_a):
    for kind in ("true-false", "choice", "fill-in", "long-fill-in", "matching"):
        assert post(client, interaction(interactionType=kind), key_a).status_code == 200
    for kind in ("performance", "sequencing", "likert", "numeric", "other"):
        assert post(client, interaction(interactionType=kind), key_a).status_code == 200


@pytest.mark.parametrize(
    "component", ["choices", "scale", "source", "target", "steps", "correctResponsesPattern"]
)
def test_xapi_00064_interaction_components_need_an_interaction_type(client, key_a, component):
    value = ["a"] if component == "correctResponsesPattern" else [{"id": "a"}]
    error = refused(client, key_a, interaction(**{component: value}))
    assert component in error
    assert "interactionType" in error


INVALID_TAG = "zh-z-aaa-z-bbb-c-ccc"  # two extensions with the same singleton


@pytest.mark.parametrize(
    "where",
    [
        "verb.display",
        "object.definition.name",
        "object.definition.description",
        "attachments.display",
        "attachments.description",
        "substatement.verb.display",
    ],
)
def test_xapi_00013_language_map_keys_are_rfc_5646_tags(client, key_a, where):
    bad = {INVALID_TAG: "text"}
    data = statement()
    if where == "verb.display":
        data["verb"] = {"id": ADL + "completed", "display": bad}
    elif where.startswith("object."):
        data["object"] = {"id": ACTIVITY, "definition": {where.rsplit(".", 1)[1]: bad}}
    elif where.startswith("attachments."):
        attachment = {
            "usageType": "http://example.org/usage",
            "display": {"en": "file"},
            "contentType": "text/plain",
            "length": 1,
            "sha2": hashlib.sha256(b"x").hexdigest(),
            "fileUrl": "https://example.org/file",
        }
        attachment[where.rsplit(".", 1)[1]] = bad
        data["attachments"] = [attachment]
    else:
        data["object"] = {
            "objectType": "SubStatement",
            "actor": MBOX,
            "verb": {"id": ADL + "answered", "display": bad},
            "object": {"id": ACTIVITY},
        }
    assert INVALID_TAG in refused(client, key_a, data)


def test_xapi_00013_valid_language_tags_are_taken(client, key_a):
    display = {"en-US": "completed", "zh-Hant-TW": "完成", "es-419": "completado"}
    response = post(client, statement(verb={"id": ADL + "completed", "display": display}), key_a)
    assert response.status_code == 200


@pytest.mark.parametrize("tag", [INVALID_TAG, "en-", "a", ""])
def test_xapi_00121_context_language_is_an_rfc_5646_tag(client, key_a, tag):
    assert "context.language" in refused(client, key_a, statement(context={"language": tag}))


def test_xapi_00121_context_language_valid_is_kept(client, key_a):
    assert post(client, statement(context={"language": "fr-CA"}), key_a).status_code == 200
    assert XapiStatement.objects.get().raw["context"]["language"] == "fr-CA"


TWO = [MBOX, {"objectType": "Agent", "account": {"homePage": "https://a.example", "name": "b"}}]


@pytest.mark.parametrize(
    "group",
    [
        {"objectType": "Group", "mbox": "mailto:g@example.org", "member": TWO},
        {"objectType": "Group", "openid": "https://example.org/g", "member": TWO},
    ],
)
def test_xapi_00024_authority_group_is_anonymous(client, key_a, group):
    assert "authority" in refused(client, key_a, statement(authority=group))


@pytest.mark.parametrize("members", [TWO[:1], [*TWO, {"mbox": "mailto:third@example.org"}]])
def test_xapi_00098_authority_group_has_exactly_two_members(client, key_a, members):
    group = {"objectType": "Group", "member": members}
    assert "two members" in refused(client, key_a, statement(authority=group))


def test_xapi_00100_authority_group_of_identified_agents_pair_is_refused(client, key_a):
    group = {"objectType": "Group", "name": "xAPI Group", "mbox": "mailto:g@example.org"}
    group["member"] = TWO
    refused(client, key_a, statement(authority=group))


def test_xapi_00098_authority_anonymous_group_of_two_is_taken(client, key_a):
    group = {"objectType": "Group", "member": TWO}
    assert post(client, statement(authority=group), key_a).status_code == 200


@pytest.mark.parametrize("offset", ["-00", "-0000", "-00:00"])
def test_xapi_00123_timestamp_with_unknown_offset_is_refused(client, key_a, offset):
    timestamp = f"2026-11-20T10:00:00.000{offset}"
    assert "timestamp" in refused(client, key_a, statement(timestamp=timestamp))
    sub = {
        "objectType": "SubStatement",
        "actor": MBOX,
        "verb": {"id": ADL + "answered"},
        "object": {"id": ACTIVITY},
        "timestamp": timestamp,
    }
    assert "object.timestamp" in refused(client, key_a, statement(object=sub))


def test_xapi_00123_timestamp_with_zero_offset_spelled_plus_is_taken(client, key_a):
    assert post(client, statement(timestamp="2026-11-20T10:00:00+00:00"), key_a).status_code == 200


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"statementId": "not-a-uuid"}, 400),
        ({"statementId": "0b5c6a5e-8f6b-4d43-9b57-3c0c3f1a7e21"}, 404),
        ({"verb": "not an iri"}, 400),
        ({"unknown": "x"}, 400),
        ({}, 200),
    ],
)
def test_xapi_00150_00151_consistent_through_on_every_get_answer(client, key_a, params, status):
    response = get(client, key_a, **params)
    assert response.status_code == status
    assert response["X-Experience-API-Consistent-Through"]


def test_xapi_00162_voiding_statement_returned_with_filter(client, key_a):
    target = statement(verb={"id": ADL + "attempted"})
    target_id = post(client, target, key_a).json()[0]
    voiding = statement(
        verb={"id": ADL + "voided"}, object={"objectType": "StatementRef", "id": target_id}
    )
    voiding_id = post(client, voiding, key_a).json()[0]
    found = get(client, key_a, verb=ADL + "attempted").json()["statements"]
    assert [s["id"] for s in found] == [voiding_id]
    by_activity = get(client, key_a, activity=ACTIVITY).json()["statements"]
    assert [s["id"] for s in by_activity] == [voiding_id]


def test_xapi_00171_format_ids_substatement_activity_has_only_its_id(client, key_a):
    sub = {
        "objectType": "SubStatement",
        "actor": {"objectType": "Group", "mbox": "mailto:g@example.org", "name": "G"},
        "verb": {"id": ADL + "answered", "display": {"en": "answered"}},
        "object": {"objectType": "Activity", "id": ACTIVITY, "definition": {"type": ACTIVITY}},
    }
    post(client, statement(actor=MBOX, object=sub), key_a)
    got = get(client, key_a, format="ids").json()["statements"][0]
    assert got["object"]["object"] == {"id": ACTIVITY}
    assert got["object"]["actor"] == {"objectType": "Group", "mbox": "mailto:g@example.org"}


@pytest.mark.usefixtures("media")
def test_xapi_00127_attachment_length_is_not_checked_against_the_part(client, key_a):
    content = b"some content of the attachment"
    attachment = {
        "usageType": "http://example.org/usage",
        "display": {"en": "file"},
        "contentType": "text/plain",
        "length": len(content) // 2,
        "sha2": hashlib.sha256(content).hexdigest(),
    }
    response = post_multipart(client, key_a, statement(attachments=[attachment]), [content])
    assert response.status_code == 200, response.content
    assert XapiStatement.objects.get().raw["attachments"][0]["length"] == len(content) // 2


def test_statements_about_resource_still_needs_no_key(client):
    assert json.loads(client.get("/xapi/about").content) == {"version": ["1.0.3"]}


def test_statements_need_the_version_header(client, key_a):
    response = client.get("/xapi/statements", **headers(key_a, version=None))
    assert response.status_code == 400
