"""Rules that wait for no command: changes that move learners' attainment recompute it by
themselves (a Celery task enqueued on commit, idempotent), show their progress to the person
who made the change, and say on the framework's and the rule's pages when they last ran."""

import uuid

import pytest
from django.urls import reverse

from competencies import demo as competencies_demo
from competencies import recompute
from competencies import services as competencies_services
from competencies.models import (
    AttainmentRecompute,
    CompetencyAttainment,
    CompetencyEvidence,
    CompetencyItem,
    RecomputeStatus,
    ScaleLevel,
)
from courses import services
from courses.models import ModuleCompetency, ModulePage
from tests.learning import right_answers

pytestmark = pytest.mark.django_db


def attained(learner) -> dict[str, str]:
    return dict(
        CompetencyAttainment.objects.filter(learner=learner).values_list("competency__code", "via")
    )


def complete_course(learner, course) -> None:
    first, second = ModulePage.objects.child_of(course).order_by("path")
    services.enrol(learner=learner, course=course)
    services.module_complete(learner=learner, module=first, event_id=uuid.uuid4())
    services.quiz_submit(
        learner=learner, module=second, answers=right_answers(second), event_id=uuid.uuid4()
    )


def runs_since(known: set[int]):
    """The recomputations recorded after ``known`` (the fixtures' publications record some)."""
    return AttainmentRecompute.objects.exclude(pk__in=known)


def known_runs() -> set[int]:
    return set(AttainmentRecompute.objects.values_list("pk", flat=True))


def first_module(course) -> ModulePage:
    return ModulePage.objects.child_of(course).order_by("path").first().specific


def map_and_publish(module: ModulePage, framework, code: str, *, user=None) -> None:
    module.competency_mappings.add(
        ModuleCompetency(
            competency=CompetencyItem.objects.get(framework=framework, code=code),
            target_level=ScaleLevel.objects.get(framework=framework, name="Competent"),
        )
    )
    module.save_revision(user=user).publish(user=user)


def test_publishing_a_crosswalked_framework_recomputes_its_learners_without_a_command(
    trainee, course, published_framework, django_capture_on_commit_callbacks
):
    complete_course(trainee, course)
    national = competencies_services.framework_import(
        data=competencies_demo.national_data(para_professional=published_framework)
    )
    assert not any(code.startswith("NPS") for code in attained(trainee))

    with django_capture_on_commit_callbacks(execute=True):
        competencies_services.framework_publish(framework=national)

    assert attained(trainee)["NPS.B2"] == "crosswalk"  # exactMatchOf PP.5.2, shown by the course
    run = recompute.framework_last_recompute(framework=national)
    assert run.status == RecomputeStatus.DONE
    assert (run.learners_total, run.learners_done) == (1, 1)
    assert "published" in run.reason
    assert set(run.frameworks.all()) >= {national, published_framework}


def test_the_framework_and_rule_pages_say_when_attainment_was_last_recomputed(
    client, people_a, trainee, course, published_framework, django_capture_on_commit_callbacks
):
    complete_course(trainee, course)
    national = competencies_services.framework_import(
        data=competencies_demo.national_data(para_professional=published_framework),
        owner_institution=people_a.author.memberships.first().institution,
    )
    client.force_login(people_a.author)
    page = client.get(reverse("competencies_framework", args=[national.pk]))
    assert b'data-last-recompute="never"' in page.content
    parent = CompetencyItem.objects.filter(framework=national, children__isnull=False).first()
    rule_page = client.get(reverse("competencies_item_rule", args=[national.pk, parent.pk]))
    assert b"data-rule-takes-effect" in rule_page.content
    assert b'data-last-recompute="never"' in rule_page.content

    with django_capture_on_commit_callbacks(execute=True):
        competencies_services.framework_publish(framework=national)

    page = client.get(reverse("competencies_framework", args=[published_framework.pk]))
    text = page.content.decode()
    assert 'data-last-recompute="done"' in text
    assert "last recomputed by itself on" in text and "(1 learner)" in text


