"""xAPI 1.0.3 Learning Record Store for other LMSs: statements, documents, and progress.

A services module beside :mod:`courses.ingest` (same conventions): every statement is stored
for the institution of the API key that sent it, and is seen by that institution only. A
statement whose object is an activity mapped to one of the institution's live modules (the
module's ``xapi_activity_iri``) with one of :data:`PROGRESS_VERBS` becomes a progress event
through :func:`courses.services.progress_event_record`, in the same transaction as the
statement is stored; its event id is the statement id, so a re-sent statement applies once.

Statements stored before their learner, enrolment or module mapping existed are applied later
by :func:`statements_replay` (when the institution enrols the learner, and by
``manage.py xapi_replay``). Attachment content sent as ``multipart/mixed`` is stored once per
institution and SHA-2 hash (:class:`courses.models.XapiAttachment`); the agents and activities
a statement is about are extracted when it is stored (:class:`courses.models.XapiStatementKey`)
so that the ``agent`` / ``activity`` filters, ``related_agents`` and ``related_activities``
are index look-ups.

The State, Activity Profile and Agent Profile documents are :mod:`courses.xapi.documents`.

The package's parts: :mod:`~courses.xapi.validation`, :mod:`~courses.xapi.storage`,
:mod:`~courses.xapi.progress` (mapping and replay), :mod:`~courses.xapi.formats`,
:mod:`~courses.xapi.queries` and :mod:`~courses.xapi.documents` (its rows are
:class:`courses.models.XapiDocument`). Their public names are importable from here, each
loaded on first use: a process that only needs one part does not load the others.

See docs/decisions/0005-xapi.md for what happens to unknown learners and to voided statements.
"""

import importlib

#: Where each public name of the package lives.
_PUBLIC = {
    "common": (
        "ADL",
        "PROGRESS_VERBS",
        "VOIDED",
        "XAPI_VERSION",
        "XapiError",
        "json_parse",
    ),
    "validation": (
        "ValidStatement",
        "iri_check",
        "ifi_key",
        "parse_timestamp",
        "parse_uuid",
        "statement_validate",
        "validate_agent",
        "version_check",
    ),
    "storage": (
        "AttachmentPart",
        "StoredOutcome",
        "attachment_part",
        "authority_of",
        "max_body_bytes",
        "statement_keys",
        "statements_about",
        "statements_store",
    ),
    "progress": ("REPLAYABLE", "learner_statements_replay", "statements_replay"),
    "formats": (
        "FORMATS",
        "accept_languages",
        "language_pick",
        "statement_attachments",
        "statement_json",
    ),
}
_WHERE = {name: module for module, names in _PUBLIC.items() for name in names}
__all__ = sorted(_WHERE)


def __getattr__(name: str):
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'courses.xapi' has no attribute {name!r}")
    return getattr(importlib.import_module(f"courses.xapi.{module}"), name)
