"""Reads of the certificates app: criteria, a learner's certificates, verification."""

from dataclasses import dataclass, field

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from certificates.codes import ALPHABET, code_parse
from certificates.models import Certificate, CertificateRule, CertificateState
from competencies.models import CompetencyAttainment
from courses import selectors as course_selectors
from courses.models import CoursePage, ModuleCompletion, ModulePage, Observation, QuizAttempt


@dataclass
class CriteriaCheck:
    """Whether a learner meets a course's certificate criteria, and what is missing if not."""

    missing: list[str] = field(default_factory=list)

    @property
    def met(self) -> bool:
        return not self.missing


#: What issuing reads of a rule besides the rule: joined in, not fetched one by one.
RULE_RELATED = ("course", "course__framework", "template", "template__institution")


def certificate_rule_for(*, course: CoursePage) -> CertificateRule | None:
    return CertificateRule.objects.select_related(*RULE_RELATED).filter(course=course).first()


def criteria_check(*, rule: CertificateRule, learner) -> CriteriaCheck:
    """Check each criterion the institution set for the course, naming what is missing."""
    course = rule.course
    check = CriteriaCheck()
    modules = list(
        ModulePage.objects.child_of(course)
        .live()
        .annotate(
            completed=Exists(
                ModuleCompletion.objects.filter(learner=learner, module_id=OuterRef("pk"))
            )
        )
        .order_by("path")
    )
    if not modules:
        check.missing.append(_("The course has no published modules."))
        return check
    if rule.require_modules:
        for module in modules:
            if module.is_required and not module.completed:
                check.missing.append(_("Module not complete: %s") % module.title)
    if rule.require_quizzes:
        quiz_modules = [m for m in modules if m.quiz_block() is not None]
        passed = set(
            QuizAttempt.objects.filter(
                learner=learner, module__in=[m.pk for m in quiz_modules], passed=True
            ).values_list("module_id", flat=True)
        )
        for module in quiz_modules:
            if module.pk not in passed:
                check.missing.append(_("Quiz not passed: %s") % module.title)
    if rule.require_competencies or rule.require_observations:
        mappings = course_selectors.course_competencies(course=course)
        ids = [m.competency_id for m in mappings]
        if rule.require_competencies:
            reached = dict(
                CompetencyAttainment.objects.filter(
                    learner=learner, competency_id__in=ids
                ).values_list("competency_id", "level__order")
            )
            for mapping in mappings:
                if reached.get(mapping.competency_id, -1) < mapping.target_level.order:
                    check.missing.append(
                        _("Competency not yet attained at %(level)s: %(code)s %(title)s")
                        % _competency_words(mapping)
                    )
        if rule.require_observations:
            observed = {}
            for competency_id, order in Observation.objects.filter(
                learner=learner,
                competency_id__in=ids,
                institution_id=rule.template.institution_id,
            ).values_list("competency_id", "level__order"):
                observed[competency_id] = max(order, observed.get(competency_id, -1))
            for mapping in mappings:
                if observed.get(mapping.competency_id, -1) < mapping.target_level.order:
                    check.missing.append(
                        _("No supervisor sign-off at %(level)s: %(code)s %(title)s")
                        % _competency_words(mapping)
                    )
    return check


def _competency_words(mapping) -> dict:
    competency = mapping.competency
    return {
        "level": mapping.target_level.name,
        "code": competency.code,
        "title": competency.abbreviated_statement or competency.full_statement,
    }


def active_certificate(*, learner, rule: CertificateRule) -> Certificate | None:
    return Certificate.objects.filter(
        learner=learner,
        course_id=rule.course_id,
        course_version=rule.course_version,
        state=CertificateState.ACTIVE,
    ).first()


def learner_certificates(*, learner) -> QuerySet[Certificate]:
    """A learner's certificates, newest first (revoked ones too: the learner is told)."""
    return Certificate.objects.filter(learner=learner).order_by("-issued_at")


def certificates_for_institutions(*, institution_ids) -> QuerySet[Certificate]:
    return Certificate.objects.filter(institution_id__in=institution_ids).select_related(
        "learner", "course"
    )


def certificates_expiring(*, on) -> QuerySet[Certificate]:
    """Active certificates whose validity ends on the given day (reminders are sent for these)."""
    return Certificate.objects.filter(
        Q(state=CertificateState.ACTIVE), valid_until=on
    ).select_related("learner")


