"""CPD: approvals by the learner's institution, requirement arithmetic, who is behind,
the learner's dashboard, reminders sent once."""

import csv
import datetime
import io
from decimal import Decimal
from http import HTTPStatus

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from competencies.models import CompetencyItem
from courses.models import CoursePage, ModuleCompetency
from regulation import cpd, services
from regulation.models import ActivityStatus, CpdActivity, CpdReminder
from tests.regulation.conftest import enrol, make_worker

TODAY = timezone.localdate()
YEAR_START = TODAY.replace(month=1, day=1)
YEAR_END = TODAY.replace(month=12, day=31)


def evidence_file(name="attendance.pdf"):
    return SimpleUploadedFile(name, b"%PDF-1.4 attendance", content_type="application/pdf")


def activity(learner, institution, hours="3", *, done_on=TODAY, competencies=()):
    return services.activity_submit(
        learner=learner,
        institution=institution,
        title="Safeguarding workshop",
        provider="Child Welfare Society",
        done_on=done_on,
        hours=Decimal(hours),
        evidence=evidence_file(),
        competencies=competencies,
    )


@pytest.fixture
def requirement(bodies):
    return services.requirement_create(
        body=bodies.kenya,
        created_by=bodies.kenya_regulator,
        title="Annual CPD",
        cadre="para_professional",
        hours=Decimal("20"),
        period_start=YEAR_START,
        period_end=YEAR_END,
    )


@pytest.fixture
def cpd_course(course):
    CoursePage.objects.filter(pk=course.pk).update(cpd_hours=Decimal("6"))
    course.refresh_from_db()
    return course


def test_hours_count_completed_courses_and_approved_activities_in_the_period(
    people_a, institution_a, requirement, cpd_course
):
    learner = people_a.trainee
    enrol(learner, cpd_course, completed_at=timezone.now())
    approved = activity(learner, institution_a, "5")
    services.activity_approve(activity_id=approved.pk, user=people_a.supervisor)
    activity(learner, institution_a, "4")  # pending: not counted
    rejected = activity(learner, institution_a, "7")
    services.activity_reject(activity_id=rejected.pk, user=people_a.manager, reason="No proof")
    old = activity(learner, institution_a, "9", done_on=YEAR_START - datetime.timedelta(days=1))
    services.activity_approve(activity_id=old.pk, user=people_a.supervisor)  # before the period
    [progress] = cpd.learner_progress(learner=learner)
    assert (progress.course_hours, progress.activity_hours) == (Decimal("6"), Decimal("5"))
    assert progress.done == Decimal("11") and progress.remaining == Decimal("9")
    assert not progress.met and progress.percent == 55


def test_a_requirement_in_a_domain_counts_only_hours_in_its_competencies(
    bodies, people_a, institution_a, cpd_course, published_framework
):
    mapped = ModuleCompetency.objects.filter(module__in=cpd_course.get_children()).first()
    domain = mapped.competency
    while domain.kind != "domain":
        domain = domain.parent
    other_domain = CompetencyItem.objects.filter(
        framework=published_framework, kind="domain"
    ).exclude(pk=domain.pk)
    safeguarding = services.requirement_create(
        body=bodies.kenya,
        created_by=bodies.kenya_regulator,
        title="Safeguarding",
        cadre="",
        hours=Decimal("5"),
        period_start=YEAR_START,
        period_end=YEAR_END,
        domain=domain,
    )
    learner = people_a.trainee
    enrol(learner, cpd_course, completed_at=timezone.now())
    inside = activity(learner, institution_a, "2", competencies=[mapped.competency])
    outside = activity(learner, institution_a, "8")
    for found in (inside, outside):
        services.activity_approve(activity_id=found.pk, user=people_a.supervisor)
    hours = cpd.hours_by_learner(safeguarding, learner_ids=[learner.pk])
    assert hours[learner.pk] == (Decimal("6"), Decimal("2"))
    if other_domain.exists():
        elsewhere = services.requirement_create(
            body=bodies.kenya,
            created_by=bodies.kenya_regulator,
            title="Elsewhere",
            cadre="",
            hours=Decimal("5"),
            period_start=YEAR_START,
            period_end=YEAR_END,
            domain=other_domain.first(),
        )
        assert cpd.hours_by_learner(elsewhere, learner_ids=[learner.pk]) == {}


