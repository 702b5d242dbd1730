"""Writes of the certificates app: issue, render, e-mail, revoke, re-issue, renew, remind.

Issuing is atomic and idempotent: :func:`certificate_issue` returns the learner's active
certificate of the course version if there is one, and a partial unique constraint stops a
second one when requests race. The certificate is *recorded* in the transaction that met the
criteria and rendered (PDF + signed credential) by a Celery task enqueued on commit; if the
broker is away, the certificate stays ``pending`` and :func:`certificates_pending_sweep`
(Celery beat) renders it later — nothing is lost.
"""

import logging
import secrets
from dataclasses import dataclass, replace
from datetime import date, timedelta

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import F
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from certificates import selectors, verification_cache
from certificates.codes import code_generate, code_parse
from certificates.models import (
    BulkIssue,
    BulkIssueStatus,
    Certificate,
    CertificateEvent,
    CertificateRule,
    CertificateState,
    EventKind,
    ExpiryReminder,
    IssueMethod,
    RenderStatus,
)
from courses import selectors as course_selectors
from courses.models import CoursePage
from lms.models import WebhookEvent
from lms.services import CacheGeneration, progress_caches_enabled, webhooks_dispatch

logger = logging.getLogger(__name__)

#: Bits of one BitstringStatusList (the spec's minimum, for herd privacy).
STATUS_LIST_SIZE = 131072


class CertificateError(Exception):
    """A certificate action that cannot be done; the message says why."""

    def __init__(self, message: str, *, status: int = 400):
        super().__init__(message)
        self.status = status


def site_url(path: str) -> str:
    # A host site may name its address only in Wagtail's setting (the apps are pluggable).
    base = getattr(settings, "SITE_BASE_URL", "") or getattr(settings, "WAGTAILADMIN_BASE_URL", "")
    return (base or "http://localhost").rstrip("/") + path


def verification_url(certificate: Certificate) -> str:
    return site_url(reverse("certificates:verify_code", args=[certificate.display_code]))


# --- Issue ------------------------------------------------------------------------------------


def holder_name_for(learner) -> str:
    profile = getattr(learner, "learner_profile", None)
    name = (profile.full_name if profile else "") or learner.get_full_name()
    return name.strip() or learner.get_username()


def _frozen_competencies(*, course: CoursePage, learner) -> list[dict]:
    """The competencies the certificate attests, with the level reached (at least the target)."""
    from competencies.models import CompetencyAttainment

    mappings = course_selectors.course_competencies(course=course)
    reached = {
        row.competency_id: row.level
        for row in CompetencyAttainment.objects.filter(
            learner=learner, competency_id__in=[m.competency_id for m in mappings]
        ).select_related("level")
    }
    base = site_url("/ims/case/v1p1")
    frozen = []
    for mapping in mappings:
        item = mapping.competency
        level = reached.get(item.pk)
        if level is None or level.order < mapping.target_level.order:
            level = mapping.target_level
        frozen.append(
            {
                "code": item.code,
                "statement": item.abbreviated_statement or item.full_statement,
                "identifier": str(item.identifier),
                "uri": item.uri or f"{base}/CFItems/{item.identifier}",
                "level": level.name,
                "level_order": level.order,
                "framework": item.framework.title,
                "framework_version": item.framework.version,
            }
        )
    return frozen


def _new_status_index() -> int:
    """A random free position in the status lists (random, so an index says nothing)."""
    # The highest id bounds the number of certificates, at the cost of one index look-up
    # (a COUNT would scan the table on every issue).
    taken = Certificate.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    lists = 1 + taken // (STATUS_LIST_SIZE // 2)
    return secrets.randbelow(STATUS_LIST_SIZE * lists)


def _clashed_on_drawn_value(error: IntegrityError) -> bool:
    """Whether an insert failed on the randomly drawn code or status index (astronomically
    rare: draw again) rather than on the one-active-certificate constraint."""
    return "code" in str(error) or "status_list_index" in str(error)


