"""Every way to get a session, for every role, with and without an authenticator.

The rule: a person with an authenticator never gets a session that is served before the
code from it was accepted. The doors: allauth's log-in, Wagtail's log-in page, Django
admin's log-in page, the password-reset link (with and without allauth logging in after a
reset), log-in by code (switched off) and sign-up. Then the session that came through a
door nobody watched (``login()`` in code, a session from before the check), the session that
set its authenticator up itself, and a locked-out log-in.

These use the real pages: the password, then the code computed from the authenticator's
secret as an authenticator app does (``tests.conftest.totp_code``). ``SecondFactorClient``'s
``force_login`` shortcut is not used here; a plain ``django.test.Client`` stands for a
session that skipped the second factor.
"""

import re
import time
from dataclasses import dataclass
from http import HTTPStatus

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from lms import services
from lms.roles import InstitutionRole
from regulation import services as regulation_services
from tests.conftest import enable_totp, totp_code
from tests.factories import TEST_PASSWORD, UserFactory, learner_profile_data

pytestmark = pytest.mark.django_db

ROLES = ["trainee", "supervisor", "author", "manager", "regulator", "superuser"]
#: Roles that must set up a second factor before they are served anything.
MFA_ROLES = {"manager", "regulator", "superuser"}
NEW_PASSWORD = "Another-pass-4-kids"


@dataclass
class Person:
    role: str
    user: object
    secret: str | None  # the authenticator's secret, or None without one

    @property
    def has_authenticator(self) -> bool:
        return self.secret is not None


@pytest.fixture(autouse=True)
def _fresh_cache():
    """allauth keeps used codes and rate-limit counts in the cache: none from another test."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def make_person(institution_a):
    def make(role: str, *, with_authenticator: bool) -> Person:
        user = UserFactory(username=f"{role}-door", email=f"{role}-door@example.org")
        EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
        if role == "trainee":
            services.learner_profile_save(user=user, **learner_profile_data())
        elif role == "regulator":
            regulation_services.regulator_add(
                user=user,
                body=regulation_services.body_create(name="Council", slug="council", country="KE"),
            )
        elif role == "superuser":
            user.is_staff = user.is_superuser = True
            user.save(update_fields=["is_staff", "is_superuser"])
        else:
            services.membership_grant(
                user=user, institution=institution_a, role=InstitutionRole(role)
            )
        secret = enable_totp(user) if with_authenticator else None
        return Person(role=role, user=user, secret=secret)

    return make


@pytest.fixture(params=[True, False], ids=["with-authenticator", "without"])
def with_authenticator(request) -> bool:
    return request.param


@pytest.fixture(params=ROLES)
def person(request, make_person, with_authenticator) -> Person:
    return make_person(request.param, with_authenticator=with_authenticator)


# --- What a session gets -----------------------------------------------------------------------


def session_user_id(client) -> str | None:
    return client.session.get("_auth_user_id")


def current_code(secret: str) -> str:
    """The app's code now; near the end of its 30 s it may expire in flight: take the next."""
    if 30 - time.time() % 30 < 1:
        time.sleep(30 - time.time() % 30 + 0.05)
    return totp_code(secret)


def assert_not_served(client, person: Person) -> None:
    """No session for the person, and their data is not served: the API asks who is calling."""
    assert session_user_id(client) != str(person.user.pk)
    assert client.get("/api/v1/me").status_code == HTTPStatus.UNAUTHORIZED
    response = client.get("/admin/")
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"].startswith(reverse("account_login"))


def assert_served(client, person: Person) -> None:
    """Signed in as the person; served, except an MFA role without an authenticator, which is
    sent to set one up first."""
    assert session_user_id(client) == str(person.user.pk)
    response = client.get("/api/v1/me")
    if person.role in MFA_ROLES and not person.has_authenticator:
        assert response.status_code == HTTPStatus.FORBIDDEN
        assert "two-factor authentication" in response.json()["detail"]
        assert client.get("/admin/")["Location"] == reverse("mfa_activate_totp")
    else:
        assert response.status_code == HTTPStatus.OK
        assert response.json()["username"] == person.user.username


def pass_second_factor_if_asked(client, response, person: Person) -> None:
    """After the password: a person with an authenticator is asked for the code and is not
    signed in until it is accepted; one without is signed in at once."""
    if not person.has_authenticator:
        assert session_user_id(client) == str(person.user.pk)
        return
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == reverse("mfa_authenticate")
    assert_not_served(client, person)
    page = client.get(reverse("mfa_authenticate")).content.decode()
    assert 'name="code"' in page

    wrong = f"{(int(current_code(person.secret)) + 1) % 1_000_000:06d}"
    response = client.post(reverse("mfa_authenticate"), {"code": wrong})
    assert "Incorrect code." in response.content.decode()
    assert_not_served(client, person)

    response = client.post(reverse("mfa_authenticate"), {"code": current_code(person.secret)})
    assert response.status_code == HTTPStatus.FOUND


