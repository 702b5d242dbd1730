"""Verification by code with the shared Redis cache: facts kept, counts moved, never wrong.

With Django's Redis cache, a verification by code is one round trip to Redis: the client's
rate limit, the certificate's public facts and the count (see
``certificates.verification_cache``). These tests run on the real Redis (a key prefix of
their own, removed afterwards) and check what a verifier sees after every change through the
services, that counts reach the database exactly (a flush that fails, flushes racing new
verifications), and that with the per-process cache of the embedded default nothing is
cached and counts go straight to the database.
"""

import threading
import uuid
from datetime import timedelta
from http import HTTPStatus

import pytest
import redis
from bs4 import BeautifulSoup
from django.db import DatabaseError, connection, connections, transaction
from django.db.models.signals import post_init
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from certificates import selectors, services, tasks, verification_cache
from certificates.models import Certificate
from tests.certificates import fixtures_verify
from tests.certificates.fixtures_verify import reload, revoke
from tests.services import IN_CI, require_redis

pytestmark = pytest.mark.django_db

# The certificates these tests verify. Not fixtures_verify's autouse ``clear_cache``: on
# Redis, ``cache.clear()`` empties the whole database, the Celery broker's queues too.
holder = fixtures_verify.holder
rule = fixtures_verify.rule
certificate = fixtures_verify.certificate
second_certificate = fixtures_verify.second_certificate


@pytest.fixture
def redis_cache(settings):
    """The default cache on the real Redis, as in production, under a prefix of this test's."""
    url = require_redis()
    prefix = f"test-verify-{uuid.uuid4().hex}"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            "KEY_PREFIX": prefix,
        }
    }
    client = redis.Redis.from_url(url)
    yield client
    keys = list(client.scan_iter(match=f"{prefix}:*"))
    if keys:
        client.delete(*keys)


def api(client, code, **extra):
    return client.get(f"/api/v1/verify/{code}", **extra)


def page(client, code, **extra):
    return client.get(reverse("certificates:verify_code", args=[code]), **extra)


def text_of(response, element_id: str) -> str:
    element = BeautifulSoup(response.content.decode(), "html.parser").find(id=element_id)
    assert element is not None, f"no #{element_id} on the page"
    return " ".join(element.get_text(" ").split())


def counts(*certificates) -> list[int]:
    """Verifications as the admin should show them: stored plus not yet moved."""
    found = selectors.verification_counts(certificates=[reload(c) for c in certificates])
    return [found[c.pk] for c in certificates]


# --- Facts kept, and cleared by every change ------------------------------------------------


def test_a_certificate_verified_again_costs_no_query_and_every_verification_counts(
    client, redis_cache, certificate, django_assert_num_queries
):
    first = api(client, certificate.display_code)
    with django_assert_num_queries(0):
        again = api(client, certificate.code.lower())
        shown = page(client, certificate.display_code)

    assert first.status_code == again.status_code == shown.status_code == HTTPStatus.OK
    assert again.json() == first.json()
    assert again.json()["status"] == "valid"
    assert again.json()["holder_name"] == "Amina Wanjiru Njoroge"
    assert text_of(shown, "certificate-status") == "Valid"
    assert text_of(shown, "holder-name") == "Amina Wanjiru Njoroge"
    assert text_of(shown, "issued-on") == text_of(page(client, certificate.code), "issued-on")
    # Counted in Redis for now; the beat task moves the counts into the database.
    assert reload(certificate).verification_count == 0
    assert counts(certificate) == [4]

    assert tasks.flush_verification_counts() == 4

    assert reload(certificate).verification_count == 4
    assert counts(certificate) == [4]
    assert services.verification_counts_flush() == 0  # nothing left: nothing added twice
    assert reload(certificate).verification_count == 4


def test_the_admin_shows_verifications_not_yet_moved_to_the_database(
    client, redis_cache, certificate, people_a
):
    api(client, certificate.display_code)
    page(client, certificate.display_code)
    assert reload(certificate).verification_count == 0

    client.force_login(people_a.manager)
    detail = client.get(reverse("certificates_certificate", args=[certificate.uuid]))
    assert detail.status_code == HTTPStatus.OK
    soup = BeautifulSoup(detail.content, "html.parser")
    verified = soup.find("dt", string="Verified").find_next_sibling("dd")
    assert verified.get_text(strip=True) == "2 times"


