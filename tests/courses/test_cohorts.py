"""Cohorts in the Wagtail admin: creating one, uploading its learners from CSV (all or nothing),
enrolling it, watching its progress — and who may do any of it."""

import csv
import html
import io
import re
import uuid
from http import HTTPStatus

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from courses import selectors, services
from courses.models import Cohort, Enrolment, ModulePage, ProgressEvent
from lms.models import LearnerProfile
from tests.conftest import enable_totp
from tests.factories import UserFactory
from tests.services import require_postgresql
from tests.spreadsheets import as_text

pytestmark = pytest.mark.django_db
User = get_user_model()

HEADER = "username,email,full_name,cadre,sector,country,region,district,worker_registration_number"


def csv_file(*lines: str, header: str = HEADER) -> bytes:
    return "\n".join([header, *lines]).encode()


def upload(client, cohort, data: bytes):
    return client.post(
        reverse("courses_cohort_import", args=[cohort.pk]),
        {"file": SimpleUploadedFile("learners.csv", data, content_type="text/csv")},
    )


@pytest.fixture
def cohort(course, institution_a):
    return services.cohort_create(
        institution=institution_a, course=course, name="Kibera volunteers, March"
    )


@pytest.fixture
def course_b(institution_b, published_framework):
    from courses import demo

    return demo.seed_course(institution=institution_b, framework=published_framework)


def counts() -> tuple[int, int, int, int]:
    return (
        User.objects.count(),
        LearnerProfile.objects.count(),
        Enrolment.objects.count(),
        Cohort.learners.through.objects.count(),
    )


# --- Creating a cohort --------------------------------------------------------------------


def test_manager_creates_a_cohort_on_an_own_course(client, people_a, course, course_b):
    client.force_login(people_a.manager)
    page = client.get(reverse("courses_cohort_create")).content.decode()
    assert f'value="{course.pk}"' in page
    assert f'value="{course_b.pk}"' not in page  # another institution's course is not offered

    response = client.post(
        reverse("courses_cohort_create"),
        {
            "institution": course.institution.pk,
            "name": "March intake",
            "course": course.pk,
            "starts_on": "2025-03-01",
            "ends_on": "2025-05-31",
        },
    )
    cohort = Cohort.objects.get()
    assert response["Location"] == reverse("courses_cohort", args=[cohort.pk])
    assert (cohort.name, cohort.course_id, cohort.institution) == (
        "March intake",
        course.pk,
        course.institution,
    )
    page = client.get(reverse("courses_cohorts")).content.decode()
    assert "March intake" in page and "Case management for para-professionals" in page


def test_a_cohort_on_another_institutions_course_or_a_taken_name_is_refused(
    client, people_a, course, course_b, cohort
):
    client.force_login(people_a.manager)
    data = {"institution": course.institution.pk, "name": "Other", "course": course_b.pk}
    response = client.post(reverse("courses_cohort_create"), data)
    assert "Select a valid choice" in response.content.decode()
    with pytest.raises(services.LearningError, match="your institution's published courses"):
        services.cohort_create(institution=course.institution, course=course_b, name="Other")

    data = {"institution": course.institution.pk, "name": cohort.name.upper(), "course": course.pk}
    response = client.post(reverse("courses_cohort_create"), data)
    assert "already has a cohort called" in response.content.decode()
    assert Cohort.objects.count() == 1


# --- Uploading learners -------------------------------------------------------------------


