"""Sign-up, log-in, profile and MFA flows, through the real allauth views."""

import re
from http import HTTPStatus

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.core import mail
from django.urls import reverse

from lms.models import LearnerProfile
from tests.factories import TEST_PASSWORD, UserFactory, learner_profile_data

pytestmark = pytest.mark.django_db
User = get_user_model()


def signup(client, **fields):
    data = {
        "username": "volunteer1",
        "email": "",
        "password1": "Strong-pass-4-kids",
        "password2": "Strong-pass-4-kids",
    }
    data.update(fields)
    return client.post(reverse("account_signup"), data)


def test_signup_without_email_then_profile(client, catalogue):
    response = signup(client)
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"].startswith(reverse("lms:profile"))
    user = User.objects.get(username="volunteer1")
    assert user.email == ""

    response = client.get(response["Location"])
    assert "Complete your profile" in response.content.decode()

    data = learner_profile_data(full_name="Grace Wanjiru", country="ke")
    response = client.post(
        reverse("lms:profile") + "?next=" + reverse("lms:dashboard"),
        {**data, "next": reverse("lms:dashboard")},
    )
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == reverse("lms:dashboard")
    profile = LearnerProfile.objects.get(user=user)
    assert (profile.full_name, profile.country, profile.cadre) == (
        "Grace Wanjiru",
        "KE",
        "para_professional",
    )
    page = client.get(reverse("lms:dashboard")).content.decode()
    assert "My learning" in page
    assert "Welcome, Grace Wanjiru" in page
    assert "You are not enrolled in any course yet." in page


def test_signup_with_email_sends_verification_through_celery(
    client, catalogue, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = signup(client, username="caseworker", email="cw@example.org")
    assert response.status_code == HTTPStatus.FOUND
    address = EmailAddress.objects.get(email="cw@example.org")
    assert address.verified is False
    # Tasks run eagerly in tests; the mail was rendered and sent by lms.tasks.send_email.
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["cw@example.org"]
    assert "confirm" in mail.outbox[0].body.lower()


def test_signup_with_email_in_use_says_so_and_creates_nothing(client, catalogue):
    """Even with ACCOUNT_PREVENT_ENUMERATION: allauth hides a taken address at sign-up only
    where every new address must be confirmed before the first log-in (not here)."""
    UserFactory(username="existing", email="taken@example.org")
    EmailAddress.objects.create(
        user=User.objects.get(username="existing"),
        email="taken@example.org",
        verified=True,
        primary=True,
    )
    response = signup(client, username="newcomer", email="taken@example.org")
    assert response.status_code == HTTPStatus.OK
    assert "A user is already registered with this email address." in response.content.decode()
    assert not User.objects.filter(username="newcomer").exists()


def test_signup_with_username_in_use_says_so(client, catalogue):
    UserFactory(username="volunteer1")
    response = signup(client)
    assert "A user with that username already exists." in response.content.decode()
    assert User.objects.filter(username="volunteer1").count() == 1


@pytest.mark.parametrize("login", ["mwangi", "mwangi@example.org"])
def test_login_by_username_or_email(client, catalogue, login):
    user = UserFactory(username="mwangi", email="mwangi@example.org")
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    response = client.post(reverse("account_login"), {"login": login, "password": TEST_PASSWORD})
    assert response.status_code == HTTPStatus.FOUND
    assert client.session["_auth_user_id"] == str(user.pk)


def test_login_with_wrong_password_is_refused(client, catalogue):
    UserFactory(username="mwangi")
    response = client.post(reverse("account_login"), {"login": "mwangi", "password": "nope"})
    assert response.status_code == HTTPStatus.OK
    assert "_auth_user_id" not in client.session
    assert "not correct" in response.content.decode()


def test_new_login_without_profile_goes_to_profile(client, catalogue):
    UserFactory(username="fresh")
    response = client.post(reverse("account_login"), {"login": "fresh", "password": TEST_PASSWORD})
    assert response["Location"].startswith(reverse("lms:profile"))
    # The dashboard, too, sends them to complete the profile first.
    assert client.get(reverse("lms:dashboard"))["Location"] == reverse("lms:profile")


def test_logout(client, trainee):
    client.force_login(trainee)
    response = client.post(reverse("account_logout"))
    assert response.status_code == HTTPStatus.FOUND
    assert "_auth_user_id" not in client.session


def test_password_change(client, trainee):
    client.force_login(trainee)
    response = client.post(
        reverse("account_change_password"),
        {
            "oldpassword": TEST_PASSWORD,
            "password1": "New-pass-4-kids",
            "password2": "New-pass-4-kids",
        },
    )
    assert response.status_code == HTTPStatus.FOUND
    trainee.refresh_from_db()
    assert trainee.check_password("New-pass-4-kids")


def test_password_reset_sends_a_link(client, catalogue, django_capture_on_commit_callbacks):
    user = UserFactory(username="forgetful", email="forgetful@example.org")
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("account_reset_password"), {"email": "forgetful@example.org"}
        )
    assert response.status_code == HTTPStatus.FOUND
    assert len(mail.outbox) == 1
    assert "/accounts/password/reset/key/" in mail.outbox[0].body


