"""Absolute links to a certificate in templates, the same ones its PDF and credential carry."""

from django import template

from certificates.links import verification_url as _verification_url

register = template.Library()


@register.simple_tag
def verification_url(certificate) -> str:
    """The certificate's public verification page at the site's address (``SITE_BASE_URL``),
    as its QR code has it: the link a holder shares, whatever address the page was read at."""
    return _verification_url(certificate)
