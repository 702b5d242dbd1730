"""Progress becomes competence: evidence from module completions and observations, attainment
derived from it (directly, from an item's parts, through crosswalks), rebuilt from evidence
alone with the same result, and the learner's own competency profile."""

import datetime
import io
import uuid
from http import HTTPStatus

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from competencies import demo as competencies_demo
from competencies import services as competencies_services
from competencies.interchange import FrameworkData, ItemData
from competencies.models import (
    CompetencyAttainment,
    CompetencyEvidence,
    CompetencyItem,
    ScaleLevel,
)
from competencies.services import attainment_rebuild, evidence_record
from courses import services
from courses.models import ModuleCompletion, ModulePage
from tests.factories import UserFactory
from tests.learning import right_answers

pytestmark = pytest.mark.django_db

PROFILE_URL = "/learning/competencies/"


def item(framework, code: str) -> CompetencyItem:
    return CompetencyItem.objects.get(framework=framework, code=code)


def level(framework, name: str) -> ScaleLevel:
    return ScaleLevel.objects.get(framework=framework, name=name)


def attainment(learner) -> dict[str, tuple]:
    """code → (level, via, via item code) of every attainment row of ``learner``."""
    return {
        a.competency.code: (a.level.name, a.via, a.via_item.code if a.via_item else None)
        for a in CompetencyAttainment.objects.filter(learner=learner).select_related(
            "competency", "level", "via_item"
        )
    }


def snapshot(learner) -> list[tuple]:
    return sorted(
        CompetencyAttainment.objects.filter(learner=learner).values_list(
            "competency_id", "framework_id", "level_id", "via", "via_item_id", "since"
        )
    )


def modules(course):
    return list(ModulePage.objects.child_of(course).order_by("path"))


def complete_course(learner, course) -> None:
    first, second = modules(course)
    services.enrol(learner=learner, course=course)
    services.module_complete(learner=learner, module=first, event_id=uuid.uuid4())
    services.quiz_submit(
        learner=learner, module=second, answers=right_answers(second), event_id=uuid.uuid4()
    )


def observe(people, learner, framework, code: str, level_name: str, days_ago: int = 0):
    return services.observation_record_for_institution(
        supervisor=people.supervisor,
        institution=people.supervisor.memberships.first().institution,
        learner=learner,
        competency=item(framework, code),
        level=level(framework, level_name),
        observed_on=timezone.localdate() - datetime.timedelta(days=days_ago),
        notes="Led the case conference.",
    )


@pytest.fixture
def national(published_framework):
    """The national standards, crosswalked (exactMatchOf) to the para-professional framework."""
    framework = competencies_services.framework_import(
        data=competencies_demo.national_data(para_professional=published_framework)
    )
    return competencies_services.framework_publish(framework=framework)


def ruled_framework(*, parent_rule: str, rule_config: dict | None = None):
    """A published framework: domain D (with the given rule) over A, B and C; A has parts."""
    items = [
        ItemData(
            key="D",
            code="D",
            kind="domain",
            full_statement="Domain",
            rule_type=parent_rule,
            rule_config=rule_config or {},
        ),
        *(
            ItemData(key=code, code=code, full_statement=code, parent_key="D", order=n)
            for n, code in enumerate("ABC")
        ),
        ItemData(key="A.1", code="A.1", full_statement="A, part 1", parent_key="A"),
        ItemData(key="A.2", code="A.2", full_statement="A, part 2", parent_key="A", order=1),
    ]
    framework = competencies_services.framework_import(
        data=FrameworkData(
            title=f"Rules {parent_rule}",
            creator="Test",
            levels=list(competencies_demo.SCALE),
            items=items,
        )
    )
    return competencies_services.framework_publish(framework=framework)


def show(learner, framework, code: str, level_name: str, **fields):
    return evidence_record(
        learner=learner,
        competency=item(framework, code),
        level=level(framework, level_name),
        source_kind="prior_learning",
        source_id=fields.pop("source_id", uuid.uuid4()),
        **fields,
    )


# --- From progress to evidence and attainment -------------------------------------------------