def test_csv_import_creates_accounts_profiles_enrolments_and_invitations(
    client, people_a, cohort, django_capture_on_commit_callbacks
):
    existing = people_a.trainee  # has a profile already: it must not be overwritten
    earlier = services.cohort_create(
        institution=cohort.institution, course=cohort.course, name="Earlier intake"
    )
    earlier.learners.add(existing)  # so a learner of this institution already
    data = csv_file(
        "amina.n,Amina@Example.org,Amina Njoroge,volunteer,community,ke,Nairobi,Kibra,",
        "baraka,,Baraka Otieno,para-professional,ngo,KE,Kisumu,Nyalenda,KE-SSW-0042",
        f"{existing.username},,Someone Else,professional,government,KE,,,",
    )
    client.force_login(people_a.manager)
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, cohort, data)
    assert response.status_code == HTTPStatus.OK
    assert "no-store" in response["Cache-Control"]
    page = response.content.decode()
    assert "2 accounts created." in page and "1 existing account added." in page
    assert "3 learners enrolled." in page
    assert "their profiles were left unchanged" in page

    amina = User.objects.get(username="amina.n")
    assert amina.email == "amina@example.org" and not amina.has_usable_password()
    assert amina.emailaddress_set.get().email == "amina@example.org"
    profile = amina.learner_profile
    assert (
        profile.full_name,
        profile.cadre,
        profile.sector,
        profile.country,
        profile.district,
    ) == (
        "Amina Njoroge",
        "volunteer",
        "community",
        "KE",
        "Kibra",
    )
    baraka = User.objects.get(username="baraka")
    assert baraka.learner_profile.cadre == "para_professional"
    assert baraka.learner_profile.worker_registration_number == "KE-SSW-0042"
    # The one-time password is on this page, and it is Baraka's password.
    password = re.search(r"<td>baraka</td><td><code>([a-z0-9-]+)</code>", page).group(1)
    assert baraka.check_password(password)
    existing.learner_profile.refresh_from_db()
    assert existing.learner_profile.full_name == "Trainee a"  # not overwritten

    assert set(cohort.learners.all()) == {amina, baraka, existing}
    enrolments = Enrolment.objects.filter(course=cohort.course)
    assert {(e.learner, e.cohort_id, e.status) for e in enrolments} == {
        (amina, cohort.pk, "active"),
        (baraka, cohort.pk, "active"),
        (existing, cohort.pk, "active"),
    }
    assert ProgressEvent.objects.filter(verb="enrolled", source="admin").count() == 3

    # One invitation, to the learner with an e-mail address; none to the others.
    assert [message.to for message in mail.outbox] == [["amina@example.org"]]
    invitation = mail.outbox[0]
    assert "Ubuntu Institute has enrolled you" in invitation.subject
    assert "Your username is amina.n" in invitation.body
    assert "Case management for para-professionals" in invitation.body
    link = re.search(r"http://testserver(/accounts/password/reset/key/\S+)", invitation.body)

    # The password is never shown again.
    detail = client.get(reverse("courses_cohort", args=[cohort.pk])).content.decode()
    assert password not in detail
    assert "Amina Njoroge" in detail and "Baraka Otieno" in detail

    # The invitation link lets Amina choose her password and log in.
    client.logout()
    form_url = client.get(link.group(1))["Location"]
    response = client.post(
        form_url, {"password1": "a-long Kibra passphrase", "password2": "a-long Kibra passphrase"}
    )
    assert response.status_code == HTTPStatus.FOUND
    amina.refresh_from_db()
    assert amina.check_password("a-long Kibra passphrase")


