"""The certificate PDF: a shipped layout, the institution's branding, WeasyPrint.

Rendering is the costly step of issuing, so what certificates share is made once per
worker process: the parsed stylesheet of each layout, WeasyPrint's font configuration, and
the logo and signature images, read through Django's storage API (so that the PDF renders
the same on any storage backend) and kept by image, file and size.

Two choices keep WeasyPrint's own work down, each worth a tenth of a certificate's time:

- the images are JPEG flattened on white: WeasyPrint copies a JPEG into the PDF as it is,
  while it decodes and re-compresses a PNG for every document (on a white certificate they
  look the same);
- the HTML that WeasyPrint reads names its images (``certificate-image:logo``) and
  :class:`_Images` hands them over from memory, instead of carrying them as data URIs that
  its HTML parser would read character by character. :func:`render_html` still gives the
  self-contained document, images inline, for anyone who wants the HTML itself.

:class:`_Images` fetches nothing else — no file, no network address — whatever a document
names.
"""

import base64
import functools
import io
from pathlib import Path

import segno
from django.template.loader import render_to_string
from django.utils import formats, translation
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

from certificates.models import Certificate, CertificateTemplate

STYLES = Path(__file__).parent / "pdf_styles"
LOGO_SPEC = "max-400x200|bgcolor-ffffff|format-jpeg|jpegquality-92"
SIGNATURE_SPEC = "max-400x160|bgcolor-ffffff|format-jpeg|jpegquality-92"
IMAGE_SCHEME = "certificate-image"

#: An image: its media type and bytes.
ImageData = tuple[str, bytes]


@functools.cache
def _fonts() -> FontConfiguration:
    return FontConfiguration()


@functools.cache
def _stylesheet(layout: str) -> CSS:
    css = (STYLES / "base.css").read_text() + (STYLES / f"{layout}.css").read_text()
    return CSS(string=css, font_config=_fonts())


def _rendition(image, spec: str) -> ImageData | None:
    if image is None:
        return None
    return _rendition_bytes(image, image.file.name, spec)


@functools.lru_cache(maxsize=64)
def _rendition_bytes(image, file_name: str, spec: str) -> ImageData:
    """The rendition, read once per image (images compare by id), file and spec: a new file
    uploaded to the image has a new name."""
    rendition = image.get_rendition(spec)
    with rendition.file.open("rb") as handle:
        data = handle.read()
    mime = "image/png" if rendition.file.name.lower().endswith(".png") else "image/jpeg"
    return mime, data


def _qr_svg(url: str) -> ImageData:
    """The verification URL as a QR code (SVG), crisp at any print size."""
    out = io.BytesIO()
    segno.make(url, error="m", micro=False).save(
        out, kind="svg", scale=4, border=0, dark="#000", xmldecl=False
    )
    return "image/svg+xml", out.getvalue()


def _data_uri(image: ImageData) -> str:
    mime, data = image
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def qr_data_uri(url: str) -> str:
    """The verification URL as a QR code (SVG), as a data URI."""
    return _data_uri(_qr_svg(url))


def _document(
    *, certificate: Certificate, verification_url: str, inline: bool
) -> tuple[str, dict[str, ImageData]]:
    """The certificate's HTML, and its images by the URL the HTML gives them.

    ``inline``: the images are in the HTML as data URIs (and the mapping is empty).
    """
    template: CertificateTemplate = certificate.template
    images = {
        "logo": _rendition(template.logo or certificate.institution.logo, LOGO_SPEC),
        "signature": _rendition(template.signature, SIGNATURE_SPEC),
        "qr": _qr_svg(verification_url),
    }
    images = {name: image for name, image in images.items() if image is not None}
    if inline:
        sources = {name: _data_uri(image) for name, image in images.items()}
        served = {}
    else:
        sources = {name: f"{IMAGE_SCHEME}:{name}" for name in images}
        served = {sources[name]: image for name, image in images.items()}
    with translation.override(certificate.language):
        html = render_to_string(
            "certificates/pdf/certificate.html",
            {
                "certificate": certificate,
                "design": template,
                "logo": sources.get("logo", ""),
                "signature": sources.get("signature", ""),
                "qr": sources["qr"],
                "verification_url": verification_url,
                "issued_on": formats.date_format(certificate.issued_at.date(), "DATE_FORMAT"),
                "valid_until": formats.date_format(certificate.valid_until, "DATE_FORMAT")
                if certificate.valid_until
                else "",
                "created": certificate.issued_at.date().isoformat(),
            },
        )
    return html, served


class _Images(URLFetcher):
    """Hands WeasyPrint the certificate's images from memory, and fetches nothing else."""

    def __init__(self, images: dict[str, ImageData]):
        super().__init__(allowed_protocols=())
        self._images = images

    def fetch(self, url, headers=None):
        if url not in self._images:
            raise ValueError(f"{url!r} is not one of the certificate's images")
        mime, data = self._images[url]
        return URLFetcherResponse(url, data, {"Content-Type": mime})


def render_html(*, certificate: Certificate, verification_url: str) -> str:
    """The certificate as a self-contained HTML document (images inline)."""
    return _document(certificate=certificate, verification_url=verification_url, inline=True)[0]


def render_pdf(*, certificate: Certificate, verification_url: str) -> bytes:
    html, images = _document(
        certificate=certificate, verification_url=verification_url, inline=False
    )
    return HTML(string=html, base_url=str(STYLES), url_fetcher=_Images(images)).write_pdf(
        stylesheets=[_stylesheet(certificate.template.layout)], font_config=_fonts()
    )