def _event(certificate, kind, *, actor=None, reason: str = "", **data) -> None:
    CertificateEvent.objects.create(
        certificate=certificate, kind=kind, actor=actor, reason=reason, data=data
    )


@dataclass(frozen=True)
class Issued:
    certificate: Certificate
    created: bool


def certificate_issue(
    *,
    learner,
    course: CoursePage,
    method: str = IssueMethod.AUTOMATIC,
    actor=None,
    override_reason: str = "",
    renews: Certificate | None = None,
) -> Issued:
    """Issue the learner's certificate of the course, once; enqueue rendering on commit.

    Idempotent: returns the active certificate of this course version if the learner holds
    one. Checks the criteria unless ``override_reason`` says why the institution issues
    without them (recorded in the audit log). Raises :class:`CertificateError` with what is
    missing otherwise, and records nothing.
    """
    rule = selectors.certificate_rule_for(course=course)
    if rule is None:
        raise CertificateError(_("This course does not award a certificate."), status=404)
    existing = selectors.active_certificate(learner=learner, rule=rule)
    if existing is not None:
        return Issued(existing, created=False)
    if not override_reason:
        check = selectors.criteria_check(rule=rule, learner=learner)
        if not check.met:
            raise CertificateError(_("The criteria are not met yet: %s") % "; ".join(check.missing))
    # One atomic block (no savepoint inside it), drawn again on the rare clash of a code.
    for _attempt in range(8):
        try:
            with transaction.atomic():
                certificate = _certificate_create(
                    learner=learner, rule=rule, method=method, actor=actor, renews=renews
                )
                _event(
                    certificate,
                    EventKind.ISSUED,
                    actor=actor,
                    reason=override_reason,
                    method=method,
                    criteria_overridden=bool(override_reason),
                )
            break
        except IntegrityError as error:
            if _clashed_on_drawn_value(error):
                continue
            # A parallel request issued it first: one certificate stands.
            existing = selectors.active_certificate(learner=learner, rule=rule)
            if existing is None:
                raise
            return Issued(existing, created=False)
    else:
        raise CertificateError(_("Could not draw a free certificate code; try again."), status=503)
    webhooks_dispatch(
        institution=certificate.institution_id,
        event=WebhookEvent.CERTIFICATE_ISSUED,
        payload={
            "learner": {"id": learner.pk, "username": learner.get_username()},
            "certificate": {
                "code": certificate.display_code,
                "course": {"id": course.pk, "title": certificate.course_title},
                "issued_at": certificate.issued_at.isoformat(),
                "valid_until": certificate.valid_until.isoformat()
                if certificate.valid_until
                else None,
                "verification_url": verification_url(certificate),
            },
        },
    )
    render_enqueue(certificate_id=certificate.pk, email=True)
    return Issued(certificate, created=True)


def _certificate_create(*, learner, rule: CertificateRule, method, actor, renews) -> Certificate:
    course = rule.course
    template = rule.template
    now = timezone.now()
    valid_until = (
        timezone.localdate(now) + relativedelta(months=rule.validity_months)
        if rule.validity_months
        else None
    )
    framework = course.framework
    return Certificate.objects.create(
        code=code_generate(),
        status_list_index=_new_status_index(),
        learner=learner,
        course=course,
        course_version=rule.course_version,
        institution_id=template.institution_id,
        template=template,
        method=method,
        holder_name=holder_name_for(learner),
        course_title=course.title,
        institution_name=template.institution.name,
        cpd_hours=course.cpd_hours,
        framework_title=framework.title if framework else "",
        framework_version=framework.version if framework else "",
        framework_identifier=str(framework.identifier) if framework else "",
        competencies=_frozen_competencies(course=course, learner=learner),
        language=template.language,
        issued_at=now,
        valid_until=valid_until,
        renews=renews,
    )


