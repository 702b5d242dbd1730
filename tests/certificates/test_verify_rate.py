"""Verification limits as sliding windows, and bulk verification capped per request and minute.

``CERTIFICATE_VERIFY_RATE`` of 60 a minute means no 60-second span ever holds more than 60
of a client's lookups, also across the edge of a clock minute (where a counter that starts
afresh each minute let 120 through in one second). ``POST /api/v1/verify`` and the bulk page
take at most 1,000 codes a request (a 400 naming the cap) and, per API key or person,
``CERTIFICATE_BULK_VERIFY_RATE`` codes in any span of its period (a 429 with Retry-After).

The clock is the services' documented ``now`` parameter; each test runs on the per-process
cache and, where Redis is reachable, on the Redis cache (the Lua script).
"""

import random
from http import HTTPStatus

import pytest

from certificates import rate_limits, services
from tests.certificates.fixtures_verify import *  # noqa: F403
from tests.certificates.fixtures_verify import reload
from tests.certificates.test_verify import soup
from tests.certificates.test_verify_cache import redis_cache  # noqa: F401

pytestmark = pytest.mark.django_db

#: A fixed clock: 00:00:00 of a minute, in seconds since the epoch.
T0 = 1_800_000_000.0


@pytest.fixture(params=["local memory", "redis"])
def store(request, settings):
    """Run the test on each cache the limits can live in."""
    if request.param == "redis":
        request.getfixturevalue("redis_cache")
    return request.param


def lookup(now: float, client: str = "203.0.113.7", text: str = "not-a-code"):
    return services.certificate_verify(text=text, client=client, now=now)


def bearer(key) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {key[1]}"}


def bulk(client, codes, key):
    return client.post(
        "/api/v1/verify", {"codes": codes}, content_type="application/json", **bearer(key)
    )


# --- The public limit: a sliding window ------------------------------------------------------


def test_sixty_a_minute_lets_no_more_through_across_the_edge_of_a_window(store, settings):
    """A counter that starts with a client's first lookup and lasts a minute let this client
    make 119 lookups in 1.3 seconds: 59 at the end of its minute, 60 at the start of the next."""
    settings.CERTIFICATE_VERIFY_RATE = "60/m"
    assert not lookup(T0).limited
    for i in range(59):  # the rest of the allowance in the last half second of the minute
        assert not lookup(T0 + 59.5 + i / 200).limited

    after = [lookup(T0 + 60.5 + i / 200) for i in range(60)]  # just past the minute

    assert [verdict.limited for verdict in after] == [False] + [True] * 59  # T0's room only
    assert after[1].retry_after == 59  # when the first of the 59 leaves the window
    assert lookup(T0 + 119.4).limited
    assert not lookup(T0 + 119.6).limited
    assert not lookup(T0 + 119.6, client="203.0.113.8").limited  # another client


def _bursts() -> list[float]:
    """Five minutes of bursts of 1–40 lookups, 0.5–20 seconds apart (the same every run)."""
    rng = random.Random(19)
    now, times = T0, []
    while now < T0 + 300:
        times += [now + i / 100 for i in range(rng.randint(1, 40))]
        now += rng.uniform(0.5, 20)
    return times


def test_no_sixty_second_span_of_bursts_holds_more_than_sixty(store, settings):
    """The counter of one minute from a client's first lookup let 115 of these through in
    one 60-second span."""
    settings.CERTIFICATE_VERIFY_RATE = "60/m"

    allowed = [now for now in _bursts() if not lookup(now).limited]

    busiest = max(sum(1 for now in allowed if end - 60 < now <= end) for end in allowed)
    assert busiest == 60


def test_refused_lookups_do_not_push_the_wait_further(store, settings):
    settings.CERTIFICATE_VERIFY_RATE = "3/m"
    for second in range(3):
        assert not lookup(T0 + second).limited
    for second in range(3, 60):
        assert lookup(T0 + second).retry_after == 60 - second

    assert not lookup(T0 + 60.001).limited


