"""Evidence rules: what a competency's own evidence must show before it is attained.

A framework names a rule for its competencies (any evidence, all mapped modules complete, an
observation, both, either); an item may override it. Modules are those a live course maps
to the competency, at their target levels; recognised prior learning attains under every
rule. Rollups and crosswalks work on top, a rebuild gives what the incremental updates gave,
authors set the rules on drafts only, and the learner's profile says what is still missing.
"""

import datetime
import io
import json
import uuid
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from competencies import demo as competencies_demo
from competencies import graph as competencies_graph
from competencies import requirements
from competencies import services as competencies_services
from competencies.interchange import (
    AssociationData,
    FrameworkData,
    FrameworkFileError,
    ItemData,
    export_case_package,
    parse_case_package,
)
from competencies.models import (
    CompetencyAttainment,
    CompetencyEvidence,
    CompetencyItem,
    EvidenceRule,
    Framework,
    FrameworkStatus,
    ScaleLevel,
)
from competencies.requirements import module_requirements
from competencies.selectors import framework_data
from competencies.services import attainment_rebuild, evidence_record
from courses import ingest, services
from courses.models import CoursePage, ModuleCompetency, ModuleCompletion, ModulePage
from lms.models import LearnerIdentity
from tests.conftest import enable_totp
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PROFILE_URL = "/learning/competencies/"
ANY, MODULES, OBSERVATION = "any", "modules", "observation"
AND, OR = "modules_and_observation", "modules_or_observation"

#: The test course: C1 is built by M1 (to Developing) and M2 (to Competent); C2 by M2 and M3.
COURSE = [
    ("M1", [("C1", "Developing")]),
    ("M2", [("C1", "Competent"), ("C2", "Competent")]),
    ("M3", [("C2", "Developing")]),
]


# --- Helpers ------------------------------------------------------------------------------


def item(framework, code: str) -> CompetencyItem:
    return CompetencyItem.objects.get(framework=framework, code=code)


def level(framework, name: str) -> ScaleLevel:
    return ScaleLevel.objects.get(framework=framework, name=name)


def attainment(learner) -> dict[str, tuple]:
    """code → (level, via) of every attainment row of ``learner``."""
    return {
        a.competency.code: (a.level.name, a.via)
        for a in CompetencyAttainment.objects.filter(learner=learner).select_related(
            "competency", "level"
        )
    }


def snapshot(learner) -> list[tuple]:
    return sorted(
        CompetencyAttainment.objects.filter(learner=learner).values_list(
            "competency_id", "framework_id", "level_id", "via", "via_item_id", "since"
        )
    )


def rules_data(
    rule: str, *, item_rules: dict[str, str] | None = None, title="Rules"
) -> FrameworkData:
    """Domain D (rule "all") over C1 and C2; C3 on its own. ``item_rules`` overrides."""
    item_rules = item_rules or {}
    items = [
        ItemData(key="D", code="D", kind="domain", full_statement="Case work", rule_type="all"),
        ItemData(key="C1", code="C1", full_statement="Opens a case", parent_key="D"),
        ItemData(
            key="C2", code="C2", full_statement="Plans with the family", parent_key="D", order=1
        ),
        ItemData(key="C3", code="C3", full_statement="Refers to services", order=1),
    ]
    for data in items:
        data.evidence_rule = item_rules.get(data.code, "")
    return FrameworkData(
        title=title,
        creator="Ubuntu Institute",
        levels=list(competencies_demo.SCALE),
        items=items,
        evidence_rule=rule,
    )


def ruled_framework(institution, rule: str, **kwargs) -> Framework:
    framework = competencies_services.framework_import(
        data=rules_data(rule, **kwargs), owner_institution=institution
    )
    return competencies_services.framework_publish(framework=framework)


def build_course(institution, framework, spec=COURSE, *, slug="rules-course") -> CoursePage:
    """A live course of live modules without quizzes, mapped as ``spec`` says."""
    course = CoursePage(title=f"Course {slug}", slug=slug, summary="Rules", framework=framework)
    institution.root_page.add_child(instance=course)
    course.save_revision().publish()
    for title, mappings in spec:
        module = ModulePage(title=title, slug=f"{slug}-{title.lower()}")
        for code, level_name in mappings:
            module.competency_mappings.add(
                ModuleCompetency(
                    competency=item(framework, code), target_level=level(framework, level_name)
                )
            )
        course.add_child(instance=module)
        module.save_revision().publish()
    return course