@pytest.mark.parametrize("on_commit", [False, True], ids=["before-commit", "after-commit"])
def test_revoking_shows_at_once_on_the_page_and_in_the_api(
    client, redis_cache, certificate, people_a, on_commit, django_capture_on_commit_callbacks
):
    assert api(client, certificate.display_code).json()["status"] == "valid"  # kept now

    with django_capture_on_commit_callbacks(execute=on_commit):
        revoke(certificate, people_a.manager, reason="The assessment was not done by the holder.")

    body = api(client, certificate.display_code).json()
    assert body["status"] == "revoked"
    assert body["revocation_reason"] == "The assessment was not done by the holder."
    assert body["revoked_on"] == timezone.localdate().isoformat()
    shown = page(client, certificate.display_code)
    assert text_of(shown, "certificate-status") == "Revoked"
    assert "The assessment was not done by the holder." in text_of(shown, "revocation")
    assert counts(certificate) == [3]


def test_re_issuing_shows_the_corrected_name_and_version_at_once(
    client, redis_cache, certificate, people_a
):
    assert api(client, certificate.display_code).json()["version"] == 1

    services.certificate_reissue(
        certificate=certificate,
        actor=people_a.manager,
        reason="Name misspelt",
        holder_name="Amina W. Njoroge",
    )

    body = api(client, certificate.display_code).json()
    assert (body["holder_name"], body["version"], body["status"]) == (
        "Amina W. Njoroge",
        2,
        "valid",
    )
    assert text_of(page(client, certificate.display_code), "holder-name") == "Amina W. Njoroge"


def test_renewing_shows_the_renewal_on_the_old_certificate_at_once(
    client, redis_cache, certificate, people_a
):
    assert api(client, certificate.display_code).json()["renewed_by"] is None

    renewal = services.certificate_renew(certificate=certificate, actor=people_a.manager)

    body = api(client, certificate.display_code).json()
    assert body["renewed_by"] == renewal.display_code
    assert body["status"] == "valid"  # valid until its own expiry
    assert api(client, renewal.display_code).json()["status"] == "valid"


def test_kept_facts_say_expired_once_the_date_has_passed(
    client, redis_cache, certificate, monkeypatch, django_assert_num_queries
):
    assert api(client, certificate.display_code).json()["status"] == "valid"
    day_after = certificate.valid_until + timedelta(days=1)
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: day_after)

    with django_assert_num_queries(0):  # from the cache: expiry is decided when read
        body = api(client, certificate.display_code).json()
        shown = page(client, certificate.display_code)

    assert body["status"] == "expired"
    assert text_of(shown, "certificate-status") == "Expired"


def test_unknown_codes_and_typos_are_not_kept_and_not_counted(client, redis_cache, certificate):
    from certificates.codes import code_generate

    unknown = code_generate()
    typo = certificate.code[:-1] + ("0" if certificate.code[-1] != "0" else "1")

    assert api(client, unknown).json()["problem"] == "unknown"
    assert api(client, typo).json()["problem"] == "typo"
    assert page(client, unknown).status_code == HTTPStatus.NOT_FOUND

    assert not list(redis_cache.scan_iter(match="*facts*"))
    assert counts(certificate) == [0]


