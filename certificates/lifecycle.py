"""A certificate's life after issue: revoked, re-issued (same code, new version), renewed
(a new certificate takes over), and its holder reminded before it expires.

Each change is one transaction with its line in the certificate's history; the public facts
kept for verification are cleared at once
(:func:`certificates.verification.verification_facts_changed`), and the status list shows a
revocation from its next request (it is kept under the state of its revocations:
:func:`certificates.credentials.status_list_credential`).
"""

from datetime import date, timedelta

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from certificates import dispatch
from certificates.app_settings import app_settings
from certificates.criteria import certificate_rule_for, criteria_check
from certificates.exceptions import CertificateError
from certificates.internal.audit import event_record, locked
from certificates.internal.issuing import holder_name_for
from certificates.issuing import certificate_issue
from certificates.links import dashboard_url
from certificates.models import (
    Certificate,
    CertificateState,
    EventKind,
    ExpiryReminder,
    IssueMethod,
    RenderStatus,
)
from certificates.verification import verification_facts_changed


@transaction.atomic
def certificate_revoke(*, certificate: Certificate, actor, reason: str) -> Certificate:
    """Revoke a certificate with a reason. It shows as revoked everywhere, the status list too."""
    reason = (reason or "").strip()
    if not reason:
        raise CertificateError(_("Give the reason for revoking the certificate."))
    certificate = locked(certificate)
    if certificate.is_revoked:
        raise CertificateError(_("This certificate was already revoked."))
    Certificate.objects.filter(pk=certificate.pk).update(
        state=CertificateState.REVOKED, revoked_at=timezone.now(), revocation_reason=reason
    )
    verification_facts_changed(certificate)
    event_record(certificate, EventKind.REVOKED, actor=actor, reason=reason)
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
    certificate = locked(certificate)
    if certificate.is_revoked:
        raise CertificateError(_("A revoked certificate cannot be re-issued."))
    new_name = (holder_name or "").strip() or holder_name_for(certificate.learner)
    rule = certificate_rule_for(course=certificate.course)
    template = rule.template if rule else certificate.template
    Certificate.objects.filter(pk=certificate.pk).update(
        version=certificate.version + 1,
        holder_name=new_name,
        template=template,
        render_status=RenderStatus.PENDING,
    )
    verification_facts_changed(certificate)
    event_record(
        certificate,
        EventKind.REISSUED,
        actor=actor,
        reason=reason,
        version=certificate.version + 1,
        previous_holder_name=certificate.holder_name,
        holder_name=new_name,
    )
    dispatch.render_enqueue(certificate_id=certificate.pk)
    certificate.refresh_from_db()
    return certificate


@transaction.atomic
def certificate_renew(*, certificate: Certificate, actor) -> Certificate:
    """Issue a new certificate for the same course that takes over from this one.

    The old one stays valid until its own expiry (marked as renewed); the new one is dated
    today with the rule's validity, and links back to it.
    """
    certificate = locked(certificate)
    if certificate.state != CertificateState.ACTIVE:
        raise CertificateError(_("Only an active certificate can be renewed."))
    if certificate.valid_until is None:
        raise CertificateError(_("This certificate does not expire: there is nothing to renew."))
    rule = certificate_rule_for(course=certificate.course)
    if rule is None:
        raise CertificateError(_("This course no longer awards a certificate."))
    check = criteria_check(rule=rule, learner=certificate.learner)
    if not check.met:
        raise CertificateError(_("The criteria are not met: %s") % "; ".join(check.missing))
    Certificate.objects.filter(pk=certificate.pk).update(state=CertificateState.RENEWED)
    verification_facts_changed(certificate)
    renewal = certificate_issue(
        learner=certificate.learner,
        course=certificate.course,
        method=IssueMethod.RENEWAL,
        actor=actor,
        renews=certificate,
    ).certificate
    event_record(certificate, EventKind.RENEWED, actor=actor, renewal=renewal.display_code)
    return renewal


# --- Expiry reminders -------------------------------------------------------------------------


def certificates_expiring(*, on: date) -> QuerySet[Certificate]:
    """Active certificates whose validity ends on the given day (reminders are sent for these)."""
    return Certificate.objects.filter(state=CertificateState.ACTIVE, valid_until=on).select_related(
        "learner"
    )


def expiry_reminders_send(*, today: date | None = None) -> int:
    """Remind holders N days before expiry, once per lead time
    (``app_settings.EXPIRY_REMINDER_DAYS``); how many were reminded."""
    today = today or timezone.localdate()
    sent = 0
    for days in app_settings.EXPIRY_REMINDER_DAYS:
        for certificate in certificates_expiring(on=today + timedelta(days=days)):
            try:
                with transaction.atomic():
                    _expiry_remind(certificate, days=days)
            except IntegrityError:
                continue  # reminded already (a second beat, a re-run)
            sent += 1
    return sent


def _expiry_remind(certificate: Certificate, *, days: int) -> None:
    """Record the reminder (once per certificate and lead time: a constraint) and e-mail the
    holder, if they have an address, on commit."""
    ExpiryReminder.objects.create(certificate=certificate, days_before=days)
    event_record(certificate, EventKind.REMINDED, days_before=days)
    address = certificate.learner.email
    if not address:
        return
    with translation.override(certificate.language):
        message = {
            "subject": _("Your certificate expires in %(days)s days") % {"days": days},
            "body": render_to_string(
                "certificates/email/expiry.txt",
                {"certificate": certificate, "days": days, "dashboard_url": dashboard_url()},
            ),
            "to": [address],
        }
    dispatch.email_enqueue(message)
