"""The register hides unlisted workers from the public; regulators see their jurisdiction."""

from http import HTTPStatus

import pytest
from django.test import override_settings
from django.urls import reverse

from lms import services as lms_services
from tests.regulation.conftest import certify, days, make_worker


@pytest.fixture
def workers(bodies, course, institution_a):
    listed = make_worker("listed", region="Nairobi", worker_registration_number="SSW-001")
    lms_services.learner_profile_save(user=listed, listed_in_register=True)
    unlisted = make_worker("unlisted", region="Nairobi", worker_registration_number="SSW-002")
    expired = make_worker("expired-listed", region="Nairobi")
    lms_services.learner_profile_save(user=expired, listed_in_register=True)
    cambodian = make_worker("cambodian-listed", country="KH", region="Phnom Penh")
    lms_services.learner_profile_save(user=cambodian, listed_in_register=True)
    certificates = {
        "listed": certify(listed, course, institution_a, valid_until=days(100)),
        "unlisted": certify(unlisted, course, institution_a),
    }
    certify(listed, course, institution_a, revoked=True)
    certify(expired, course, institution_a, valid_until=days(-1))
    certify(cambodian, course, institution_a)
    return certificates


def search(client, text, body="kenya"):
    return client.get(reverse("regulation:register_body", args=[body]), {"q": text})


def test_the_public_finds_listed_workers_by_name_number_or_code(client, workers):
    for text in ("Listed", "ssw-001", workers["listed"].code):
        page = search(client, text).content.decode()
        assert "<h2>Listed</h2>" in page, text
        assert "Case management for para-professionals" in page
    page = search(client, "Listed").content.decode()
    assert page.count('<tr><th scope="row">') == 1  # the revoked certificate is not shown
    assert "listed@example.org" not in page


def test_the_public_never_sees_unlisted_expired_or_foreign_workers(client, workers):
    for text in ("Unlisted", "SSW-002", workers["unlisted"].code, "Expired", "Cambodian"):
        page = search(client, text).content.decode()
        assert "No certified worker matches." in page, text


def test_a_regulator_of_the_body_sees_every_worker_of_its_jurisdiction(client, bodies, workers):
    client.force_login(bodies.kenya_regulator)
    page = search(client, "SSW-002").content.decode()
    assert "<h2>Unlisted</h2>" in page
    assert "No certified worker matches." in search(client, "Cambodian").content.decode()
    client.force_login(bodies.cambodia_regulator)
    assert "No certified worker matches." in search(client, "SSW-002").content.decode()


def test_the_register_api_answers_listed_workers_only(client, workers):
    response = client.get("/api/v1/register/kenya", {"q": "Listed"})
    assert response.status_code == HTTPStatus.OK
    results = response.json()["results"]
    assert [r["name"] for r in results] == ["Listed"]
    assert set(results[0]) == {"name", "cadre", "registration_number", "region", "certificates"}
    assert client.get("/api/v1/register/kenya", {"q": "SSW-002"}).json()["results"] == []
    assert client.get("/api/v1/register/nowhere", {"q": "Listed"}).status_code == 404
    assert client.get("/api/v1/register/kenya", {"q": "Li"}).status_code == 400


@override_settings(CERTIFICATE_VERIFY_RATE="2/m")
def test_register_searches_are_rate_limited_like_verification(client, workers):
    from django.core.cache import cache

    cache.clear()
    assert search(client, "Listed").status_code == HTTPStatus.OK
    assert client.get("/api/v1/register/kenya", {"q": "Listed"}).status_code == HTTPStatus.OK
    refused = search(client, "Listed")
    assert refused.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert refused["Retry-After"]
    assert client.get("/api/v1/register/kenya", {"q": "x" * 3}).status_code == 429
    cache.clear()


def test_listing_is_off_by_default_and_a_profile_setting(client, trainee):
    assert trainee.learner_profile.listed_in_register is False
    client.force_login(trainee)
    page = client.get(reverse("lms:profile")).content.decode()
    assert 'name="listed_in_register"' in page


def test_the_register_without_a_body_lists_the_bodies(client, bodies):
    page = client.get(reverse("regulation:register")).content.decode()
    assert "Kenya Council" in page and "Cambodia Council" in page
    assert search(client, "x", body="nowhere").status_code == HTTPStatus.NOT_FOUND