def test_importing_the_same_file_twice_changes_nothing(
    client, people_a, cohort, django_capture_on_commit_callbacks
):
    data = csv_file("amina.n,amina@example.org,Amina Njoroge,volunteer,community,KE,,,")
    client.force_login(people_a.manager)
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, cohort, data)
    before = counts()
    with django_capture_on_commit_callbacks(execute=True):
        page = upload(client, cohort, data).content.decode()
    assert "0 accounts created." in page and "1 existing account added." in page
    assert counts() == before
    assert len(mail.outbox) == 1


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        pytest.param(
            [
                "a1,,A One,volunteer,community,KE,,,",
                "a2,,A Two,volunteer,community,KE,,,",
                "a3,,A Three,nurse,community,KE,,,",
            ],
            ["line 4: cadre 'nurse' is not one of professional, para_professional, volunteer"],
            id="cadre",
        ),
        pytest.param(
            ["amina,,Amina,volunteer,community,KE,,,"]
            + [f"u{n},,U {n},volunteer,community,KE,,," for n in range(3, 7)]
            + ["AMINA,,Amina Again,volunteer,community,KE,,,"],
            ["line 7: username 'AMINA' is used twice in the file (first on line 2)"],
            id="duplicate-username",
        ),
        pytest.param(
            [f"u{n},,U {n},volunteer,community,KE,,," for n in range(2, 9)]
            + ["u9,,U 9,volunteer,community,Kenya,,,"],
            ["line 9: country must be a two-letter code"],
            id="country",
        ),
        pytest.param(
            [",,No Name,volunteer,community,KE,,,"],
            ["line 2: username is missing"],
            id="missing-username",
        ),
        pytest.param(
            ["new.one,manager-a@EXAMPLE.org,New One,volunteer,community,KE,,,"],
            ["line 2: e-mail 'manager-a@EXAMPLE.org' is already used by another account"],
            id="email-taken",
        ),
        pytest.param(
            ["registered,someone.else@example.org,Someone Else,volunteer,community,KE,,,"],
            [
                "line 2: username 'registered' belongs to an existing account with another "
                "e-mail address"
            ],
            id="existing-username-other-email",
        ),
        pytest.param(
            ["x,not-an-address,X,volunteer,community,KE,,,"],
            ["line 2: e-mail 'not-an-address' is not a valid address"],
            id="email-invalid",
        ),
        pytest.param(
            ["x,,X,volunteer,church,KE,,,"],
            ["line 2: sector 'church' is not one of government, ngo, community"],
            id="sector",
        ),
        pytest.param(
            ["x,,X,volunteer,community,KE,,"],
            ["line 2: expected 9 values, found 8"],
            id="short-row",
        ),
        pytest.param(
            ["amina the great,,X,volunteer,community,KE,,,"],
            ["line 2: username 'amina the great': Enter a valid username."],
            id="username-invalid",
        ),
        pytest.param(
            ["x,,X,volunteer,community,KE,,,KE-1", "y,,Y,volunteer,community,ke,,,KE-1"],
            ["line 3: worker registration number 'KE-1' is used twice in the file"],
            id="duplicate-registration-number",
        ),
        pytest.param(
            ["x,,X,volunteer,community,KE,,,KE-TAKEN"],
            ["line 2: worker registration number 'KE-TAKEN' is already registered"],
            id="registration-number-taken",
        ),
        pytest.param(
            [
                "x,x@example.org,,,community,KE,,,",
                "x@example.org,x@example.org,Y,volunteer,ngo,,,,",
            ],
            [
                "line 2: full_name is missing",
                "line 2: cadre is missing",
                "line 3: country is missing",
                "line 3: e-mail 'x@example.org' is used twice in the file (first on line 2)",
            ],
            id="every-problem-at-once",
        ),
    ],
)
def test_each_csv_problem_is_named_with_its_line_and_nothing_is_created(
    people_a, cohort, lines, expected
):
    other = UserFactory(username="registered")
    from lms.services import learner_profile_save
    from tests.factories import learner_profile_data

    learner_profile_save(user=other, **learner_profile_data(worker_registration_number="KE-TAKEN"))
    services.cohort_create(
        institution=cohort.institution, course=cohort.course, name="Earlier intake"
    ).learners.add(other)  # a learner of this institution
    before = counts()
    with pytest.raises(services.CohortImportError) as raised:
        services.cohort_learners_import(cohort=cohort, data=csv_file(*lines))
    for message in expected:
        assert any(error.startswith(message) for error in raised.value.errors), (
            message,
            raised.value.errors,
        )
    assert len(raised.value.errors) == len(expected)
    assert counts() == before
    assert not mail.outbox


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "The file is empty."),
        (HEADER.encode(), "The file has a header but no learners."),
        (b"username,full_name\nx,X", "line 1: the header lacks the columns email, cadre"),
        (
            HEADER.encode() + b",age\n" + b"x,,X,volunteer,community,KE,,,,3",
            "line 1: unknown column 'age'",
        ),
        ("username\nJosé Müller".encode("latin-1"), "The file is not UTF-8 text."),
    ],
)
def test_a_file_that_is_not_a_learner_list_is_refused(cohort, data, expected):
    with pytest.raises(services.CohortImportError) as raised:
        services.cohort_learners_import(cohort=cohort, data=data)
    assert any(error.startswith(expected) for error in raised.value.errors), raised.value.errors
    assert not cohort.learners.exists()