# --- The doors ---------------------------------------------------------------------------------


def test_allauths_login_asks_for_the_code_before_any_session(client, person):
    response = client.post(
        reverse("account_login"), {"login": person.user.username, "password": TEST_PASSWORD}
    )
    pass_second_factor_if_asked(client, response, person)
    assert_served(client, person)


def test_wagtails_login_page_leads_to_allauth_and_signs_no_one_in(client, person):
    response = client.get("/admin/login/?next=/admin/pages/")
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == reverse("account_login") + "?next=/admin/pages/"
    # Wagtail's own form, posted as it was: nobody is signed in by it.
    response = client.post(
        "/admin/login/", {"username": person.user.username, "password": TEST_PASSWORD}
    )
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"].startswith(reverse("account_login"))
    assert_not_served(client, person)
    # The admin sends everyone who is not signed in to allauth's log-in, not to Wagtail's.
    assert client.get("/admin/")["Location"] == reverse("account_login") + "?next=/admin/"


def test_django_admins_login_page_leads_to_allauth_and_signs_no_one_in(client, person):
    response = client.get("/django-admin/login/?next=/django-admin/")
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == reverse("account_login") + "?next=%2Fdjango-admin%2F"
    response = client.post(
        "/django-admin/login/", {"username": person.user.username, "password": TEST_PASSWORD}
    )
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"].startswith(reverse("account_login"))
    assert_not_served(client, person)


def reset_password(client, person: Person, django_capture_on_commit_callbacks):
    """Ask for a reset link by e-mail, follow it, set a new password; the last response."""
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("account_reset_password"), {"email": person.user.email})
    link = re.search(r"https?://[^/\s]+(/accounts/password/reset/key/\S+/)", mail.outbox[-1].body)
    response = client.get(link.group(1))
    assert response.status_code == HTTPStatus.FOUND  # to the form, the key kept in the session
    form_url = response["Location"]
    return client.post(form_url, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})


def test_a_password_reset_link_signs_no_one_in(client, person, django_capture_on_commit_callbacks):
    response = reset_password(client, person, django_capture_on_commit_callbacks)
    assert response.status_code == HTTPStatus.FOUND
    person.user.refresh_from_db()
    assert person.user.check_password(NEW_PASSWORD)
    assert_not_served(client, person)

    # The new password is a password like any other: the code is still asked for.
    client.get(response["Location"])
    response = client.post(
        reverse("account_login"), {"login": person.user.username, "password": NEW_PASSWORD}
    )
    pass_second_factor_if_asked(client, response, person)
    assert_served(client, person)


def test_logging_in_after_a_reset_still_asks_for_the_code(
    client, person, settings, django_capture_on_commit_callbacks
):
    settings.ACCOUNT_LOGIN_ON_PASSWORD_RESET = True
    response = reset_password(client, person, django_capture_on_commit_callbacks)
    pass_second_factor_if_asked(client, response, person)
    assert_served(client, person)


def test_login_by_code_is_not_a_door(client, make_person):
    make_person("manager", with_authenticator=True)
    assert client.get("/accounts/login/code/").status_code == HTTPStatus.NOT_FOUND
    assert "/accounts/login/code/" not in client.get(reverse("account_login")).content.decode()


def test_signing_up_never_opens_someone_elses_account(client, person, catalogue):
    response = client.post(
        reverse("account_signup"),
        {
            "username": person.user.username,
            "email": "",
            "password1": TEST_PASSWORD,
            "password2": TEST_PASSWORD,
        },
    )
    assert "A user with that username already exists." in response.content.decode()
    assert_not_served(client, person)

    # A new account is a new person: no role, no authenticator, nothing of theirs.
    response = client.post(
        reverse("account_signup"),
        {
            "username": "newcomer",
            "email": "",
            "password1": "Strong-pass-4-kids",
            "password2": "Strong-pass-4-kids",
        },
    )
    assert response.status_code == HTTPStatus.FOUND
    me = client.get("/api/v1/me").json()
    assert me["username"] == "newcomer" and me["roles"] == []


# --- Sessions from doors nobody watched ---------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_a_session_that_skipped_the_second_factor_is_signed_out(make_person, role):
    person = make_person(role, with_authenticator=True)
    stale = Client()
    stale.force_login(person.user)  # as Wagtail's old log-in form, or any login() in code
    response = stale.get("/learning/")
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == reverse("account_login") + "?next=/learning/"
    assert session_user_id(stale) is None
    page = stale.get(response["Location"]).content.decode()
    assert "log in again with your password and the code from your authenticator app" in page

    stale.force_login(person.user)
    response = stale.get("/api/v1/me")
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert "authenticator app" in response.json()["detail"]
    assert session_user_id(stale) is None


