"""Issuing certificates: one learner's, automatically on progress, or a whole cohort's.

Issuing is atomic and idempotent: :func:`certificate_issue` returns the learner's active
certificate of the course version if there is one, and a partial unique constraint stops a
second one when requests race. The certificate is *recorded* in the transaction that met the
criteria (:mod:`certificates.criteria`) and rendered (PDF and signed credential) by a Celery
task enqueued on commit (:mod:`certificates.delivery`); if the broker is away, the
certificate stays ``pending`` and the sweep renders it later — nothing is lost.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from certificates import dispatch
from certificates.codes import code_generate
from certificates.criteria import active_certificate, certificate_rule_for, criteria_check
from certificates.exceptions import CertificateError
from certificates.internal import issuing as internal
from certificates.internal.audit import event_record
from certificates.models import (
    BulkIssue,
    BulkIssueStatus,
    Certificate,
    CertificateRule,
    EventKind,
    IssueMethod,
)
from courses.models import CoursePage
from lms.models import WebhookEvent
from lms.services import webhooks_dispatch

#: How many times a new certificate's code and status index are drawn before issuing gives up.
DRAWS = 8


@dataclass(frozen=True)
class Issued:
    certificate: Certificate
    created: bool  # False: the learner already held it


def certificate_issue(
    *,
    learner,
    course: CoursePage,
    method: str = IssueMethod.AUTOMATIC,
    actor=None,
    override_reason: str = "",
    renews: Certificate | None = None,
    draw_code: Callable[[], str] = code_generate,
) -> Issued:
    """Issue the learner's certificate of the course, once; enqueue rendering on commit.

    Idempotent: returns the active certificate of this course version if the learner holds
    one. Checks the criteria unless ``override_reason`` says why the institution issues
    without them (recorded in the audit log). Raises :class:`CertificateError` with what is
    missing otherwise, and records nothing.

    ``draw_code`` makes each new certificate code (:func:`certificates.codes.code_generate`
    unless a caller brings codes of its own; a code already taken is drawn again).
    """
    rule = certificate_rule_for(course=course)
    if rule is None:
        raise CertificateError(_("This course does not award a certificate."), status=404)
    existing = active_certificate(learner=learner, rule=rule)
    if existing is not None:
        return Issued(existing, created=False)
    if not override_reason:
        check = criteria_check(rule=rule, learner=learner)
        if not check.met:
            raise CertificateError(_("The criteria are not met yet: %s") % "; ".join(check.missing))
    issued = _certificate_record(
        learner=learner,
        rule=rule,
        method=method,
        actor=actor,
        override_reason=override_reason,
        renews=renews,
        draw_code=draw_code,
    )
    if issued.created:
        certificate = issued.certificate
        webhooks_dispatch(
            institution=certificate.institution_id,
            event=WebhookEvent.CERTIFICATE_ISSUED,
            payload=internal.issued_webhook_payload(certificate, learner=learner, course=course),
        )
        dispatch.render_enqueue(certificate_id=certificate.pk, email=True)
    return issued


def _certificate_record(
    *, learner, rule: CertificateRule, method, actor, override_reason, renews, draw_code
) -> Issued:
    """Insert the certificate and its "issued" event in one atomic block (no savepoint inside
    it), drawing the code again on the rare clash; a parallel request that issued it first
    wins, and its certificate is returned."""
    for _attempt in range(DRAWS):
        try:
            with transaction.atomic():
                certificate = internal.certificate_create(
                    learner=learner,
                    rule=rule,
                    method=method,
                    actor=actor,
                    renews=renews,
                    draw_code=draw_code,
                )
                event_record(
                    certificate,
                    EventKind.ISSUED,
                    actor=actor,
                    reason=override_reason,
                    method=method,
                    criteria_overridden=bool(override_reason),
                )
            return Issued(certificate, created=True)
        except IntegrityError as error:
            if internal.clashed_on_drawn_value(error):
                continue
            existing = active_certificate(learner=learner, rule=rule)
            if existing is None:
                raise
            return Issued(existing, created=False)
    raise CertificateError(_("Could not draw a free certificate code; try again."), status=503)


# --- Automatically, on progress ---------------------------------------------------------------


def certificate_issue_if_eligible(*, learner_id: int, course_id: int | None) -> list[Certificate]:
    """Issue automatically whatever certificates the learner has just earned.

    Called inside the progress transaction (``courses.signals.learning_changed_many``, see
    :mod:`certificates.signals`), so the certificate commits or rolls back with the progress
    that earned it. ``course_id`` None means any course the learner is enrolled in (an
    observation may serve several).
    """
    return certificates_issue_if_eligible_many(pairs=[(learner_id, course_id)])


def certificates_issue_if_eligible_many(
    *, pairs: list[tuple[int, int | None]]
) -> list[Certificate]:
    """:func:`certificate_issue_if_eligible` for many (learner, course) pairs at once.

    One query finds the automatic rules of all the pairs' courses (a batch of progress from
    another LMS names a few courses for hundreds of learners), none when this process knows
    that no course of theirs has one (most have none); only the pairs whose course has one
    are checked, one by one, in order.
    """
    pairs = list(dict.fromkeys(pairs))
    if not pairs:
        return []
    automatic = internal.automatic_rules_for(pairs)
    if automatic is None:
        return []
    issued = []
    for learner_id, course_id in pairs:
        learner = automatic.learners.get(learner_id)
        for rule in automatic.rules_for(learner_id, course_id):
            if active_certificate(learner=learner, rule=rule) is not None:
                continue
            if not criteria_check(rule=rule, learner=learner).met:
                continue
            issued.append(certificate_issue(learner=learner, course=rule.course).certificate)
    return issued


# --- For a cohort -----------------------------------------------------------------------------


def bulk_issue_start(*, cohort, actor) -> BulkIssue:
    """Queue issuing the cohort's certificates; progress is kept on the returned row."""
    if certificate_rule_for(course=cohort.course) is None:
        raise CertificateError(_("This cohort's course does not award a certificate."))
    job = BulkIssue.objects.create(
        institution=cohort.institution,
        cohort=cohort,
        requested_by=actor,
        total=cohort.learners.count(),
    )
    dispatch.bulk_issue_enqueue(job_id=job.pk)
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
