"""``multipart/mixed`` bodies of the xAPI Statement Resource (xAPI 1.0.3, Part Three, 1.5.2).

A request's first part is the statement or statements as JSON; each further part is the
content of one attachment, sent as is (``Content-Transfer-Encoding: binary``) and named by
its SHA-2 hash in ``X-Experience-API-Hash``. The standard library's e-mail parser splits the
body (it keeps binary parts byte for byte); the xAPI rules are checked here, and matching the
parts to the statements' attachments is :func:`courses.xapi.statements_store`'s. A GET with
``attachments=true`` is answered in the same format, streamed.
"""

from collections.abc import Iterable, Iterator
from email import policy
from email.parser import BytesParser
from typing import Any

from courses.models import XapiAttachment
from courses.xapi import AttachmentPart, attachment_part, json_parse
from courses.xapi_errors import XapiError


def statements_parse(body: bytes, *, content_type: str) -> tuple[Any, dict[str, AttachmentPart]]:
    """The statements (parsed JSON) and the attachment parts, by hash, of a request body.

    ``content_type`` is the request's Content-Type header, with its boundary. Raises
    :class:`courses.xapi.XapiError` naming what is wrong with the body.
    """
    if "boundary=" not in content_type:
        raise XapiError("Content-Type multipart/mixed needs a boundary parameter.")
    header = b"Content-Type: " + content_type.encode("latin-1", "replace") + b"\r\n\r\n"
    message = BytesParser(policy=policy.HTTP).parsebytes(header + body)
    if message.defects:
        problem = (type(message.defects[0]).__doc__ or "").strip()
        raise XapiError(f"The multipart/mixed body is malformed: {problem}")
    parts = list(message.iter_parts()) if message.is_multipart() else []
    if not parts:
        raise XapiError("The multipart/mixed body has no parts: the first must be the statements.")
    first = parts[0]
    if first.get_content_type() != "application/json":
        raise XapiError("The first part must be the statements, as application/json.")
    statements = json_parse(first.get_payload(decode=True) or b"null", "The first part")
    attachments: dict[str, AttachmentPart] = {}
    for number, part in enumerate(parts[1:], start=2):
        encoding = (part.get("Content-Transfer-Encoding") or "").strip().lower()
        if encoding != "binary":
            raise XapiError(f"Part {number}: needs Content-Transfer-Encoding: binary.")
        try:
            found = attachment_part(
                content=part.get_payload(decode=True) or b"",
                declared_hash=part.get("X-Experience-API-Hash"),
                content_type=part.get_content_type(),
            )
        except XapiError as error:
            raise XapiError(f"Part {number}: {error}", status=error.status) from None
        attachments[found.sha2] = found  # the same content twice is kept once
    return statements, attachments


def statements_response(
    document: bytes, attachments: Iterable[XapiAttachment], *, boundary: str
) -> Iterator[bytes]:
    """The body of a GET answered with ``attachments=true``: the statement or StatementResult
    JSON, then each attachment's content read from storage a chunk at a time."""
    delimiter = f"--{boundary}".encode()
    yield delimiter + b"\r\nContent-Type: application/json\r\n\r\n" + document
    for attachment in attachments:
        yield (
            b"\r\n"
            + delimiter
            + f"\r\nContent-Type: {attachment.content_type}\r\n".encode("latin-1", "replace")
            + b"Content-Transfer-Encoding: binary\r\n"
            + f"X-Experience-API-Hash: {attachment.sha2}\r\n\r\n".encode()
        )
        with attachment.file.storage.open(attachment.file.name, "rb") as content:
            yield from content.chunks()
    yield b"\r\n" + delimiter + b"--\r\n"
