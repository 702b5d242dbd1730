"""``Content-Disposition`` headers for the files the site hands out.

File names are often built from what people typed (a framework's code, a certificate's
code): a quote, a line break or a non-ASCII letter in one must neither break the header
(Django refuses a header holding a line break) nor let the text end the header early. Every
download sets its header through these functions, which tidy the name and leave the quoting
to Django's :func:`django.utils.http.content_disposition_header` (RFC 6266: a plain
``filename="…"`` for printable ASCII, ``filename*=utf-8''…`` for anything else).
"""

import re

from django.utils.http import content_disposition_header

# Characters no file name should hold: control characters (line breaks, tabs…) and the path
# separators a browser would turn into folders.
_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\]+")


def download_filename(name: str) -> str:
    """``name`` as a file name: control characters and slashes become ``-``, ends trimmed."""
    return _UNSAFE.sub("-", name).strip(" .-") or "download"


def attachment_header(filename: str) -> str:
    """The ``Content-Disposition`` value that has the browser save the file as ``filename``."""
    return content_disposition_header(True, download_filename(filename))


def inline_header(filename: str) -> str:
    """The ``Content-Disposition`` value that has the browser show the file, named ``filename``."""
    return content_disposition_header(False, download_filename(filename))
