"""The API's front door: key and session authentication, /me, the schema and docs."""

from http import HTTPStatus

import pytest
from django.urls import reverse

from lms import services
from lms.models import ApiKey

pytestmark = pytest.mark.django_db


@pytest.fixture
def key_a(people_a, institution_a):
    api_key, secret = services.api_key_create(
        institution=institution_a, name="Moodle", created_by=people_a.manager
    )
    return api_key, secret


def test_me_with_a_bearer_key_names_the_institution(client, key_a):
    api_key, secret = key_a
    response = client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert response.status_code == HTTPStatus.OK
    body = response.json()
    assert body["kind"] == "api_key"
    assert body["institution"]["name"] == "Ubuntu Institute"
    assert body["key_name"] == "Moodle"
    assert ApiKey.objects.get(pk=api_key.pk).last_used_at is not None


def test_me_with_the_x_api_key_header(client, key_a):
    response = client.get("/api/v1/me", HTTP_X_API_KEY=key_a[1])
    assert response.json()["institution"]["slug"] == "ubuntu"


def test_key_is_stored_only_as_a_digest(key_a):
    api_key, secret = key_a
    stored = ApiKey.objects.filter(pk=api_key.pk).values().get()
    assert secret not in str(stored)
    assert secret.startswith(f"sswk_{api_key.prefix}_")
    assert len(secret) > 50


@pytest.mark.parametrize(
    "header",
    ["Bearer nonsense", "Bearer sswk_000000000000_wrong", "Basic abc", ""],
)
def test_bad_keys_are_refused(client, key_a, header):
    response = client.get("/api/v1/me", HTTP_AUTHORIZATION=header)
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json() == {"detail": "Unauthorized"}


def test_a_tampered_key_with_a_real_prefix_is_refused(client, key_a):
    api_key, secret = key_a
    response = client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {secret[:-2]}xx")
    assert response.status_code == HTTPStatus.UNAUTHORIZED


def test_a_revoked_key_stops_working_at_once(client, key_a, people_a):
    api_key, secret = key_a
    assert client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 200
    services.api_key_revoke(api_key=api_key, revoked_by=people_a.manager)
    response = client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert response.status_code == HTTPStatus.UNAUTHORIZED


def test_me_with_a_session_lists_roles(client, people_a):
    client.force_login(people_a.author)
    body = client.get("/api/v1/me").json()
    assert body["kind"] == "user"
    assert body["username"] == "author-a"
    assert [(r["role"], r["institution"]["name"]) for r in body["roles"]] == [
        ("author", "Ubuntu Institute")
    ]


def test_me_anonymous_is_unauthorised(client, catalogue):
    assert client.get("/api/v1/me").status_code == HTTPStatus.UNAUTHORIZED


def test_openapi_schema_and_docs_are_served(client, catalogue):
    schema = client.get("/api/v1/openapi.json").json()
    assert schema["info"]["title"] == "SSW Learning API"
    assert "/api/v1/me" in schema["paths"]
    schemes = schema["components"]["securitySchemes"]
    assert {"BearerApiKey", "HeaderApiKey"} <= set(schemes)
    docs = client.get("/api/v1/docs")
    assert docs.status_code == HTTPStatus.OK
    assert "openapi.json" in docs.content.decode()


def test_manager_creates_a_key_in_the_admin_and_sees_it_once(client, people_a):
    client.force_login(people_a.manager)
    response = client.post(
        reverse("lms_api_keys"),
        {"institution": people_a.manager.memberships.get().institution_id, "name": "Kolibri"},
    )
    page = response.content.decode()
    api_key = ApiKey.objects.get(name="Kolibri")
    assert api_key.created_by == people_a.manager
    start = page.index("data-new-api-key>") + len("data-new-api-key>")
    secret = page[start : page.index("</code>", start)]
    assert client.get(reverse("lms_api_keys")).content.decode().count(secret) == 0
    client.logout()
    body = client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {secret}").json()
    assert body["key_name"] == "Kolibri"


def test_key_creation_needs_a_name(client, people_a):
    client.force_login(people_a.manager)
    response = client.post(
        reverse("lms_api_keys"),
        {"institution": people_a.manager.memberships.get().institution_id, "name": ""},
    )
    assert "This field is required." in response.content.decode()
    assert not ApiKey.objects.exists()


def test_manager_cannot_create_a_key_for_another_institution(client, people_a, institution_b):
    client.force_login(people_a.manager)
    response = client.post(reverse("lms_api_keys"), {"institution": institution_b.pk, "name": "X"})
    assert "Select a valid choice" in response.content.decode()
    assert not ApiKey.objects.exists()
