"""Storing validated statements for an institution, with their attachments and query keys.

A statement and its progress are stored together or not at all; see :mod:`courses.xapi` for
the whole picture.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from courses import selectors
from courses.models import XapiAttachment, XapiKeyKind, XapiStatement, XapiStatementKey
from courses.services import ProgressWriteClash
from courses.xapi.common import (
    DEFAULT_MAX_BODY_BYTES,
    SHA2_BY_LENGTH,
    VOIDED,
    refuse,
)
from courses.xapi.progress import progress_apply_new, progress_apply_new_alone
from courses.xapi.validation import ValidStatement, ifi_key
from courses.xapi_signatures import is_signature, signature_check
from lms.models import ApiKey, Institution

# --- Storage ----------------------------------------------------------------------------------

#: Properties the LRS sets, left out when two statements with the same id are compared.
LRS_SET = ("stored", "authority", "version")


def _same_statement(a: dict, b: dict) -> bool:
    def comparable(statement: dict) -> dict:
        return {k: v for k, v in statement.items() if k not in LRS_SET}

    return comparable(a) == comparable(b)


def authority_of(api_key: ApiKey) -> dict:
    return {
        "objectType": "Agent",
        "name": api_key.name,
        "account": {"homePage": "urn:ssw:api-key", "name": api_key.prefix},
    }


@dataclass(frozen=True)
class StoredOutcome:
    statement: XapiStatement
    created: bool  # False: the same statement had been stored already


@dataclass(frozen=True)
class AttachmentPart:
    """The content of one attachment, from a part of a ``multipart/mixed`` request."""

    sha2: str  # lower-case hex, checked against the content
    content: bytes
    content_type: str = ""


def max_body_bytes() -> int:
    """The largest statements request read, from ``XAPI_MAX_BODY_BYTES`` (default 10 MiB)."""
    return int(getattr(settings, "XAPI_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES))


def attachment_part(
    *, content: bytes, declared_hash: str | None, content_type: str = ""
) -> AttachmentPart:
    """An attachment part whose X-Experience-API-Hash is checked against its content."""
    if not declared_hash:
        refuse("An attachment part has no X-Experience-API-Hash header.")
    declared = declared_hash.strip().lower()
    function = SHA2_BY_LENGTH.get(len(declared))
    if function is None or not re.fullmatch(r"[0-9a-f]+", declared):
        refuse(f"X-Experience-API-Hash '{declared_hash}' is not a hexadecimal SHA-2 hash.")
    actual = function(content).hexdigest()
    if actual != declared:
        refuse(
            f"X-Experience-API-Hash {declared} does not match the part's content "
            f"(its {function().name.upper()} is {actual})."
        )
    return AttachmentPart(sha2=declared, content=content, content_type=content_type)


def statements_store(
    *,
    api_key: ApiKey,
    statements: list[ValidStatement],
    parts: dict[str, AttachmentPart] | None = None,
) -> list[StoredOutcome]:
    """Store validated statements for the key's institution, all or none, with their progress.

    An id stored before with the same content is a no-op; with other content it is refused
    (409) and nothing of the request is stored. Two statements with one id in one request: 400.
    ``parts`` is the attachment content sent with them (by hash): every attachment without a
    ``fileUrl`` needs its part, and every part an attachment (else 400, nothing stored). The
    content is stored for the statements stored now, not for no-op duplicates.
    """
    ids = [statement.id for statement in statements]
    if len(set(ids)) != len(ids):
        refuse("id: the same statement id appears twice in this request.")
    parts = parts or {}
    _attachments_check(statements, parts)
    try:
        # First with the progress written in the request's transaction alone: nothing of it
        # is kept unless all of it is.
        return _statements_store_together(api_key=api_key, statements=statements, parts=parts)
    except (IntegrityError, ProgressWriteClash):
        # A parallel request stored one of these ids, or wrote some of their progress, a
        # moment ago: all of this request was rolled back. Stored again, a statement is
        # compared with what the other request stored, and each statement's progress is
        # written in a savepoint of its own, where a clash is tried again or refused alone.
        return _statements_store_each_alone(api_key=api_key, statements=statements, parts=parts)


@transaction.atomic
def _statements_store_together(*, api_key: ApiKey, statements, parts) -> list[StoredOutcome]:
    """The first try: each new statement written in the round trip of its new progress event
    (when it brings one), any clash rolling back the whole request."""
    institution = api_key.institution
    outcomes = []
    for statement in statements:
        new = _statement_new(api_key=api_key, institution=institution, s=statement)
        if isinstance(new, StoredOutcome):
            outcomes.append(new)
            continue
        progress_apply_new(stored=new.stored, api_key=api_key, institution=institution)
        _statement_write(new)
        outcomes.append(_statement_stored(new, institution=institution))
    if parts:
        _attachments_store(institution=institution, outcomes=outcomes, parts=parts)
    return outcomes


@transaction.atomic
def _statements_store_each_alone(*, api_key: ApiKey, statements, parts) -> list[StoredOutcome]:
    """The second try, after a clash: each statement's progress in a savepoint of its own."""
    institution = api_key.institution
    outcomes = []
    for statement in statements:
        new = _statement_new(api_key=api_key, institution=institution, s=statement)
        if isinstance(new, StoredOutcome):
            outcomes.append(new)
            continue
        progress_apply_new_alone(stored=new.stored, api_key=api_key, institution=institution)
        _statement_write(new)
        outcomes.append(_statement_stored(new, institution=institution))
    if parts:
        _attachments_store(institution=institution, outcomes=outcomes, parts=parts)
    return outcomes