def test_a_password_only_login_in_code_is_signed_out_too(make_person):
    manager = make_person("manager", with_authenticator=True)
    stale = Client()
    assert stale.login(username=manager.user.username, password=TEST_PASSWORD)
    assert stale.get("/admin/api-keys/")["Location"].startswith(reverse("account_login"))
    assert session_user_id(stale) is None


def test_a_superuser_cannot_hand_out_a_session_through_django_admins_form(make_person):
    """allauth's ``secure_admin_login`` still shows Django's form to a signed-in superuser;
    whoever that form signs in without their code is signed out on the next page."""
    superuser = make_person("superuser", with_authenticator=True)
    other = UserFactory(username="root-2", is_staff=True, is_superuser=True)
    enable_totp(other)
    client = Client()
    response = client.post(
        reverse("account_login"), {"login": superuser.user.username, "password": TEST_PASSWORD}
    )
    client.post(response["Location"], {"code": current_code(superuser.secret)})
    assert client.get("/django-admin/").status_code == HTTPStatus.OK

    client.post("/django-admin/login/", {"username": "root-2", "password": TEST_PASSWORD})
    assert session_user_id(client) == str(other.pk)  # Django's form did sign them in...
    response = client.get("/django-admin/")
    assert response["Location"].startswith(reverse("account_login"))  # ...for no page at all
    assert session_user_id(client) is None


# allauth announces a new authenticator after commit, within the request: a transactional
# test sees that as a site does (rows Wagtail's migrations made are restored afterwards).
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_session_that_sets_up_the_authenticator_stays_and_others_are_signed_out(make_person):
    manager = make_person("manager", with_authenticator=False)
    other_phone = Client()
    assert other_phone.login(username=manager.user.username, password=TEST_PASSWORD)

    client = Client()
    client.post(
        reverse("account_login"), {"login": manager.user.username, "password": TEST_PASSWORD}
    )
    assert client.get("/admin/")["Location"] == reverse("mfa_activate_totp")
    # allauth asks for the password once more before it shows the secret.
    response = client.get(reverse("mfa_activate_totp"))
    assert response["Location"].startswith(reverse("account_reauthenticate"))
    client.post(response["Location"], {"password": TEST_PASSWORD})
    secret = client.get(reverse("mfa_activate_totp")).context["form"].secret
    response = client.post(reverse("mfa_activate_totp"), {"code": current_code(secret)})
    assert response.status_code == HTTPStatus.FOUND
    assert manager.user.authenticator_set.filter(type="totp").exists()

    assert client.get("/admin/").status_code == HTTPStatus.OK
    assert client.get("/api/v1/me").json()["username"] == manager.user.username
    # The other session was opened before the authenticator existed, with the password only.
    assert other_phone.get("/admin/")["Location"].startswith(reverse("account_login"))


# --- Lockouts ------------------------------------------------------------------------------------


@pytest.fixture
def login_rate_limits(settings):
    settings.ACCOUNT_RATE_LIMITS = {"login_failed": "10/m/ip,5/5m/key"}


def assert_locked_out(response) -> None:
    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert response["Retry-After"] == "300"  # the longest window: 5 minutes per account
    page = response.content.decode()
    assert "Logging in is paused" in page
    assert "too many attempts to log in with a wrong password or code" in page
    assert "Try again in 5 minutes." in page
    assert reverse("account_reset_password") in page


def test_a_locked_out_login_answers_429_with_retry_after(client, make_person, login_rate_limits):
    trainee = make_person("trainee", with_authenticator=False)
    for _ in range(5):
        response = client.post(
            reverse("account_login"), {"login": trainee.user.username, "password": "wrong"}
        )
        assert response.status_code == HTTPStatus.OK
        assert "not correct" in response.content.decode()
    response = client.post(
        reverse("account_login"), {"login": trainee.user.username, "password": "wrong"}
    )
    assert_locked_out(response)
    # Locked means locked: the right password waits too.
    response = client.post(
        reverse("account_login"), {"login": trainee.user.username, "password": TEST_PASSWORD}
    )
    assert_locked_out(response)
    assert session_user_id(client) is None


def test_a_locked_out_code_answers_429_with_retry_after(client, make_person, login_rate_limits):
    manager = make_person("manager", with_authenticator=True)
    client.post(
        reverse("account_login"), {"login": manager.user.username, "password": TEST_PASSWORD}
    )
    wrong = f"{(int(current_code(manager.secret)) + 1) % 1_000_000:06d}"
    for _ in range(5):
        response = client.post(reverse("mfa_authenticate"), {"code": wrong})
        assert response.status_code == HTTPStatus.OK
        assert "Incorrect code." in response.content.decode()
    assert_locked_out(client.post(reverse("mfa_authenticate"), {"code": wrong}))
    assert_locked_out(
        client.post(reverse("mfa_authenticate"), {"code": current_code(manager.secret)})
    )
    assert session_user_id(client) is None