def test_completing_the_demo_modules_attains_the_mapped_competencies(
    trainee, course, published_framework
):
    complete_course(trainee, course)

    assert attainment(trainee) == {
        "PP.5.1": ("Developing", "direct", None),
        "PP.5.2": ("Competent", "direct", None),
        "PP.3.1": ("Developing", "direct", None),
    }
    completions = {c.module.title: c.pk for c in ModuleCompletion.objects.filter(learner=trainee)}
    evidence = CompetencyEvidence.objects.filter(learner=trainee).order_by("competency__code")
    assert [
        (e.competency.code, e.level.name, e.source_kind, e.source_id, e.source_title)
        for e in evidence
    ] == [
        ("PP.3.1", "Developing", "module_completion", str(completions["Planning with the family"]),
         "Planning with the family"),
        ("PP.5.1", "Developing", "module_completion", str(completions["Opening a case"]),
         "Opening a case"),
        ("PP.5.2", "Competent", "module_completion", str(completions["Planning with the family"]),
         "Planning with the family"),
    ]  # fmt: skip
    row = CompetencyAttainment.objects.get(
        learner=trainee, competency=item(published_framework, "PP.5.2")
    )
    assert row.framework == published_framework
    second = ModuleCompletion.objects.get(learner=trainee, module=modules(course)[1])
    assert row.since == second.completed_at


def test_a_failed_quiz_gives_no_evidence(trainee, course):
    second = modules(course)[1]
    services.enrol(learner=trainee, course=course)
    services.quiz_submit(learner=trainee, module=second, answers={}, event_id=uuid.uuid4())
    assert not CompetencyEvidence.objects.exists()
    assert not CompetencyAttainment.objects.exists()


def test_an_observation_raises_a_level_and_a_lower_one_does_not_lower_it(
    people_a, course, published_framework
):
    learner = people_a.trainee
    complete_course(learner, course)
    observation = observe(people_a, learner, published_framework, "PP.5.1", "Proficient", 2)

    assert attainment(learner)["PP.5.1"] == ("Proficient", "direct", None)
    row = CompetencyAttainment.objects.get(
        learner=learner, competency=item(published_framework, "PP.5.1")
    )
    assert row.since.date() == observation.observed_on
    evidence = CompetencyEvidence.objects.get(source_kind="observation")
    assert (evidence.source_id, evidence.recorded_by, evidence.institution) == (
        str(observation.pk),
        people_a.supervisor,
        observation.institution,
    )
    assert evidence.notes == "Led the case conference."

    observe(people_a, learner, published_framework, "PP.5.1", "Developing")
    assert attainment(learner)["PP.5.1"] == ("Proficient", "direct", None)
    # The bottom of the scale ("not yet competent") is in the trail but attains nothing.
    observe(people_a, learner, published_framework, "PP.2.1", "Not yet competent")
    assert CompetencyEvidence.objects.filter(competency__code="PP.2.1").exists()
    assert "PP.2.1" not in attainment(learner)


# --- Rules --------------------------------------------------------------------------------


@pytest.mark.parametrize("rule", ["all", ""])
def test_a_parent_is_attained_when_all_its_children_are_at_their_lowest_level(trainee, rule):
    framework = ruled_framework(parent_rule=rule)
    show(trainee, framework, "A", "Proficient")
    show(trainee, framework, "B", "Competent")
    assert "D" not in attainment(trainee)

    show(trainee, framework, "C", "Proficient")
    assert attainment(trainee)["D"] == ("Competent", "rollup", None)
    # A's parts were never shown: A is attained directly, and the parts stay unattained.
    assert "A.1" not in attainment(trainee)


def test_a_parent_whose_parts_are_all_shown_is_attained_from_its_parts(trainee):
    framework = ruled_framework(parent_rule="all")
    show(trainee, framework, "A.1", "Developing")
    show(trainee, framework, "A.2", "Competent")
    assert attainment(trainee)["A"] == ("Developing", "rollup", None)
    # Direct evidence above the parts' level wins; at the same level "direct" names it.
    show(trainee, framework, "A", "Competent")
    assert attainment(trainee)["A"] == ("Competent", "direct", None)


