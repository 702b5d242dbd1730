"""A page's figures kept for a few minutes, so the same page asked for again answers at once.

The figures themselves are counted ahead into summary tables (:mod:`regulation.counting`);
what is kept here is what a page read from them (and CPD's "who is behind", read live). Each
result is kept under its body, its filters and the body's figures version for
``REGULATION_FIGURES_SECONDS`` (default 600; 0 keeps nothing). A new count of the body's
country, new population figures or a new target start a new version at once.
"""

import hashlib

from django.conf import settings
from django.core.cache import cache

DEFAULT_SECONDS = 600


def seconds() -> int:
    return int(getattr(settings, "REGULATION_FIGURES_SECONDS", DEFAULT_SECONDS))


def _version_key(body) -> str:
    return f"regulation:figures:version:{body.pk}"


def forget(body) -> None:
    """Start a new version of the body's figures (they were counted again, or its
    population or target changed)."""
    try:
        cache.incr(_version_key(body))
    except ValueError:
        cache.set(_version_key(body), 1, None)


def remembered(kind: str, body, parts: tuple, compute):
    """``compute()``, or what it gave for the same ``kind``, body and ``parts`` a few minutes
    ago."""
    keep = seconds()
    if not keep:
        return compute()
    version = cache.get(_version_key(body), 0)
    identity = repr((kind, body.pk, body.country, tuple(body.regions), version, parts))
    key = "regulation:figures:" + hashlib.sha256(identity.encode()).hexdigest()
    found = cache.get(key)
    if found is None:
        found = compute()
        cache.set(key, found, keep)
    return found