def module(course, title: str) -> ModulePage:
    return ModulePage.objects.child_of(course).get(title=title)


def complete(learner, course, *titles: str) -> None:
    services.enrol(learner=learner, course=course)
    for title in titles:
        services.module_complete(
            learner=learner, module=module(course, title), event_id=uuid.uuid4()
        )


def observe(people, learner, framework, code: str, level_name: str, days_ago: int = 0):
    return services.observation_record_for_institution(
        supervisor=people.supervisor,
        institution=people.supervisor.memberships.first().institution,
        learner=learner,
        competency=item(framework, code),
        level=level(framework, level_name),
        observed_on=timezone.localdate() - datetime.timedelta(days=days_ago),
    )


def recognise(people, learner, framework, code: str, level_name: str):
    return services.prior_learning_record(
        recorded_by=people.manager,
        institution=people.manager.memberships.first().institution,
        learner=learner,
        competency=item(framework, code),
        level=level(framework, level_name),
        achieved_on=timezone.localdate() - datetime.timedelta(days=400),
        title="Diploma in social work, 2019",
    )


def external(learner, framework, code: str, level_name: str):
    return evidence_record(
        learner=learner,
        competency=item(framework, code),
        level=level(framework, level_name),
        source_kind="external",
        source_uri=f"https://moodle.example.org/statements/{uuid.uuid4()}",
    )


def republish(module_page: ModulePage, mappings: list[tuple[str, str]], framework) -> None:
    """The author changes a module's competency mappings and publishes it again."""
    page = ModulePage.objects.get(pk=module_page.pk)
    page.competency_mappings = [
        ModuleCompetency(competency=item(framework, code), target_level=level(framework, name))
        for code, name in mappings
    ]
    page.save_revision().publish()


@pytest.fixture
def learner(people_a):
    return people_a.trainee


# --- Each rule ----------------------------------------------------------------------------


def test_any_evidence_is_the_default_and_attains_at_once(institution_a, learner):
    framework = competencies_services.framework_import(
        data=FrameworkData(
            title="No rule given",
            creator="U",
            levels=list(competencies_demo.SCALE),
            items=[ItemData(key="C1", code="C1", full_statement="Opens a case")],
        )
    )
    assert framework.evidence_rule == EvidenceRule.ANY
    framework = ruled_framework(institution_a, ANY)
    course = build_course(institution_a, framework)
    complete(learner, course, "M1")
    assert attainment(learner) == {"C1": ("Developing", "direct")}
    external(learner, framework, "C3", "Competent")
    assert attainment(learner)["C3"] == ("Competent", "direct")


def test_all_mapped_modules_attain_at_the_highest_target_once_every_one_is_complete(
    institution_a, learner
):
    framework = ruled_framework(institution_a, MODULES)
    course = build_course(institution_a, framework)

    complete(learner, course, "M1")
    assert CompetencyEvidence.objects.filter(learner=learner, competency__code="C1").exists()
    assert attainment(learner) == {}  # M2 is missing

    complete(learner, course, "M2")
    # C1: M1 (Developing) and M2 (Competent) done; C2 still waits for M3.
    assert attainment(learner) == {"C1": ("Competent", "direct")}
    row = CompetencyAttainment.objects.get(learner=learner, competency__code="C1")
    assert (
        row.since == ModuleCompletion.objects.get(learner=learner, module__title="M2").completed_at
    )

    complete(learner, course, "M3")
    assert attainment(learner)["C2"] == ("Competent", "direct")
    # Both children attained: the domain rolls up at the lower of their levels.
    assert attainment(learner)["D"] == ("Competent", "rollup")


def test_a_completion_below_the_target_level_does_not_count(institution_a, learner):
    framework = ruled_framework(institution_a, MODULES)
    course = build_course(institution_a, framework)
    complete(learner, course, "M1")  # evidence on C1 at Developing, M1's target then
    # The author raises M1's target for C1: the learner's completion is now below it.
    republish(module(course, "M1"), [("C1", "Competent")], framework)

    complete(learner, course, "M2")
    assert "C1" not in attainment(learner)
    attainment_rebuild(learner=learner)
    assert "C1" not in attainment(learner)
    # Another learner completing both now meets the rule at Competent.
    other = UserFactory(username="second-learner")
    complete(other, course, "M1", "M2")
    assert attainment(other)["C1"] == ("Competent", "direct")


