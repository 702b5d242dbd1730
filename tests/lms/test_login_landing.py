"""A log-in lands where the person works: staff who build and run courses in the Wagtail
admin, learners on "My learning"; a page that asked for the log-in (``?next=``) still wins.

Through allauth's real log-in form, with the code from the authenticator for the roles that
have one (the manager, the regulator, the superuser). A regulator is a member of a regulatory
body and lands on its workspace.
"""

import time
from http import HTTPStatus

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from lms import services
from tests.conftest import enable_totp, totp_code
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db

ADMIN = "/admin/"
MY_LEARNING = "/learning/"
WORKSPACE = "/regulation/"

#: Role -> where its log-in lands.
LANDING = {
    "trainee": MY_LEARNING,
    "supervisor": MY_LEARNING,
    "author": ADMIN,
    "instructor": ADMIN,
    "manager": ADMIN,
    "regulator": WORKSPACE,  # a member of a regulatory body: their body's workspace
    "superuser": ADMIN,
}


@pytest.fixture
def superuser(db):
    user = get_user_model().objects.create_user(
        "root", "root@example.org", TEST_PASSWORD, is_staff=True, is_superuser=True
    )
    enable_totp(user)
    return user


@pytest.fixture
def person_of(people_a, regulator, superuser):
    def person(role: str):
        if role == "regulator":
            return regulator
        if role == "superuser":
            return superuser
        return getattr(people_a, role)

    return person


def log_in(client, user, next_url: str = "") -> str:
    """Log in with the password (and the authenticator's code if asked); where it lands."""
    data = {"login": user.username, "password": TEST_PASSWORD}
    url = reverse("account_login") + (f"?next={next_url}" if next_url else "")
    response = client.post(url, data)
    if response["Location"] == reverse("mfa_authenticate"):
        if 30 - time.time() % 30 < 1:  # the code would expire in flight: take the next one
            time.sleep(1.1)
        secret = user.authenticator_set.get().wrap().instance.data["secret"]
        response = client.post(reverse("mfa_authenticate"), {"code": totp_code(secret)})
    assert response.status_code == HTTPStatus.FOUND, response.content.decode()[:500]
    return response["Location"]


@pytest.mark.parametrize(("role", "landing"), LANDING.items())
def test_a_log_in_lands_where_the_role_works(client, person_of, role, landing):
    assert log_in(client, person_of(role)) == landing


@pytest.mark.parametrize("role", ["trainee", "author"])
def test_a_page_that_asked_for_the_log_in_still_comes_first(client, person_of, role):
    assert log_in(client, person_of(role), next_url="/certificates/") == "/certificates/"


def test_a_new_trainee_without_a_profile_completes_it_first(client, db):
    user = get_user_model().objects.create_user("fresh", "", TEST_PASSWORD)

    assert log_in(client, user) == reverse("lms:profile") + "?next=" + MY_LEARNING


def test_a_supervisor_who_also_authors_lands_in_the_admin(client, people_a, institution_a):
    services.membership_grant(user=people_a.supervisor, institution=institution_a, role="author")

    assert log_in(client, people_a.supervisor) == ADMIN
