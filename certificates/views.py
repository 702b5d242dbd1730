"""Verification by anyone, without an account: a form, the page a QR code opens, bulk.

Verifiers learn the minimal facts (status, printed name, course, institution, competencies,
dates) and nothing else about the holder. Each client gets a limited number of lookups a
minute (a clear 429 past it): codes are unguessable, and this keeps them so.
"""

import csv
import io
import json
from dataclasses import dataclass
from datetime import date
from http import HTTPStatus

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from certificates import credentials, selectors, services, verification_cache
from certificates.codes import code_display, code_parse
from lms.downloads import attachment_header
from lms.selectors import user_institutions, user_is_regulator
from lms.spreadsheets import csv_write_rows

#: How many codes one bulk request may hold.
BULK_MAX_CODES = 10_000
#: The largest credential or CSV file accepted.
MAX_UPLOAD_BYTES = 2 * 1024 * 1024


def rate_period_seconds() -> int:
    """The rate's period in seconds ("60/m" → 60, "100/5m" → 300): the longest wait."""
    return verification_cache.rate()[1]


def rate_limited(request) -> bool:
    """True once the client has used up its verifications for the period (counted here)."""
    limit, period = verification_cache.rate()
    client = verification_cache.client_of(request)
    return verification_cache.lookups_used(client=client, limit=limit, period=period) > limit