def test_an_observation_attains_at_its_own_level_and_not_at_the_bottom_of_the_scale(
    institution_a, people_a, learner
):
    framework = ruled_framework(institution_a, OBSERVATION)
    course = build_course(institution_a, framework)
    complete(learner, course, "M1", "M2", "M3")
    external(learner, framework, "C3", "Proficient")
    assert attainment(learner) == {}  # modules and statements do not meet this rule

    observe(people_a, learner, framework, "C3", "Not yet competent")
    assert "C3" not in attainment(learner)
    observe(people_a, learner, framework, "C3", "Developing", days_ago=1)
    assert attainment(learner) == {"C3": ("Developing", "direct")}
    observe(people_a, learner, framework, "C1", "Proficient")
    assert attainment(learner)["C1"] == ("Proficient", "direct")


def test_modules_and_an_observation_attain_at_the_lower_of_the_two(
    institution_a, people_a, learner
):
    framework = ruled_framework(institution_a, AND)
    course = build_course(institution_a, framework)
    services.enrol(learner=learner, course=course)
    observe(people_a, learner, framework, "C1", "Developing", days_ago=2)
    assert attainment(learner) == {}  # no module yet

    complete(learner, course, "M1", "M2")
    assert attainment(learner) == {"C1": ("Developing", "direct")}  # modules at Competent

    observe(people_a, learner, framework, "C1", "Proficient")
    assert attainment(learner)["C1"] == ("Competent", "direct")  # now the modules' level


def test_modules_or_an_observation_attain_at_the_higher_of_the_two(
    institution_a, people_a, learner
):
    framework = ruled_framework(institution_a, OR)
    course = build_course(institution_a, framework)
    complete(learner, course, "M1")
    assert attainment(learner) == {}
    complete(learner, course, "M2")
    assert attainment(learner) == {"C1": ("Competent", "direct")}
    observe(people_a, learner, framework, "C1", "Proficient")
    assert attainment(learner)["C1"] == ("Proficient", "direct")

    observe(people_a, learner, framework, "C2", "Developing")  # M3 never done
    assert attainment(learner)["C2"] == ("Developing", "direct")


@pytest.mark.parametrize("rule", [ANY, MODULES, OBSERVATION, AND, OR])
def test_recognised_prior_learning_attains_under_every_rule(institution_a, people_a, learner, rule):
    framework = ruled_framework(institution_a, rule)
    course = build_course(institution_a, framework)
    services.enrol(learner=learner, course=course)
    recognise(people_a, learner, framework, "C1", "Proficient")
    assert attainment(learner) == {"C1": ("Proficient", "direct")}


@pytest.mark.parametrize(
    "rule,attained", [(ANY, True), (MODULES, False), (AND, False), (OR, False)]
)
def test_external_statements_count_only_as_any_evidence(institution_a, learner, rule, attained):
    framework = ruled_framework(institution_a, rule)
    build_course(institution_a, framework)
    external(learner, framework, "C1", "Proficient")
    assert ("C1" in attainment(learner)) is attained


def test_the_bottom_of_the_scale_as_a_target_attains_nothing(institution_a, learner):
    framework = ruled_framework(institution_a, MODULES)
    course = build_course(institution_a, framework, [("M1", [("C3", "Not yet competent")])])
    complete(learner, course, "M1")
    assert attainment(learner) == {}


# --- Framework default and item override ----------------------------------------------------


def test_an_item_rule_overrides_the_frameworks(institution_a, people_a, learner):
    framework = ruled_framework(institution_a, MODULES, item_rules={"C2": ANY, "C3": OBSERVATION})
    course = build_course(institution_a, framework, [*COURSE, ("M4", [("C3", "Proficient")])])
    complete(learner, course, "M2")
    # C1 follows the framework (M1 missing); C2 takes any evidence.
    assert attainment(learner) == {"C2": ("Competent", "direct")}
    complete(learner, course, "M4")
    assert "C3" not in attainment(learner)  # C3 wants an observation
    observe(people_a, learner, framework, "C3", "Competent")
    assert attainment(learner)["C3"] == ("Competent", "direct")