@pytest.mark.parametrize("on_commit", [False, True], ids=["before-commit", "after-commit"])
def test_a_lookup_that_read_the_certificate_before_a_revocation_cannot_keep_what_it_read(
    client,
    redis_cache,
    certificate,
    people_a,
    on_commit,
    django_capture_on_commit_callbacks,
):
    """The lookup misses, reads the row, and the revocation lands before it keeps the facts.

    The moment is Django's ``post_init`` signal of the row the lookup read: the row is in
    memory, and its facts not kept yet.
    """
    read = []

    def revoke_once_read(sender, instance, **kwargs):
        if not read and instance.code == certificate.code:
            read.append(instance)
            with django_capture_on_commit_callbacks(execute=on_commit):
                revoke(certificate, people_a.manager, reason="Obtained by fraud")

    post_init.connect(revoke_once_read, sender=Certificate, dispatch_uid="test.revoke_once_read")
    try:
        assert api(client, certificate.display_code).json()["status"] == "valid"  # as read
    finally:
        post_init.disconnect(sender=Certificate, dispatch_uid="test.revoke_once_read")
    assert read, "the lookup did not read the certificate from the database"

    body = api(client, certificate.display_code).json()
    assert (body["status"], body["revocation_reason"]) == ("revoked", "Obtained by fraud")
    assert counts(certificate) == [2]  # both verifications counted


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_facts_kept_while_a_revocation_is_under_way_go_when_it_commits(
    redis_cache, certificate, people_a
):
    """Until the revocation commits, the certificate is valid (and may be kept as such); the
    commit clears what was kept."""
    if connection.vendor != "postgresql":
        message = "transactions in parallel are tested on PostgreSQL (DATABASE_URL=postgres://…)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    revoked, release = threading.Event(), threading.Event()

    def revoke_and_hold():
        try:
            with transaction.atomic():
                revoke(certificate, people_a.manager, reason="Obtained by fraud")
                revoked.set()
                release.wait(20)
        finally:
            connections.close_all()

    revoker = threading.Thread(target=revoke_and_hold)
    revoker.start()
    assert revoked.wait(20)
    during = services.certificate_verify(text=certificate.code, client="a")
    again = services.certificate_verify(text=certificate.code, client="a")
    release.set()
    revoker.join(20)

    assert during.facts["status"] == again.facts["status"] == "valid"  # not yet committed
    after = services.certificate_verify(text=certificate.code, client="a")
    assert after.facts["status"] == "revoked"
    assert after.facts["revocation_reason"] == "Obtained by fraud"


# --- Counts: moved into the database exactly once ---------------------------------------------


def test_counts_made_while_flushing_are_neither_lost_nor_added_twice(
    redis_cache, certificate, second_certificate
):
    per_thread, threads = 250, 4
    ids = [certificate.pk, second_certificate.pk]

    def verify_many():
        for _ in range(per_thread):
            services.verifications_count(certificate_ids=ids)

    workers = [threading.Thread(target=verify_many) for _ in range(threads)]
    for worker in workers:
        worker.start()
    moved = 0
    while any(worker.is_alive() for worker in workers):
        moved += services.verification_counts_flush()
    for worker in workers:
        worker.join(30)
    moved += services.verification_counts_flush()

    assert moved == 2 * per_thread * threads
    assert reload(certificate).verification_count == per_thread * threads
    assert reload(second_certificate).verification_count == per_thread * threads
    assert counts(certificate, second_certificate) == [per_thread * threads] * 2


def test_a_flush_that_fails_leaves_its_batch_to_the_next(
    redis_cache, certificate, second_certificate
):
    services.verifications_count(certificate_ids=[certificate.pk, second_certificate.pk])
    services.verifications_count(certificate_ids=[certificate.pk])

    def connection_lost_on_update(execute, sql, params, many, context):
        if sql.lstrip().upper().startswith("UPDATE"):
            raise DatabaseError("connection lost")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(connection_lost_on_update), pytest.raises(DatabaseError):
        services.verification_counts_flush()

    assert reload(certificate).verification_count == 0
    assert counts(certificate, second_certificate) == [2, 1]  # nothing lost
    services.verifications_count(certificate_ids=[certificate.pk])  # while it is left over

    assert services.verification_counts_flush() == 3  # the batch left over
    assert [
        reload(certificate).verification_count,
        reload(second_certificate).verification_count,
    ] == [2, 1]
    assert services.verification_counts_flush() == 1  # the one counted meanwhile
    assert reload(certificate).verification_count == 3
    assert services.verification_counts_flush() == 0
    assert counts(certificate, second_certificate) == [3, 1]


def test_one_flush_at_a_time(redis_cache, certificate):
    services.verifications_count(certificate_ids=[certificate.pk])
    held = verification_cache.counts_lock()
    assert held is not None

    assert services.verification_counts_flush() == 0  # another flush is at it
    assert reload(certificate).verification_count == 0

    verification_cache.counts_unlock(held)
    assert services.verification_counts_flush() == 1
    assert reload(certificate).verification_count == 1