def test_only_the_chosen_institutions_supervisors_and_managers_judge_an_activity(
    people_a, people_b, institution_a
):
    pending = activity(people_a.trainee, institution_a)
    for outsider in (people_b.supervisor, people_b.manager, people_a.author, people_a.trainee):
        with pytest.raises(PermissionDenied):
            services.activity_approve(activity_id=pending.pk, user=outsider)
    with pytest.raises(ValueError, match="Say why"):
        services.activity_reject(activity_id=pending.pk, user=people_a.supervisor, reason=" ")
    services.activity_approve(activity_id=pending.pk, user=people_a.supervisor)
    with pytest.raises(ValueError, match="already judged"):
        services.activity_reject(activity_id=pending.pk, user=people_a.manager, reason="late")
    pending.refresh_from_db()
    assert pending.status == ActivityStatus.APPROVED and pending.decided_by == people_a.supervisor


def test_a_learner_records_an_activity_and_the_supervisor_rejects_it_with_a_reason(
    client, people_a, institution_a
):
    client.force_login(people_a.trainee)
    response = client.post(
        reverse("regulation:cpd_ledger"),
        {
            "institution": institution_a.pk,
            "title": "Case conference",
            "provider": "County office",
            "done_on": TODAY.isoformat(),
            "hours": "2.5",
            "evidence": evidence_file(),
        },
        follow=True,
    )
    assert "Your activity was recorded" in response.content.decode()
    recorded = CpdActivity.objects.get(learner=people_a.trainee)
    client.force_login(people_a.supervisor)
    page = client.get(reverse("regulation:cpd_review")).content.decode()
    assert "Case conference" in page
    assert client.get(reverse("regulation:cpd_evidence", args=[recorded.pk])).status_code == 200
    client.post(reverse("regulation:cpd_reject", args=[recorded.pk]), {"reason": "Unsigned"})
    client.force_login(people_a.trainee)
    page = client.get(reverse("regulation:cpd_ledger")).content.decode()
    assert "Rejected: Unsigned" in page


def test_evidence_is_refused_as_the_wrong_kind_of_file(client, people_a, institution_a):
    client.force_login(people_a.trainee)
    page = client.post(
        reverse("regulation:cpd_ledger"),
        {
            "institution": institution_a.pk,
            "title": "x",
            "provider": "y",
            "done_on": TODAY.isoformat(),
            "hours": "1",
            "evidence": SimpleUploadedFile("run.exe", b"MZ"),
        },
    ).content.decode()
    assert "Evidence must be a PDF, JPEG or PNG file" in page
    assert not CpdActivity.objects.exists()


def test_evidence_is_shown_only_to_the_learner_and_the_institutions_reviewers(
    client, people_a, people_b, institution_a, bodies
):
    recorded = activity(people_a.trainee, institution_a)
    url = reverse("regulation:cpd_evidence", args=[recorded.pk])
    for user, status in [
        (people_a.trainee, 200),
        (people_a.supervisor, 200),
        (people_a.manager, 200),
        (people_a.author, 404),
        (people_b.supervisor, 404),
        (people_b.trainee, 404),
        (bodies.kenya_regulator, 404),
    ]:
        client.force_login(user)
        assert client.get(url).status_code == status, user


def test_the_learner_sees_each_requirement_on_the_dashboard(client, people_a, requirement):
    client.force_login(people_a.trainee)
    page = client.get(reverse("lms:dashboard")).content.decode()
    assert "Annual CPD" in page and "0 of 20.0 hours" in page


def test_a_requirement_for_another_cadre_or_country_is_not_shown(client, bodies, requirement):
    volunteer = make_worker("volunteer", cadre="volunteer")
    cambodian = make_worker("cambodian", country="KH")
    assert cpd.learner_progress(learner=volunteer) == []
    assert cpd.learner_progress(learner=cambodian) == []


def test_the_regulator_sets_a_requirement_and_sees_who_is_behind(
    client, bodies, people_a, institution_a, cpd_course
):
    ahead = make_worker("ahead", region="Nairobi", worker_registration_number="R-1")
    enrol(ahead, cpd_course, completed_at=timezone.now())
    client.force_login(bodies.kenya_regulator)
    response = client.post(
        reverse("regulation:cpd_requirements"),
        {
            "title": "Five hours",
            "cadre": "para_professional",
            "hours": "5",
            "period_start": YEAR_START.isoformat(),
            "period_end": YEAR_END.isoformat(),
        },
        follow=True,
    )
    page = response.content.decode()
    assert "The requirement was saved." in page
    assert "Trainee a" in page and ">Ahead<" not in page
    requirement = bodies.kenya.cpd_requirements.get()
    export = client.get(
        reverse("regulation:export", args=["cpd-behind", "csv"]),
        {"requirement": requirement.pk},
    )
    rows = list(csv.reader(io.StringIO(export.content.decode())))
    assert rows[0][0] == "Worker" and [r[0] for r in rows[1:]] == ["Trainee a"]
    client.force_login(bodies.cambodia_regulator)
    refused = client.get(
        reverse("regulation:export", args=["cpd-behind", "csv"]), {"requirement": requirement.pk}
    )
    assert refused.status_code == HTTPStatus.NOT_FOUND