def test_an_item_may_ask_more_than_a_framework_of_any_evidence(institution_a, learner):
    framework = ruled_framework(institution_a, ANY, item_rules={"C1": MODULES})
    course = build_course(institution_a, framework)
    complete(learner, course, "M1")
    assert attainment(learner) == {}
    complete(learner, course, "M3")
    assert attainment(learner) == {"C2": ("Developing", "direct")}


# --- Which modules count --------------------------------------------------------------------


def test_only_live_modules_of_live_courses_are_required(institution_a, learner):
    framework = ruled_framework(institution_a, MODULES)
    course = build_course(institution_a, framework)
    module(course, "M2").unpublish()
    complete(learner, course, "M1")
    # M2 is offline: M1 alone is what the course asks for C1 now.
    assert attainment(learner) == {"C1": ("Developing", "direct")}

    offline = build_course(
        institution_a,
        framework,
        [("N1", [("C3", "Competent")]), ("N2", [("C3", "Competent")])],
        slug="offline",
    )
    complete(learner, offline, "N1")
    CoursePage.objects.get(pk=offline.pk).unpublish()
    # Nothing of an offline course is required, and nothing else trains C3: not attainable
    # through modules at all (prior learning still is).
    requirements = module_requirements(competency_ids={item(framework, "C3").pk})
    assert requirements.sets == {}
    attainment_rebuild(learner=learner)
    assert "C3" not in attainment(learner)


def test_each_course_is_a_way_to_meet_the_rule(institution_a, learner):
    framework = ruled_framework(institution_a, MODULES)
    build_course(institution_a, framework)
    short = build_course(institution_a, framework, [("S1", [("C1", "Proficient")])], slug="short")
    complete(learner, short, "S1")
    # The short course's one module is all it maps to C1: its set is met, the long one is not.
    assert attainment(learner) == {"C1": ("Proficient", "direct")}
    sets = module_requirements(competency_ids={item(framework, "C1").pk}).sets
    assert sorted(
        (s.title, [m.title for m in s.modules]) for s in sets[item(framework, "C1").pk]
    ) == [
        ("Course rules-course", ["M1", "M2"]),
        ("Course short", ["S1"]),
    ]


def test_a_module_mapped_later_never_lowers_what_was_reached_until_a_rebuild(
    institution_a, people_a, learner
):
    framework = ruled_framework(institution_a, MODULES)
    course = build_course(institution_a, framework)
    complete(learner, course, "M1", "M2")
    assert attainment(learner)["C1"] == ("Competent", "direct")
    before = CompetencyAttainment.objects.get(learner=learner, competency__code="C1")

    # M3 now builds C1 too: the learner has not done it, but attainment never goes down.
    republish(module(course, "M3"), [("C2", "Developing"), ("C1", "Competent")], framework)
    observe(people_a, learner, framework, "C1", "Proficient")  # evidence on C1 again
    row = CompetencyAttainment.objects.get(learner=learner, competency__code="C1")
    assert (row.level, row.via, row.since) == (before.level, "direct", before.since)

    # A rebuild applies the new mapping; completing M3 then attains it again.
    attainment_rebuild(learner=learner)
    assert "C1" not in attainment(learner)
    complete(learner, course, "M3")
    assert attainment(learner)["C1"] == ("Competent", "direct")


# --- Rollup and crosswalks ------------------------------------------------------------------


def test_a_parent_rolls_up_children_governed_by_rules(institution_a, people_a, learner):
    framework = ruled_framework(institution_a, AND)
    course = build_course(institution_a, framework)
    complete(learner, course, "M1", "M2", "M3")
    observe(people_a, learner, framework, "C1", "Proficient")
    assert attainment(learner) == {"C1": ("Competent", "direct")}
    assert "D" not in attainment(learner)
    observe(people_a, learner, framework, "C2", "Developing")
    assert attainment(learner)["C2"] == ("Developing", "direct")
    assert attainment(learner)["D"] == ("Developing", "rollup")


def test_the_domains_own_rule_does_not_stop_its_rollup(institution_a, learner, people_a):
    framework = ruled_framework(institution_a, ANY, item_rules={"D": OBSERVATION})
    course = build_course(institution_a, framework)
    complete(learner, course, "M1", "M2", "M3")
    assert attainment(learner)["D"] == ("Competent", "rollup")