def test_semicolons_and_a_byte_order_mark_are_understood(cohort, rf):
    data = "\ufeff" + HEADER.replace(",", ";") + "\nbaraka;;Baraka;volunteer;community;KE;;;"
    result = services.cohort_learners_import(cohort=cohort, data=data.encode())
    assert [account.user.username for account in result.created] == ["baraka"]


def test_the_upload_page_lists_every_problem_and_creates_nothing(client, people_a, cohort):
    data = csv_file(
        "ok.one,,OK,volunteer,community,KE,,,",
        "bad.one,,Bad,nurse,community,KE,,,",
        "bad.two,,Bad,volunteer,community,Kenya,,,",
    )
    before = counts()
    client.force_login(people_a.instructor)
    page = upload(client, cohort, data).content.decode()
    assert "because of 2 problems. Nothing was changed." in page
    assert "line 3: cadre &#x27;nurse&#x27; is not one of" in page
    assert "line 4: country must be a two-letter code" in page
    assert counts() == before


@pytest.mark.parametrize("country", ["=1", "+1", "-1", "@A", "\t1", "\r1"])
def test_the_learner_list_template_writes_formula_like_values_as_text(
    client, people_a, cohort, country
):
    """The template's only value from the database is the institution's country code."""
    from lms.models import Institution

    Institution.objects.filter(pk=cohort.institution_id).update(country=country)
    client.force_login(people_a.manager)

    response = client.get(reverse("courses_cohort_import_template", args=[cohort.pk]))

    assert response["Content-Disposition"] == 'attachment; filename="learners.csv"'
    header, example = csv.reader(io.StringIO(response.content.decode(), newline=""))
    assert header == HEADER.split(",")
    assert example[:3] == ["amina.n", "", "Amina Njoroge"]
    assert example[5] == as_text(country)


# --- Existing accounts: only this institution's learners -----------------------------------

CANNOT_ENROL = "belongs to an account this institution cannot enrol"


def b_api_learner(institution_b, username: str = "mekong.learner"):
    """A learner institution B's LMS created through the API (B's key)."""
    from lms.services import learner_match_or_create

    return learner_match_or_create(
        institution=institution_b,
        external_id="kolibri-7",
        username=username,
        full_name="Sokha Chan",
        cadre="volunteer",
        sector="community",
        country="KH",
    ).identity.user


def refused_account(kind: str, *, people_a, people_b, regulator, institution_b, course):
    if kind == "superuser":
        return UserFactory(username="root", is_staff=True, is_superuser=True)
    if kind == "django-staff":
        return UserFactory(username="staffer", is_staff=True)
    if kind == "other-institutions-staff":
        return people_b.author
    if kind == "own-staff":
        return people_a.supervisor
    if kind == "regulator":
        return regulator
    if kind == "other-institutions-api-learner":
        return b_api_learner(institution_b)
    if kind == "other-institutions-api-learner-enrolled-here":
        # Enrolled in one of this institution's courses too (say they enrolled themselves):
        # still another institution's learner, whose profile this institution must not touch.
        learner = b_api_learner(institution_b)
        services.enrol(learner=learner, course=course, by_institution=True)
        return learner
    if kind == "stranger":  # signed up on the site, never enrolled with this institution
        return UserFactory(username="stranger")
    raise AssertionError(kind)


