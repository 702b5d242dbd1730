"""What every part of the LRS shares: the version, the xAPI property sets, and refusing.

A request the LRS refuses raises :class:`courses.xapi_errors.XapiError` with the HTTP status
and a message naming the problem; nothing is changed.
"""

import hashlib
import re
from typing import Any

from courses.models import ProgressVerb
from courses.xapi_errors import XapiError
from lms import json_input

XAPI_VERSION = "1.0.3"
VERSION_PATTERN = re.compile(r"^1\.0(\.\d+)?$")
VOIDED = "http://adlnet.gov/expapi/verbs/voided"
ADL = "http://adlnet.gov/expapi/verbs/"
#: xAPI verbs that become progress events, with the progress verb each becomes.
PROGRESS_VERBS = {
    ADL + "completed": ProgressVerb.COMPLETED,
    ADL + "passed": ProgressVerb.PASSED,
    ADL + "failed": ProgressVerb.FAILED,
    ADL + "scored": ProgressVerb.ATTEMPTED,
}

STATEMENT_KEYS = {
    "id",
    "actor",
    "verb",
    "object",
    "result",
    "context",
    "timestamp",
    "stored",
    "authority",
    "version",
    "attachments",
}
SUBSTATEMENT_KEYS = {"objectType", "actor", "verb", "object", "result", "context", "timestamp"}
AGENT_KEYS = {"objectType", "name", "mbox", "mbox_sha1sum", "openid", "account"}
GROUP_KEYS = AGENT_KEYS | {"member"}
IFI_KEYS = ("mbox", "mbox_sha1sum", "openid", "account")
VERB_KEYS = {"id", "display"}
ACTIVITY_KEYS = {"objectType", "id", "definition"}
DEFINITION_KEYS = {
    "name",
    "description",
    "type",
    "moreInfo",
    "extensions",
    "interactionType",
    "correctResponsesPattern",
    "choices",
    "scale",
    "source",
    "target",
    "steps",
}
RESULT_KEYS = {"score", "success", "completion", "response", "duration", "extensions"}
SCORE_KEYS = {"scaled", "raw", "min", "max"}
CONTEXT_KEYS = {
    "registration",
    "instructor",
    "team",
    "contextActivities",
    "revision",
    "platform",
    "language",
    "statement",
    "extensions",
}
CONTEXT_ACTIVITY_KEYS = {"parent", "grouping", "category", "other"}
ATTACHMENT_KEYS = {
    "usageType",
    "display",
    "description",
    "contentType",
    "length",
    "sha2",
    "fileUrl",
}
#: The interaction types of xAPI 1.0.3 (Data 2.4.4.1.s8), spelled exactly so.
INTERACTION_TYPES = (
    "true-false",
    "choice",
    "fill-in",
    "long-fill-in",
    "matching",
    "performance",
    "sequencing",
    "likert",
    "numeric",
    "other",
)
#: Interaction components of an activity definition, each a list of {id, description}.
INTERACTION_COMPONENT_KEYS = ("choices", "scale", "source", "target", "steps")
#: The SHA-2 functions an attachment's hash may come from, by the length of its hex digest.
SHA2_BY_LENGTH = {56: hashlib.sha224, 64: hashlib.sha256, 96: hashlib.sha384, 128: hashlib.sha512}
#: Largest request body /xapi/statements reads (statements and attachment content), in bytes.
DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024

IRI_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s]+$")
# type/subtype, then parameters (no line breaks: it is repeated in a multipart header).
MEDIA_TYPE_PATTERN = re.compile(r"^[\w!#$&^.+-]+/[\w!#$&^.+-]+(\s*;[^\r\n]*)?$")
SHA1_PATTERN = re.compile(r"^[0-9a-fA-F]{40}$")
MBOX_PATTERN = re.compile(r"^mailto:[^@\s]+@[^@\s]+$")
# ISO 8601 durations as xAPI allows them (PnYnMnDTnHnMnS, or PnW).
DURATION_PATTERN = re.compile(
    r"^P(?=\d|T\d)(\d+Y)?(\d+M)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$|^P\d+W$"
)
# A date and time with an offset (or Z): xAPI requires ISO 8601; we require the time zone.
#: The offsets that say the local offset is unknown (RFC 3339 4.3), refused.
UNKNOWN_OFFSET_PATTERN = re.compile(r"-00(:?00)?$")
TIMESTAMP_PATTERN = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}(:?\d{2})?)$"
)


def refuse(message: str, status: int = 400):
    """Refuse the request: raise :class:`XapiError` with ``message`` and ``status``."""
    raise XapiError(message, status=status)


def json_parse(raw: bytes | str, what: str) -> Any:
    """JSON a client sent, refused with :class:`XapiError` naming where the problem is when
    it is not JSON, nests too deeply or holds a NUL character (see :mod:`lms.json_input`):
    the statement's JSON is stored, and PostgreSQL takes no NUL."""
    try:
        return json_input.loads(raw)
    except json_input.JsonInputError as error:
        where = f"{what}, at {json_input.path_text(error.loc)}," if error.loc else what
        raise XapiError(f"{where} {error.msg}") from None
