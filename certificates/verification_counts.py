"""How often each certificate was verified.

Every verification (by code, by credential file, in bulk) counts once. With a Redis cache
the counts go to Redis first (:mod:`certificates.verification_cache`) and a Celery beat task
moves them into ``Certificate.verification_count`` (:func:`verification_counts_flush`);
otherwise one UPDATE counts them in the database at once.
"""

from django.db import transaction
from django.db.models import F

from certificates import verification_cache
from certificates.models import Certificate

#: Certificates updated by one UPDATE when counts are moved into the database.
FLUSH_CHUNK = 500


def verifications_count(*, certificate_ids: list[int]) -> None:
    """Count one verification of each certificate (a certificate listed twice, once).

    With Redis, in Redis (one round trip); otherwise one UPDATE for any number of
    certificates.
    """
    certificate_ids = list(dict.fromkeys(certificate_ids))
    if not certificate_ids:
        return
    if verification_cache.redis_client() is not None:
        verification_cache.counts_add(certificate_ids=certificate_ids)
        return
    Certificate.objects.filter(pk__in=certificate_ids).update(
        verification_count=F("verification_count") + 1
    )


def verification_counts(*, certificates: list[Certificate]) -> dict[int, int]:
    """How often each certificate was verified: the stored count and those not yet stored."""
    pending = verification_cache.counts_pending(certificate_ids=[c.pk for c in certificates])
    return {c.pk: c.verification_count + pending.get(c.pk, 0) for c in certificates}


def verification_counts_flush() -> int:
    """Move the verifications counted in Redis into ``Certificate.verification_count``.

    Celery beat runs it every few seconds; it returns how many verifications it moved. One
    flush runs at a time (a lock in Redis). It takes the pending counts by renaming them, so
    verifications counted meanwhile wait for the next flush, and drops the batch only once
    the database holds it: a flush that fails or dies before that leaves the batch to the
    next one, so no count is lost. (One killed between the commit and the drop, a single
    Redis call, would leave its batch to be added again.)
    """
    if verification_cache.redis_client() is None:
        return 0  # counted in the database already
    lock = verification_cache.counts_lock()
    if lock is None:
        return 0  # another flush is at it
    try:
        batch = verification_cache.counts_take()
        if not batch:
            return 0
        _counts_add_to_database(batch)
        verification_cache.counts_taken_done()
        return sum(batch.values())
    finally:
        verification_cache.counts_unlock(lock)


def _counts_add_to_database(batch: dict[int, int]) -> None:
    """Add each certificate's count, in one transaction: one UPDATE per count and chunk."""
    by_count: dict[int, list[int]] = {}
    for certificate_id, count in batch.items():
        by_count.setdefault(count, []).append(certificate_id)
    with transaction.atomic():
        for count, ids in by_count.items():
            for start in range(0, len(ids), FLUSH_CHUNK):
                Certificate.objects.filter(pk__in=ids[start : start + FLUSH_CHUNK]).update(
                    verification_count=F("verification_count") + count
                )
