"""Batches of progress events are applied set-wise, with the guarantees of one event at a time.

:func:`courses.services.progress_events_record` checks a batch in memory and writes it with
bulk inserts: these tests hold it to what applying the events one by one gives (the same
completions, evidence and attainment, ``since`` included), to the per-event outcomes of the
plugin API, to the signals other apps rely on, and to a number of queries that does not grow
with the batch.
"""

import uuid
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from competencies import demo as competencies_demo
from competencies import services as competencies_services
from competencies.models import CompetencyAttainment, CompetencyEvidence, CompetencyItem
from courses import ingest, signals
from courses.models import (
    Enrolment,
    EnrolmentStatus,
    ModuleCompletion,
    ModulePage,
    ProgressEvent,
)
from lms import services as lms_services
from lms.models import LearnerIdentity, WebhookDelivery, WebhookEvent
from tests.db_faults import failing_inserts

pytestmark = pytest.mark.django_db

START = timezone.now() - timedelta(days=3)


@pytest.fixture
def national(published_framework):
    """National standards crosswalked (exactMatchOf) to the course's framework."""
    framework = competencies_services.framework_import(
        data=competencies_demo.national_data(para_professional=published_framework)
    )
    return competencies_services.framework_publish(framework=framework)


def learners(institution, count: int, prefix: str = "L") -> list:
    users = get_user_model().objects.bulk_create(
        [get_user_model()(username=f"{prefix.lower()}-{i}") for i in range(count)]
    )
    LearnerIdentity.objects.bulk_create(
        LearnerIdentity(institution=institution, external_id=f"{prefix}{i}", user=user)
        for i, user in enumerate(users)
    )
    return users


def modules(course) -> list[ModulePage]:
    return list(ModulePage.objects.child_of(course).order_by("path"))


def course_events(course, external_id: str, *, minutes: int = 0) -> list[dict]:
    """Enrol, view, complete module 1, fail then pass module 2: at fixed times."""
    first, second = modules(course)
    steps = [
        {"verb": "enrolled", "course_id": course.pk},
        {"verb": "viewed", "module_id": first.pk},
        {"verb": "completed", "module_id": first.pk},
        {"verb": "failed", "module_id": second.pk, "score": 30, "success": False},
        {"verb": "passed", "module_id": second.pk, "score": 90, "success": True},
    ]
    return [
        {
            "id": str(uuid.uuid4()),
            "learner": external_id,
            "timestamp": (START + timedelta(minutes=minutes + n)).isoformat(),
            **step,
        }
        for n, step in enumerate(steps)
    ]


def derived_state(learner) -> dict:
    """What a learner's events derived, without ids that differ between learners."""
    return {
        "enrolments": sorted(
            Enrolment.objects.filter(learner=learner).values_list(
                "course_id", "status", "enrolled_at", "completed_at"
            )
        ),
        "completions": sorted(
            ModuleCompletion.objects.filter(learner=learner).values_list(
                "module_id", "course_id", "revision_id", "completed_at", "event__event_id"
            )
        ),
        "evidence": list(
            CompetencyEvidence.objects.filter(learner=learner)
            .order_by("pk")
            .values_list("competency_id", "level_id", "source_kind", "source_uri", "occurred_at")
        ),
        "attainment": sorted(
            CompetencyAttainment.objects.filter(learner=learner).values_list(
                "competency_id", "framework_id", "level_id", "via", "via_item_id", "since"
            )
        ),
    }


def same_events_for(events: list[dict], external_id: str) -> list[dict]:
    return [{**event, "id": str(uuid.uuid4()), "learner": external_id} for event in events]


def record(institution, events) -> list[str]:
    return [
        outcome.status
        for outcome in ingest.progress_batch_record(institution=institution, events=events)
    ]


# --- The same result as one event at a time ---------------------------------------------------


def test_a_batch_derives_what_one_event_at_a_time_derives(institution_a, course, national):
    batched, one_by_one = learners(institution_a, 2)
    # Evidence recorded before the batch: the batch builds on stored attainment.
    for learner in (batched, one_by_one):
        competencies_services.evidence_record(
            learner=learner,
            competency=CompetencyItem.objects.get(framework=national, code="NPS.A1"),
            level=national.levels.get(name="Competent"),
            source_kind="prior_learning",
            source_uri="https://example.org/rpl",
            occurred_at=START - timedelta(days=1),
        )
    events = course_events(course, "L0")
    assert set(record(institution_a, events)) == {"applied"}
    for event in same_events_for(events, "L1"):
        assert record(institution_a, [event]) == ["applied"]

    batched_state, one_by_one_state = derived_state(batched), derived_state(one_by_one)
    for state in (batched_state, one_by_one_state):
        for completion in state["completions"]:
            assert completion[-1] is not None
        state["completions"] = [c[:-1] for c in state["completions"]]
    assert batched_state == one_by_one_state
    assert batched_state["enrolments"][0][1] == EnrolmentStatus.COMPLETED
    assert len(batched_state["completions"]) == 2
    vias = {row[3] for row in batched_state["attainment"]}
    assert {"direct", "crosswalk"} <= vias, batched_state["attainment"]

    # And what a rebuild from the evidence alone gives.
    competencies_services.attainment_rebuild(learner=batched)
    assert derived_state(batched)["attainment"] == one_by_one_state["attainment"]


