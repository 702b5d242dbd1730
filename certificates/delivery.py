"""After issue: render a certificate's PDF and signed credential, store them, and tell the
holder. The Celery task ``render_certificate`` runs :func:`certificate_render`; the sweep
(Celery beat) catches up with certificates whose task never ran."""

from datetime import timedelta

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from certificates import dispatch
from certificates.credentials import credential_build_signed
from certificates.internal.audit import event_record
from certificates.links import dashboard_url, verification_url
from certificates.models import Certificate, EventKind, RenderStatus

#: The most certificates one sweep enqueues.
SWEEP_BATCH = 5000


def certificate_pdf_bytes(*, certificate: Certificate) -> bytes:
    """The certificate's PDF, rendered by WeasyPrint from the template's layout."""
    # Imported here on purpose: WeasyPrint is slow to import, and only the processes
    # that render (workers, the admin's preview) need it, not every process that issues.
    from certificates.rendering import render_pdf

    return render_pdf(certificate=certificate, verification_url=verification_url(certificate))


def certificate_render(*, certificate_id: int) -> Certificate | None:
    """Render the current version's PDF and signed credential, and store both. Idempotent.

    Safe to run twice or in parallel (a retried task, a worker killed mid-render): the work
    is done outside the row lock, then the first to finish stores its result under the
    version's own file name and the others find the version already rendered.
    """
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
    return _store(certificate, version=version, pdf=pdf, credential=credential)


def _store(certificate: Certificate, *, version: int, pdf: bytes, credential: dict) -> Certificate:
    """Store the rendered version and return the certificate as it now stands; unless
    another attempt stored it first or a re-issue moved on: then theirs stands, and that row
    is returned."""
    name = f"certificates/{certificate.uuid}/{certificate.code}-v{version}.pdf"
    with transaction.atomic():
        locked = Certificate.objects.select_for_update().get(pk=certificate.pk)
        if locked.is_ready or locked.version != version:
            return locked
        if default_storage.exists(name):
            default_storage.delete(name)  # a half-finished earlier attempt
        stored = default_storage.save(name, ContentFile(pdf))
        Certificate.objects.filter(pk=certificate.pk).update(
            pdf=stored,
            credential=credential,
            render_status=RenderStatus.READY,
            rendered_version=version,
            render_error="",
        )
        event_record(locked, EventKind.RENDERED, version=version, pdf=stored)
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
        event_record(certificate, EventKind.RENDER_FAILED, reason=error[:2000])


def certificates_pending_sweep(*, older_than: timedelta = timedelta(minutes=2)) -> int:
    """Enqueue rendering of certificates still not rendered a while after issue or re-issue."""
    cutoff = timezone.now() - older_than
    stale = Certificate.objects.exclude(
        render_status=RenderStatus.READY, rendered_version=F("version")
    ).filter(created_at__lt=cutoff)
    ids = list(stale.values_list("pk", flat=True)[:SWEEP_BATCH])
    for certificate_id in ids:
        dispatch.render_send(certificate_id=certificate_id)
    return len(ids)


def certificate_email(*, certificate: Certificate) -> bool:
    """E-mail the holder a link to their certificate, once. False if there is no address."""
    address = certificate.learner.email
    if not address or certificate.events.filter(kind=EventKind.EMAILED).exists():
        return False
    with translation.override(certificate.language):
        context = {
            "certificate": certificate,
            "dashboard_url": dashboard_url(),
            "verification_url": verification_url(certificate),
        }
        message = {
            "subject": _("Your certificate: %s") % certificate.course_title,
            "body": render_to_string("certificates/email/issued.txt", context),
            "to": [address],
        }
    with transaction.atomic():
        event_record(certificate, EventKind.EMAILED, to=address)
        dispatch.email_enqueue(message)
    return True
