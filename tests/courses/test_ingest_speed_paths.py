"""The shortcuts that make progress ingest fast keep its guarantees.

- The per-process copy of the published frameworks' graph (``competencies.services``) gives
  what the database gives, and follows publication, retirement and drafts at once.
- A batch announces its changes once (``learning_changed_many``), and certificates look up
  the rules of all its pairs in one query; the single-event path still issues them.
- Webhook notices of a batch are logged with one look-up of webhooks and one insert.
- A single event costs a small, fixed number of queries.
"""

import uuid
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from certificates.models import Certificate, CertificateRule, CertificateTemplate
from competencies import demo as competencies_demo
from competencies import graph as competencies_graph
from competencies import services as competencies_services
from competencies.interchange import FrameworkData, ItemData
from competencies.models import CompetencyAttainment, CompetencyItem, ScaleLevel
from courses import ingest, signals
from courses.models import Enrolment, ModulePage
from lms import services as lms_services
from lms.models import LearnerIdentity, WebhookDelivery, WebhookEvent

pytestmark = pytest.mark.django_db

START = timezone.now() - timedelta(days=1)


def item(framework, code: str) -> CompetencyItem:
    return CompetencyItem.objects.get(framework=framework, code=code)


def level(framework, name: str) -> ScaleLevel:
    return ScaleLevel.objects.get(framework=framework, name=name)


def attainment(learner) -> dict[str, tuple]:
    return {
        a.competency.code: (a.level.name, a.via)
        for a in CompetencyAttainment.objects.filter(learner=learner).select_related(
            "competency", "level"
        )
    }


def show(learner, framework, code: str, level_name: str):
    return competencies_services.evidence_record(
        learner=learner,
        competency=item(framework, code),
        level=level(framework, level_name),
        source_kind="prior_learning",
        source_id=uuid.uuid4(),
    )


def learners(institution, count: int) -> list:
    users = get_user_model().objects.bulk_create(
        [get_user_model()(username=f"speed-{i}") for i in range(count)]
    )
    LearnerIdentity.objects.bulk_create(
        LearnerIdentity(institution=institution, external_id=f"L{i}", user=user)
        for i, user in enumerate(users)
    )
    return users


def completions(course, external_id: str) -> list[dict]:
    """Viewed and completed module 1, passed module 2: the course is complete."""
    first, second = ModulePage.objects.child_of(course).order_by("path")
    steps = [
        {"verb": "viewed", "module_id": first.pk},
        {"verb": "completed", "module_id": first.pk},
        {"verb": "passed", "module_id": second.pk, "score": 90, "success": True},
    ]
    return [
        {
            "id": str(uuid.uuid4()),
            "learner": external_id,
            "timestamp": (START + timedelta(minutes=n)).isoformat(),
            **step,
        }
        for n, step in enumerate(steps)
    ]


def record(institution, events) -> list[str]:
    return [o.status for o in ingest.progress_batch_record(institution=institution, events=events)]


# --- The settled graph ----------------------------------------------------------------------


def test_the_cached_graph_gives_what_the_database_gives(trainee, published_framework):
    national = competencies_services.framework_publish(
        framework=competencies_services.framework_import(
            data=competencies_demo.national_data(para_professional=published_framework)
        )
    )
    graph = competencies_graph.settled_graph()
    for code in ("PP.5.2", "PP.1.3", "PP.3.1"):
        ids = {item(published_framework, code).pk}
        cached = competencies_graph.affected_items(ids, graph=graph)
        from_database = competencies_graph.affected_items_from_database(ids)
        assert cached == from_database
        assert any(node.framework_id == national.pk for node in cached.values())


def test_publishing_and_retiring_a_crosswalked_framework_is_seen_at_once(
    trainee, published_framework
):
    draft = competencies_services.framework_import(
        data=competencies_demo.national_data(para_professional=published_framework)
    )
    show(trainee, published_framework, "PP.5.2", "Competent")  # loads the graph: no national
    assert "NPS.B2" not in attainment(trainee)

    competencies_services.framework_publish(framework=draft)
    show(trainee, published_framework, "PP.5.2", "Proficient")
    assert attainment(trainee)["NPS.B2"] == ("Proficient", "crosswalk")

    competencies_services.framework_retire(framework=draft)
    other = get_user_model().objects.create(username="after-retirement")
    show(other, published_framework, "PP.5.2", "Proficient")
    assert "NPS.B2" not in attainment(other)


def test_a_draft_is_read_from_the_database_every_time(trainee):
    """Items of a draft change: evidence on them never uses the cached copy."""
    framework = competencies_services.framework_import(
        data=FrameworkData(
            title="Draft rules",
            creator="Test",
            levels=list(competencies_demo.SCALE),
            items=[
                ItemData(key="D", code="D", kind="domain", full_statement="Domain"),
                ItemData(key="A", code="A", full_statement="A", parent_key="D"),
            ],
        )
    )
    show(trainee, framework, "A", "Competent")
    assert attainment(trainee)["D"] == ("Competent", "rollup")

    competencies_services.item_create(
        framework=framework, parent=item(framework, "D"), code="B", full_statement="B"
    )
    other = get_user_model().objects.create(username="after-the-new-item")
    show(other, framework, "A", "Competent")
    assert "D" not in attainment(other)  # B is not shown yet: the new child counts


def test_the_graph_is_checked_with_one_query_and_loaded_only_when_it_changed(
    trainee, published_framework
):
    show(trainee, published_framework, "PP.5.1", "Competent")
    with CaptureQueriesContext(connection) as queries:
        competencies_graph.settled_graph()
    assert len(queries) == 1