def test_attainment_under_a_rule_travels_through_crosswalks(institution_a, learner):
    framework = ruled_framework(institution_a, MODULES)
    national = competencies_services.framework_publish(
        framework=competencies_services.framework_import(
            data=FrameworkData(
                title="National standards",
                creator="Council",
                levels=list(competencies_demo.SCALE),
                evidence_rule=OBSERVATION,  # the national rule governs its own evidence only
                items=[ItemData(key="N1", code="N1", full_statement="Manages cases")],
                associations=[
                    AssociationData(
                        association_type="exactMatchOf",
                        origin_key="N1",
                        destination_key=str(item(framework, "C1").identifier),
                    )
                ],
            )
        )
    )
    course = build_course(institution_a, framework)
    complete(learner, course, "M1")
    assert attainment(learner) == {}
    complete(learner, course, "M2")
    assert attainment(learner) == {"C1": ("Competent", "direct"), "N1": ("Competent", "crosswalk")}
    row = CompetencyAttainment.objects.get(learner=learner, competency__code="N1")
    assert (row.framework, row.via_item) == (national, item(framework, "C1"))


# --- Rebuild == incremental -----------------------------------------------------------------


@pytest.mark.parametrize("rule", [ANY, MODULES, OBSERVATION, AND, OR])
def test_rebuild_gives_the_rows_the_incremental_updates_gave(
    institution_a, people_a, learner, rule
):
    framework = ruled_framework(institution_a, rule, item_rules={"C3": OBSERVATION})
    course = build_course(institution_a, framework)
    complete(learner, course, "M1")
    observe(people_a, learner, framework, "C1", "Developing", days_ago=5)
    observe(people_a, learner, framework, "C2", "Proficient", days_ago=4)
    complete(learner, course, "M2")
    external(learner, framework, "C3", "Competent")
    observe(people_a, learner, framework, "C3", "Developing", days_ago=3)
    complete(learner, course, "M3")
    observe(people_a, learner, framework, "C1", "Proficient", days_ago=1)
    recognise(people_a, learner, framework, "C3", "Proficient")
    incremental = snapshot(learner)
    assert incremental  # every rule attains something here

    assert attainment_rebuild(learner=learner) == len(incremental)
    assert snapshot(learner) == incremental
    CompetencyAttainment.objects.filter(learner=learner).delete()
    call_command("rebuild_attainment", "--learner", learner.username, stdout=io.StringIO())
    assert snapshot(learner) == incremental


def test_rebuild_of_a_learner_part_way_gives_the_same_rows(institution_a, people_a, learner):
    """After each step, not only at the end: nothing attained is the same on both paths too."""
    framework = ruled_framework(institution_a, AND)
    course = build_course(institution_a, framework)
    steps = [
        lambda: complete(learner, course, "M1"),
        lambda: observe(people_a, learner, framework, "C1", "Competent", days_ago=2),
        lambda: complete(learner, course, "M2"),
        lambda: observe(people_a, learner, framework, "C2", "Developing", days_ago=1),
        lambda: complete(learner, course, "M3"),
    ]
    seen = []
    for step in steps:
        step()
        incremental = snapshot(learner)
        attainment_rebuild(learner=learner)
        assert snapshot(learner) == incremental
        seen.append(len(incremental))
    assert seen == [0, 0, 1, 1, 3]  # C1 at the second completion; C2 and D at the end


# --- Batches --------------------------------------------------------------------------------


def batch_learners(institution, count: int) -> list:
    users = [UserFactory(username=f"batch-{i}") for i in range(count)]
    LearnerIdentity.objects.bulk_create(
        LearnerIdentity(institution=institution, external_id=f"B{i}", user=user)
        for i, user in enumerate(users)
    )
    return users


def events(course, external_id: str, titles) -> list[dict]:
    start = timezone.now() - timedelta(hours=1)
    steps = [{"verb": "enrolled", "course_id": course.pk}] + [
        {"verb": "completed", "module_id": module(course, title).pk} for title in titles
    ]
    return [
        {
            "id": str(uuid.uuid4()),
            "learner": external_id,
            "timestamp": (start + timedelta(minutes=n)).isoformat(),
            **step,
        }
        for n, step in enumerate(steps)
    ]