def test_the_page_and_the_api_say_how_long_to_wait(client, certificate, settings):
    settings.CERTIFICATE_VERIFY_RATE = "2/h"
    for _ in range(2):
        client.get(f"/api/v1/verify/{certificate.code}")

    refused = client.get(f"/api/v1/verify/{certificate.code}")

    assert refused.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert int(refused["Retry-After"]) in (3599, 3600)
    assert refused.json()["detail"] == (
        "Too many verifications from your network. Wait 60 minutes, then try again."
    )


# --- Bulk: at most 1,000 codes a request --------------------------------------------------------


def test_more_codes_than_a_request_may_hold_is_a_400_naming_the_cap(client, key_a, certificate):
    response = bulk(client, [certificate.code] * 1001, key_a)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    body = response.json()
    assert body["detail"] == (
        "Too many codes: at most 1,000 codes in one request; this one has 1,001."
    )
    assert body["fields"] == [
        {"loc": ["body", "codes"], "msg": "at most 1,000 codes in one request; this one has 1,001."}
    ]
    assert reload(certificate).verification_count == 0
    assert bulk(client, [certificate.code] * 1000, key_a).status_code == HTTPStatus.OK


def test_a_smaller_rate_makes_the_cap_smaller(client, key_a, certificate, settings):
    settings.CERTIFICATE_BULK_VERIFY_RATE = "5/m"

    response = bulk(client, [certificate.code] * 6, key_a)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "at most 5 codes in one request; this one has 6" in response.json()["detail"]


def test_the_schema_documents_the_cap_and_the_limit(client):
    schema = client.get("/api/v1/openapi.json").json()
    operation = schema["paths"]["/api/v1/verify"]["post"]
    assert {"400", "403", "429"} <= set(operation["responses"])
    body = schema["components"]["schemas"]["BulkIn"]["properties"]["codes"]
    assert body["maxItems"] == 1000


# --- Bulk: codes per key (or person) and period -------------------------------------------------


def test_a_key_verifies_no_more_codes_a_minute_than_its_allowance(
    client, key_a, key_b, certificate, settings
):
    settings.CERTIFICATE_BULK_VERIFY_RATE = "5/m"
    assert bulk(client, [certificate.code] * 3, key_a).status_code == HTTPStatus.OK

    refused = bulk(client, [certificate.code] * 3, key_a)

    assert refused.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert refused["Retry-After"] == "60"
    assert refused.json()["detail"] == (
        "At most 5 codes in any 60 seconds for each API key or person; wait 60 seconds "
        "before sending these 3."
    )
    assert refused.json()["problem"] == "rate"
    assert reload(certificate).verification_count == 1  # the refused request counted nothing
    assert bulk(client, [certificate.code] * 2, key_a).status_code == HTTPStatus.OK
    assert bulk(client, [certificate.code] * 3, key_b).status_code == HTTPStatus.OK


def test_the_bulk_allowance_is_a_sliding_window_too(store, settings):
    settings.CERTIFICATE_BULK_VERIFY_RATE = "1000/m"

    def take(codes, now):
        return rate_limits.bulk_codes_allowed(verifier="key:1", codes=codes, now=now)

    assert take(1000, T0 + 59.9).allowed
    refused = take(1, T0 + 60.1)
    assert not refused.allowed and refused.retry_after == 60
    assert take(1000, T0 + 120).allowed


def test_the_bulk_page_refuses_past_a_persons_allowance(client, regulator, certificate, settings):
    settings.CERTIFICATE_BULK_VERIFY_RATE = "5/m"
    client.force_login(regulator)
    codes = "\n".join([certificate.display_code] * 3)
    assert client.post("/verify/bulk/", {"codes": codes}).status_code == HTTPStatus.OK

    refused = client.post("/verify/bulk/", {"codes": codes})

    assert refused.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert refused["Retry-After"] == "60"
    assert "At most 5 codes in any 60 seconds" in soup(refused).find(role="alert").get_text()
    assert reload(certificate).verification_count == 1


def test_a_malformed_bulk_rate_says_what_is_wrong(settings):
    from django.core.exceptions import ImproperlyConfigured

    settings.CERTIFICATE_BULK_VERIFY_RATE = "lots"
    with pytest.raises(ImproperlyConfigured, match="CERTIFICATE_BULK_VERIFY_RATE must read like"):
        rate_limits.bulk_rate()
