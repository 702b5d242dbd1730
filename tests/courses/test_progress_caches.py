"""The progress path's copies of rarely changing data follow every change at once.

Each process keeps what it read of the course structure (``courses.selectors.STRUCTURE``),
of institutions' webhooks (``lms.services.WEBHOOKS``) and whether the frameworks changed
(``competencies.services.FRAMEWORKS``), under a token in the shared cache that a change
replaces when it commits (``lms.services.CacheGeneration``). These tests commit, as
production does, with the copies on, and check that the event right after a change sees it;
that a transaction sees its own uncommitted change and a rollback leaves nothing behind; and
that a change committed by another process (a new token) is seen too.
"""

import uuid

import pytest
from django.core.cache import cache
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from competencies import demo as competencies_demo
from competencies import services as competencies_services
from competencies.models import CompetencyAttainment, CompetencyEvidence, CompetencyItem
from courses import ingest, selectors
from courses.models import Enrolment, EnrolmentStatus, ModuleCompetency, ModulePage
from courses.xapi import statement_validate, statements_store
from lms import caches as lms_caches
from lms import services as lms_services
from lms.models import LearnerIdentity, WebhookDelivery, WebhookEvent
from tests.courses.test_xapi import statement
from tests.lms.test_webhooks import Endpoint

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

OTHER_ACTIVITY = "https://moodle.example.org/xapi/activities/another"


@pytest.fixture(autouse=True)
def caches_on(settings):
    settings.PROGRESS_CACHES = True
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def generations_restored(monkeypatch):
    """Generations a test makes are forgotten after it (each request reads every token)."""
    generations = lms_caches.CacheGeneration
    monkeypatch.setattr(generations, "instances", list(generations.instances))


@pytest.fixture
def modules(course) -> list[ModulePage]:
    return [m.specific for m in ModulePage.objects.child_of(course).order_by("path")]


@pytest.fixture
def learners(institution_a, course) -> list:
    """Ten learners of institution A (L0…L9), enrolled in the course."""
    from django.contrib.auth import get_user_model

    users = [get_user_model().objects.create(username=f"cached-{i}") for i in range(10)]
    for i, user in enumerate(users):
        LearnerIdentity.objects.create(institution=institution_a, external_id=f"L{i}", user=user)
        Enrolment.objects.create(learner=user, course=course, enrolled_at="2026-01-01T00:00Z")
    return users


def complete(institution, learner: int, module) -> ingest.EventOutcome:
    event = {"id": str(uuid.uuid4()), "learner": f"L{learner}", "verb": "completed"}
    [outcome] = ingest.progress_batch_record(
        institution=institution, events=[{**event, "module_id": module.pk}]
    )
    return outcome


def competencies_shown(user) -> set[str]:
    return set(
        CompetencyEvidence.objects.filter(learner=user).values_list("competency__code", flat=True)
    )


def test_an_unpublished_module_is_refused_by_the_next_event(institution_a, modules, learners):
    first = modules[0]
    assert complete(institution_a, 0, first).status == "applied"  # the copy is read

    first.unpublish()
    outcome = complete(institution_a, 1, first)
    assert (outcome.status, outcome.reason) == (
        "rejected",
        f"No module {first.pk} among your institution's published courses.",
    )

    first.get_latest_revision().publish()
    assert complete(institution_a, 2, first).status == "applied"


def test_a_new_competency_mapping_is_shown_by_the_next_completion(
    institution_a, modules, learners, published_framework
):
    first = modules[0]
    assert complete(institution_a, 0, first).status == "applied"
    before = competencies_shown(learners[0])
    extra = CompetencyItem.objects.filter(framework=published_framework, kind="competency")
    extra = extra.exclude(code__in=before).first()

    # As an author does: add the mapping to the module and publish it.
    first.competency_mappings.add(
        ModuleCompetency(competency=extra, target_level=published_framework.levels.last())
    )
    first.save_revision().publish()
    assert complete(institution_a, 1, first).status == "applied"
    assert competencies_shown(learners[1]) == before | {extra.code}

    ModuleCompetency.objects.filter(module=first, competency=extra).delete()
    assert complete(institution_a, 2, first).status == "applied"
    assert competencies_shown(learners[2]) == before


def test_a_module_no_longer_required_completes_the_course_at_once(
    institution_a, course, modules, learners
):
    first, second = modules
    assert complete(institution_a, 0, first).status == "applied"
    assert Enrolment.objects.get(learner=learners[0]).status == EnrolmentStatus.ACTIVE

    second.is_required = False
    second.save_revision().publish()
    assert complete(institution_a, 1, first).status == "applied"
    assert Enrolment.objects.get(learner=learners[1]).status == EnrolmentStatus.COMPLETED


def test_a_module_moved_to_another_institution_is_refused_at_once(
    institution_a, institution_b, modules, learners
):
    from courses.models import CoursePage

    first = modules[0]
    assert complete(institution_a, 0, first).status == "applied"
    other = CoursePage(title="Mekong's course", slug="mekong-course", summary="Theirs.")
    institution_b.root_page.add_child(instance=other)
    other.save_revision().publish()
    first.move(other, pos="last-child")
    assert complete(institution_a, 1, first).status == "rejected"


