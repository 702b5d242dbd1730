"""The regulator API: a body's key reads its jurisdiction only, the same numbers as the pages."""

import datetime
from decimal import Decimal
from http import HTTPStatus

import pytest
from django.urls import reverse
from django.utils import timezone

from regulation import figures, services, tables
from regulation.models import FiguresCount
from tests.regulation.conftest import certify, days, enrol, make_worker


@pytest.fixture
def kenya_key(bodies):
    return services.regulator_api_key_create(
        body=bodies.kenya, name="Council register", created_by=bodies.kenya_regulator
    )[1]


@pytest.fixture
def cambodia_key(bodies):
    return services.regulator_api_key_create(
        body=bodies.cambodia, name="Ministry", created_by=bodies.cambodia_regulator
    )[1]


@pytest.fixture
def workers(bodies, course, institution_a):
    unlisted = make_worker("unlisted", region="Nairobi", worker_registration_number="KE-77")
    certify(unlisted, course, institution_a, valid_until=days(50))
    enrol(unlisted, course, completed_at=timezone.now())
    other = make_worker("kisumu", region="Kisumu")
    enrol(other, course)
    return {"unlisted": unlisted}


def get(client, url, key, **params):
    return client.get(url, params, HTTP_AUTHORIZATION=f"Bearer {key}")


def test_statistics_json_equals_the_pages_table(client, bodies, workers, kenya_key):
    body = get(client, "/api/v1/regulation/statistics", kenya_key).json()
    table = tables.statistics_table(body=bodies.kenya, filters=figures.Filters(), group="region")
    assert [
        [r["label"], r["workers"], r["enrolled"], r["trained"], r["certified"], r["valid"]]
        for r in body["rows"]
    ] + [[body["total"]["label"], *list(body["total"].values())[2:]]] == table[1:]
    assert body["expiring_in_90_days"] == 1
    assert sum(m["issued"] for m in body["months"]) == 1
    counted = FiguresCount.objects.get(country="KE").counted_at  # JSON keeps milliseconds
    as_of = datetime.datetime.fromisoformat(body["as_of"])
    assert abs(as_of - counted) < datetime.timedelta(milliseconds=1)
    by_cadre = get(
        client, "/api/v1/regulation/statistics", kenya_key, group="cadre", region="Kisumu"
    )
    assert by_cadre.json()["total"]["enrolled"] == 1


def test_a_key_reads_only_its_own_jurisdiction(client, workers, kenya_key, cambodia_key):
    found = get(client, "/api/v1/regulation/register", kenya_key, q="KE-77").json()["results"]
    assert [r["name"] for r in found] == ["Unlisted"]  # unlisted, yet the body sees it
    assert (
        get(client, "/api/v1/regulation/register", cambodia_key, q="KE-77").json()["results"] == []
    )
    assert (
        get(client, "/api/v1/regulation/statistics", cambodia_key).json()["total"]["workers"] == 0
    )
    assert get(client, "/api/v1/regulation/cpd/KE-77", cambodia_key).status_code == 404


def test_cpd_status_by_registration_number(client, bodies, workers, kenya_key, course):
    from courses.models import CoursePage

    CoursePage.objects.filter(pk=course.pk).update(cpd_hours=Decimal("4"))
    services.requirement_create(
        body=bodies.kenya,
        created_by=bodies.kenya_regulator,
        title="Annual",
        cadre="",
        hours=Decimal("10"),
        period_start=timezone.localdate() - datetime.timedelta(days=30),
        period_end=timezone.localdate() + datetime.timedelta(days=30),
    )
    status = get(client, "/api/v1/regulation/cpd/KE-77", kenya_key).json()
    assert status["name"] == "Unlisted"
    [requirement] = status["requirements"]
    assert requirement["course_hours"] == "4.0" or Decimal(requirement["course_hours"]) == 4
    assert requirement["met"] is False
    assert get(client, "/api/v1/regulation/cpd/NOPE", kenya_key).status_code == 404


def test_no_key_an_institution_key_or_a_revoked_key_is_refused(
    client, bodies, workers, kenya_key, key_a
):
    for url in ("/api/v1/regulation/statistics", "/api/v1/regulation/cpd/KE-77"):
        assert client.get(url).status_code == HTTPStatus.UNAUTHORIZED
        assert get(client, url, key_a[1]).status_code == HTTPStatus.UNAUTHORIZED
        assert get(client, url, "sswreg_000000000000_forged").status_code == 401
    assert (
        client.get("/api/v1/regulation/statistics", HTTP_X_REGULATOR_KEY=kenya_key).status_code
        == 200
    )
    key = bodies.kenya.api_keys.get()
    services.regulator_api_key_revoke(body=bodies.cambodia, key_id=key.pk)  # not theirs
    assert get(client, "/api/v1/regulation/statistics", kenya_key).status_code == 200
    services.regulator_api_key_revoke(body=bodies.kenya, key_id=key.pk)
    assert get(client, "/api/v1/regulation/statistics", kenya_key).status_code == 401


def test_a_regulator_key_opens_no_institution_endpoint(client, kenya_key):
    assert get(client, "/api/v1/me", kenya_key).status_code == HTTPStatus.UNAUTHORIZED


def test_a_backwards_date_range_is_a_400_naming_it(client, bodies, kenya_key):
    response = get(
        client,
        "/api/v1/regulation/statistics",
        kenya_key,
        date_from="2026-05-01",
        date_to="2026-01-01",
    )
    assert response.status_code == 400
    assert "after its end" in response.json()["detail"]


def test_the_operations_are_in_the_openapi_schema(client, db):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    for path in (
        "/api/v1/register/{body}",
        "/api/v1/regulation/register",
        "/api/v1/regulation/statistics",
        "/api/v1/regulation/cpd/{registration_number}",
    ):
        assert path in paths


def test_the_regulator_creates_and_revokes_keys_on_the_workspace(client, bodies, people_a):
    client.force_login(bodies.kenya_regulator)
    page = client.post(reverse("regulation:api_keys"), {"name": "Register sync"}).content.decode()
    assert "sswreg_" in page and "Copy it now" in page
    key = bodies.kenya.api_keys.get()
    client.force_login(bodies.cambodia_regulator)
    client.post(reverse("regulation:api_keys"), {"revoke": key.pk})
    key.refresh_from_db()
    assert key.revoked_at is None
    client.force_login(bodies.kenya_regulator)
    client.post(reverse("regulation:api_keys"), {"revoke": key.pk})
    key.refresh_from_db()
    assert key.revoked_at is not None
    for role in ("trainee", "supervisor", "author", "manager"):
        client.force_login(getattr(people_a, role))
        assert client.get(reverse("regulation:api_keys")).status_code == 403
