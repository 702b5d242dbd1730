"""API keys: an institution's LMS authenticates with one; only its digest is stored."""

import hashlib
import re
import secrets
from datetime import timedelta

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from lms.app_settings import app_settings
from lms.caches import cache_get_in_request, cache_is_shared
from lms.models import (
    ApiKey,
    Institution,
)

API_KEY_PREFIX = "sswk"
#: The public part of a key (``api_key_create``'s ``token_hex(6)``): anything else is no key,
#: and never reaches a query (where a NUL character would be refused by PostgreSQL).
API_KEY_ID = re.compile(r"[0-9a-f]{12}")
#: How stale ``last_used_at`` may get before a request writes it again.
API_KEY_TOUCH_INTERVAL = timedelta(minutes=1)


def _api_key_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@transaction.atomic
def api_key_create(*, institution: Institution, name: str, created_by) -> tuple[ApiKey, str]:
    """Create a key and return it with its secret, which is never stored nor shown again."""
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    key = f"{API_KEY_PREFIX}_{prefix}_{secret}"
    api_key = ApiKey.objects.create(
        institution=institution,
        name=name.strip(),
        prefix=prefix,
        key_digest=_api_key_digest(key),
        created_by=created_by,
    )
    return api_key, key


@transaction.atomic
def api_key_revoke(*, api_key: ApiKey, revoked_by) -> ApiKey:
    """Revoke a key at once; revoking it again keeps the first revocation's time.

    The key leaves the cache now and again when the revocation commits (a request between
    the two may have put the not-yet-revoked row back), so no process accepts it afterwards.
    """
    ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now(), revoked_by=revoked_by
    )
    api_key.refresh_from_db(fields=["revoked_at", "revoked_by", "key_digest"])
    cache_key = api_key_cache_key(api_key.key_digest)
    cache.delete(cache_key)
    transaction.on_commit(lambda: cache.delete(cache_key))
    return api_key


#: How long an authenticated key is remembered (see :func:`api_key_authenticate`).
API_KEY_CACHE_SECONDS = 30


def api_key_cache_seconds() -> int:
    """``settings.API_KEY_CACHE_SECONDS`` if set; otherwise 30 s with a cache all processes
    share (Redis), and 0 (no caching) with a per-process one, which a revocation in another
    process could not reach."""
    configured = app_settings.API_KEY_CACHE_SECONDS
    if configured is not None:
        return configured
    return API_KEY_CACHE_SECONDS if cache_is_shared() else 0


def api_key_cache_key(digest: str) -> str:
    return f"api-key:{digest}"


def api_key_authenticate(*, key: str) -> ApiKey | None:
    """Return the active key matching ``key`` (and note its use), or None.

    The key found is kept in the cache for a few seconds under its digest (the secret itself
    is never stored), saving a query per request; :func:`api_key_revoke` deletes it, so a
    revoked key is refused at once by every process sharing the cache.
    """
    parts = key.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != API_KEY_PREFIX or not API_KEY_ID.fullmatch(parts[1]):
        return None
    digest = _api_key_digest(key)
    seconds = api_key_cache_seconds()
    cache_key = api_key_cache_key(digest)
    api_key = cache_get_in_request(cache_key) if seconds else None
    if api_key is None:
        api_key = (
            ApiKey.objects.select_related("institution")
            .filter(prefix=parts[1], revoked_at__isnull=True)
            .first()
        )
        if api_key is None or not secrets.compare_digest(api_key.key_digest, digest):
            return None
        if seconds:
            cache.set(cache_key, api_key, seconds)
    elif not secrets.compare_digest(api_key.key_digest, digest):
        return None
    now = timezone.now()
    if api_key.last_used_at is None or now - api_key.last_used_at > API_KEY_TOUCH_INTERVAL:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now
        if seconds:
            cache.set(cache_key, api_key, seconds)
    return api_key
