"""The append-only history of each certificate (``CertificateEvent``), and the row lock the
services take before they change a certificate."""

from certificates.models import Certificate, CertificateEvent


def event_record(certificate: Certificate, kind: str, *, actor=None, reason: str = "", **data):
    """Append one event to the certificate's history (``data``: what else it should say)."""
    return CertificateEvent.objects.create(
        certificate=certificate, kind=kind, actor=actor, reason=reason, data=data
    )


def locked(certificate: Certificate) -> Certificate:
    """The certificate as it is now, its row locked until the transaction ends."""
    return Certificate.objects.select_for_update().get(pk=certificate.pk)