def test_a_webhook_hears_the_next_event_and_not_once_paused(institution_a, modules, learners):
    first = modules[0]
    completed = WebhookDelivery.objects.filter(event=WebhookEvent.MODULE_COMPLETED)
    assert complete(institution_a, 0, first).status == "applied"  # no webhook yet
    with Endpoint() as endpoint:
        webhook, _secret = lms_services.webhook_create(institution=institution_a, url=endpoint.url)
        assert complete(institution_a, 1, first).status == "applied"
        assert completed.count() == 1
        assert len(endpoint.requests) >= 1

        lms_services.webhook_set_active(webhook=webhook, active=False)
        assert complete(institution_a, 2, first).status == "applied"
        assert completed.count() == 1

        lms_services.webhook_set_active(webhook=webhook, active=True)
        assert complete(institution_a, 3, first).status == "applied"
        assert completed.count() == 2

        webhook.delete()
        assert complete(institution_a, 4, first).status == "applied"
        assert WebhookDelivery.objects.count() == 0  # deleted with their webhook


def test_a_new_activity_mapping_is_used_by_the_next_statement(key_a, modules, learners):
    first = modules[0]

    def send(learner: int, activity: str) -> str:
        actor = {"objectType": "Agent", "account": {"homePage": "https://x", "name": f"L{learner}"}}
        data = statement(id=str(uuid.uuid4()), actor=actor, object={"id": activity})
        [outcome] = statements_store(api_key=key_a[0], statements=[statement_validate(data)])
        return outcome.statement.progress_status

    assert send(0, OTHER_ACTIVITY) == "not_mapped"  # the copy knows it maps to nothing
    first.xapi_activity_iri = OTHER_ACTIVITY
    first.save_revision().publish()
    assert send(1, OTHER_ACTIVITY) == "applied"

    first.xapi_activity_iri = ""
    first.save_revision().publish()
    assert send(2, OTHER_ACTIVITY) == "not_mapped"


def test_a_transaction_sees_its_own_change_and_a_rollback_leaves_nothing(
    institution_a, modules, learners
):
    first = modules[0]
    assert complete(institution_a, 0, first).status == "applied"

    class Undo(Exception):
        pass

    with pytest.raises(Undo), transaction.atomic():
        first.unpublish()
        assert complete(institution_a, 1, first).status == "rejected"
        raise Undo

    assert complete(institution_a, 1, first).status == "applied"


def test_a_change_committed_by_another_process_is_seen_by_the_next_event(
    institution_a, modules, learners
):
    first = modules[0]
    assert complete(institution_a, 0, first).status == "applied"
    # Another process unpublishes the module: this one sees no signal, only the new token.
    ModulePage.objects.filter(pk=first.pk).update(live=False)
    assert complete(institution_a, 1, first).status == "applied"  # its copy, still valid here
    cache.set(selectors.STRUCTURE.key, "set by another process", timeout=None)
    assert complete(institution_a, 2, first).status == "rejected"


def test_an_unchanged_structure_is_not_read_again(institution_a, modules, learners):
    first = modules[0]
    assert complete(institution_a, 0, first).status == "applied"
    with CaptureQueriesContext(connection) as queries:
        assert complete(institution_a, 1, first).status == "applied"
    read = [q["sql"] for q in queries if 'FROM "wagtailcore_page"' in q["sql"]]
    assert read == []


def test_a_framework_published_or_retired_is_seen_by_the_next_evidence(
    institution_a, modules, learners, published_framework
):
    second = modules[1]  # mapped to PP.5.2 and PP.3.1, which national standards match
    assert complete(institution_a, 0, second).status == "applied"
    national = competencies_services.framework_import(
        data=competencies_demo.national_data(para_professional=published_framework)
    )
    assert complete(institution_a, 1, second).status == "applied"
    crosswalked = CompetencyAttainment.objects.filter(framework=national)
    assert not crosswalked.filter(learner=learners[1]).exists()  # a draft: no crosswalk

    competencies_services.framework_publish(framework=national)
    assert complete(institution_a, 2, second).status == "applied"
    assert crosswalked.filter(learner=learners[2], via="crosswalk").exists()

    competencies_services.framework_retire(framework=national)
    assert complete(institution_a, 3, second).status == "applied"
    assert not crosswalked.filter(learner=learners[3]).exists()


def test_copies_are_kept_only_with_a_cache_all_processes_share(settings):
    settings.PROGRESS_CACHES = None
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    assert not lms_caches.progress_caches_enabled()
    assert selectors.STRUCTURE.memo() == {}
    selectors.STRUCTURE.memo()["kept"] = True
    assert selectors.STRUCTURE.memo() == {}
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:6379/0",
        }
    }
    assert lms_caches.progress_caches_enabled()