def test_points_rule_counts_points_of_attained_children_and_their_required_ones(trainee):
    framework = ruled_framework(
        parent_rule="points",
        rule_config={
            "base": {"points": 3},
            "competencies": [
                {"id": "A", "points": 2, "required": 1},
                {"id": "B", "points": 1, "required": 0},
                {"id": "C", "points": 1, "required": 0},
            ],
        },
    )
    show(trainee, framework, "B", "Proficient")
    show(trainee, framework, "C", "Proficient")
    assert "D" not in attainment(trainee)  # 2 points, and the required A is missing

    show(trainee, framework, "A", "Competent")
    # At Competent: 2 + 1 + 1 points with A. At Proficient only B and C (2 points, no A).
    assert attainment(trainee)["D"] == ("Competent", "rollup", None)
    show(trainee, framework, "A", "Proficient")
    assert attainment(trainee)["D"] == ("Proficient", "rollup", None)


def test_a_points_rule_without_enough_points_attains_nothing(trainee):
    framework = ruled_framework(
        parent_rule="points",
        rule_config={"base": {"points": 5}, "competencies": [{"id": "A", "points": 2}]},
    )
    for code in "ABC":
        show(trainee, framework, code, "Proficient")
    assert "D" not in attainment(trainee)


# --- Crosswalks ---------------------------------------------------------------------------


def test_attainment_travels_through_crosswalks_both_ways(
    trainee, course, published_framework, national
):
    complete_course(trainee, course)
    rows = attainment(trainee)
    assert rows["NPS.B2"] == ("Competent", "crosswalk", "PP.5.2")  # NPS.B2 exactMatchOf PP.5.2
    assert rows["NPS.B1"] == ("Developing", "crosswalk", "PP.3.1")
    national_row = CompetencyAttainment.objects.get(learner=trainee, competency__code="NPS.B2")
    assert national_row.framework == national

    # The other way: the national item is shown (prior learning), the institution's recognises it.
    show(trainee, national, "NPS.A1", "Proficient")
    assert attainment(trainee)["PP.1.3"] == ("Proficient", "crosswalk", "NPS.A1")
    assert attainment(trainee)["NPS.A1"] == ("Proficient", "direct", None)


def test_crosswalks_to_a_draft_framework_carry_nothing(trainee, course, published_framework):
    competencies_services.framework_import(
        data=competencies_demo.national_data(para_professional=published_framework)
    )
    complete_course(trainee, course)
    assert set(attainment(trainee)) == {"PP.5.1", "PP.5.2", "PP.3.1"}


# --- Rebuild and idempotency --------------------------------------------------------------


def test_rebuild_gives_the_same_rows_as_the_incremental_updates(
    people_a, course, published_framework, national
):
    learner = people_a.trainee
    complete_course(learner, course)
    observe(people_a, learner, published_framework, "PP.5.1", "Competent", 3)
    observe(people_a, learner, published_framework, "PP.5.2", "Proficient")
    for code in ("PP.5.3", "PP.5.4"):
        if CompetencyItem.objects.filter(framework=published_framework, code=code).exists():
            show(learner, published_framework, code, "Competent")
    show(learner, national, "NPS.A1", "Competent")
    rules = ruled_framework(parent_rule="all")
    for code in ("A", "B", "C"):
        show(learner, rules, code, "Competent")
    incremental = snapshot(learner)
    assert len(incremental) >= 10
    assert any(row[3] == "rollup" for row in incremental)
    assert any(row[3] == "crosswalk" for row in incremental)

    assert attainment_rebuild(learner=learner) == len(incremental)
    assert snapshot(learner) == incremental

    CompetencyAttainment.objects.filter(learner=learner).delete()
    out = io.StringIO()
    call_command("rebuild_attainment", "--learner", learner.username, stdout=out)
    assert snapshot(learner) == incremental
    assert f"1 learner(s): {len(incremental)} row(s)" in out.getvalue()