@pytest.mark.parametrize(
    "kind",
    [
        "superuser",
        "django-staff",
        "other-institutions-staff",
        "own-staff",
        "regulator",
        "other-institutions-api-learner",
        "other-institutions-api-learner-enrolled-here",
        "stranger",
    ],
)
def test_a_row_naming_an_account_that_is_not_this_institutions_learner_is_refused(
    kind, people_a, people_b, regulator, institution_b, course, cohort
):
    account = refused_account(
        kind,
        people_a=people_a,
        people_b=people_b,
        regulator=regulator,
        institution_b=institution_b,
        course=course,
    )
    profile_before = LearnerProfile.objects.filter(user=account).values().first()
    before = counts()
    data = csv_file(
        "amina.n,,Amina Njoroge,volunteer,community,KE,,,",
        f"{account.username.upper()},{account.email},Taken Over,professional,government,KE,,,",
    )

    with pytest.raises(services.CohortImportError) as raised:
        services.cohort_learners_import(cohort=cohort, data=data)

    # Only that the account cannot be enrolled: not whose it is, nor what it is.
    assert raised.value.errors == [f"line 3: username '{account.username.upper()}' {CANNOT_ENROL}"]
    # All or nothing: the good row is not imported either.
    assert counts() == before
    assert not User.objects.filter(username="amina.n").exists()
    assert not cohort.learners.exists()
    assert LearnerProfile.objects.filter(user=account).values().first() == profile_before
    assert not mail.outbox


def test_the_upload_page_refuses_other_accounts_without_naming_their_institution(
    client, people_a, people_b, regulator, institution_b, cohort
):
    """The reported attack: an instructor's file naming the superuser, another institution's
    author and another institution's API learner."""
    root = UserFactory(username="admin", is_staff=True, is_superuser=True)
    api_learner = b_api_learner(institution_b)
    data = csv_file(
        "admin,,Admin Taken,professional,government,KE,,,",
        f"{people_b.author.username},,Author Taken,professional,government,KE,,,",
        f"{api_learner.username},,Learner Taken,volunteer,community,KE,,,",
        f"{regulator.username},,Regulator Taken,professional,government,KE,,,",
    )
    before = counts()
    client.force_login(people_a.instructor)

    page = upload(client, cohort, data).content.decode()

    assert "because of 4 problems. Nothing was changed." in page
    for line, username in enumerate(
        ["admin", people_b.author.username, api_learner.username, regulator.username], start=2
    ):
        assert f"line {line}: username &#x27;{username}&#x27; {CANNOT_ENROL}" in page
    for secret in ("Mekong", "Sokha", "superuser", "regulator ", "Author</"):
        assert secret not in page
    assert counts() == before
    assert not LearnerProfile.objects.filter(user__in=[root, people_b.author, regulator]).exists()
    assert api_learner.learner_profile.full_name == "Sokha Chan"
    assert selectors.cohort_competency_grid(cohort=cohort).rows == []
    assert not Enrolment.objects.filter(course=cohort.course).exists()


