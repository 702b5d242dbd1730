"""Verifying certificates: by the code anyone can type (or a QR code opens), by the signed
credential file, and many codes at once.

Verifiers learn the public facts (:func:`verification_facts`: status, printed name, course,
institution, competencies, dates) and nothing else about the holder. Each verification is
counted (:mod:`certificates.verification_counts`). Lookups by code go through the client's
allowance (``app_settings.VERIFY_RATE``) and, with Redis, the facts kept there
(:mod:`certificates.verification_cache`).
"""

import csv
import io
import json
from dataclasses import dataclass, replace

from django.core.files import File
from django.db import transaction
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from certificates import rate_limits, verification_cache
from certificates.codes import code_display, code_parse
from certificates.credentials import CredentialCheck, credential_check
from certificates.models import Certificate
from certificates.verification_counts import verifications_count

#: What the public facts are made of (a lookup by code reads only these columns).
VERIFICATION_FIELDS = (
    "code",
    "state",
    "holder_name",
    "course_title",
    "course_version",
    "institution_name",
    "issued_at",
    "valid_until",
    "revoked_at",
    "revocation_reason",
    "version",
    "framework_title",
    "framework_version",
    "competencies",
)
#: How many codes one bulk request may hold (fewer if CERTIFICATE_BULK_VERIFY_RATE allows
#: fewer a period: see :func:`bulk_max_codes`).
BULK_MAX_CODES = 1_000
#: The columns of a bulk verification's results, in order.
BULK_COLUMNS = [
    "input",
    "code",
    "status",
    "holder_name",
    "course",
    "institution",
    "issued_on",
    "valid_until",
    "revoked_on",
    "revocation_reason",
    "message",
]
#: The largest credential or CSV file accepted.
MAX_UPLOAD_BYTES = 2 * 1024 * 1024


# --- The public facts -------------------------------------------------------------------------


def verification_facts(certificate: Certificate) -> dict:
    """What anyone may learn about a certificate: nothing personal beyond the printed name."""
    renewal = getattr(certificate, "renewal", None) if certificate.state == "renewed" else None
    return {
        "code": certificate.display_code,
        "status": certificate.verification_status,
        "holder_name": certificate.holder_name,
        "course": certificate.course_title,
        "course_version": certificate.course_version,
        "institution": certificate.institution_name,
        "issued_on": timezone.localdate(certificate.issued_at).isoformat(),
        "valid_until": certificate.valid_until.isoformat() if certificate.valid_until else None,
        "revoked_on": timezone.localdate(certificate.revoked_at).isoformat()
        if certificate.revoked_at
        else None,
        "revocation_reason": certificate.revocation_reason or None,
        "version": certificate.version,
        "renewed_by": renewal.display_code if renewal else None,
        "framework": {
            "title": certificate.framework_title,
            "version": certificate.framework_version,
        }
        if certificate.framework_title
        else None,
        "competencies": [
            {
                "code": item["code"],
                "statement": item["statement"],
                "level": item["level"],
                "uri": item["uri"],
            }
            for item in certificate.competencies
        ],
    }


def verification_status(facts: dict, *, today=None) -> str:
    """valid / expired / revoked, from facts that may have been kept for a while.

    A revocation is for good; expiry is decided now, from the date the facts carry.
    """
    if facts["status"] == "revoked":
        return "revoked"
    today = today or timezone.localdate()
    valid_until = facts["valid_until"]
    return "expired" if valid_until and valid_until < today.isoformat() else "valid"


def verification_facts_changed(certificate: Certificate) -> None:
    """The certificate's public facts change: clear the kept ones now and on commit (see
    :mod:`certificates.verification_cache` for why both)."""
    codes = [certificate.code]
    verification_cache.facts_forget(codes=codes)
    transaction.on_commit(lambda: verification_cache.facts_forget(codes=codes))


