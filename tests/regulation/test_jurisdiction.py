"""Regulators see their body's jurisdiction, read-only, and land on their workspace."""

import csv
import io
import time
from http import HTTPStatus

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth.models import Group
from django.urls import reverse

from regulation import services
from tests.conftest import enable_totp, totp_code
from tests.factories import TEST_PASSWORD
from tests.regulation.conftest import certify, make_worker

PAGES = [
    reverse("regulation:workspace"),
    reverse("regulation:heat_map"),
    reverse("regulation:planning"),
    reverse("regulation:export", args=["statistics", "csv"]),
    reverse("regulation:export", args=["months", "xlsx"]),
    reverse("regulation:export", args=["expiring", "csv"]),
    reverse("regulation:export", args=["heat-map", "csv"]),
    reverse("regulation:export", args=["planning", "xlsx"]),
]
POSTS = [reverse("regulation:population_upload"), reverse("regulation:target_update")]


def export_rows(client, view="statistics", query="") -> list[list[str]]:
    response = client.get(reverse("regulation:export", args=[view, "csv"]) + query)
    assert response.status_code == HTTPStatus.OK
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_a_second_body_in_another_country_sees_none_of_the_first_bodys_workers(
    client, bodies, course, institution_a
):
    for n in range(3):
        worker = make_worker(f"kenyan-{n}", country="KE", region="Nairobi")
        certify(worker, course, institution_a)
    make_worker("cambodian", country="KH", region="Phnom Penh")

    client.force_login(bodies.kenya_regulator)
    kenya = {row[0]: row for row in export_rows(client)[1:]}
    assert kenya["Nairobi"][1:] == ["3", "0", "0", "3", "3"]
    assert "Phnom Penh" not in kenya

    client.force_login(bodies.cambodia_regulator)
    cambodia = {row[0]: row for row in export_rows(client)[1:]}
    assert "Nairobi" not in cambodia
    assert cambodia["Total"][1:] == ["1", "0", "0", "0", "0"]
    page = client.get(reverse("regulation:workspace")).content.decode()
    assert "Nairobi" not in page and "Kenyan" not in page


def test_a_body_limited_to_regions_sees_only_those_regions(client, db, course, institution_a):
    coast = services.body_create(
        name="Coast Council", slug="coast", country="KE", regions=["Mombasa"]
    )
    regulator = make_worker("coast-regulator")
    services.regulator_add(user=regulator, body=coast)
    enable_totp(regulator)
    make_worker("in-mombasa", region="Mombasa")
    make_worker("in-nairobi", region="Nairobi")
    client.force_login(regulator)
    regions = [row[0] for row in export_rows(client)[1:]]
    assert regions == ["Mombasa", "Total"]


def test_a_person_works_for_one_body_only(bodies):
    with pytest.raises(ValueError, match="already works for"):
        services.regulator_add(user=bodies.kenya_regulator, body=bodies.cambodia)
    services.regulator_add(user=bodies.kenya_regulator, body=bodies.kenya)  # again: no change


@pytest.mark.parametrize("role", ["trainee", "supervisor", "author", "instructor", "manager"])
def test_people_without_a_body_are_refused_every_workspace_page(client, people_a, role):
    client.force_login(getattr(people_a, role))
    for url in PAGES:
        assert client.get(url).status_code == HTTPStatus.FORBIDDEN, url
    for url in POSTS:
        assert client.post(url).status_code == HTTPStatus.FORBIDDEN, url


def test_the_old_global_regulators_group_alone_opens_no_workspace(client, db):
    user = make_worker("old-style-regulator")
    user.groups.add(Group.objects.create(name="Regulators"))
    client.force_login(user)
    assert client.get(reverse("regulation:workspace")).status_code == HTTPStatus.FORBIDDEN


def test_anonymous_visitors_are_sent_to_log_in(client, db):
    for url in PAGES:
        response = client.get(url)
        assert response.status_code == HTTPStatus.FOUND
        assert response["Location"].startswith(reverse("account_login"))


def test_each_regulator_is_served_every_page_of_their_own_workspace(client, bodies, course):
    for user in (bodies.kenya_regulator, bodies.cambodia_regulator):
        client.force_login(user)
        for url in PAGES:
            assert client.get(url).status_code == HTTPStatus.OK, url


def test_a_regulator_lands_on_the_workspace_after_signing_in_with_totp(client, bodies):
    user = bodies.kenya_regulator
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    from allauth.mfa.models import Authenticator

    secret = Authenticator.objects.get(user=user, type="totp").wrap().instance.data["secret"]
    response = client.post(
        reverse("account_login"), {"login": user.username, "password": TEST_PASSWORD}
    )
    assert response["Location"] == reverse("mfa_authenticate")
    if 30 - time.time() % 30 < 1:
        time.sleep(1.1)
    response = client.post(reverse("mfa_authenticate"), {"code": totp_code(_decoded(secret))})
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == reverse("regulation:workspace")
    # and "My learning" never asks a regulator to complete a learner profile
    assert client.get(reverse("lms:dashboard")).status_code == HTTPStatus.OK


def _decoded(secret):
    from allauth.mfa.utils import decrypt

    return decrypt(secret)


def test_the_wagtail_admin_shows_a_regulator_the_way_to_the_workspace(client, bodies, people_a):
    client.force_login(bodies.kenya_regulator)
    assert reverse("regulation:workspace") in client.get("/admin/").content.decode()
    client.force_login(people_a.author)
    assert reverse("regulation:workspace") not in client.get("/admin/").content.decode()