def test_an_institution_given_another_section_is_seen_by_the_next_event(
    institution_a, institution_b, modules, learners
):
    first = modules[0]
    assert complete(institution_a, 0, first).status == "applied"
    institution_a.root_page = institution_b.root_page
    institution_a.save()
    assert complete(institution_a, 1, first).status == "rejected"


def test_a_copy_grown_to_its_bound_starts_afresh(monkeypatch):
    monkeypatch.setattr(lms_caches.CacheGeneration, "MAX_ENTRIES", 3)
    generation = lms_caches.CacheGeneration("tests.bounded")
    generation.memo().update({"a": 1, "b": 2})
    assert generation.memo() == {"a": 1, "b": 2}
    generation.memo()["c"] = 3
    assert generation.memo() == {}


def test_a_certificate_rule_added_or_removed_is_seen_by_the_next_completion(
    institution_a, course, modules, learners
):
    from certificates.models import Certificate, CertificateRule, CertificateTemplate

    def finish(learner: int) -> None:
        for module in modules:
            assert complete(institution_a, learner, module).status == "applied"

    finish(0)  # the copy of which courses award certificates is read: none
    template = CertificateTemplate.objects.create(institution=institution_a, name="Standard")
    rule = CertificateRule.objects.create(course=course, template=template, require_modules=True)
    finish(1)
    assert Certificate.objects.filter(learner=learners[1], course=course).count() == 1

    rule.delete()
    finish(2)
    assert not Certificate.objects.filter(learner=learners[2]).exists()
    assert not Certificate.objects.filter(learner=learners[0]).exists()


# --- Generation tokens read once per request ---------------------------------------------------


class CacheCalls:
    """Counts the reads our code asks of the cache, by kind (one ``get_many`` is one round
    trip to Redis; the per-process cache the tests use may serve it by ``get``s of its own,
    which are not counted)."""

    def __init__(self, monkeypatch):
        self.gets: list[str] = []
        self.get_manys: list[list[str]] = []
        self._inside_get_many = False
        get, get_many = cache.get, cache.get_many

        def counting_get(key, *args, **kwargs):
            if not self._inside_get_many:
                self.gets.append(key)
            return get(key, *args, **kwargs)

        def counting_get_many(keys, *args, **kwargs):
            self.get_manys.append(list(keys))
            self._inside_get_many = True
            try:
                return get_many(keys, *args, **kwargs)
            finally:
                self._inside_get_many = False

        monkeypatch.setattr(cache, "get", counting_get)
        monkeypatch.setattr(cache, "get_many", counting_get_many)


def test_one_event_reads_the_api_key_and_every_token_in_one_round_trip(
    client, settings, monkeypatch, institution_a, modules, learners
):
    import json

    settings.API_KEY_CACHE_SECONDS = 30
    _key, secret = lms_services.api_key_create(
        institution=institution_a, name="LMS", created_by=learners[0]
    )

    def post(learner: int):
        event = {"id": str(uuid.uuid4()), "learner": f"L{learner}", "verb": "completed"}
        response = client.post(
            "/api/v1/progress/events",
            json.dumps({"events": [{**event, "module_id": modules[0].pk}]}),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {secret}",
        )
        assert response.json()["results"][0]["status"] == "applied"

    post(0)  # the key and the copies are cached now
    calls = CacheCalls(monkeypatch)
    post(1)
    assert calls.gets == []
    [keys] = calls.get_manys
    assert {g.key for g in lms_caches.CacheGeneration.instances} < set(keys)
    assert any(key.startswith("api-key:") for key in keys)
    assert CompetencyEvidence.objects.filter(learner=learners[1]).exists()


def test_within_a_request_tokens_are_read_once_and_the_next_request_reads_them_again(
    monkeypatch,
):
    from django.core.signals import request_finished, request_started

    generation = lms_caches.CacheGeneration("tests.per-request")
    request_started.send(sender=None)
    try:
        copy = generation.memo()
        copy["read"] = True
        calls = CacheCalls(monkeypatch)
        cache.set(generation.key, "replaced by another process")
        assert generation.memo() == {"read": True}  # the token this request read
        assert calls.gets == [] and calls.get_manys == []
    finally:
        request_finished.send(sender=None)
    request_started.send(sender=None)
    try:
        assert generation.memo() == {}  # the new token: read afresh
    finally:
        request_finished.send(sender=None)


def test_a_change_the_request_commits_is_seen_by_the_rest_of_it():
    from django.core.signals import request_finished, request_started

    generation = lms_caches.CacheGeneration("tests.own-change")
    request_started.send(sender=None)
    try:
        generation.memo()["before"] = True
        with transaction.atomic():
            generation.changed()
            assert generation.memo() == {}  # its own change, not committed yet
        assert generation.memo() == {}  # committed: the copy was dropped
        generation.memo()["after"] = True
        assert generation.memo() == {"after": True}
    finally:
        request_finished.send(sender=None)


def test_outside_a_request_every_use_reads_the_token(monkeypatch):
    generation = lms_caches.CacheGeneration("tests.no-request")
    generation.memo()["kept"] = True
    cache.set(generation.key, "replaced by another process")
    assert generation.memo() == {}
