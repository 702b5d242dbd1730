"""Who may see and change what: every role, at two institutions, plus regulators and anonymous.

Each row of the matrix names a person and what they get at a URL: ``ok`` (the page opens),
``login`` (sent to log in), ``denied`` (refused by Wagtail, which sends them to the admin
home with a message, or a 403/404).
"""

from http import HTTPStatus

import pytest
from django.urls import reverse

from lms import services
from lms.models import ApiKey
from tests.conftest import enable_totp
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PEOPLE = [
    "anonymous",
    "trainee",
    "supervisor",
    "author",
    "instructor",
    "manager",
    "author_b",
    "manager_b",
    "regulator",
    "superuser",
]


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
        "author_b": people_b.author,
        "manager_b": people_b.manager,
        "regulator": regulator,
        "superuser": superuser,
    }


def outcome(response, login_prefix: str) -> str:
    if response.status_code == HTTPStatus.OK:
        return "ok"
    if response.status_code == HTTPStatus.FOUND:
        location = response["Location"]
        if location.startswith(login_prefix) or location.startswith(reverse("account_login")):
            return "login"
        return "denied"
    if response.status_code in (HTTPStatus.FORBIDDEN, HTTPStatus.NOT_FOUND):
        return "denied"
    return f"status {response.status_code}"


def check(client, everyone, url: str, expected: dict[str, str], login_prefix: str):
    got = {}
    for name in PEOPLE:
        client.logout()
        if everyone[name] is not None:
            client.force_login(everyone[name])
        got[name] = outcome(client.get(url), login_prefix)
    assert got == expected


def test_wagtail_admin_opens_for_staff_roles_only(client, everyone):
    check(
        client,
        everyone,
        "/admin/",
        {
            "anonymous": "login",
            "trainee": "login",
            "supervisor": "login",
            "author": "ok",
            "instructor": "ok",
            "manager": "ok",
            "author_b": "ok",
            "manager_b": "ok",
            "regulator": "ok",
            "superuser": "ok",
        },
        "/admin/login/",
    )


def test_editing_institution_a_page(client, everyone, institution_a):
    check(
        client,
        everyone,
        f"/admin/pages/{institution_a.root_page_id}/edit/",
        {
            "anonymous": "login",
            "trainee": "login",
            "supervisor": "login",
            "author": "ok",
            "instructor": "denied",
            "manager": "ok",
            "author_b": "denied",
            "manager_b": "denied",
            "regulator": "denied",
            "superuser": "ok",
        },
        "/admin/login/",
    )


def test_editing_institution_b_page(client, everyone, institution_b):
    check(
        client,
        everyone,
        f"/admin/pages/{institution_b.root_page_id}/edit/",
        {
            "anonymous": "login",
            "trainee": "login",
            "supervisor": "login",
            "author": "denied",
            "instructor": "denied",
            "manager": "denied",
            "author_b": "ok",
            "manager_b": "ok",
            "regulator": "denied",
            "superuser": "ok",
        },
        "/admin/login/",
    )


def test_page_explorer_starts_at_the_own_institution(
    client, everyone, institution_a, institution_b
):
    client.force_login(everyone["author"])
    response = client.get("/admin/pages/", follow=True)
    page = response.content.decode()
    assert response.redirect_chain[-1][0] == f"/admin/pages/{institution_a.root_page_id}/"
    assert "Ubuntu Institute" in page
    assert "Mekong College" not in page
    client.force_login(everyone["author_b"])
    response = client.get(f"/admin/pages/{institution_a.root_page_id}/", follow=True)
    assert "Ubuntu Institute" not in response.content.decode()


def test_an_author_cannot_publish_into_another_institution(client, everyone, institution_b):
    client.force_login(everyone["author"])
    page = institution_b.root_page.specific
    response = client.post(
        f"/admin/pages/{page.pk}/edit/",
        {
            "title": "Taken over",
            "slug": page.slug,
            "institution": institution_b.pk,
            "intro": "",
            "action-publish": "publish",
        },
    )
    assert outcome(response, "/admin/login/") == "denied"
    page.refresh_from_db()
    assert page.title == "Mekong College"


def test_django_admin_is_for_superusers_only(client, everyone):
    check(
        client,
        everyone,
        "/django-admin/",
        {
            **dict.fromkeys(PEOPLE, "login"),
            "superuser": "ok",
        },
        "/django-admin/login/",
    )


def test_api_keys_admin_is_for_managers_only(client, everyone):
    check(
        client,
        everyone,
        reverse("lms_api_keys"),
        {
            "anonymous": "login",
            "trainee": "login",
            "supervisor": "login",
            "author": "denied",
            "instructor": "denied",
            "manager": "ok",
            "author_b": "denied",
            "manager_b": "ok",
            "regulator": "denied",
            "superuser": "denied",
        },
        "/admin/login/",
    )


def test_manager_sees_and_revokes_only_own_institutions_keys(
    client, everyone, institution_a, institution_b
):
    key_a, _ = services.api_key_create(
        institution=institution_a, name="Moodle A", created_by=everyone["manager"]
    )
    key_b, _ = services.api_key_create(
        institution=institution_b, name="Kolibri B", created_by=everyone["manager_b"]
    )
    client.force_login(everyone["manager"])
    page = client.get(reverse("lms_api_keys")).content.decode()
    assert "Moodle A" in page and "Kolibri B" not in page

    response = client.post(reverse("lms_api_key_revoke", args=[key_b.pk]))
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert ApiKey.objects.get(pk=key_b.pk).revoked_at is None

    client.post(reverse("lms_api_key_revoke", args=[key_a.pk]))
    assert ApiKey.objects.get(pk=key_a.pk).revoked_at is not None


def test_learner_pages_need_a_login_and_show_only_ones_own(client, everyone):
    for url in (reverse("lms:dashboard"), reverse("lms:profile")):
        response = client.get(url)
        assert response["Location"].startswith(reverse("account_login"))
    client.force_login(everyone["trainee"])
    page = client.get(reverse("lms:profile")).content.decode()
    assert "Trainee a" in page and "Trainee b" not in page


def test_roles_are_listed_on_the_dashboard(client, everyone):
    client.force_login(everyone["supervisor"])
    page = client.get(reverse("lms:dashboard")).content.decode()
    assert "Supervisor — Ubuntu Institute" in page


def test_revoking_a_role_removes_its_wagtail_rights(client, everyone, institution_a):
    author = everyone["author"]
    services.membership_revoke(user=author, institution=institution_a, role="author")
    client.force_login(author)
    response = client.get(f"/admin/pages/{institution_a.root_page_id}/edit/")
    assert outcome(response, "/admin/login/") == "login"
    assert not author.groups.exists()


def test_granting_a_role_twice_keeps_one_membership(institution_a):
    user = UserFactory(username="twice")
    services.membership_grant(user=user, institution=institution_a, role="author")
    services.membership_grant(user=user, institution=institution_a, role="author")
    assert user.memberships.count() == 1
    assert user.groups.count() == 1
