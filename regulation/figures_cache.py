"""Figures kept for a few minutes, so a workspace page over a large jurisdiction answers at
once: counting 100,000 workers' certificates takes seconds, and the same numbers are asked
for by every regulator of the body and by their systems.

Each result is kept under its body, its filters and the body's figures version for
``REGULATION_FIGURES_SECONDS`` (default 600; 0 counts afresh at every request). The
pages say how old the numbers may be; new population figures or a new target start a new
version at once. :func:`regulation.tasks.warm_figures` (on the beat) counts the pages
without filters ahead of the regulators, so those are always kept.
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
    """Start a new version of the body's figures (its population or target changed)."""
    try:
        cache.incr(_version_key(body))
    except ValueError:
        cache.set(_version_key(body), 1, None)


def remembered(kind: str, body, parts: tuple, compute, *, fresh: bool = False):
    """``compute()``, or what it gave for the same ``kind``, body and ``parts`` a few minutes
    ago. ``fresh``: count afresh and keep that (the beat's warming)."""
    keep = seconds()
    if not keep:
        return compute()
    version = cache.get(_version_key(body), 0)
    identity = repr((kind, body.pk, body.country, tuple(body.regions), version, parts))
    key = "regulation:figures:" + hashlib.sha256(identity.encode()).hexdigest()
    found = None if fresh else cache.get(key)
    if found is None:
        found = compute()
        cache.set(key, found, keep)
    return found