def too_many_message() -> str:
    seconds = rate_period_seconds()
    if seconds <= 60:
        return _("Too many verifications from your network. Wait a minute, then try again.")
    return _(
        "Too many verifications from your network. Wait %(minutes)s minutes, then try again."
    ) % {"minutes": -(-seconds // 60)}


def too_many(request, *, as_json: bool = False) -> HttpResponse:
    """429 with a message a person understands and a Retry-After a program understands."""
    message = too_many_message()
    if as_json:
        response = JsonResponse(
            {"detail": message, "problem": "rate"}, status=HTTPStatus.TOO_MANY_REQUESTS
        )
    else:
        response = render(
            request,
            "certificates/verify.html",
            {"error": message},
            status=HTTPStatus.TOO_MANY_REQUESTS,
        )
    response["Retry-After"] = str(rate_period_seconds())
    return response


def verify(request):
    """The form: type a code, or upload a credential file."""
    if request.method == "POST" and "credential" in request.FILES:
        if rate_limited(request):
            return too_many(request)
        return _verify_credential_file(request)
    code = (request.GET.get("code") or request.POST.get("code") or "").strip()
    if code:
        # A code that reads as one of ours lands on its canonical address (the QR's).
        parsed = code_parse(code)
        target = code_display(parsed.code) if parsed.ok else code.replace("/", "")
        if target:
            return redirect("certificates:verify_code", code=target)
    return render(request, "certificates/verify.html", {})


def _facts_context(facts: dict) -> dict:
    """The public facts, and their dates as dates (the page formats them for its reader)."""
    return {"facts": facts, "dates": VerifiedDates.of(facts)}


def _verify_credential_file(request):
    upload = request.FILES["credential"]
    if upload.size > MAX_UPLOAD_BYTES:
        check = credentials.CredentialCheck(
            "unreadable", _("The file is too large to be a credential (at most 2 MB).")
        )
    else:
        try:
            document = json.loads(upload.read().decode("utf-8-sig"))
        except (ValueError, RecursionError):  # not UTF-8, not JSON, absurdly nested
            check = credentials.CredentialCheck(
                "unreadable",
                _("The file is not a credential: it is not JSON. Upload the .json file."),
            )
        else:
            check = credentials.credential_check(document)
    context = {"credential_check": check}
    if check.certificate:
        services.verifications_count(certificate_ids=[check.certificate.pk])
        context.update(_facts_context(selectors.verification_facts(check.certificate)))
    return render(
        request,
        "certificates/verify.html",
        context,
        status=HTTPStatus.OK if check.status == "valid" else HTTPStatus.UNPROCESSABLE_ENTITY,
    )


@dataclass(frozen=True)
class VerifiedDates:
    """The dates the page shows (it formats them for the reader's language)."""

    issued_at: date
    valid_until: date | None
    revoked_at: date | None

    @classmethod
    def of(cls, facts: dict) -> "VerifiedDates":
        def day(text):
            return date.fromisoformat(text) if text else None

        return cls(day(facts["issued_on"]), day(facts["valid_until"]), day(facts["revoked_on"]))


def verify_code(request, code: str):
    """The page a certificate's QR code opens; also where the form sends a typed code."""
    verification = services.certificate_verify(
        text=code, client=verification_cache.client_of(request)
    )
    if verification.limited:
        return too_many(request)
    if verification.facts is None:
        return render(
            request,
            "certificates/verify.html",
            {"lookup": verification.lookup, "typed": code},
            status=HTTPStatus.NOT_FOUND,
        )
    facts = verification.facts
    return render(
        request,
        "certificates/verify.html",
        _facts_context(facts),
    )


# --- Bulk -------------------------------------------------------------------------------------


def may_verify_in_bulk(user) -> bool:
    """Regulators, institution staff and superusers (a logged-in person we know)."""
    return (
        user.is_superuser or user_is_regulator(user=user) or user_institutions(user=user).exists()
    )


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


def bulk_rows(codes: list[str]) -> list[dict]:
    """One row per code, in order: valid / expired / revoked, or typo / unknown with why."""
    lookups = selectors.certificates_by_codes(codes)
    services.verifications_count(
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
            facts = selectors.verification_facts(lookup.certificate)
            row.update({key: facts.get(key) or "" for key in BULK_COLUMNS if key in facts})
        rows.append(row)
    return rows


class BulkInputError(ValueError):
    pass


def _number(value: int) -> str:
    return number_format(value, force_grouping=True)


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
    if len(codes) > BULK_MAX_CODES:
        raise BulkInputError(
            _("At most %(max)s codes at a time; the file holds %(n)s.")
            % {"max": _number(BULK_MAX_CODES), "n": _number(len(codes))}
        )
    return codes


def bulk_csv_response(rows: list[dict]) -> HttpResponse:
    """The results as CSV; a holder could name themselves ``=HYPERLINK(…)``: cells made safe."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = attachment_header("certificate-verification.csv")
    csv_write_rows(response, [BULK_COLUMNS, *([row[key] for key in BULK_COLUMNS] for row in rows)])
    return response


@login_required
def verify_bulk(request):
    """Upload a CSV of codes (or paste them); get a CSV or JSON of their statuses."""
    if not may_verify_in_bulk(request.user):
        return render(
            request,
            "certificates/verify_bulk.html",
            {"error": _("Bulk verification is for regulators and training institutions.")},
            status=HTTPStatus.FORBIDDEN,
        )
    if request.method != "POST":
        return render(request, "certificates/verify_bulk.html", {"max": BULK_MAX_CODES})
    try:
        if request.FILES.get("file"):
            upload = request.FILES["file"]
            if upload.size > MAX_UPLOAD_BYTES:
                raise BulkInputError(_("The file is larger than 2 MB."))
            codes = codes_from_csv(upload.read())
        else:
            codes = [line.strip() for line in request.POST.get("codes", "").splitlines()]
            codes = [code for code in codes if code]
            if not codes:
                raise BulkInputError(_("Paste codes, one a line, or upload a CSV file."))
            if len(codes) > BULK_MAX_CODES:
                raise BulkInputError(
                    _("At most %(max)s codes at a time; you pasted %(n)s.")
                    % {"max": _number(BULK_MAX_CODES), "n": _number(len(codes))}
                )
    except BulkInputError as error:
        return render(
            request,
            "certificates/verify_bulk.html",
            {"error": str(error), "max": BULK_MAX_CODES},
            status=HTTPStatus.BAD_REQUEST,
        )
    rows = bulk_rows(codes)
    wanted = request.POST.get("format", "html")
    if wanted == "csv":
        return bulk_csv_response(rows)
    if wanted == "json":
        return JsonResponse({"results": rows})
    return render(request, "certificates/verify_bulk.html", {"rows": rows, "max": BULK_MAX_CODES})
