"""The certificate PDF: a shipped layout, the institution's branding, WeasyPrint.

Rendering is the costly step of issuing (about 50 ms a certificate), so what can be shared
between certificates is made once per worker process: the parsed stylesheet of each layout
and WeasyPrint's font configuration. Images (logo, signature) are embedded as small renditions,
read through Django's storage API, so the PDF renders the same on any storage backend.
"""

import base64
import functools
from pathlib import Path

import segno
from django.template.loader import render_to_string
from django.utils import formats, translation
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration

from certificates.models import Certificate, CertificateTemplate

STYLES = Path(__file__).parent / "pdf_styles"


@functools.cache
def _fonts() -> FontConfiguration:
    return FontConfiguration()


@functools.cache
def _stylesheet(layout: str) -> CSS:
    css = (STYLES / "base.css").read_text() + (STYLES / f"{layout}.css").read_text()
    return CSS(string=css, font_config=_fonts())


def _image_data_uri(image, spec: str) -> str:
    if image is None:
        return ""
    rendition = image.get_rendition(spec)
    with rendition.file.open("rb") as handle:
        data = handle.read()
    mime = "image/png" if rendition.file.name.lower().endswith(".png") else "image/jpeg"
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def qr_data_uri(url: str) -> str:
    """The verification URL as a QR code (SVG), crisp at any print size."""
    return segno.make(url, error="m", micro=False).svg_data_uri(scale=4, border=0, dark="#000")


def render_html(*, certificate: Certificate, verification_url: str) -> str:
    template: CertificateTemplate = certificate.template
    institution = certificate.institution
    with translation.override(certificate.language):
        return render_to_string(
            "certificates/pdf/certificate.html",
            {
                "certificate": certificate,
                "design": template,
                "logo": _image_data_uri(
                    template.logo or institution.logo, "max-400x200|format-png"
                ),
                "signature": _image_data_uri(template.signature, "max-400x160|format-png"),
                "qr": qr_data_uri(verification_url),
                "verification_url": verification_url,
                "issued_on": formats.date_format(certificate.issued_at.date(), "DATE_FORMAT"),
                "valid_until": formats.date_format(certificate.valid_until, "DATE_FORMAT")
                if certificate.valid_until
                else "",
                "created": certificate.issued_at.date().isoformat(),
            },
        )


def render_pdf(*, certificate: Certificate, verification_url: str) -> bytes:
    html = render_html(certificate=certificate, verification_url=verification_url)
    return HTML(string=html, base_url=str(STYLES)).write_pdf(
        stylesheets=[_stylesheet(certificate.template.layout)], font_config=_fonts()
    )
