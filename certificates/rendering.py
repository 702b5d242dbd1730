"""The certificate PDF: a shipped layout, the institution's branding, WeasyPrint.

Rendering is the costly step of issuing, so what certificates share is made once per
worker process: the parsed stylesheet of each layout, WeasyPrint's font configuration, and
the logo and signature images, read through Django's storage API (so that the PDF renders
the same on any storage backend) and kept by image, file and size.

Besides the stylesheet (see ``pdf_styles/base.css``), two choices keep WeasyPrint's own work
down (docs/performance.md has what each saves):

- the logo and signature are JPEG flattened on white: WeasyPrint copies a JPEG into the PDF
  as it is, while it decodes and re-compresses a PNG for every document (on a white
  certificate they look the same); the QR code is a PNG of one pixel a module, tiny;
- the HTML that WeasyPrint reads names its images (``certificate-image:logo``) and
  :mod:`certificates.pdf_writer` hands them over from memory (and fetches nothing else),
  instead of carrying them as data URIs that its HTML parser would read character by
  character. :func:`render_html` still gives the self-contained document, images inline,
  for anyone who wants the HTML itself.
"""

import base64
import functools
import io
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

import segno
from django.template.loader import render_to_string
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from certificates.codes import check_symbol
from certificates.models import Certificate, CertificateTemplate
from courses.selectors import institution_courses

STYLES = Path(__file__).parent / "pdf_styles"
LOGO_SPEC = "max-400x200|bgcolor-ffffff|format-jpeg|jpegquality-92"
SIGNATURE_SPEC = "max-400x160|bgcolor-ffffff|format-jpeg|jpegquality-92"
IMAGE_SCHEME = "certificate-image"
#: The code printed on template previews (with its check symbol): never a real certificate's.
SAMPLE_CODE_DATA = "SAMP1EC0DE000000"

#: Past these lengths, the holder's name and the course title are set smaller, to stay on
#: two lines at most.
LONG_HOLDER = 32
LONG_COURSE = 64
#: Up to this many competencies the table is one column; more are set in two.
ONE_COLUMN_COMPETENCIES = 6

#: An image: its media type and bytes.
ImageData = tuple[str, bytes]


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


def _qr_png(url: str) -> ImageData:
    """The verification URL as a QR code: a PNG of one pixel a module, which the stylesheet
    scales up without smoothing (``image-rendering: pixelated``), so it prints as crisp as a
    vector, and WeasyPrint draws it faster than the same code as SVG paths."""
    out = io.BytesIO()
    segno.make(url, error="m", micro=False).save(out, kind="png", scale=1, border=0)
    return "image/png", out.getvalue()


def _competency_columns(certificate: Certificate) -> list[list[dict]]:
    """The competencies in one column, or two halves side by side on a landscape sheet."""
    items = list(certificate.competencies or [])
    if not items:
        return []
    if len(items) <= ONE_COLUMN_COMPETENCIES or not certificate.template.is_landscape:
        return [items]
    half = (len(items) + 1) // 2
    return [items[:half], items[half:]]


def _address_lines(url: str) -> tuple[str, str]:
    """The verification address as the two lines printed under the QR code: the site, then
    the path, which holds the code and is never broken."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}", parts.path


def _data_uri(image: ImageData) -> str:
    mime, data = image
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


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
        "qr": _qr_png(verification_url),
    }
    images = {name: image for name, image in images.items() if image is not None}
    if inline:
        sources = {name: _data_uri(image) for name, image in images.items()}
        served = {}
    else:
        sources = {name: f"{IMAGE_SCHEME}:{name}" for name in images}
        served = {sources[name]: image for name, image in images.items()}
    site, path = _address_lines(verification_url)
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
                "verification_site": site,
                "verification_path": path,
                "long_holder": len(certificate.holder_name) > LONG_HOLDER,
                "long_course": len(certificate.course_title) > LONG_COURSE,
                "competency_columns": _competency_columns(certificate),
                "many_competencies": len(certificate.competencies or []) > ONE_COLUMN_COMPETENCIES,
                "issued_on": formats.date_format(certificate.issued_at.date(), "DATE_FORMAT"),
                "valid_until": formats.date_format(certificate.valid_until, "DATE_FORMAT")
                if certificate.valid_until
                else "",
                "created": certificate.issued_at.date().isoformat(),
            },
        )
    return html, served


def render_html(*, certificate: Certificate, verification_url: str) -> str:
    """The certificate as a self-contained HTML document (images inline)."""
    return _document(certificate=certificate, verification_url=verification_url, inline=True)[0]


def render_pdf(*, certificate: Certificate, verification_url: str) -> bytes:
    # WeasyPrint takes a second to import: only the processes that write a PDF pay for it.
    from certificates import pdf_writer

    html, images = _document(
        certificate=certificate, verification_url=verification_url, inline=False
    )
    return pdf_writer.write_pdf(html, images, layout=certificate.template.layout)


def sample_certificate(template: CertificateTemplate) -> Certificate:
    """An unsaved certificate with sample data, in the template's language, for its preview:
    the institution's first course if it has one, else an invented one."""
    institution = template.institution
    course = institution_courses(institution=institution).order_by("path").first()
    now = timezone.now()
    with translation.override(template.language):
        return Certificate(
            code=SAMPLE_CODE_DATA + check_symbol(SAMPLE_CODE_DATA),
            template=template,
            institution=institution,
            holder_name="Amina Example",
            course_title=course.title if course else _("Sample course: case management basics"),
            institution_name=institution.name,
            cpd_hours=(course.cpd_hours if course else None) or Decimal("12"),
            framework_title=_("Sample competency framework"),
            framework_version="1.0",
            competencies=[
                {"code": code, "statement": statement, "level": level}
                for code, statement, level in (
                    ("PP.1.1", _("Coordinates with other service providers"), _("Competent")),
                    ("PP.3.1", _("Carries out a strengths-based assessment"), _("Proficient")),
                    ("PP.4.2", _("Refers children and families to services"), _("Competent")),
                )
            ],
            language=template.language,
            issued_at=now,
            valid_until=timezone.localdate(now) + timedelta(days=3 * 365),
            version=1,
        )
