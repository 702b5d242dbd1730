"""WeasyPrint's part of the certificate: HTML and images in, PDF out.

Kept apart from :mod:`certificates.rendering` because importing WeasyPrint takes about a
second: the admin, the API and every ``manage.py`` command import the rendering module's
neighbours, and only the processes that write a PDF should pay for WeasyPrint.

What certificates share is made once per process: the parsed stylesheet of each layout and
WeasyPrint's font configuration. :class:`_Images` hands WeasyPrint the certificate's images
from memory and fetches nothing else — no file, no network address — whatever a document
names.
"""

import functools

from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

from certificates.rendering import STYLES, ImageData


@functools.cache
def _fonts() -> FontConfiguration:
    return FontConfiguration()


@functools.cache
def _stylesheet(layout: str) -> CSS:
    css = (STYLES / "base.css").read_text() + (STYLES / f"{layout}.css").read_text()
    return CSS(string=css, font_config=_fonts())


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


def write_pdf(html: str, images: dict[str, ImageData], *, layout: str) -> bytes:
    """The PDF of ``html`` in the shipped ``layout``, its images taken from ``images``."""
    return HTML(string=html, base_url=str(STYLES), url_fetcher=_Images(images)).write_pdf(
        stylesheets=[_stylesheet(layout)], font_config=_fonts()
    )