def test_a_batch_applies_the_rule_as_one_event_at_a_time_does(institution_a):
    framework = ruled_framework(institution_a, MODULES)
    course = build_course(institution_a, framework)
    batched, one_by_one = batch_learners(institution_a, 2)
    outcomes = ingest.progress_batch_record(
        institution=institution_a, events=events(course, "B0", ["M1", "M2"])
    )
    assert {o.status for o in outcomes} == {"applied"}
    for event in events(course, "B1", ["M1", "M2"]):
        ingest.progress_batch_record(institution=institution_a, events=[event])
    assert attainment(batched) == attainment(one_by_one) == {"C1": ("Competent", "direct")}
    for learner in (batched, one_by_one):
        row = CompetencyAttainment.objects.get(learner=learner, competency__code="C1")
        completed = ModuleCompletion.objects.get(learner=learner, module__title="M2")
        assert row.since == completed.completed_at


def test_the_queries_of_a_ruled_batch_do_not_grow_with_its_size(institution_a):
    framework = ruled_framework(institution_a, AND)
    course = build_course(institution_a, framework)
    users = batch_learners(institution_a, 12)
    ingest.progress_batch_record(institution=institution_a, events=events(course, "B0", ["M1"]))
    counts = {}
    for first, size in ((1, 2), (4, 8)):
        batch = [
            event
            for i in range(first, first + size)
            for event in events(course, f"B{i}", ["M1", "M2", "M3"])
        ]
        with CaptureQueriesContext(connection) as queries:
            outcomes = ingest.progress_batch_record(institution=institution_a, events=batch)
        assert {o.status for o in outcomes} == {"applied"}
        counts[size] = len(queries)
    assert counts[8] <= counts[2], counts
    # Nothing attained: the rule also wants an observation.
    assert not CompetencyAttainment.objects.filter(learner__in=users).exists()
    assert CompetencyEvidence.objects.filter(learner=users[8]).count() == 4


@pytest.mark.parametrize("rule,asked", [(ANY, 0), (OBSERVATION, 0), (MODULES, 1), (OR, 1)])
def test_the_modules_are_asked_for_once_a_batch_and_only_when_a_rule_needs_them(
    institution_a, monkeypatch, rule, asked
):
    framework = ruled_framework(institution_a, rule)
    course = build_course(institution_a, framework)
    batch_learners(institution_a, 3)
    calls = []
    real = requirements.module_requirements

    def counting(**kwargs):
        calls.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(requirements, "module_requirements", counting)
    batch = [e for i in range(3) for e in events(course, f"B{i}", ["M1", "M2", "M3"])]
    outcomes = ingest.progress_batch_record(institution=institution_a, events=batch)
    assert {o.status for o in outcomes} == {"applied"}
    assert len(calls) == asked
    if asked:
        c1, c2 = item(framework, "C1").pk, item(framework, "C2").pk
        assert {c1, c2} <= calls[0]["competency_ids"]
        assert len(calls[0]["completion_ids"]) == 3 * 3  # every completion of the batch, at once


def test_the_cached_graph_knows_the_rules_as_the_database_does(institution_a):
    framework = ruled_framework(institution_a, AND, item_rules={"C2": ANY, "D": OBSERVATION})
    ids = {item(framework, "C1").pk, item(framework, "C2").pk}
    cached = competencies_graph.affected_items(ids, graph=competencies_graph.settled_graph())
    assert cached == competencies_graph.affected_items_from_database(ids)
    assert {n.pk: n.evidence_rule for n in cached.values()} == {
        item(framework, "C1").pk: AND,
        item(framework, "C2").pk: ANY,
        item(framework, "D").pk: OBSERVATION,
    }


# --- Authoring ------------------------------------------------------------------------------


@pytest.fixture
def author(people_a):
    enable_totp(people_a.author)
    return people_a.author


def admin_url(name, *args) -> str:
    return reverse(f"competencies_{name}", args=args)


FRAMEWORK_FIELDS = {
    "title": "Rules",
    "code": "",
    "version": "1.0",
    "language": "en",
    "creator": "Ubuntu Institute",
    "description": "",
    "licence": "",
}


