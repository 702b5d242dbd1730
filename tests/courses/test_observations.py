"""Supervisors record observations of learners' practice on the learning site; learners see
them on their dashboard. Only an institution's supervisors, and only for its own learners."""

import datetime
import re
import uuid
from http import HTTPStatus

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from competencies.models import CompetencyItem, ScaleLevel
from courses import services
from courses.models import ModulePage, Observation, ProgressEvent
from tests.services import IN_CI

pytestmark = pytest.mark.django_db


@pytest.fixture
def learner(people_a, course):
    """Institution A's trainee, enrolled in A's course."""
    services.enrol(learner=people_a.trainee, course=course)
    return people_a.trainee


@pytest.fixture
def course_b(institution_b, published_framework):
    from courses import demo

    return demo.seed_course(institution=institution_b, framework=published_framework)


def competency(framework, code: str) -> CompetencyItem:
    return CompetencyItem.objects.get(framework=framework, code=code)


def level(framework, name: str) -> ScaleLevel:
    return ScaleLevel.objects.get(framework=framework, name=name)


def form_data(framework, learner, **overrides) -> dict:
    data = {
        "learner": learner.pk,
        "competency": competency(framework, "PP.5.1").pk,
        "level": level(framework, "Competent").pk,
        "observed_on": timezone.localdate().isoformat(),
        "notes": "Opened the Otieno family's case file with care.",
        "module": "",
        "event_id": str(uuid.uuid4()),
    }
    data.update(overrides)
    return data


def test_supervisor_records_an_observation_and_the_learner_sees_it(
    client, people_a, learner, course, published_framework
):
    first = ModulePage.objects.child_of(course).order_by("path").first()
    client.force_login(people_a.supervisor)
    page = client.get(reverse("courses:observation_new")).content.decode()
    assert "Ubuntu Institute" in page
    assert f'<option value="{learner.pk}">Trainee a (trainee-a)</option>' in page
    assert f'<optgroup label="{published_framework}">' in page
    assert "PP.5.1" in page and "Competent" in page
    assert f'value="{timezone.localdate().isoformat()}"' in page  # today by default
    assert "Opening a case" in page  # a module, for its practice activity
    event_id = re.search(r'name="event_id" value="([0-9a-f-]+)"', page).group(1)

    data = form_data(published_framework, learner, module=first.pk, event_id=event_id)
    response = client.post(reverse("courses:observation_new"), data, follow=True)
    assert response.redirect_chain == [(reverse("courses:observations"), HTTPStatus.FOUND)]
    listing = response.content.decode()
    assert "Observation recorded: trainee-a, PP.5.1 at “Competent”." in listing
    assert "Trainee a" in listing and "Opened the Otieno family" in listing

    observation = Observation.objects.get()
    assert (
        observation.learner,
        observation.supervisor,
        observation.institution,
        observation.competency.code,
        observation.level.name,
        observation.module_id,
        observation.observed_on,
    ) == (
        learner,
        people_a.supervisor,
        course.institution,
        "PP.5.1",
        "Competent",
        first.pk,
        timezone.localdate(),
    )
    assert observation.event.event_id == uuid.UUID(event_id)
    assert observation.event.verb == "observed"

    # A double submit of the same form records nothing more.
    client.post(reverse("courses:observation_new"), data)
    assert Observation.objects.count() == 1
    assert ProgressEvent.objects.filter(verb="observed").count() == 1

    client.force_login(learner)
    dashboard = client.get(reverse("lms:dashboard")).content.decode()
    assert "Observations of my practice" in dashboard
    panel = dashboard[dashboard.index("Observations of my practice") :]
    assert "PP.5.1" in panel and "Competent" in panel
    assert "by supervisor-a" in panel and "Opened the Otieno family" in panel
    assert date_format(timezone.localdate(), "SHORT_DATE_FORMAT") in panel  # e.g. 23 Nov 2026
    # …and on the module it was for.
    assert "Your supervisor" in client.get(first.url).content.decode()


def test_a_learner_without_observations_has_no_observation_panel(client, learner):
    client.force_login(learner)
    dashboard = client.get(reverse("lms:dashboard")).content.decode()
    assert "Observations of my practice" not in dashboard
    assert "Record an observation" not in dashboard


def test_the_supervisors_dashboard_links_to_the_observation_pages(client, people_a):
    client.force_login(people_a.supervisor)
    dashboard = client.get(reverse("lms:dashboard")).content.decode()
    assert reverse("courses:observation_new") in dashboard
    assert reverse("courses:observations") in dashboard


def test_a_supervisor_of_another_institution_cannot_record_for_its_learners(
    client, people_b, learner, course_b, published_framework
):
    services.enrol(learner=people_b.trainee, course=course_b)
    client.force_login(people_b.supervisor)
    page = client.get(reverse("courses:observation_new")).content.decode()
    assert "Mekong College" in page
    assert "trainee-b" in page and "trainee-a" not in page  # A's learner is not offered

    response = client.post(
        reverse("courses:observation_new"), form_data(published_framework, learner)
    )
    assert "This person is not enrolled in any of Mekong College&#x27;s courses." in (
        response.content.decode()
    )
    # The service refuses it too, whatever the form offers.
    with pytest.raises(services.LearningError, match="not enrolled in any of Mekong College"):
        services.observation_record_for_institution(
            supervisor=people_b.supervisor,
            institution=course_b.institution,
            learner=learner,
            competency=competency(published_framework, "PP.5.1"),
            level=level(published_framework, "Competent"),
            observed_on=timezone.localdate(),
        )
    assert not Observation.objects.exists()
    assert not ProgressEvent.objects.filter(verb="observed").exists()