def test_many_learners_in_one_batch_each_get_their_own_state(institution_a, course, national):
    batched = learners(institution_a, 3, prefix="B")
    alone = learners(institution_a, 3, prefix="S")
    # Learner i sends the first 3 + i steps: enrolled … completed, failed, passed.
    events = [e for i in range(3) for e in course_events(course, f"B{i}", minutes=i)[: 3 + i]]
    assert set(record(institution_a, events)) == {"applied"}
    for i in range(3):
        for event in course_events(course, f"S{i}", minutes=i)[: 3 + i]:
            assert record(institution_a, [event]) == ["applied"]
    for i in range(3):
        mine, theirs = derived_state(batched[i]), derived_state(alone[i])
        for state in (mine, theirs):
            state["completions"] = [c[:-1] for c in state["completions"]]
        assert mine == theirs
        assert len(mine["completions"]) == [1, 1, 2][i]


# --- Outcomes per event -----------------------------------------------------------------------


def test_events_are_checked_in_order_against_what_the_batch_did_so_far(institution_a, course):
    (learner,) = learners(institution_a, 1)
    first, second = modules(course)
    too_early = {"id": str(uuid.uuid4()), "learner": "L0", "verb": "completed"}
    enrol = {"id": str(uuid.uuid4()), "learner": "L0", "verb": "enrolled", "course_id": course.pk}
    batch = [
        {**too_early, "module_id": first.pk},
        enrol,
        {"id": str(uuid.uuid4()), "learner": "L0", "verb": "completed", "module_id": first.pk},
        {**enrol},  # the same id again: a duplicate
        {**enrol, "verb": "viewed"},  # the same id for another event
        {"id": str(uuid.uuid4()), "learner": "L0", "verb": "completed", "module_id": first.pk},
    ]
    outcomes = ingest.progress_batch_record(institution=institution_a, events=batch)
    assert [o.status for o in outcomes] == [
        "rejected",
        "applied",
        "applied",
        "duplicate",
        "rejected",
        "applied",  # a second completion of the module: recorded, derives nothing
    ]
    assert "not enrolled" in outcomes[0].reason
    assert "different event" in outcomes[4].reason
    assert not ProgressEvent.objects.filter(event_id=too_early["id"]).exists()
    assert ModuleCompletion.objects.filter(learner=learner).count() == 1
    assert Enrolment.objects.get(learner=learner).status == EnrolmentStatus.ACTIVE

    before = derived_state(learner), ProgressEvent.objects.count()
    replay = ingest.progress_batch_record(institution=institution_a, events=batch)
    # The first event was rejected: sent again, it finds the learner enrolled now.
    assert [o.status for o in replay] == [
        "applied",
        "duplicate",
        "duplicate",
        "duplicate",
        "rejected",
        "duplicate",
    ]
    assert derived_state(learner) == before[0]  # the module was complete already
    assert ProgressEvent.objects.count() == before[1] + 1


def test_a_withdrawn_learner_is_refused_and_nothing_is_written(institution_a, course):
    (learner,) = learners(institution_a, 1)
    first = modules(course)[0]
    record(institution_a, [{"id": str(uuid.uuid4()), "learner": "L0", "verb": "enrolled",
                            "course_id": course.pk}])  # fmt: skip
    Enrolment.objects.filter(learner=learner).update(status=EnrolmentStatus.WITHDRAWN)
    outcomes = ingest.progress_batch_record(
        institution=institution_a,
        events=[
            {"id": str(uuid.uuid4()), "learner": "L0", "verb": "completed", "module_id": first.pk}
        ],
    )
    assert outcomes[0].status == "rejected" and "not enrolled" in outcomes[0].reason
    assert ProgressEvent.objects.filter(learner=learner).count() == 1
    assert not ModuleCompletion.objects.exists()
    assert not CompetencyEvidence.objects.exists()