def test_publishing_from_the_admin_links_to_the_recomputation_and_its_page_shows_progress(
    client, people_a, trainee, course, published_framework, django_capture_on_commit_callbacks
):
    complete_course(trainee, course)
    national = competencies_services.framework_import(
        data=competencies_demo.national_data(para_professional=published_framework),
        owner_institution=people_a.author.memberships.first().institution,
    )
    client.force_login(people_a.author)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("competencies_framework_publish", args=[national.pk]), follow=True
        )

    run = recompute.framework_last_recompute(framework=national)
    status_url = reverse("competencies_recompute", args=[run.pk])
    assert status_url in response.content.decode()
    status = client.get(status_url).content.decode()
    assert 'data-recompute="done"' in status
    assert "1 learner recomputed" in status
    assert 'http-equiv="refresh"' not in status  # it stops refreshing once done


def test_a_running_recomputation_page_shows_its_count_and_refreshes_itself(client, people_a):
    run = AttainmentRecompute.objects.create(
        reason="“Module” changed",
        status=RecomputeStatus.RUNNING,
        learners_total=40,
        learners_done=10,
    )
    client.force_login(people_a.author)

    page = client.get(reverse("competencies_recompute", args=[run.pk])).content.decode()

    assert "Recomputing: 10 of 40 learners." in page
    assert 'http-equiv="refresh"' in page
    assert 'value="25"' in page


def test_the_recomputation_page_is_for_signed_in_staff_only(client, trainee):
    run = AttainmentRecompute.objects.create(reason="x")
    url = reverse("competencies_recompute", args=[run.pk])

    assert client.get(url).status_code == 302  # anonymous: to the log-in
    client.force_login(trainee)
    assert client.get(url).status_code in (302, 403)  # a trainee has no admin


def test_a_new_mapping_gives_past_completions_their_evidence_and_attainment(
    trainee, course, published_framework, people_a, django_capture_on_commit_callbacks
):
    complete_course(trainee, course)
    module = first_module(course)
    known = known_runs()
    assert "PP.1.3" not in attained(trainee)

    with django_capture_on_commit_callbacks(execute=True):
        map_and_publish(module, published_framework, "PP.1.3", user=people_a.author)

    evidence = CompetencyEvidence.objects.get(learner=trainee, competency__code="PP.1.3")
    assert evidence.source_kind == "module_completion"
    assert evidence.source_title == module.title
    assert attained(trainee)["PP.1.3"] == "direct"
    run = runs_since(known).get()
    assert run.status == RecomputeStatus.DONE
    assert run.evidence_added == 1
    assert run.requested_by == people_a.author
    assert module.title in run.reason


def test_republishing_a_module_with_the_same_mapping_recomputes_nothing(
    trainee, course, django_capture_on_commit_callbacks
):
    complete_course(trainee, course)
    module = first_module(course)
    known = known_runs()

    with django_capture_on_commit_callbacks(execute=True):
        module.title = "Opening a case, revised"
        module.save_revision().publish()

    assert not runs_since(known).exists()


def test_running_a_recomputation_twice_changes_nothing_more(
    trainee, course, published_framework, django_capture_on_commit_callbacks
):
    complete_course(trainee, course)
    module = first_module(course)
    known = known_runs()
    with django_capture_on_commit_callbacks(execute=True):
        map_and_publish(module, published_framework, "PP.1.3")
    run = runs_since(known).get()
    before = sorted(CompetencyAttainment.objects.values_list("competency_id", "level_id", "via"))
    evidence = CompetencyEvidence.objects.count()

    from courses.tasks import module_mappings_apply

    module_mappings_apply.delay(module.pk, run.pk)
    run.refresh_from_db()

    assert CompetencyEvidence.objects.count() == evidence
    assert (
        sorted(CompetencyAttainment.objects.values_list("competency_id", "level_id", "via"))
        == before
    )
    assert run.evidence_added == 1
    assert run.status == RecomputeStatus.DONE


def test_taking_a_module_offline_recomputes_the_learners_of_its_competencies(
    trainee, course, django_capture_on_commit_callbacks
):
    complete_course(trainee, course)
    module = first_module(course)
    known = known_runs()

    with django_capture_on_commit_callbacks(execute=True):
        module.unpublish()

    run = runs_since(known).get()
    assert "taken offline" in run.reason
    assert run.status == RecomputeStatus.DONE
    assert run.learners_done == 1
