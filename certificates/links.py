"""Absolute links to the site's certificate pages, for what leaves the site: the QR code and
the PDF, credentials, e-mails and webhooks. Built by :func:`lms.links.absolute_url`, from the
one address every app's links share (``SITE_BASE_URL``)."""

from django.urls import reverse

from certificates.models import Certificate
from lms.links import absolute_url as site_url


def verification_url(certificate: Certificate) -> str:
    """The certificate's public verification page: what its QR code opens."""
    return site_url(reverse("certificates:verify_code", args=[certificate.display_code]))


def dashboard_url() -> str:
    """The holder's list of their certificates."""
    return site_url(reverse("certificates:mine"))


def pdf_url(certificate: Certificate) -> str:
    """The certificate's PDF (for its holder and the issuing institution's staff)."""
    return site_url(reverse("certificates:pdf", args=[certificate.uuid]))