@pytest.mark.parametrize("tie", ["learner-identity", "cohort", "enrolment"])
def test_an_existing_learner_of_this_institution_is_enrolled_with_their_profile_unchanged(
    tie, client, people_a, institution_a, course, cohort, django_capture_on_commit_callbacks
):
    from lms.models import LearnerIdentity
    from lms.services import learner_profile_save
    from tests.factories import learner_profile_data

    learner = UserFactory(username="wanjiru")
    learner_profile_save(user=learner, **learner_profile_data(full_name="Wanjiru Kamau"))
    without_profile = UserFactory(username="otieno")  # a learner who never filled it in
    for account in (learner, without_profile):
        if tie == "learner-identity":
            LearnerIdentity.objects.create(
                institution=institution_a, external_id=f"moodle-{account.pk}", user=account
            )
        elif tie == "cohort":
            services.cohort_create(
                institution=institution_a, course=course, name=f"Earlier {account.pk}"
            ).learners.add(account)
        else:
            services.enrol(learner=account, course=course, by_institution=True)
    profile_before = LearnerProfile.objects.filter(user=learner).values().get()
    data = csv_file(
        "WANJIRU,,Someone Else,professional,government,ZA,Gauteng,Soweto,ZA-SSW-1",
        "otieno,,Otieno From The File,volunteer,ngo,KE,,,KE-SSW-2",
    )
    client.force_login(people_a.manager)

    with django_capture_on_commit_callbacks(execute=True):
        page = upload(client, cohort, data).content.decode()

    assert "0 accounts created." in page and "2 existing accounts added." in page
    assert "their profiles were left unchanged" in page
    assert LearnerProfile.objects.filter(user=learner).values().get() == profile_before
    assert not LearnerProfile.objects.filter(user=without_profile).exists()
    assert set(cohort.learners.all()) == {learner, without_profile}
    assert set(Enrolment.objects.filter(course=course).values_list("learner", flat=True)) == {
        learner.pk,
        without_profile.pk,
    }
    assert not mail.outbox


# --- Enrolling and progress -----------------------------------------------------------------


def test_enrolling_a_cohort_twice_keeps_one_enrolment_each(client, people_a, cohort, trainee):
    learners = [trainee, people_a.trainee, UserFactory(username="third")]
    cohort.learners.add(*learners)
    services.enrol(learner=trainee, course=cohort.course, by_institution=True)  # before
    client.force_login(people_a.manager)
    url = reverse("courses_cohort_enrol", args=[cohort.pk])
    response = client.post(url, follow=True)
    assert "2 learners enrolled in “Case management for para-professionals”; 1 were enrolled " in (
        response.content.decode()
    )
    response = client.post(url, follow=True)
    assert "0 learners enrolled" in response.content.decode()
    for learner in learners:
        assert Enrolment.objects.filter(learner=learner, course=cohort.course).count() == 1
    assert ProgressEvent.objects.filter(verb="enrolled").count() == 3
    assert set(Enrolment.objects.filter(cohort=cohort).values_list("learner", flat=True)) == {
        people_a.trainee.pk,
        learners[2].pk,
    }
    # The same again through the service: still nothing new.
    assert services.cohort_enrol(cohort=cohort) == services.CohortEnrolment(0, 3)


def test_progress_table_shows_each_learner(client, people_a, cohort, trainee):
    first = ModulePage.objects.child_of(cohort.course).order_by("path").first()
    idle = UserFactory(username="idle")
    cohort.learners.add(trainee, people_a.trainee, idle)
    services.cohort_enrol(cohort=cohort, learners=[trainee, people_a.trainee])
    services.module_complete(learner=trainee, module=first, event_id=uuid.uuid4())
    client.force_login(people_a.instructor)
    page = client.get(reverse("courses_cohort", args=[cohort.pk])).content.decode()

    def row(username):
        match = re.search(rf'<tr data-learner="{username}">(.*?)</tr>', page, re.S)
        text = html.unescape(re.sub(r"<[^>]+>", " ", match.group(1)))
        return re.sub(r"\s+", " ", text).strip()  # a no-break space reads as a space

    assert row("new-trainee") == "Amina Njoroge new-trainee 1 / 2 50 % In progress"
    assert row("trainee-a") == "Trainee a trainee-a 0 / 2 0 % In progress"
    assert row("idle") == "— idle 0 / 2 0 % Not enrolled"
    assert "1 learner is not enrolled yet." in page