def test_an_author_sets_the_rules_of_a_draft(client, institution_a, author):
    framework = competencies_services.framework_import(
        data=rules_data(ANY), owner_institution=institution_a
    )
    client.force_login(author)
    form = client.get(admin_url("framework_edit", framework.pk)).content.decode()
    assert "All mapped modules complete and an observation signed off" in form

    client.post(
        admin_url("framework_edit", framework.pk), {**FRAMEWORK_FIELDS, "evidence_rule": AND}
    )
    framework.refresh_from_db()
    assert framework.evidence_rule == AND

    c2 = item(framework, "C2")
    form = client.get(admin_url("item_edit", framework.pk, c2.pk)).content.decode()
    assert "As the framework says: All mapped modules complete and an observation" in form
    fields = {"code": "C2", "kind": "competency", "full_statement": c2.full_statement}
    client.post(
        admin_url("item_edit", framework.pk, c2.pk),
        {**fields, "parent": str(c2.parent_id), "evidence_rule": OBSERVATION},
    )
    c2.refresh_from_db()
    assert c2.evidence_rule == OBSERVATION

    page = client.get(admin_url("framework", framework.pk)).content.decode()
    assert 'data-evidence-rule="modules_and_observation"' in page
    assert 'data-item-rule="observation"' in page and "An observation signed off" in page

    # Back to the framework's rule; a rule the service does not know is refused.
    client.post(
        admin_url("item_edit", framework.pk, c2.pk),
        {**fields, "parent": str(c2.parent_id), "evidence_rule": ""},
    )
    c2.refresh_from_db()
    assert c2.evidence_rule == ""
    response = client.post(
        admin_url("framework_edit", framework.pk), {**FRAMEWORK_FIELDS, "evidence_rule": "vibes"}
    )
    assert "Select a valid choice" in response.content.decode()
    with pytest.raises(competencies_services.FrameworkError, match="not an evidence rule"):
        competencies_services.framework_update(framework=framework, evidence_rule="vibes")
    framework.refresh_from_db()
    assert framework.evidence_rule == AND

    # A new item starts with the framework's rule, or its own.
    client.post(
        admin_url("item_create", framework.pk),
        {"code": "C4", "kind": "competency", "full_statement": "Closes a case", "parent": "",
         "evidence_rule": MODULES},
    )  # fmt: skip
    assert item(framework, "C4").evidence_rule == MODULES


def test_the_rules_of_a_published_framework_never_change(client, institution_a, author):
    framework = ruled_framework(institution_a, MODULES)
    client.force_login(author)
    response = client.post(
        admin_url("framework_edit", framework.pk),
        {**FRAMEWORK_FIELDS, "evidence_rule": ANY},
        follow=True,
    )
    assert "a published framework never changes" in response.content.decode()
    c1 = item(framework, "C1")
    response = client.post(
        admin_url("item_edit", framework.pk, c1.pk),
        {"code": "C1", "kind": "competency", "full_statement": c1.full_statement,
         "parent": str(c1.parent_id), "evidence_rule": ANY},
        follow=True,
    )  # fmt: skip
    assert "a published framework never changes" in response.content.decode()
    framework.refresh_from_db()
    c1.refresh_from_db()
    assert (framework.evidence_rule, c1.evidence_rule) == (MODULES, "")
    with pytest.raises(competencies_services.FrameworkError, match="never changes"):
        competencies_services.item_update(item=c1, evidence_rule=ANY)

    # A new version inherits the rules, as a draft whose rules can change.
    new = competencies_services.framework_new_version(framework=framework, version="2.0")
    assert new.evidence_rule == MODULES
    competencies_services.framework_update(framework=new, evidence_rule=OR)
    new.refresh_from_db()
    assert (new.status, new.evidence_rule) == (FrameworkStatus.DRAFT, OR)


def test_a_new_version_keeps_the_items_rules(institution_a):
    framework = ruled_framework(institution_a, MODULES, item_rules={"C2": OBSERVATION})
    new = competencies_services.framework_new_version(framework=framework, version="2.0")
    assert item(new, "C2").evidence_rule == OBSERVATION
    assert item(new, "C1").evidence_rule == ""


# --- Interchange ----------------------------------------------------------------------------