def test_competencies_and_modules_outside_the_institutions_courses_are_refused(
    people_a, learner, course, course_b, published_framework
):
    from competencies import demo as competencies_demo
    from competencies import services as competencies_services

    other = competencies_services.framework_publish(
        framework=competencies_services.framework_import(
            data=competencies_demo.para_professional_data(creator="Elsewhere"),
            owner_institution=None,
        )
    )
    common = {
        "supervisor": people_a.supervisor,
        "institution": course.institution,
        "learner": learner,
        "observed_on": timezone.localdate(),
    }
    with pytest.raises(services.LearningError, match="do not train against"):
        services.observation_record_for_institution(
            **common, competency=competency(other, "PP.5.1"), level=level(other, "Competent")
        )
    b_module = ModulePage.objects.child_of(course_b).first()
    with pytest.raises(services.LearningError, match="not part of your institution"):
        services.observation_record_for_institution(
            **common,
            competency=competency(published_framework, "PP.5.1"),
            level=level(published_framework, "Competent"),
            module=b_module,
        )
    assert not Observation.objects.exists()


def test_a_level_of_another_framework_or_a_future_date_is_refused_on_the_form(
    client, people_a, learner, published_framework
):
    client.force_login(people_a.supervisor)
    tomorrow = (timezone.localdate() + datetime.timedelta(days=1)).isoformat()
    response = client.post(
        reverse("courses:observation_new"),
        form_data(published_framework, learner, observed_on=tomorrow),
    )
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "An observation cannot be dated in the future." in response.content.decode()
    response = client.post(
        reverse("courses:observation_new"),
        form_data(published_framework, learner, level=999999),
    )
    assert "Select a valid choice" in response.content.decode()
    assert not Observation.objects.exists()


@pytest.mark.parametrize("who", ["anonymous", "trainee", "author", "manager", "instructor"])
def test_only_supervisors_reach_the_observation_pages(
    client, people_a, learner, published_framework, who
):
    if who != "anonymous":
        client.force_login(getattr(people_a, who))
    for url in (reverse("courses:observation_new"), reverse("courses:observations")):
        response = client.get(url)
        if who == "anonymous":
            assert response["Location"].startswith(reverse("account_login"))
        else:
            assert response.status_code == HTTPStatus.FORBIDDEN
            assert "Only supervisors of a training institution" in response.content.decode()
    client.post(reverse("courses:observation_new"), form_data(published_framework, learner))
    assert not Observation.objects.exists()


def test_the_list_shows_only_the_supervisors_own_observations(
    client, people_a, learner, course, published_framework
):
    from lms import services as lms_services
    from tests.factories import UserFactory

    colleague = UserFactory(username="colleague")
    lms_services.membership_grant(user=colleague, institution=course.institution, role="supervisor")
    for supervisor, notes in ((people_a.supervisor, "Mine"), (colleague, "Theirs")):
        services.observation_record_for_institution(
            supervisor=supervisor,
            institution=course.institution,
            learner=learner,
            competency=competency(published_framework, "PP.5.2"),
            level=level(published_framework, "Developing"),
            observed_on=timezone.localdate(),
            notes=notes,
        )
    client.force_login(people_a.supervisor)
    page = client.get(reverse("courses:observations")).content.decode()
    assert "Mine" in page and "Theirs" not in page


def test_a_supervisor_at_two_institutions_chooses_one_first(
    client, people_a, learner, course_b, institution_b
):
    from lms import services as lms_services

    supervisor = people_a.supervisor
    lms_services.membership_grant(user=supervisor, institution=institution_b, role="supervisor")
    client.force_login(supervisor)
    page = client.get(reverse("courses:observation_new")).content.decode()
    assert "For which institution?" in page
    assert "?institution=ubuntu" in page and "?institution=mekong" in page
    page = client.get(reverse("courses:observation_new") + "?institution=ubuntu").content.decode()
    assert "Trainee a (trainee-a)" in page
    page = client.get(reverse("courses:observation_new") + "?institution=mekong").content.decode()
    assert "trainee-a" not in page
    assert "No learner is enrolled in Mekong College" in page


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_double_submit_racing_itself_records_one_observation(
    people_a, learner, course, published_framework
):
    from tests.courses.test_concurrency import run_in_parallel

    require_postgresql()
    event_id = uuid.uuid4()
    outcomes = run_in_parallel(
        lambda i: services.observation_record_for_institution(
            supervisor=people_a.supervisor,
            institution=course.institution,
            learner=learner,
            competency=competency(published_framework, "PP.5.1"),
            level=level(published_framework, "Competent"),
            observed_on=timezone.localdate(),
            event_id=event_id,
        ),
        count=4,
    )
    assert outcomes == [None] * 4
    assert Observation.objects.count() == 1
    assert ProgressEvent.objects.filter(event_id=event_id).count() == 1


def require_postgresql():
    if connection.vendor != "postgresql":
        message = "concurrency is tested on PostgreSQL (set DATABASE_URL=postgres://…)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