def _attachments_check(statements: list[ValidStatement], parts: dict[str, AttachmentPart]):
    """Every attachment without a fileUrl has its part, every part an attachment (xAPI 1.5.2),
    and every signature attachment is a well-formed signature of its statement (2.6)."""
    matched = set()
    for index, statement in enumerate(statements):
        where = f"statement {index}: " if len(statements) > 1 else ""
        for position, attachment in enumerate(statement.raw.get("attachments") or ()):
            sha2 = attachment["sha2"].lower()
            part = parts.get(sha2)
            if is_signature(attachment):
                signature_check(
                    statement=statement.raw,
                    attachment=attachment,
                    content=part.content if part is not None else None,
                    where=f"{where}attachments[{position}]",
                )
            if part is None:
                if "fileUrl" not in attachment:
                    refuse(
                        f"{where}attachments[{position}]: has no fileUrl, and no part of a "
                        f"multipart/mixed request with X-Experience-API-Hash {sha2} carries "
                        "its content."
                    )
                continue
            # ``length`` is not checked against the part: xAPI (Data 2.4.11) names it the
            # content's length and asks no check of the LRS; the hash identifies the content.
            matched.add(sha2)
    unmatched = sorted(set(parts) - matched)
    if unmatched:
        refuse(
            f"The part with X-Experience-API-Hash {unmatched[0]} is not the content of any "
            "attachment of the statements sent."
        )


def _attachments_store(*, institution: Institution, outcomes, parts) -> None:
    """Keep the content of the new statements' attachments, once per institution and hash."""
    wanted: dict[str, str] = {}
    for outcome in outcomes:
        if not outcome.created:
            continue
        for attachment in outcome.statement.raw.get("attachments") or ():
            sha2 = attachment["sha2"].lower()
            if sha2 in parts:
                wanted.setdefault(sha2, attachment["contentType"])
    kept = set(
        XapiAttachment.objects.filter(institution=institution, sha2__in=wanted).values_list(
            "sha2", flat=True
        )
    )
    for sha2, content_type in wanted.items():
        if sha2 in kept:
            continue
        attachment = XapiAttachment(
            institution=institution,
            sha2=sha2,
            content_type=content_type[:255],
            length=len(parts[sha2].content),
        )
        path = attachment.file.field.generate_filename(attachment, sha2)
        if attachment.file.storage.exists(path):
            # Written by a request that was rolled back afterwards: the path names the
            # content, so the file is this content.
            attachment.file.name = path
        else:
            attachment.file.save(sha2, ContentFile(parts[sha2].content), save=False)
        try:
            with transaction.atomic():
                attachment.save()
        except IntegrityError:
            pass  # kept by a parallel request a moment ago: the same content


@dataclass(frozen=True)
class _NewStatement:
    stored: XapiStatement  # not written yet
    keys: list[XapiStatementKey]  # its agents and activities, for the filters


def _statement_new(
    *, api_key: ApiKey, institution: Institution, s: ValidStatement
) -> "_NewStatement | StoredOutcome":
    """The rows of a statement not stored yet, or the outcome of one stored before."""
    existing = selectors.xapi_statement_stored(institution=institution, statement_id=s.id)
    if existing is not None:
        return _existing_outcome(existing, s)
    if s.voids is not None:
        target = selectors.xapi_statement_stored(institution=institution, statement_id=s.voids)
        if target is not None and target.verb_iri == VOIDED:
            refuse("object.id: a voiding statement cannot void another voiding statement.")
    now = timezone.now()
    authority = authority_of(api_key)
    stored = XapiStatement(
        institution=institution,
        statement_id=s.id,
        raw=s.raw,
        stored=now,
        timestamp=s.timestamp or now,
        authority=authority,
        api_key=api_key,
        actor_ifi=s.actor_ifi[:600],
        verb_iri=s.verb_iri[:500],
        activity_iri=s.activity_iri[:500],
        voids=s.voids,
    )
    keys = [
        XapiStatementKey(
            statement=stored, institution=institution, kind=kind, key=key, related=related
        )
        for (kind, key), related in statement_keys(s.raw, authority=authority).items()
    ]
    return _NewStatement(stored=stored, keys=keys)


