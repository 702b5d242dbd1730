"""Replays racing each other apply each stored xAPI statement once (PostgreSQL, real threads)."""

from collections import Counter

import pytest

from courses import services as course_services
from courses import xapi
from courses.models import ModuleCompletion, ModulePage, ProgressEvent, XapiStatement
from courses.tasks import replay_xapi_statements
from lms import services as lms_services
from tests.courses.test_concurrency import run_in_parallel
from tests.courses.test_xapi import ACTIVITY, ADL, HOME, PROFILE
from tests.services import require_postgresql

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
THREADS = 8


@pytest.fixture(autouse=True)
def needs_postgresql():
    require_postgresql()


def test_parallel_replays_apply_each_statement_once(course, institution_a, people_a, monkeypatch):
    module = ModulePage.objects.child_of(course).order_by("path").first()
    module.xapi_activity_iri = ACTIVITY
    module.save_revision().publish()
    api_key, _secret = lms_services.api_key_create(
        institution=institution_a, name="Moodle A", created_by=people_a.manager
    )
    actor = {"account": {"homePage": HOME, "name": "moodle-90"}}
    verbs = ["scored", "failed", "completed"]
    stored = xapi.statements_store(
        api_key=api_key,
        statements=[
            xapi.statement_validate(
                {"actor": actor, "verb": {"id": ADL + verb}, "object": {"id": ACTIVITY}}
            )
            for verb in verbs
        ],
    )
    learner = lms_services.learner_match_or_create(
        institution=institution_a, external_id="moodle-90", full_name="Moodle Ninety", **PROFILE
    ).identity.user
    # The replay enrolling enqueues is held back: the threads below race to do it.
    monkeypatch.setattr(replay_xapi_statements, "delay", lambda learner_ids: None)
    course_services.enrol(learner=learner, course=course, by_institution=True)
    assert not ProgressEvent.objects.filter(source="xapi").exists()

    results = [None] * THREADS

    def replay(index):
        results[index] = xapi.statements_replay(institution=institution_a)

    assert run_in_parallel(replay, count=THREADS) == [None] * THREADS
    assert sum(results, Counter()) == {"applied": len(verbs)}
    ids = [outcome.statement.statement_id for outcome in stored]
    assert ProgressEvent.objects.filter(event_id__in=ids).count() == len(verbs)
    assert set(
        XapiStatement.objects.filter(statement_id__in=ids).values_list("progress_status", flat=True)
    ) == {"applied"}
    assert ModuleCompletion.objects.filter(learner=learner, module=module).count() == 1