def test_a_collision_while_writing_falls_back_to_one_event_at_a_time(institution_a, course):
    """A parallel request's rows make the bulk insert fail: each event is then tried alone."""
    learners(institution_a, 1)
    events = course_events(course, "L0")
    clash = IntegrityError("duplicate key value violates unique constraint")
    with failing_inserts("courses_progressevent", clash, times=1) as inserts:
        assert set(record(institution_a, events)) == {"applied"}
    assert inserts == [True] + [False] * len(events)
    assert ProgressEvent.objects.count() == len(events)
    assert ModuleCompletion.objects.count() == 2


# --- Signals and webhooks -------------------------------------------------------------------


def test_learning_changed_is_sent_once_per_learner_and_course_inside_the_transaction(
    institution_a, course, django_capture_on_commit_callbacks
):
    users = learners(institution_a, 3)
    first, second = modules(course)
    heard = []

    def receiver(sender, *, learner_id, course_id, **kwargs):
        heard.append(
            (
                learner_id,
                course_id,
                connection.in_atomic_block,
                ModuleCompletion.objects.filter(learner_id=learner_id).count(),
                CompetencyAttainment.objects.filter(learner_id=learner_id).exists(),
            )
        )

    recorded = []

    def after_commit(sender, *, event_id, learner_id, **kwargs):
        recorded.append((event_id, learner_id))

    signals.learning_changed.connect(receiver)
    signals.progress_recorded.connect(after_commit)
    try:
        events = [
            *course_events(course, "L0"),  # two completions in one course: told once
            *course_events(course, "L1")[:3],  # one completion
            *course_events(course, "L2")[:2],  # nothing completed
        ]
        with django_capture_on_commit_callbacks(execute=True):
            record(institution_a, events)
        assert heard == [
            (users[0].pk, course.pk, True, 2, True),
            (users[1].pk, course.pk, True, 1, True),
        ]
        assert recorded == list(
            ProgressEvent.objects.order_by("pk").values_list("pk", "learner_id")
        )
        heard.clear()
        record(institution_a, events)  # a replay changes nothing: nobody is told
        assert heard == []
    finally:
        signals.learning_changed.disconnect(receiver)
        signals.progress_recorded.disconnect(after_commit)


def test_webhooks_are_logged_for_each_completion_and_attainment_as_one_by_one(
    institution_a, course, national
):
    lms_services.webhook_create(institution=institution_a, url="https://lms.example.org/hook")
    learners(institution_a, 2)
    events = course_events(course, "L0")
    record(institution_a, events)
    batched = list(WebhookDelivery.objects.order_by("pk").values_list("event", "payload"))
    WebhookDelivery.objects.all().delete()
    for event in same_events_for(events, "L1"):
        record(institution_a, [event])
    one_by_one = list(WebhookDelivery.objects.order_by("pk").values_list("event", "payload"))

    def comparable(deliveries):
        return [
            (
                event,
                payload.get("module", {}).get("id"),
                payload.get("competency", {}).get("code"),
                payload.get("level", {}).get("name"),
                payload.get("via"),
            )
            for event, payload in deliveries
        ]

    # The same deliveries of each kind, in the same order (the kinds interleave differently).
    for kind in WebhookEvent.MODULE_COMPLETED, WebhookEvent.COMPETENCY_ATTAINED:
        assert [d for d in comparable(batched) if d[0] == kind] == [
            d for d in comparable(one_by_one) if d[0] == kind
        ]
    kinds = [event for event, _payload in batched]
    assert kinds.count(WebhookEvent.MODULE_COMPLETED) == 2
    assert kinds.count(WebhookEvent.COMPETENCY_ATTAINED) >= 3


# --- Cost ---------------------------------------------------------------------------------------


def test_the_queries_of_a_batch_do_not_grow_with_its_size(institution_a, course, national):
    users = learners(institution_a, 275)
    Enrolment.objects.bulk_create(
        Enrolment(learner=user, course=course, enrolled_at=START) for user in users
    )

    def batch(start: int, size: int) -> list[dict]:
        return [
            event
            for i in range(start, start + size // 4)
            for event in course_events(course, f"L{i}")[1:]  # viewed, completed, failed, passed
        ]

    counts = {}
    for start, size in ((0, 100), (25, 1000)):
        events = batch(start, size)
        assert len(events) == size
        with CaptureQueriesContext(connection) as queries:
            assert set(record(institution_a, events)) == {"applied"}
        counts[size] = len(queries)
    assert ModuleCompletion.objects.count() == 2 * 275
    if connection.vendor == "sqlite":
        # SQLite takes at most 999 parameters a query, so Django splits bulk inserts.
        assert counts[1000] <= 100, counts
    else:
        # Not more for more events (the first batch also loads the published frameworks' graph
        # into the process, see competencies.graph.settled_graph).
        assert counts[1000] <= counts[100] + 2, counts
        assert counts[1000] <= 25, counts