def test_bulk_verification_counts_each_certificate_once(
    client, redis_cache, certificate, second_certificate, regulator
):
    client.force_login(regulator)
    codes = [certificate.display_code, certificate.code, second_certificate.display_code]

    response = client.post("/api/v1/verify", {"codes": codes}, content_type="application/json")

    assert [row["status"] for row in response.json()["results"]] == ["valid"] * 3
    assert counts(certificate, second_certificate) == [1, 1]
    services.verification_counts_flush()
    assert reload(certificate).verification_count == 1


# --- Rate limit on Redis --------------------------------------------------------------------


def test_the_rate_limit_counts_page_api_and_typos_together_and_refusals_count_nothing(
    client, redis_cache, certificate, settings
):
    settings.CERTIFICATE_VERIFY_RATE = "3/m"
    assert page(client, certificate.display_code, REMOTE_ADDR="10.0.0.1").status_code == 200
    assert api(client, "not-a-code", REMOTE_ADDR="10.0.0.1").status_code == 404
    assert api(client, certificate.display_code, REMOTE_ADDR="10.0.0.1").status_code == 200

    refused = api(client, certificate.display_code, REMOTE_ADDR="10.0.0.1")
    refused_page = page(client, certificate.display_code, REMOTE_ADDR="10.0.0.1")

    assert refused.status_code == refused_page.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert refused["Retry-After"] == refused_page["Retry-After"] == "60"
    assert refused.json()["problem"] == "rate"
    assert "Amina" not in refused_page.content.decode()
    assert counts(certificate) == [2]
    assert api(client, certificate.display_code, REMOTE_ADDR="10.0.0.2").status_code == 200


def test_clients_are_told_apart_by_address_an_ipv6_64_is_one(settings):
    factory = RequestFactory()

    def client_of(address, **meta):
        return verification_cache.client_of(factory.get("/", REMOTE_ADDR=address, **meta))

    assert client_of("2001:db8:1:2::10") == client_of("2001:db8:1:2:ffff::1") == "2001:db8:1:2::"
    assert client_of("2001:db8:1:3::10") != client_of("2001:db8:1:2::10")
    assert client_of("203.0.113.7") == "203.0.113.7" != client_of("203.0.113.8")

    settings.RATELIMIT_IP_META_KEY = "HTTP_X_FORWARDED_FOR"
    # The proxy appends the address it saw; what the client put before it is not trusted.
    assert client_of("10.0.0.1", HTTP_X_FORWARDED_FOR="1.2.3.4, 198.51.100.9") == "198.51.100.9"


def test_a_malformed_rate_setting_says_what_is_wrong(settings):
    from django.core.exceptions import ImproperlyConfigured

    settings.CERTIFICATE_VERIFY_RATE = "sixty a minute"
    with pytest.raises(ImproperlyConfigured, match="like 60/m or 100/5m"):
        verification_cache.rate()
    settings.CERTIFICATE_VERIFY_RATE = "100/5m"
    assert verification_cache.rate() == (100, 300)


# --- A per-process cache (the embedded default, the tests) ----------------------------------


def test_with_a_per_process_cache_nothing_is_kept_and_counts_go_straight_to_the_database(
    client, certificate, people_a, settings, django_assert_num_queries
):
    assert settings.CACHES["default"]["BACKEND"].endswith("LocMemCache")
    assert verification_cache.redis_client() is None

    assert api(client, certificate.display_code).json()["status"] == "valid"
    with django_assert_num_queries(2):  # the certificate, and the count
        assert api(client, certificate.display_code).json()["status"] == "valid"
    assert reload(certificate).verification_count == 2
    assert counts(certificate) == [2]
    assert services.verification_counts_flush() == 0
    assert reload(certificate).verification_count == 2

    revoke(certificate, people_a.manager)
    assert api(client, certificate.display_code).json()["status"] == "revoked"
    assert reload(certificate).verification_count == 3


def test_the_beat_moves_counts_every_few_seconds(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["certificates-flush-verification-counts"]
    assert entry["task"] == tasks.flush_verification_counts.name
    assert entry["schedule"] <= 60