def certificate_issue_if_eligible(*, learner_id: int, course_id: int | None) -> list[Certificate]:
    """Issue automatically whatever certificates the learner has just earned.

    Called inside the progress transaction (``courses.signals.learning_changed_many``), so
    the certificate commits or rolls back with the progress that earned it. ``course_id``
    None means any course the learner is enrolled in (an observation may serve several).
    """
    return certificates_issue_if_eligible_many(pairs=[(learner_id, course_id)])


#: Which courses have an automatic certificate rule, as each process last read it: most
#: progress is in courses without one, and every event asked (docs/decisions/0007).
AUTOMATIC_RULES = CacheGeneration("certificate-rules")


@receiver(post_save, sender=CertificateRule, dispatch_uid="certificates.rules_changed_on_save")
@receiver(post_delete, sender=CertificateRule, dispatch_uid="certificates.rules_changed_on_delete")
def _automatic_rules_changed(sender, **kwargs) -> None:
    AUTOMATIC_RULES.changed()


def _courses_with_automatic_rules() -> frozenset[int] | None:
    """The ids of the courses with an automatic rule, from this process's copy; None when it
    keeps none (copies off), and the rules query alone decides."""
    if not progress_caches_enabled():
        return None
    memo = AUTOMATIC_RULES.memo()
    if "courses" not in memo:
        memo["courses"] = frozenset(
            CertificateRule.objects.filter(automatic=True).values_list("course_id", flat=True)
        )
    return memo["courses"]


def certificates_issue_if_eligible_many(
    *, pairs: list[tuple[int, int | None]]
) -> list[Certificate]:
    """:func:`certificate_issue_if_eligible` for many (learner, course) pairs at once.

    One query finds the automatic rules of all the pairs' courses (a batch of progress from
    another LMS names a few courses for hundreds of learners), none when the process's copy
    of :data:`AUTOMATIC_RULES` says that no course of theirs has one (most have none); only
    the pairs whose course has one are checked, one by one, in order.
    """
    from django.contrib.auth import get_user_model
    from django.db.models import Q

    from courses.models import Enrolment

    pairs = list(dict.fromkeys(pairs))
    if not pairs:
        return []
    course_ids = {course_id for _learner, course_id in pairs if course_id is not None}
    anywhere = {learner_id for learner_id, course_id in pairs if course_id is None}
    with_rules = _courses_with_automatic_rules()
    if with_rules is not None:
        course_ids &= with_rules
        if not course_ids and not anywhere:
            return []
    condition = Q(course_id__in=course_ids)
    if anywhere:
        condition |= Q(
            course_id__in=Enrolment.objects.filter(learner_id__in=anywhere).values("course_id")
        )
    rules_of: dict[int, list[CertificateRule]] = {}
    position: dict[int, int] = {}  # the rules' own ordering, kept when a pair spans courses
    for rule in CertificateRule.objects.filter(condition, automatic=True).select_related(
        *selectors.RULE_RELATED
    ):
        rules_of.setdefault(rule.course_id, []).append(rule)
        position[rule.pk] = len(position)
    if not rules_of:
        return []
    enrolled: dict[int, list[int]] = {}
    if anywhere:
        for learner_id, course_id in Enrolment.objects.filter(
            learner_id__in=anywhere, course_id__in=list(rules_of)
        ).values_list("learner_id", "course_id"):
            enrolled.setdefault(learner_id, []).append(course_id)
    learners = get_user_model().objects.in_bulk(
        {
            learner_id
            for learner_id, course_id in pairs
            if (course_id in rules_of) or (course_id is None and enrolled.get(learner_id))
        }
    )
    issued = []
    for learner_id, course_id in pairs:
        courses = [course_id] if course_id is not None else enrolled.get(learner_id, [])
        rules = sorted(
            (rule for course in courses for rule in rules_of.get(course, [])),
            key=lambda rule: position[rule.pk],
        )
        learner = learners.get(learner_id)
        for rule in rules:
            if selectors.active_certificate(learner=learner, rule=rule) is not None:
                continue
            if not selectors.criteria_check(rule=rule, learner=learner).met:
                continue
            issued.append(certificate_issue(learner=learner, course=rule.course).certificate)
    return issued


