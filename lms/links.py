"""Absolute URLs of the site, for everything that leaves it: QR codes and PDFs, credentials
and their status lists, CASE exports, e-mails and webhooks.

Every app builds them here, from one public address, so that a certificate's QR code, its
credential's ids and a CASE item's URI agree with each other whatever request (or none, in a
Celery task or a management command) led to them. The address is ``SITE_BASE_URL``, else
Wagtail's ``WAGTAILADMIN_BASE_URL`` (a host site may set only that one), else
:data:`DEFAULT_BASE_URL`, the address ``manage.py runserver`` serves by default.
"""

from lms.app_settings import app_settings

#: Where ``manage.py runserver`` serves when given no address: links work on a developer's
#: machine that sets nothing.
DEFAULT_BASE_URL = "http://localhost:8000"


def configured_base_url() -> str:
    """``SITE_BASE_URL``, else ``WAGTAILADMIN_BASE_URL``, as the settings give it ("" when
    neither is set). The one place that reads them."""
    return app_settings.SITE_BASE_URL or app_settings.WAGTAILADMIN_BASE_URL


def site_base_url() -> str:
    """The site's public address, without a final slash (e.g. ``https://learning.example.org``).

    Read when asked (not at import), so that ``override_settings`` takes effect at once.
    """
    return (configured_base_url() or DEFAULT_BASE_URL).rstrip("/")


def absolute_url(path: str) -> str:
    """``path`` (from the site's root, e.g. what ``reverse()`` returns) as an absolute URL."""
    if not path.startswith("/"):
        raise ValueError(f"A path from the site's root starts with '/': {path!r} does not.")
    return site_base_url() + path


def page_url(page) -> str | None:
    """A Wagtail page's absolute URL at the site's address, or ``None`` when it has none
    (not in any site's tree).

    Not ``page.full_url``: that one is built from the Wagtail ``Site`` record's host name
    and port, which say how requests are routed to the page tree, not where the public
    reaches the site (a development site's record says ``localhost`` on port 80).
    """
    parts = page.get_url_parts()
    if parts is None:
        return None
    _site_id, _root_url, page_path = parts
    return absolute_url(page_path)