def test_password_reset_does_not_tell_whether_an_address_has_an_account(
    client, catalogue, django_capture_on_commit_callbacks
):
    user = UserFactory(username="forgetful", email="forgetful@example.org")
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    answers = {}
    for address in ("forgetful@example.org", "nobody@example.org"):
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(reverse("account_reset_password"), {"email": address})
        page = client.get(response["Location"]).content.decode()
        page = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", page)  # new each time
        answers[address] = (response.status_code, response["Location"], page)
        assert "not assigned to any user account" not in page
    assert answers["forgetful@example.org"] == answers["nobody@example.org"]
    # Each address hears about itself only: a link for the account, a note for the other.
    known, unknown = mail.outbox
    assert known.to == ["forgetful@example.org"]
    assert "/accounts/password/reset/key/" in known.body
    assert unknown.to == ["nobody@example.org"]
    assert "/accounts/password/reset/key/" not in unknown.body
    assert "do not have any record" in unknown.body


def test_profile_edit_keeps_one_profile_and_validates(client, trainee):
    client.force_login(trainee)
    page = client.get(reverse("lms:profile")).content.decode()
    assert "Your profile" in page and "Amina Njoroge" in page
    response = client.post(
        reverse("lms:profile"), learner_profile_data(country="Kenya", full_name="Changed")
    )
    assert response.status_code == HTTPStatus.OK
    assert "Enter the two-letter country code" in response.content.decode()
    assert LearnerProfile.objects.get(user=trainee).full_name == "Amina Njoroge"

    client.post(reverse("lms:profile"), learner_profile_data(cadre="volunteer", region="Kisumu"))
    assert LearnerProfile.objects.filter(user=trainee).count() == 1
    profile = LearnerProfile.objects.get(user=trainee)
    assert (profile.cadre, profile.region) == ("volunteer", "Kisumu")


def test_registration_number_is_unique_per_country(client, trainee):
    other = UserFactory(username="other")
    from lms.services import learner_profile_save

    learner_profile_save(user=other, **learner_profile_data(worker_registration_number="SW-1"))
    client.force_login(trainee)
    response = client.post(
        reverse("lms:profile"), learner_profile_data(worker_registration_number="SW-1")
    )
    assert "already has this registration number" in response.content.decode()
    assert LearnerProfile.objects.get(user=trainee).worker_registration_number == ""


def test_manager_without_mfa_is_sent_to_set_it_up(client, institution_a):
    from lms import services

    manager = UserFactory(username="new-manager")
    services.membership_grant(user=manager, institution=institution_a, role="manager")
    client.force_login(manager)
    for url in ("/admin/", reverse("lms:dashboard"), "/admin/api-keys/"):
        response = client.get(url)
        assert response.status_code == HTTPStatus.FOUND, url
        assert response["Location"] == reverse("mfa_activate_totp")
    assert client.get("/api/v1/me").status_code == HTTPStatus.FORBIDDEN
    page = client.get(reverse("mfa_activate_totp"), follow=True).content.decode()
    assert "two-factor authentication" in page.lower()


def test_manager_with_totp_must_enter_code_at_login(client, people_a):
    from allauth.mfa.totp.internal.auth import hotp_value, yield_hotp_counters_from_time

    from lms.selectors import user_has_mfa

    manager = people_a.manager
    assert user_has_mfa(user=manager)
    response = client.post(
        reverse("account_login"), {"login": manager.username, "password": TEST_PASSWORD}
    )
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == reverse("mfa_authenticate")
    assert "_auth_user_id" not in client.session  # not logged in before the code
    assert client.get("/admin/")["Location"].startswith(reverse("account_login"))

    from allauth.mfa.models import Authenticator

    secret = Authenticator.objects.get(user=manager, type="totp").data["secret"]
    code = f"{hotp_value(secret, next(yield_hotp_counters_from_time())):06d}"
    response = client.post(reverse("mfa_authenticate"), {"code": code})
    assert response.status_code == HTTPStatus.FOUND
    assert client.session["_auth_user_id"] == str(manager.pk)
    assert client.get("/admin/").status_code == HTTPStatus.OK