def test_case_packages_carry_the_rules_both_ways(institution_a):
    draft = competencies_services.framework_import(
        data=rules_data(AND, item_rules={"C2": ANY, "C3": OBSERVATION}),
        owner_institution=institution_a,
    )
    package = export_case_package(framework_data(framework=draft), base_url="https://x.test")
    assert package["CFDocument"]["extensions"]["evidenceRule"] == AND
    by_code = {i["humanCodingScheme"]: i for i in package["CFItems"]}
    assert by_code["C2"]["extensions"] == {"evidenceRule": ANY}
    assert "evidenceRule" not in by_code["C1"].get("extensions", {})

    competencies_services.framework_delete(framework=draft)
    copy = competencies_services.framework_import(
        data=parse_case_package(json.dumps(package).encode())
    )
    assert copy.evidence_rule == AND
    assert {i.code: i.evidence_rule for i in copy.items.all()} == {
        "D": "",
        "C1": "",
        "C2": ANY,
        "C3": OBSERVATION,
    }

    # A framework of "any evidence" says nothing about it (exports stay as they were).
    plain = ruled_framework(institution_a, ANY, title="Plain")
    package = export_case_package(framework_data(framework=plain), base_url="https://x.test")
    assert "evidenceRule" not in json.dumps(package)


def test_a_case_package_with_an_unknown_rule_is_refused_with_its_place(institution_a):
    framework = ruled_framework(institution_a, MODULES)
    package = export_case_package(framework_data(framework=framework), base_url="https://x.test")
    package["CFDocument"]["extensions"]["evidenceRule"] = "whenever"
    package["CFItems"][1]["extensions"] = {"evidenceRule": 3}
    with pytest.raises(FrameworkFileError) as error:
        parse_case_package(json.dumps(package).encode())
    assert any(
        e.startswith("CFDocument.extensions.evidenceRule: 'whenever' is not a rule")
        for e in error.value.errors
    )
    assert any(e.startswith("CFItems[1].extensions.evidenceRule: 3") for e in error.value.errors)


def test_an_import_with_an_unknown_rule_writes_nothing():
    data = rules_data("whenever", item_rules={"C1": "sometimes"})
    with pytest.raises(FrameworkFileError) as error:
        competencies_services.framework_import(data=data)
    assert len([e for e in error.value.errors if "evidence rule" in e]) == 2
    assert not Framework.objects.exists()


# --- What the learner sees ------------------------------------------------------------------


def test_the_profile_says_what_is_still_needed(
    client, institution_a, people_a, learner, django_assert_max_num_queries
):
    framework = ruled_framework(institution_a, AND, item_rules={"C3": OBSERVATION})
    course = build_course(institution_a, framework, [*COURSE, ("M4", [("C3", "Competent")])])
    complete(learner, course, "M1", "M4")
    observe(people_a, learner, framework, "C2", "Competent")
    client.force_login(learner)
    with django_assert_max_num_queries(16):
        page = client.get(PROFILE_URL).content.decode()
    assert "not yet: 1 of 2 modules complete; observation needed" in page  # C1
    assert "not yet: 0 of 2 modules complete; observation signed off" in page  # C2
    assert "not yet: observation needed" in page  # C3: a module is not what it asks

    complete(learner, course, "M2")
    observe(people_a, learner, framework, "C1", "Competent")
    page = client.get(PROFILE_URL).content.decode()
    assert "not yet: 1 of 2 modules complete; observation needed" not in page
    assert "1 of 2 modules complete; observation signed off" in page  # C2 waits for M3


def test_what_is_still_needed_speaks_french(client, institution_a, people_a, learner):
    from django.conf import settings

    framework = ruled_framework(institution_a, AND)
    course = build_course(institution_a, framework)
    complete(learner, course, "M1")
    client.force_login(learner)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    page = client.get(PROFILE_URL).content.decode()
    assert "pas encore : modules terminés : 1 sur 2; observation requise" in page


def test_the_plugin_api_says_what_is_still_needed(client, institution_a, people_a):
    from lms import services as lms_services

    framework = ruled_framework(institution_a, MODULES)
    course = build_course(institution_a, framework)
    [learner] = batch_learners(institution_a, 1)
    complete(learner, course, "M1")
    _key, secret = lms_services.api_key_create(
        institution=institution_a, name="Moodle", created_by=people_a.manager
    )
    response = client.get("/api/v1/learners/B0/competencies", HTTP_AUTHORIZATION=f"Bearer {secret}")
    [profile] = response.json()
    items = {i["code"]: i for i in profile["items"]}
    assert (items["C1"]["level"], items["C1"]["still_needed"]) == (None, "1 of 2 modules complete")
    assert items["D"]["still_needed"] == ""  # no evidence of its own: nothing to explain