def test_a_requirement_whose_period_ends_before_it_starts_is_refused(client, bodies):
    client.force_login(bodies.kenya_regulator)
    page = client.post(
        reverse("regulation:cpd_requirements"),
        {
            "title": "Backwards",
            "hours": "5",
            "period_start": "2026-12-01",
            "period_end": "2026-01-01",
        },
    ).content.decode()
    assert "The period ends before it starts." in page
    assert not bodies.kenya.cpd_requirements.exists()


def test_reminders_go_60_and_14_days_before_the_end_once_each(
    bodies, people_a, django_capture_on_commit_callbacks
):
    end = TODAY + datetime.timedelta(days=60)
    requirement = services.requirement_create(
        body=bodies.kenya,
        created_by=bodies.kenya_regulator,
        title="Annual CPD",
        cadre="",
        hours=Decimal("20"),
        period_start=TODAY - datetime.timedelta(days=300),
        period_end=end,
    )
    people_a.trainee.email = "trainee-a@example.org"
    people_a.trainee.save()
    with django_capture_on_commit_callbacks(execute=True):
        first = services.cpd_reminders_send(today=TODAY)
        again = services.cpd_reminders_send(today=TODAY)
    assert again == 0 and first >= 1
    assert CpdReminder.objects.filter(learner=people_a.trainee, days_before=60).count() == 1
    assert any("60 days left for your CPD" in m.subject for m in mail.outbox)
    with django_capture_on_commit_callbacks(execute=True):
        services.cpd_reminders_send(today=end - datetime.timedelta(days=14))
        services.cpd_reminders_send(today=end - datetime.timedelta(days=10))
    assert list(
        CpdReminder.objects.filter(learner=people_a.trainee)
        .order_by("days_before")
        .values_list("days_before", flat=True)
    ) == [14, 60]
    assert requirement.pk


@pytest.mark.parametrize("role", ["trainee", "author", "instructor"])
def test_only_supervisors_and_managers_open_the_review_page(client, people_a, role):
    client.force_login(getattr(people_a, role))
    assert client.get(reverse("regulation:cpd_review")).status_code == HTTPStatus.FORBIDDEN


@pytest.mark.parametrize("role", ["trainee", "supervisor", "author", "manager"])
def test_only_regulators_open_the_requirements_page(client, people_a, role):
    client.force_login(getattr(people_a, role))
    assert client.get(reverse("regulation:cpd_requirements")).status_code == 403
    assert client.post(reverse("regulation:cpd_requirements"), {}).status_code == 403


def test_who_is_behind_lists_those_with_no_hours_first_then_the_fewest_hours(
    bodies, people_a, institution_a, requirement, cpd_course
):
    """Workers without an hour come first by name; then the others by hours done; anyone at
    the requirement is not listed; a limit keeps the first of that order."""
    for name in ("zed", "amy"):
        make_worker(name, cadre="para_professional")
    six = make_worker("six", cadre="para_professional")
    enrol(six, cpd_course, completed_at=timezone.now())  # 6 of 20 hours
    eleven = make_worker("eleven", cadre="para_professional")
    enrol(eleven, cpd_course, completed_at=timezone.now())
    services.activity_approve(
        activity_id=activity(eleven, institution_a, "5").pk, user=people_a.supervisor
    )  # 11 of 20 hours
    done = make_worker("done", cadre="para_professional")
    enrol(done, cpd_course, completed_at=timezone.now())
    services.activity_approve(
        activity_id=activity(done, institution_a, "14").pk, user=people_a.supervisor
    )  # 20 of 20 hours
    rows = cpd.behind(requirement=requirement, limit=None)
    assert [(r.name, r.done) for r in rows] == [
        ("Amy", 0),
        ("Trainee a", 0),
        ("Zed", 0),
        ("Six", 6),
        ("Eleven", 11),
    ]
    assert [r.remaining for r in rows][-2:] == [14, 9]
    assert [r.name for r in cpd.behind(requirement=requirement, limit=2)] == ["Amy", "Trainee a"]
    assert [r.name for r in cpd.behind(requirement=requirement, limit=4)][-1] == "Six"