# --- Render -----------------------------------------------------------------------------------


def render_enqueue(*, certificate_id: int, email: bool = False) -> None:
    """Enqueue rendering after commit. With the broker away, the sweep renders it later."""
    from certificates.tasks import render_certificate

    def send():
        try:
            render_certificate.apply_async(
                args=[certificate_id],
                kwargs={"email": email},
                retry=True,
                retry_policy={"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5},
            )
        except Exception:  # noqa: BLE001 - the broker is down: the pending sweep catches up
            logger.warning(
                "Could not enqueue rendering of certificate %s; the sweep will render it.",
                certificate_id,
                exc_info=True,
            )

    transaction.on_commit(send)


def certificate_pdf_bytes(*, certificate: Certificate) -> bytes:
    """The certificate's PDF, rendered by WeasyPrint from the template's layout."""
    from certificates.rendering import render_pdf

    return render_pdf(certificate=certificate, verification_url=verification_url(certificate))


def certificate_render(*, certificate_id: int) -> Certificate | None:
    """Render the current version's PDF and signed credential, and store both. Idempotent.

    Safe to run twice or in parallel (a retried task, a worker killed mid-render): the work
    is done outside the row lock, then the first to finish stores its result under the
    version's own file name and the others find the version already rendered.
    """
    from certificates.credentials import credential_build_signed

    certificate = (
        Certificate.objects.select_related(
            # The images too: the renderer keeps their bytes, but needs the rows to know them.
            "template__logo",
            "template__signature",
            "institution__logo",
            "course",
            "learner",
        )
        .filter(pk=certificate_id)
        .first()
    )
    if certificate is None or certificate.is_ready:
        return certificate
    version = certificate.version
    pdf = certificate_pdf_bytes(certificate=certificate)
    credential = credential_build_signed(certificate=certificate)
    name = f"certificates/{certificate.uuid}/{certificate.code}-v{version}.pdf"
    with transaction.atomic():
        locked = Certificate.objects.select_for_update().get(pk=certificate_id)
        if locked.is_ready or locked.version != version:
            return locked  # someone else stored it, or a re-issue moved on: theirs stands
        if default_storage.exists(name):
            default_storage.delete(name)  # a half-finished earlier attempt
        stored = default_storage.save(name, ContentFile(pdf))
        Certificate.objects.filter(pk=certificate_id).update(
            pdf=stored,
            credential=credential,
            render_status=RenderStatus.READY,
            rendered_version=version,
            render_error="",
        )
        _event(locked, EventKind.RENDERED, version=version, pdf=stored)
    certificate.pdf = stored
    certificate.credential = credential
    certificate.render_status = RenderStatus.READY
    certificate.rendered_version = version
    certificate.render_error = ""
    return certificate


def certificate_render_failed(*, certificate_id: int, error: str) -> None:
    """The task gave up: say so, so that the institution sees it and the sweep retries."""
    with transaction.atomic():
        certificate = Certificate.objects.select_for_update().filter(pk=certificate_id).first()
        if certificate is None or certificate.is_ready:
            return
        Certificate.objects.filter(pk=certificate_id).update(
            render_status=RenderStatus.FAILED, render_error=error[:2000]
        )
        _event(certificate, EventKind.RENDER_FAILED, reason=error[:2000])


def certificates_pending_sweep(*, older_than: timedelta = timedelta(minutes=2)) -> int:
    """Enqueue rendering of certificates still not rendered a while after issue or re-issue."""
    from django.db.models import F

    from certificates.tasks import render_certificate

    cutoff = timezone.now() - older_than
    stale = Certificate.objects.exclude(
        render_status=RenderStatus.READY, rendered_version=F("version")
    ).filter(created_at__lt=cutoff)
    ids = list(stale.values_list("pk", flat=True)[:5000])
    for certificate_id in ids:
        render_certificate.delay(certificate_id, email=True)
    return len(ids)


# --- E-mail -----------------------------------------------------------------------------------


def certificate_email(*, certificate: Certificate) -> bool:
    """E-mail the holder a link to their certificate, once. False if there is no address."""
    from lms.tasks import send_email

    address = certificate.learner.email
    if not address or certificate.events.filter(kind=EventKind.EMAILED).exists():
        return False
    with translation.override(certificate.language):
        context = {
            "certificate": certificate,
            "dashboard_url": site_url(reverse("certificates:mine")),
            "verification_url": verification_url(certificate),
        }
        message = {
            "subject": _("Your certificate: %s") % certificate.course_title,
            "body": render_to_string("certificates/email/issued.txt", context),
            "to": [address],
        }
    with transaction.atomic():
        _event(certificate, EventKind.EMAILED, to=address)
        transaction.on_commit(lambda: send_email.delay(message))
    return True


# --- Revoke, re-issue, renew ----------------------------------------------------------------


def _lock(certificate: Certificate) -> Certificate:
    return Certificate.objects.select_for_update().get(pk=certificate.pk)


@transaction.atomic
def certificate_revoke(*, certificate: Certificate, actor, reason: str) -> Certificate:
    """Revoke a certificate with a reason. It shows as revoked everywhere, the status list too."""
    reason = (reason or "").strip()
    if not reason:
        raise CertificateError(_("Give the reason for revoking the certificate."))
    certificate = _lock(certificate)
    if certificate.is_revoked:
        raise CertificateError(_("This certificate was already revoked."))
    Certificate.objects.filter(pk=certificate.pk).update(
        state=CertificateState.REVOKED, revoked_at=timezone.now(), revocation_reason=reason
    )
    _verification_facts_changed(certificate)
    _event(certificate, EventKind.REVOKED, actor=actor, reason=reason)
    from certificates.credentials import status_list_changed

    status_list_changed(index=certificate.status_list_index)
    certificate.refresh_from_db()
    return certificate


@transaction.atomic
def certificate_reissue(
    *, certificate: Certificate, actor, reason: str, holder_name: str | None = None
) -> Certificate:
    """Re-issue with the same code: a new version (a corrected name, a fixed template).

    What was certified (competencies, levels, framework version, dates) stays frozen.
    """
    reason = (reason or "").strip()
    if not reason:
        raise CertificateError(_("Say why the certificate is re-issued."))
    certificate = _lock(certificate)
    if certificate.is_revoked:
        raise CertificateError(_("A revoked certificate cannot be re-issued."))
    new_name = (holder_name or "").strip() or holder_name_for(certificate.learner)
    rule = selectors.certificate_rule_for(course=certificate.course)
    template = rule.template if rule else certificate.template
    Certificate.objects.filter(pk=certificate.pk).update(
        version=certificate.version + 1,
        holder_name=new_name,
        template=template,
        render_status=RenderStatus.PENDING,
    )
    _verification_facts_changed(certificate)
    _event(
        certificate,
        EventKind.REISSUED,
        actor=actor,
        reason=reason,
        version=certificate.version + 1,
        previous_holder_name=certificate.holder_name,
        holder_name=new_name,
    )
    render_enqueue(certificate_id=certificate.pk)
    certificate.refresh_from_db()
    return certificate


@transaction.atomic
def certificate_renew(*, certificate: Certificate, actor) -> Certificate:
    """Issue a new certificate for the same course that takes over from this one.

    The old one stays valid until its own expiry (marked as renewed); the new one is dated
    today with the rule's validity, and links back to it.
    """
    certificate = _lock(certificate)
    if certificate.state != CertificateState.ACTIVE:
        raise CertificateError(_("Only an active certificate can be renewed."))
    if certificate.valid_until is None:
        raise CertificateError(_("This certificate does not expire: there is nothing to renew."))
    rule = selectors.certificate_rule_for(course=certificate.course)
    if rule is None:
        raise CertificateError(_("This course no longer awards a certificate."))
    check = selectors.criteria_check(rule=rule, learner=certificate.learner)
    if not check.met:
        raise CertificateError(_("The criteria are not met: %s") % "; ".join(check.missing))
    Certificate.objects.filter(pk=certificate.pk).update(state=CertificateState.RENEWED)
    _verification_facts_changed(certificate)
    renewal = certificate_issue(
        learner=certificate.learner,
        course=certificate.course,
        method=IssueMethod.RENEWAL,
        actor=actor,
        renews=certificate,
    ).certificate
    _event(certificate, EventKind.RENEWED, actor=actor, renewal=renewal.display_code)
    return renewal


# --- Bulk issue -------------------------------------------------------------------------------


def bulk_issue_start(*, cohort, actor) -> BulkIssue:
    """Queue issuing the cohort's certificates; progress is kept on the returned row."""
    from certificates.tasks import run_bulk_issue

    if selectors.certificate_rule_for(course=cohort.course) is None:
        raise CertificateError(_("This cohort's course does not award a certificate."))
    job = BulkIssue.objects.create(
        institution=cohort.institution,
        cohort=cohort,
        requested_by=actor,
        total=cohort.learners.count(),
    )
    transaction.on_commit(lambda: run_bulk_issue.delay(job.pk))
    return job


def bulk_issue_run(*, job_id: int) -> BulkIssue:
    """Issue to each learner of the cohort who meets the criteria; idempotent on re-run."""
    job = BulkIssue.objects.select_related("cohort", "cohort__course", "requested_by").get(
        pk=job_id
    )
    if job.status == BulkIssueStatus.DONE:
        return job
    BulkIssue.objects.filter(pk=job.pk).update(status=BulkIssueStatus.RUNNING)
    course = job.cohort.course
    issued = held = 0
    not_eligible = []
    for processed, learner in enumerate(job.cohort.learners.order_by("username"), start=1):
        try:
            with transaction.atomic():
                result = certificate_issue(
                    learner=learner, course=course, method=IssueMethod.BULK, actor=job.requested_by
                )
            issued += result.created
            held += not result.created
        except CertificateError as error:
            not_eligible.append({"learner": learner.get_username(), "reason": str(error)})
        BulkIssue.objects.filter(pk=job.pk).update(
            processed=processed, issued=issued, already_held=held, not_eligible=not_eligible
        )
    BulkIssue.objects.filter(pk=job.pk).update(
        status=BulkIssueStatus.DONE, finished_at=timezone.now()
    )
    job.refresh_from_db()
    return job


# --- Expiry reminders -------------------------------------------------------------------------


def expiry_reminders_send(*, today: date | None = None) -> int:
    """Remind holders N days before expiry, once per lead time.

    The lead times are settings.CERTIFICATE_EXPIRY_REMINDER_DAYS (60 and 14 by default).
    """
    from lms.tasks import send_email

    today = today or timezone.localdate()
    sent = 0
    for days in getattr(settings, "CERTIFICATE_EXPIRY_REMINDER_DAYS", [60, 14]):
        for certificate in selectors.certificates_expiring(on=today + timedelta(days=days)):
            try:
                with transaction.atomic():
                    ExpiryReminder.objects.create(certificate=certificate, days_before=days)
                    _event(certificate, EventKind.REMINDED, days_before=days)
                    address = certificate.learner.email
                    if address:
                        with translation.override(certificate.language):
                            message = {
                                "subject": _("Your certificate expires in %(days)s days")
                                % {"days": days},
                                "body": render_to_string(
                                    "certificates/email/expiry.txt",
                                    {
                                        "certificate": certificate,
                                        "days": days,
                                        "dashboard_url": site_url(reverse("certificates:mine")),
                                    },
                                ),
                                "to": [address],
                            }
                        transaction.on_commit(lambda m=message: send_email.delay(m))
            except IntegrityError:
                continue  # reminded already (a second beat, a re-run)
            sent += 1
    return sent


# --- Verification -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Verification:
    """The answer to a code someone typed."""

    lookup: selectors.CodeLookup  # the code as read, and the problem if nothing was found
    facts: dict | None = None  # the public facts, status as of now, when found
    limited: bool = False  # the client has used up its lookups for the period
    retry_after: int = 0  # when limited: seconds until the client may look up again


def certificate_verify(*, text: str, client: str, now: float | None = None) -> Verification:
    """Look up a typed code for a verifier: count the lookup against the client's allowance
    (typos and unknown codes too: the limit keeps codes unguessable) and, when a certificate
    is found, count the verification.

    The allowance is a sliding window (:mod:`certificates.rate_limits`): no span of the
    period holds more of the client's lookups than ``CERTIFICATE_VERIFY_RATE`` allows.
    ``now`` is the time in seconds since the epoch (default: the clock's), for tests that
    cross a window's edge.

    With Redis, a certificate verified in the last few minutes costs one round trip and no
    query; otherwise one query and a second round trip that keeps its facts (see
    :mod:`certificates.verification_cache`).
    """
    parsed = code_parse(text)
    cached = parsed.ok and verification_cache.redis_client() is not None
    if cached:
        found = verification_cache.verify(client=client, code=parsed.code, now=now)
    else:
        found = verification_cache.Lookup(verification_cache.lookup_allowed(client=client, now=now))
    if not found.allowance.allowed:
        return Verification(
            selectors.CodeLookup(text=text),
            limited=True,
            retry_after=found.allowance.retry_after,
        )
    if not parsed.ok:
        return Verification(selectors.CodeLookup(text=text, problem="typo"))
    lookup = selectors.CodeLookup(text=text, code=parsed.code)
    if found.facts:  # counted by the same round trip
        status = selectors.verification_status(found.facts)
        return Verification(lookup, {**found.facts, "status": status})
    certificate = selectors.certificate_for_verification(code=parsed.code)
    if certificate is None:
        return Verification(replace(lookup, problem="unknown"))
    facts = selectors.verification_facts(certificate)
    if cached:
        verification_cache.facts_keep(
            code=parsed.code,
            certificate_id=certificate.pk,
            facts=facts,
            generation=found.generation,
        )
    else:
        verifications_count(certificate_ids=[certificate.pk])
    return Verification(lookup, facts)


def _verification_facts_changed(certificate: Certificate) -> None:
    """The certificate's public facts change: clear the cached ones now and on commit."""
    codes = [certificate.code]
    verification_cache.facts_forget(codes=codes)
    transaction.on_commit(lambda: verification_cache.facts_forget(codes=codes))


def verifications_count(*, certificate_ids: list[int]) -> None:
    """Count one verification of each certificate (a certificate listed twice, once).

    With Redis, in Redis (one round trip; :func:`verification_counts_flush` moves the counts
    into the database); otherwise one UPDATE for any number of certificates.
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


#: Certificates updated by one UPDATE when counts are moved into the database.
_FLUSH_CHUNK = 500


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
        by_count: dict[int, list[int]] = {}
        for certificate_id, count in batch.items():
            by_count.setdefault(count, []).append(certificate_id)
        with transaction.atomic():
            for count, ids in by_count.items():
                for start in range(0, len(ids), _FLUSH_CHUNK):
                    Certificate.objects.filter(pk__in=ids[start : start + _FLUSH_CHUNK]).update(
                        verification_count=F("verification_count") + count
                    )
        verification_cache.counts_taken_done()
        return sum(batch.values())
    finally:
        verification_cache.counts_unlock(lock)
