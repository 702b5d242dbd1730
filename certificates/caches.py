"""What each process keeps of the certificates app's data between requests.

Only which courses have an automatic certificate rule: most progress is in courses without
one, and every progress event would otherwise ask the database (docs/decisions/0019). The
copy follows :class:`lms.services.CacheGeneration`: a rule saved or deleted anywhere
(:mod:`certificates.signals`) replaces the token and this process's copy is dropped.
"""

from certificates.models import CertificateRule
from lms.services import CacheGeneration, progress_caches_enabled

#: Which courses have an automatic certificate rule, as this process last read it.
AUTOMATIC_RULES = CacheGeneration("certificate-rules")


def automatic_rules_changed() -> None:
    """A rule was saved or deleted: every process reads the courses with rules afresh."""
    AUTOMATIC_RULES.changed()


def courses_with_automatic_rules() -> frozenset[int] | None:
    """The ids of the courses with an automatic rule, from this process's copy; None when it
    keeps none (copies off: see ``lms.services.progress_caches_enabled``), and the rules
    query alone decides."""
    if not progress_caches_enabled():
        return None
    memo = AUTOMATIC_RULES.memo()
    if "courses" not in memo:
        memo["courses"] = frozenset(
            CertificateRule.objects.filter(automatic=True).values_list("course_id", flat=True)
        )
    return memo["courses"]