@dataclass(frozen=True)
class CodeLookup:
    """What a typed code turned out to be."""

    text: str
    code: str = ""  # canonical, when the code reads as one of ours
    problem: str = ""  # "typo" (fails the check symbol or wrong length) or "unknown" or ""
    certificate: Certificate | None = None

    @property
    def message(self) -> str:
        if self.problem == "typo":
            return _(
                "This is not a valid certificate code: a symbol seems mistyped or missing. "
                "Check it against the certificate (17 letters and digits, e.g. "
                "7KQ4-M2XD-9HRT-W3ZP-6)."
            )
        if self.problem == "unknown":
            return _("The code is well formed, but no certificate with this code was issued here.")
        return ""


def certificates_by_codes(texts: list[str]) -> list[CodeLookup]:
    """Many codes in one query (bulk verification)."""
    parsed = [code_parse(text) for text in texts]
    found = {
        certificate.code: certificate
        for certificate in Certificate.objects.filter(code__in={p.code for p in parsed if p.ok})
    }
    results = []
    for text, code in zip(texts, parsed, strict=True):
        if not code.ok:
            results.append(CodeLookup(text=text, problem="typo"))
        elif code.code not in found:
            results.append(CodeLookup(text=text, code=code.code, problem="unknown"))
        else:
            results.append(CodeLookup(text=text, code=code.code, certificate=found[code.code]))
    return results


#: What the public facts are made of (a lookup by code reads only these columns).
VERIFICATION_FIELDS = (
    "code",
    "state",
    "holder_name",
    "course_title",
    "course_version",
    "institution_name",
    "issued_at",
    "valid_until",
    "revoked_at",
    "revocation_reason",
    "version",
    "framework_title",
    "framework_version",
    "competencies",
)


def certificate_for_verification(*, code: str) -> Certificate | None:
    """The certificate with this canonical code, its public columns only."""
    certificates = Certificate.objects.only(*VERIFICATION_FIELDS).filter(code=code)
    return next(iter(certificates.order_by()[:1]), None)


def verification_status(facts: dict, *, today=None) -> str:
    """valid / expired / revoked, from facts that may have been kept for a while.

    A revocation is for good; expiry is decided now, from the date the facts carry.
    """
    if facts["status"] == "revoked":
        return "revoked"
    today = today or timezone.localdate()
    valid_until = facts["valid_until"]
    return "expired" if valid_until and valid_until < today.isoformat() else "valid"


def verification_counts(*, certificates: list[Certificate]) -> dict[int, int]:
    """How often each certificate was verified: the stored count and those not yet stored.

    With Redis, verifications are counted there first and moved into
    ``verification_count`` by a beat task (:func:`certificates.services.verification_counts_flush`).
    """
    from certificates import verification_cache

    pending = verification_cache.counts_pending(certificate_ids=[c.pk for c in certificates])
    return {c.pk: c.verification_count + pending.get(c.pk, 0) for c in certificates}


def verification_facts(certificate: Certificate) -> dict:
    """What anyone may learn about a certificate: nothing personal beyond the printed name."""
    renewal = getattr(certificate, "renewal", None) if certificate.state == "renewed" else None
    return {
        "code": certificate.display_code,
        "status": certificate.verification_status,
        "holder_name": certificate.holder_name,
        "course": certificate.course_title,
        "course_version": certificate.course_version,
        "institution": certificate.institution_name,
        "issued_on": timezone.localdate(certificate.issued_at).isoformat(),
        "valid_until": certificate.valid_until.isoformat() if certificate.valid_until else None,
        "revoked_on": timezone.localdate(certificate.revoked_at).isoformat()
        if certificate.revoked_at
        else None,
        "revocation_reason": certificate.revocation_reason or None,
        "version": certificate.version,
        "renewed_by": renewal.display_code if renewal else None,
        "framework": {
            "title": certificate.framework_title,
            "version": certificate.framework_version,
        }
        if certificate.framework_title
        else None,
        "competencies": [
            {
                "code": item["code"],
                "statement": item["statement"],
                "level": item["level"],
                "uri": item["uri"],
            }
            for item in certificate.competencies
        ],
    }


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