# --- By code ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CodeLookup:
    """What a typed code turned out to be."""

    text: str
    code: str = ""  # canonical, when the code reads as one of ours
    problem: str = ""  # "typo" (fails the check symbol or wrong length) or "unknown" or ""
    certificate: Certificate | None = None

    @property
    def message(self) -> str:
        if self.problem == "typo":
            return _(
                "This is not a valid certificate code: a symbol seems mistyped or missing. "
                "Check it against the certificate (17 letters and digits, e.g. "
                "7KQ4-M2XD-9HRT-W3ZP-6)."
            )
        if self.problem == "unknown":
            return _("The code is well formed, but no certificate with this code was issued here.")
        return ""


def certificate_for_verification(*, code: str) -> Certificate | None:
    """The certificate with this canonical code, its public columns only."""
    certificates = Certificate.objects.only(*VERIFICATION_FIELDS).filter(code=code)
    return next(iter(certificates.order_by()[:1]), None)


@dataclass(frozen=True)
class Verification:
    """The answer to a code someone typed."""

    lookup: CodeLookup  # the code as read, and the problem if nothing was found
    facts: dict | None = None  # the public facts, status as of now, when found
    limited: bool = False  # the client has used up its lookups for the period
    retry_after: int = 0  # when limited: seconds until the client may look up again


def certificate_verify(*, text: str, client: str, now: float | None = None) -> Verification:
    """Look up a typed code for a verifier: count the lookup against the client's allowance
    (typos and unknown codes too: the limit keeps codes unguessable) and, when a certificate
    is found, count the verification.

    The allowance is a sliding window (:mod:`certificates.rate_limits`): no span of the
    period holds more of the client's lookups than ``app_settings.VERIFY_RATE`` allows.
    ``now`` is the time in seconds since the epoch (default: the clock's), for tests that
    cross a window's edge.

    With Redis, a certificate verified in the last few minutes takes one round trip and no
    query; otherwise one query and a second round trip that keeps its facts (see
    :mod:`certificates.verification_cache`).
    """
    parsed = code_parse(text)
    cached = parsed.ok and verification_cache.redis_client() is not None
    if cached:
        found = verification_cache.verify(client=client, code=parsed.code, now=now)
    else:
        found = verification_cache.Lookup(verification_cache.lookup_allowed(client=client, now=now))
    if not found.allowance.allowed:
        return Verification(
            CodeLookup(text=text), limited=True, retry_after=found.allowance.retry_after
        )
    if not parsed.ok:
        return Verification(CodeLookup(text=text, problem="typo"))
    lookup = CodeLookup(text=text, code=parsed.code)
    if found.facts:  # counted by the same round trip
        return Verification(lookup, {**found.facts, "status": verification_status(found.facts)})
    certificate = certificate_for_verification(code=parsed.code)
    if certificate is None:
        return Verification(replace(lookup, problem="unknown"))
    facts = verification_facts(certificate)
    if cached:
        verification_cache.facts_keep(
            code=parsed.code,
            certificate_id=certificate.pk,
            facts=facts,
            generation=found.generation,
        )
    else:
        verifications_count(certificate_ids=[certificate.pk])
    return Verification(lookup, facts)


# --- By credential file -----------------------------------------------------------------------


@dataclass(frozen=True)
class FileVerification:
    """What an uploaded credential file turned out to be, and the certificate's public facts
    when it is one of ours."""

    check: CredentialCheck
    facts: dict | None = None


def credential_file_verify(*, upload: File) -> FileVerification:
    """Check an uploaded credential file (signature, our record, status, expiry), counting a
    verification of the certificate it turns out to be."""
    if upload.size > MAX_UPLOAD_BYTES:
        return FileVerification(
            CredentialCheck(
                "unreadable", _("The file is too large to be a credential (at most 2 MB).")
            )
        )
    try:
        document = json.loads(upload.read().decode("utf-8-sig"))
    except (ValueError, RecursionError):  # not UTF-8, not JSON, absurdly nested
        return FileVerification(
            CredentialCheck(
                "unreadable",
                _("The file is not a credential: it is not JSON. Upload the .json file."),
            )
        )
    check = credential_check(document)
    if check.certificate is None:
        return FileVerification(check)
    verifications_count(certificate_ids=[check.certificate.pk])
    return FileVerification(check, verification_facts(check.certificate))