def test_rebuild_command_for_a_cohort_and_for_everyone(people_a, institution_a, course):
    learner = people_a.trainee
    cohort = services.cohort_create(institution=institution_a, course=course, name="Kibera 2025")
    cohort.learners.add(learner)
    complete_course(learner, course)
    before = snapshot(learner)
    CompetencyAttainment.objects.all().delete()
    call_command("rebuild_attainment", "--cohort", str(cohort.pk), stdout=io.StringIO())
    assert snapshot(learner) == before
    CompetencyAttainment.objects.all().delete()
    call_command("rebuild_attainment", "--all", stdout=io.StringIO())
    assert snapshot(learner) == before
    with pytest.raises(CommandError, match="nobody"):
        call_command("rebuild_attainment", "--learner", "nobody")


def test_the_same_completion_gives_evidence_once(trainee, course, published_framework):
    first = modules(course)[0]
    services.enrol(learner=trainee, course=course)
    event_id = uuid.uuid4()
    services.module_complete(learner=trainee, module=first, event_id=event_id)
    services.module_complete(learner=trainee, module=first, event_id=event_id)  # a retry
    services.module_complete(learner=trainee, module=first, event_id=uuid.uuid4())  # again
    assert CompetencyEvidence.objects.filter(learner=trainee).count() == 1

    completion = ModuleCompletion.objects.get(learner=trainee, module=first)
    again = evidence_record(
        learner=trainee,
        competency=item(published_framework, "PP.5.1"),
        level=level(published_framework, "Proficient"),
        source_kind="module_completion",
        source_id=completion.pk,
    )
    assert not again.created
    assert CompetencyEvidence.objects.filter(learner=trainee).count() == 1
    assert attainment(trainee)["PP.5.1"] == ("Developing", "direct", None)


def test_evidence_at_another_frameworks_level_is_refused(trainee, published_framework, national):
    with pytest.raises(competencies_services.EvidenceError, match="not on the scale"):
        evidence_record(
            learner=trainee,
            competency=item(published_framework, "PP.5.1"),
            level=level(national, "Competent"),
            source_kind="external",
            source_uri="https://lms.example.org/statements/1",
        )
    assert not CompetencyEvidence.objects.exists()


# --- The learner's profile ----------------------------------------------------------------


def test_the_profile_shows_the_learners_own_levels_and_evidence(
    client, people_a, course, published_framework, national, django_assert_max_num_queries
):
    learner = people_a.trainee
    complete_course(learner, course)
    observe(people_a, learner, published_framework, "PP.5.1", "Competent")
    client.force_login(learner)
    with django_assert_max_num_queries(20):
        page = client.get(PROFILE_URL).content.decode()
    assert "Para-Professional Social Service Workforce Competencies" in page
    assert "National Para Social Worker Standards" in page
    assert "PP.5.2" in page and "Competent" in page
    assert "Opening a case" in page and "Planning with the family" in page
    assert "Observed in practice" in page and "Led the case conference." in page
    assert "recognised through PP.5.2" in page
    assert "PP.5" in page  # the parent domain places the items in the tree
    assert "PP.8.1" not in page  # untouched items stay out of a phone-sized page

    dashboard = client.get(reverse("lms:dashboard")).content.decode()
    panel = dashboard[dashboard.index("My competencies") :]
    reached = CompetencyAttainment.objects.filter(learner=learner).count()
    assert f"You have reached a level in {reached} competencies" in panel
    assert PROFILE_URL in panel


def test_another_trainee_sees_only_their_own_profile(client, people_a, trainee, course):
    complete_course(people_a.trainee, course)
    other = UserFactory(username="other-trainee")
    client.force_login(other)
    page = client.get(PROFILE_URL).content.decode()
    assert "PP.5.2" not in page and "Opening a case" not in page
    assert "Nothing here yet" in page

    services.enrol(learner=trainee, course=course)
    services.module_complete(learner=trainee, module=modules(course)[0], event_id=uuid.uuid4())
    client.force_login(trainee)
    page = client.get(PROFILE_URL).content.decode()
    assert "PP.5.1" in page and "Opening a case" in page
    assert "Planning with the family" not in page  # that module is people_a.trainee's


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get(PROFILE_URL)
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"].startswith(reverse("account_login"))
