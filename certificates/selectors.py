"""Reads of the certificates app: the door other apps and the app's views read through.

The reads that belong to one part of the app live with it and are re-exported here:

- :mod:`certificates.criteria` — a course's rule, its criteria, whether a learner holds it;
- :mod:`certificates.verification` — the public facts of a certificate, lookups by code;
- :mod:`certificates.verification_counts` — how often each certificate was verified;
- :mod:`certificates.lifecycle` — the certificates that expire on a day.

Defined here: a learner's certificates, an institution's register and its filters.
"""

from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy

from certificates.codes import ALPHABET, code_parse
from certificates.criteria import (
    RULE_RELATED,
    CriteriaCheck,
    active_certificate,
    certificate_rule_for,
    criteria_check,
)
from certificates.lifecycle import certificates_expiring
from certificates.models import Certificate, CertificateState
from certificates.verification import (
    VERIFICATION_FIELDS,
    CodeLookup,
    certificate_for_verification,
    certificates_by_codes,
    verification_facts,
    verification_status,
)
from certificates.verification_counts import verification_counts

__all__ = [
    "RULE_RELATED",
    "VERIFICATION_FIELDS",
    "CodeLookup",
    "CriteriaCheck",
    "RegisterStatus",
    "active_certificate",
    "certificate_for_verification",
    "certificate_rule_for",
    "certificates_by_codes",
    "certificates_expiring",
    "certificates_of",
    "certificates_for_institutions",
    "criteria_check",
    "learner_certificates",
    "register_filter",
    "verification_counts",
    "verification_facts",
    "verification_status",
]


def learner_certificates(*, learner) -> QuerySet[Certificate]:
    """A learner's certificates, newest first (revoked ones too: the learner is told)."""
    return Certificate.objects.filter(learner=learner).order_by("-issued_at")


def certificates_for_institutions(*, institution_ids) -> QuerySet[Certificate]:
    return Certificate.objects.filter(institution_id__in=institution_ids).select_related(
        "learner", "course"
    )


class RegisterStatus:
    """The statuses the register filters by (a certificate's, as of a day)."""

    VALID = "valid"
    EXPIRED = "expired"
    REVOKED = "revoked"
    choices = [
        ("", gettext_lazy("Any status")),
        (VALID, gettext_lazy("Valid")),
        (EXPIRED, gettext_lazy("Expired")),
        (REVOKED, gettext_lazy("Revoked")),
    ]


def register_filter(
    certificates: QuerySet[Certificate], *, text: str = "", status: str = "", course=None, today
) -> QuerySet[Certificate]:
    """The register narrowed by what staff search for: ``text`` in the holder's name, the
    course title, the username or the code (typed any way: with or without dashes, O for 0);
    a status as of ``today``; a course."""
    text = text.strip()
    if text:
        match = (
            Q(holder_name__icontains=text)
            | Q(course_title__icontains=text)
            | Q(learner__username__iexact=text)
        )
        code = code_parse(text).code  # upper case, no dashes or spaces, O → 0, I/L → 1
        if len(code) >= 4 and all(symbol in ALPHABET for symbol in code):
            match |= Q(code__contains=code)
        certificates = certificates.filter(match)
    not_revoked = ~Q(state=CertificateState.REVOKED)
    if status == RegisterStatus.REVOKED:
        certificates = certificates.filter(state=CertificateState.REVOKED)
    elif status == RegisterStatus.EXPIRED:
        certificates = certificates.filter(not_revoked, valid_until__lt=today)
    elif status == RegisterStatus.VALID:
        certificates = certificates.filter(
            not_revoked, Q(valid_until__isnull=True) | Q(valid_until__gte=today)
        )
    if course is not None:
        certificates = certificates.filter(course=course)
    return certificates


def certificates_of(*, learner_ids=None) -> QuerySet[Certificate]:
    """Certificates of the learners ``learner_ids`` (a list or a subquery; None: everyone's,
    for a caller that narrows them itself), to count from."""
    if learner_ids is None:
        return Certificate.objects.all()
    return Certificate.objects.filter(learner_id__in=learner_ids)