# --- In bulk ----------------------------------------------------------------------------------


class BulkInputError(ValueError):
    """Codes for bulk verification that cannot be read; the message says why."""


def certificates_by_codes(texts: list[str]) -> list[CodeLookup]:
    """Many codes in one query (bulk verification)."""
    parsed = [code_parse(text) for text in texts]
    found = {
        certificate.code: certificate
        for certificate in Certificate.objects.filter(code__in={p.code for p in parsed if p.ok})
    }
    results = []
    for text, code in zip(texts, parsed, strict=True):
        if not code.ok:
            results.append(CodeLookup(text=text, problem="typo"))
        elif code.code not in found:
            results.append(CodeLookup(text=text, code=code.code, problem="unknown"))
        else:
            results.append(CodeLookup(text=text, code=code.code, certificate=found[code.code]))
    return results


def bulk_rows(codes: list[str]) -> list[dict]:
    """One row per code, in order: valid / expired / revoked, or typo / unknown with why.
    Each certificate found counts one verification."""
    lookups = certificates_by_codes(codes)
    verifications_count(
        certificate_ids=[lookup.certificate.pk for lookup in lookups if lookup.certificate]
    )
    rows = []
    for lookup in lookups:
        row = dict.fromkeys(BULK_COLUMNS, "")
        row["input"] = lookup.text
        if lookup.certificate is None:
            row.update(
                code=code_display(lookup.code) if lookup.code else "",
                status=lookup.problem,
                message=lookup.message,
            )
        else:
            facts = verification_facts(lookup.certificate)
            row.update({key: facts.get(key) or "" for key in BULK_COLUMNS if key in facts})
        rows.append(row)
    return rows


def bulk_max_codes() -> int:
    """The most codes one bulk request may hold: :data:`BULK_MAX_CODES`, or the per-period
    allowance if that is smaller (a larger request could never be allowed)."""
    return min(BULK_MAX_CODES, rate_limits.bulk_rate()[0])


def codes_from_csv(data: bytes) -> list[str]:
    """Codes from an uploaded CSV: the column headed "code", or else the first column."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BulkInputError(_("The file is not UTF-8 text: save it as CSV UTF-8.")) from None
    try:
        rows = [row for row in csv.reader(io.StringIO(text)) if any(cell.strip() for cell in row)]
    except csv.Error as error:
        raise BulkInputError(_("The file is not a readable CSV file: %s") % error) from None
    if not rows:
        raise BulkInputError(_("The file holds no codes."))
    header = [cell.strip().lower() for cell in rows[0]]
    column = header.index("code") if "code" in header else 0
    if "code" in header:
        rows = rows[1:]
    codes = [row[column].strip() if column < len(row) else "" for row in rows]
    if not codes:
        raise BulkInputError(_("The file holds no codes."))
    if len(codes) > bulk_max_codes():
        raise BulkInputError(
            _("At most %(max)s codes at a time; the file holds %(n)s.")
            % {"max": _number(bulk_max_codes()), "n": _number(len(codes))}
        )
    return codes


def codes_from_text(text: str) -> list[str]:
    """Codes pasted one a line (blank lines left out)."""
    codes = [line.strip() for line in text.splitlines() if line.strip()]
    if not codes:
        raise BulkInputError(_("Paste codes, one a line, or upload a CSV file."))
    if len(codes) > bulk_max_codes():
        raise BulkInputError(
            _("At most %(max)s codes at a time; you pasted %(n)s.")
            % {"max": _number(bulk_max_codes()), "n": _number(len(codes))}
        )
    return codes


def _number(value: int) -> str:
    return number_format(value, force_grouping=True)