def _statement_write(new: _NewStatement) -> None:
    """The statement, noted with what became of its progress, and its keys. A parallel
    request storing the same id makes the insert fail: statements_store then starts again."""
    XapiStatement.objects.bulk_create([new.stored])
    XapiStatementKey.objects.bulk_create(new.keys)


def _statement_stored(new: _NewStatement, *, institution: Institution) -> StoredOutcome:
    """A statement just written: the statement it voids is voided now."""
    if new.stored.voids is not None:
        XapiStatement.objects.filter(institution=institution, statement_id=new.stored.voids).update(
            voided=True
        )
    return StoredOutcome(new.stored, created=True)


def _existing_outcome(existing: XapiStatement, s: ValidStatement) -> StoredOutcome:
    if not _same_statement(existing.raw, s.raw):
        refuse(f"id: statement {s.id} was stored before with different content.", status=409)
    return StoredOutcome(existing, created=False)


# --- What a statement is about (query keys) -------------------------------------------------


def _agent_keys(agent: Any) -> list[str]:
    """The inverse functional identifiers of a valid Agent or Group and of a Group's members."""
    if not isinstance(agent, dict):
        return []
    own = ifi_key(agent, "agent")
    keys = [own] if own else []
    for member in agent.get("member") or ():
        keys += _agent_keys(member)
    return keys


def _activity_ids(context: Any) -> list[str]:
    """The ids of a context's contextActivities (each kind a list or a single activity)."""
    if not isinstance(context, dict) or not isinstance(context.get("contextActivities"), dict):
        return []
    ids = []
    for items in context["contextActivities"].values():
        for item in items if isinstance(items, list) else [items]:
            ids.append(item["id"])
    return ids


def _context_agents(context: Any) -> list[str]:
    if not isinstance(context, dict):
        return []
    return _agent_keys(context.get("instructor")) + _agent_keys(context.get("team"))


def statement_keys(raw: dict, *, authority: dict) -> dict[tuple[str, str], bool]:
    """What a valid statement is about: ``(kind, key) → related`` for :class:`XapiStatementKey`.

    Narrow (``related`` False), as the ``agent`` and ``activity`` filters match: the actor and
    an Agent or Group object, with their members; an Activity object. Related (True), as
    ``related_agents`` / ``related_activities`` add: the authority (the one the LRS returns),
    the context's instructor, team and activities, and a SubStatement's actor, object and
    context.
    """
    keys: dict[tuple[str, str], bool] = {}

    def add(kind: str, values: Iterable[str], related: bool) -> None:
        for value in values:
            key = (kind, value[:600])
            keys[key] = keys.get(key, True) and related

    def add_object(target: Any, related: bool) -> None:
        if not isinstance(target, dict):
            return
        object_type = target.get("objectType", "Activity")
        if object_type == "Activity":
            add(XapiKeyKind.ACTIVITY, [target["id"]], related)
        elif object_type in ("Agent", "Group"):
            add(XapiKeyKind.AGENT, _agent_keys(target), related)
        elif object_type == "SubStatement":
            add(XapiKeyKind.AGENT, _agent_keys(target.get("actor")), True)
            add_object(target.get("object"), True)
            add(XapiKeyKind.AGENT, _context_agents(target.get("context")), True)
            add(XapiKeyKind.ACTIVITY, _activity_ids(target.get("context")), True)

    add(XapiKeyKind.AGENT, _agent_keys(raw.get("actor")), False)
    add_object(raw.get("object"), False)
    add(XapiKeyKind.AGENT, _agent_keys(authority), True)
    add(XapiKeyKind.AGENT, _context_agents(raw.get("context")), True)
    add(XapiKeyKind.ACTIVITY, _activity_ids(raw.get("context")), True)
    return keys


def statements_about(
    queryset: QuerySet, *, institution: Institution, kind: str, key: str, related: bool
) -> QuerySet:
    """Narrow ``queryset`` to the statements about an agent (IFI key) or an activity (IRI),
    as the filter matches (``related`` False) or as its ``related_*`` form does (True).

    One look-up in the key index, whatever the size of the statements' JSON."""
    return queryset.filter(
        statements_about_condition(institution=institution, kind=kind, key=key, related=related)
    )


def statements_about_condition(*, institution: Institution, kind: str, key: str, related: bool):
    """:func:`statements_about` as a condition (``Q``), to combine with others."""
    keys = XapiStatementKey.objects.filter(institution=institution, kind=kind, key=key[:600])
    if not related:
        keys = keys.filter(related=False)
    return Q(pk__in=keys.values("statement_id"))
