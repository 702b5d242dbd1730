"""The API's front door: key and session authentication, /me, the schema and docs."""

from http import HTTPStatus

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
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
    assert response.json() == {
        "detail": "Give an institution's API key (Authorization: Bearer … or X-API-Key), "
        "or log in.",
        "errors": [],
        "fields": [],
    }
    assert response["WWW-Authenticate"] == "Bearer"


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


def me_queries(client, secret) -> tuple[int, list[str]]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {secret}")
    return response.status_code, [q["sql"] for q in queries]


def test_a_cached_key_saves_its_query_and_a_revoked_one_is_refused_at_once(
    client, key_a, people_a, settings
):
    settings.API_KEY_CACHE_SECONDS = 30
    cache.clear()
    api_key, secret = key_a
    status, sql = me_queries(client, secret)
    assert status == HTTPStatus.OK
    assert any('FROM "lms_apikey"' in q for q in sql)
    status, sql = me_queries(client, secret)
    assert status == HTTPStatus.OK
    assert sql == []  # from the cache, and last used a moment ago
    assert secret not in str(cache.get(services.api_key_cache_key(api_key.key_digest)).__dict__)

    services.api_key_revoke(api_key=api_key, revoked_by=people_a.manager)
    status, _sql = me_queries(client, secret)
    assert status == HTTPStatus.UNAUTHORIZED


def test_a_tampered_key_is_refused_while_the_real_one_is_cached(client, key_a, settings):
    settings.API_KEY_CACHE_SECONDS = 30
    cache.clear()
    _api_key, secret = key_a
    assert me_queries(client, secret)[0] == HTTPStatus.OK
    assert me_queries(client, secret[:-2] + "xx")[0] == HTTPStatus.UNAUTHORIZED


def test_keys_are_not_cached_in_a_cache_of_one_process_only(client, key_a, settings):
    """A per-process cache (locmem) cannot hear of a revocation in another worker."""
    settings.API_KEY_CACHE_SECONDS = None
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    assert services.api_key_cache_seconds() == 0
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache"}}
    assert services.api_key_cache_seconds() == services.API_KEY_CACHE_SECONDS


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
