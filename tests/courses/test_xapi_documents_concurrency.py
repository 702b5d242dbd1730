"""Concurrent writes of one xAPI document (PostgreSQL, real threads): two PUTs with the same
If-Match end one 204 and one 412, and PUTs of a new document write one row (Communication 3.1).
"""

import json
from urllib.parse import urlencode

import pytest
from django.test import Client

from courses.models import XapiDocument
from tests.courses.test_concurrency import run_in_parallel
from tests.courses.test_xapi import ACTIVITY, headers
from tests.services import require_postgresql

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
THREADS = 8
AGENT = {"objectType": "Agent", "mbox": "mailto:learner@example.org"}


@pytest.fixture(autouse=True)
def needs_postgresql():
    require_postgresql()


def _put(key, url, body, **extra):
    return Client().put(
        url, json.dumps(body), content_type="application/json", **headers(key), **extra
    )


def test_two_puts_with_the_same_if_match_one_204_one_412(key_a):
    url = "/xapi/activities/profile?" + urlencode({"activityId": ACTIVITY, "profileId": "p"})
    assert _put(key_a, url, {"v": 0}, HTTP_IF_NONE_MATCH="*").status_code == 204
    etag = Client().get(url, **headers(key_a))["ETag"]
    statuses = [None] * 2

    def write(index):
        statuses[index] = _put(key_a, url, {"v": index + 1}, HTTP_IF_MATCH=etag).status_code

    assert run_in_parallel(write, count=2) == [None, None]
    assert sorted(statuses) == [204, 412]
    winner = statuses.index(204) + 1
    assert json.loads(bytes(XapiDocument.objects.get().content)) == {"v": winner}


def test_parallel_puts_of_a_new_state_write_one_row(key_a):
    params = {"activityId": ACTIVITY, "agent": json.dumps(AGENT), "stateId": "bookmark"}
    url = "/xapi/activities/state?" + urlencode(params)
    statuses = [None] * THREADS

    def write(index):
        statuses[index] = _put(key_a, url, {"page": index}).status_code

    assert run_in_parallel(write, count=THREADS) == [None] * THREADS
    assert statuses == [204] * THREADS
    assert XapiDocument.objects.count() == 1


def test_parallel_if_none_match_creations_one_wins(key_a):
    url = "/xapi/agents/profile?" + urlencode({"agent": json.dumps(AGENT), "profileId": "p"})
    statuses = [None] * THREADS

    def write(index):
        statuses[index] = _put(key_a, url, {"v": index}, HTTP_IF_NONE_MATCH="*").status_code

    assert run_in_parallel(write, count=THREADS) == [None] * THREADS
    assert sorted(statuses) == [204] + [412] * (THREADS - 1)
    assert XapiDocument.objects.count() == 1


def test_parallel_posts_merge_every_property(key_a):
    params = {"activityId": ACTIVITY, "agent": json.dumps(AGENT), "stateId": "suspend"}
    url = "/xapi/activities/state?" + urlencode(params)

    def merge(index):
        response = Client().post(
            url, json.dumps({f"k{index}": index}), content_type="application/json", **headers(key_a)
        )
        assert response.status_code == 204

    assert run_in_parallel(merge, count=THREADS) == [None] * THREADS
    merged = json.loads(bytes(XapiDocument.objects.get().content))
    assert merged == {f"k{index}": index for index in range(THREADS)}
