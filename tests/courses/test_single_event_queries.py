"""What one progress event, and one xAPI statement, cost in queries through the HTTP endpoints.

Other LMSs send most progress one event or one statement at a time (issue 5: at least 300
requests/s on two cores), and the ORM work of each query dominates such a request. These
tests run as production does: transactions commit, the API key and the progress path's
copies of the course structure, webhooks and frameworks are cached (see
``lms.services.CacheGeneration``), and the process has already served one request.
``pytest -s`` prints each query.
"""

import json
import uuid
from http import HTTPStatus

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from competencies.models import CompetencyAttainment, CompetencyEvidence
from courses.models import Enrolment, ModuleCompletion, ModulePage, XapiStatement
from lms import services as lms_services
from tests.courses.test_xapi import ACTIVITY, PROFILE, headers, statement

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

#: Read once per change of what they hold, never per event: the course structure, the
#: competency mappings, webhooks, frameworks, the API key, which courses award certificates.
SETTLED_TABLES = (
    'FROM "wagtailcore_page"',
    'FROM "courses_modulepage"',
    'FROM "courses_coursepage"',
    'FROM "courses_institutionpage"',
    'FROM "courses_modulecompetency"',
    'FROM "lms_webhook"',
    'FROM "competencies_framework"',
    'FROM "lms_apikey"',
    'FROM "certificates_certificaterule"',
)


@pytest.fixture
def production_caches(settings):
    settings.PROGRESS_CACHES = True
    settings.API_KEY_CACHE_SECONDS = 30
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def module(course):
    """The course's first module, mapped to the xAPI activity ACTIVITY."""
    module = ModulePage.objects.child_of(course).order_by("path").first().specific
    module.xapi_activity_iri = ACTIVITY
    module.save_revision().publish()
    return module


def enrolled(institution, course, external_id: str):
    user = lms_services.learner_match_or_create(
        institution=institution, external_id=external_id, full_name=external_id, **PROFILE
    ).identity.user
    Enrolment.objects.create(learner=user, course=course, enrolled_at="2026-01-01T00:00Z")
    return user


def send_event(client, key, module, external_id: str):
    event = {"id": str(uuid.uuid4()), "learner": external_id, "verb": "completed"}
    return client.post(
        "/api/v1/progress/events",
        json.dumps({"events": [{**event, "module_id": module.pk}]}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key[1]}",
    )


def send_statement(client, key, external_id: str):
    actor = {
        "objectType": "Agent",
        "account": {"homePage": "https://x.example", "name": external_id},
    }
    return client.post(
        "/xapi/statements",
        json.dumps(statement(id=str(uuid.uuid4()), actor=actor)),
        content_type="application/json",
        **headers(key),
    )


def show(title: str, queries) -> list[str]:
    sql = [query["sql"] for query in queries]
    print(f"\n{title}: {len(sql)} queries")
    for number, text in enumerate(sql, 1):
        print(f"{number:3}: {text[:160]}")
    return sql


def test_one_completion_event_costs_thirteen_queries(
    production_caches, client, key_a, institution_a, course, module
):
    learner = enrolled(institution_a, course, "L1")
    enrolled(institution_a, course, "L0")
    assert send_event(client, key_a, module, "L0").json()["applied"] == 1  # the process warms

    with CaptureQueriesContext(connection) as queries:
        response = send_event(client, key_a, module, "L1")

    assert response.status_code == HTTPStatus.OK
    assert response.json()["applied"] == 1, response.json()
    sql = show("one completion event", queries)
    # The learner by external id; BEGIN; the event id, the enrolment (locked), the learner's
    # completions; the event and completion inserts; the learner locked for evidence, their
    # attainment, their evidence's highest levels; the evidence and attainment inserts;
    # COMMIT. (The course awards no certificate: with an automatic rule, its rules and
    # criteria are read. The institution has no webhook: with one, the deliveries' insert.)
    assert len(sql) <= 13
    assert not [text for text in sql if any(table in text for table in SETTLED_TABLES)]
    # Derived state as ever, in the same transaction.
    assert ModuleCompletion.objects.filter(learner=learner, module=module).exists()
    assert CompetencyEvidence.objects.filter(learner=learner).exists()
    assert CompetencyAttainment.objects.filter(learner=learner).exists()


def test_one_xapi_statement_costs_sixteen_queries(
    production_caches, client, key_a, institution_a, course, module
):
    learner = enrolled(institution_a, course, "L1")
    enrolled(institution_a, course, "L0")
    assert send_statement(client, key_a, "L0")["X-SSW-Progress"].endswith("=applied")

    with CaptureQueriesContext(connection) as queries:
        response = send_statement(client, key_a, "L1")

    assert response.status_code == HTTPStatus.OK
    assert response["X-SSW-Progress"].endswith("=applied")
    sql = show("one xAPI statement", queries)
    # BEGIN; the statement id; the learner; the event as above (11, in the request's
    # transaction: it is tried again whole on a clash); the statement and its query keys
    # inserted once, with what became of its progress; COMMIT.
    assert len(sql) <= 16
    assert not [text for text in sql if any(table in text for table in SETTLED_TABLES)]
    assert not [text for text in sql if text.startswith('UPDATE "courses_xapistatement"')]
    (sid,) = response.json()
    stored = XapiStatement.objects.get(statement_id=sid)
    assert stored.progress_status == "applied"
    assert stored.progress_event.learner == learner
    assert ModuleCompletion.objects.filter(learner=learner, module=module).exists()