# --- Signals and certificates ---------------------------------------------------------------


def test_a_batch_announces_its_pairs_once_and_each_pair_on_the_single_signal(institution_a, course):
    users = learners(institution_a, 3)
    Enrolment.objects.bulk_create(
        Enrolment(learner=user, course=course, enrolled_at=START) for user in users
    )
    many, single = [], []

    def batch_receiver(sender, *, pairs, **kwargs):
        many.append(pairs)

    def pair_receiver(sender, *, learner_id, course_id, **kwargs):
        single.append((learner_id, course_id))

    signals.learning_changed_many.connect(batch_receiver)
    signals.learning_changed.connect(pair_receiver)
    try:
        events = [e for i in range(3) for e in completions(course, f"L{i}")]
        assert set(record(institution_a, events)) == {"applied"}
    finally:
        signals.learning_changed_many.disconnect(batch_receiver)
        signals.learning_changed.disconnect(pair_receiver)
    expected = [(user.pk, course.pk) for user in users]
    assert many == [expected]
    assert single == expected


@pytest.fixture
def automatic_rule(institution_a, course):
    template = CertificateTemplate.objects.create(
        institution=institution_a, name="Standard", signatory_name="A. Otieno"
    )
    return CertificateRule.objects.create(course=course, template=template, automatic=True)


def test_a_batch_issues_every_earned_certificate_with_one_rules_query(
    institution_a, course, automatic_rule
):
    users = learners(institution_a, 4)
    Enrolment.objects.bulk_create(
        Enrolment(learner=user, course=course, enrolled_at=START) for user in users
    )
    events = [e for i in range(4) for e in completions(course, f"L{i}")]
    # The last learner only views: nothing earned.
    events = events[:-2]
    with CaptureQueriesContext(connection) as queries:
        assert set(record(institution_a, events)) == {"applied"}
    # The look-up of automatic rules (issuing a certificate then reads its own rule again).
    rule_queries = [
        q for q in queries if 'certificaterule"."automatic"' in q["sql"].partition("WHERE")[2]
    ]
    assert len(rule_queries) == 1
    assert set(Certificate.objects.values_list("learner_id", flat=True)) == {
        user.pk for user in users[:3]
    }


def test_one_event_still_issues_the_certificate_it_earns(institution_a, course, automatic_rule):
    learners(institution_a, 1)
    Enrolment.objects.create(
        learner=LearnerIdentity.objects.get().user, course=course, enrolled_at=START
    )
    for event in completions(course, "L0"):
        assert record(institution_a, [event]) == ["applied"]
    assert Certificate.objects.count() == 1


# --- Webhooks -------------------------------------------------------------------------------


def test_webhooks_of_a_batch_are_found_in_one_query_and_logged_in_one_insert(institution_a, course):
    lms_services.webhook_create(institution=institution_a, url="https://lms.example.org/hook")
    users = learners(institution_a, 2)
    Enrolment.objects.bulk_create(
        Enrolment(learner=user, course=course, enrolled_at=START) for user in users
    )
    events = [e for i in range(2) for e in completions(course, f"L{i}")]
    with CaptureQueriesContext(connection) as queries:
        assert set(record(institution_a, events)) == {"applied"}
    sql = [q["sql"] for q in queries]
    assert len([s for s in sql if 'FROM "lms_webhook"' in s]) == 1
    assert len([s for s in sql if s.startswith('INSERT INTO "lms_webhookdelivery"')]) == 1
    kinds = list(WebhookDelivery.objects.values_list("event", flat=True))
    assert kinds.count(WebhookEvent.MODULE_COMPLETED) == 4
    assert kinds.count(WebhookEvent.COMPETENCY_ATTAINED) >= 6


def test_payloads_are_not_built_when_no_webhook_wants_them(institution_a):
    built = []

    def payload():
        built.append(1)
        return {}

    notices = [lms_services.WebhookNotice(institution_a.pk, WebhookEvent.MODULE_COMPLETED, payload)]
    assert lms_services.webhooks_dispatch_many(notices=notices) == []
    lms_services.webhook_create(
        institution=institution_a,
        url="https://lms.example.org/hook",
        events=[WebhookEvent.CERTIFICATE_ISSUED],
    )
    assert lms_services.webhooks_dispatch_many(notices=notices) == []
    assert built == []


# --- Cost of one event ----------------------------------------------------------------------


def test_one_event_costs_a_few_queries(institution_a, course, published_framework):
    first, second = learners(institution_a, 2)
    Enrolment.objects.bulk_create(
        Enrolment(learner=user, course=course, enrolled_at=START) for user in (first, second)
    )
    # Another learner's events first: the process has read the frameworks and the site once.
    assert set(record(institution_a, completions(course, "L1"))) == {"applied"}
    counts = {}
    for event in completions(course, "L0"):
        with CaptureQueriesContext(connection) as queries:
            assert record(institution_a, [event]) == ["applied"]
        counts[event["verb"]] = len(queries)
    # Viewed: the learner, the institution's section, the module, its course; then (in a
    # transaction or savepoint: two more) the event ids, the enrolment lock and the insert.
    assert counts["viewed"] <= 9, counts
    # Completing adds the completion state (2), its insert, the course's institution, the
    # mappings, evidence and attainment (7), webhooks and certificate rules.
    assert counts["completed"] <= 22, counts
    assert counts["passed"] <= 23, counts  # and the enrolment now completed