def test_progress_table_queries_do_not_grow_with_the_cohort(cohort, trainee, people_a):
    cohort.learners.add(trainee)
    with CaptureQueriesContext(connection) as one:
        selectors.cohort_progress(cohort=cohort)
    cohort.learners.add(people_a.trainee, *(UserFactory() for _ in range(5)))
    with CaptureQueriesContext(connection) as seven:
        rows = selectors.cohort_progress(cohort=cohort)
    assert len(rows) == 7
    assert len(seven) == len(one)


# --- Who may do what ------------------------------------------------------------------------


@pytest.fixture
def everyone(people_a, people_b, regulator):
    superuser = UserFactory(username="root", is_staff=True, is_superuser=True)
    enable_totp(superuser)
    return {
        "anonymous": None,
        "trainee": people_a.trainee,
        "supervisor": people_a.supervisor,
        "author": people_a.author,
        "instructor": people_a.instructor,
        "manager": people_a.manager,
        "manager_b": people_b.manager,
        "regulator": regulator,
        "superuser": superuser,
    }


def outcome(response) -> str:
    if response.status_code == HTTPStatus.OK:
        return "ok"
    if response.status_code == HTTPStatus.FOUND:
        return "login" if response["Location"].startswith("/accounts/login/") else "denied"
    if response.status_code in (HTTPStatus.FORBIDDEN, HTTPStatus.NOT_FOUND):
        return "denied"
    return f"status {response.status_code}"


def test_cohort_pages_are_for_the_institutions_managers_and_instructors(client, everyone, cohort):
    expected = {
        "anonymous": "login",
        "trainee": "login",
        "supervisor": "login",
        "author": "denied",
        "instructor": "ok",
        "manager": "ok",
        "manager_b": "denied",  # B's manager: A's cohort is not found
        "regulator": "denied",
        "superuser": "denied",
    }
    for url in (
        reverse("courses_cohort", args=[cohort.pk]),
        reverse("courses_cohort_import", args=[cohort.pk]),
        reverse("courses_cohort_import_template", args=[cohort.pk]),
    ):
        got = {}
        for name, user in everyone.items():
            client.logout()
            if user is not None:
                client.force_login(user)
            got[name] = outcome(client.get(url))
        assert got == expected, url
    # The list opens for B's manager too, but shows only B's cohorts.
    client.force_login(everyone["manager_b"])
    page = client.get(reverse("courses_cohorts")).content.decode()
    assert "No cohorts yet" in page and cohort.name not in page


def test_another_institutions_manager_cannot_enrol_or_fill_a_cohort(client, everyone, cohort):
    cohort.learners.add(everyone["trainee"])
    client.force_login(everyone["manager_b"])
    response = client.post(reverse("courses_cohort_enrol", args=[cohort.pk]))
    assert response.status_code == HTTPStatus.NOT_FOUND
    response = upload(client, cohort, csv_file("x,,X,volunteer,community,KE,,,"))
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert not Enrolment.objects.exists()
    assert not User.objects.filter(username="x").exists()
    assert list(cohort.learners.all()) == [everyone["trainee"]]


def test_the_cohorts_menu_item_shows_only_for_cohort_staff(client, everyone):
    for name, shown in (("manager", True), ("instructor", True), ("author", False)):
        client.force_login(everyone[name])
        page = client.get("/admin/").content.decode()
        assert (reverse("courses_cohorts") in page) is shown, name


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_managers_enrolling_a_cohort_at_once_enrol_each_learner_once(people_a, cohort, trainee):
    from tests.courses.test_concurrency import run_in_parallel

    require_postgresql()
    learners = [trainee, people_a.trainee, UserFactory(username="third")]
    cohort.learners.add(*learners)
    outcomes = run_in_parallel(lambda i: services.cohort_enrol(cohort=cohort), count=4)
    assert outcomes == [None] * 4
    for learner in learners:
        assert Enrolment.objects.filter(learner=learner, course=cohort.course).count() == 1
    assert ProgressEvent.objects.filter(verb="enrolled").count() == 3
