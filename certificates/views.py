"""Verification by anyone, without an account: a form, the page a QR code opens, bulk.

Verifiers learn the minimal facts (status, printed name, course, institution, competencies,
dates) and nothing else about the holder. Each client gets a limited number of lookups a
minute (a clear 429 past it): codes are unguessable, and this keeps them so.
"""

from dataclasses import dataclass
from datetime import date
from http import HTTPStatus

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from certificates import rate_limits, services, verification, verification_cache
from certificates.codes import code_display, code_parse
from certificates.permissions import may_verify_in_bulk
from certificates.verification import (
    BULK_COLUMNS,
    BULK_MAX_CODES,
    MAX_UPLOAD_BYTES,
    BulkInputError,
    bulk_max_codes,
    bulk_rows,
)
from lms.api_common import error_body
from lms.downloads import attachment_header
from lms.spreadsheets import csv_write_rows

#: Where the bulk page's results and limits come from (:mod:`certificates.verification`).
__all__ = ["BULK_COLUMNS", "BULK_MAX_CODES"]


def lookup_allowance(request) -> rate_limits.Allowance:
    """Log one lookup by the request's client, if its allowance has room."""
    return verification_cache.lookup_allowed(client=verification_cache.client_of(request))


def too_many_message(retry_after: int) -> str:
    if retry_after <= 60:
        return _("Too many verifications from your network. Wait a minute, then try again.")
    return _(
        "Too many verifications from your network. Wait %(minutes)s minutes, then try again."
    ) % {"minutes": -(-retry_after // 60)}


def too_many(request, *, retry_after: int) -> HttpResponse:
    """The verification page's 429: a message a person understands, and a Retry-After."""
    return rate_refusal_page(
        request, message=too_many_message(retry_after), retry_after=retry_after
    )


def too_many_json(*, retry_after: int) -> JsonResponse:
    """The API's 429 for a client past its lookups."""
    return rate_refusal_json(message=too_many_message(retry_after), retry_after=retry_after)


def rate_refusal_json(*, message: str, retry_after: int) -> JsonResponse:
    """429 saying ``message`` in the API's error shape (``problem``: rate), with Retry-After."""
    response = JsonResponse(
        {**error_body(message), "problem": "rate"}, status=HTTPStatus.TOO_MANY_REQUESTS
    )
    response["Retry-After"] = str(retry_after)
    return response


def rate_refusal_page(
    request,
    *,
    message: str,
    retry_after: int,
    template: str = "certificates/verify.html",
    context: dict | None = None,
) -> HttpResponse:
    """429 saying ``message`` on a page, with Retry-After."""
    response = render(
        request,
        template,
        {**(context or {}), "error": message},
        status=HTTPStatus.TOO_MANY_REQUESTS,
    )
    response["Retry-After"] = str(retry_after)
    return response


def verify(request):
    """The form: type a code, or upload a credential file."""
    if request.method == "POST" and "credential" in request.FILES:
        allowance = lookup_allowance(request)
        if not allowance.allowed:
            return too_many(request, retry_after=allowance.retry_after)
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
    result = verification.credential_file_verify(upload=request.FILES["credential"])
    context = {"credential_check": result.check}
    if result.facts is not None:
        context.update(_facts_context(result.facts))
    return render(
        request,
        "certificates/verify.html",
        context,
        status=HTTPStatus.OK if result.check.status == "valid" else HTTPStatus.UNPROCESSABLE_ENTITY,
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
    result = services.certificate_verify(text=code, client=verification_cache.client_of(request))
    if result.limited:
        return too_many(request, retry_after=result.retry_after)
    if result.facts is None:
        return render(
            request,
            "certificates/verify.html",
            {"lookup": result.lookup, "typed": code},
            status=HTTPStatus.NOT_FOUND,
        )
    return render(request, "certificates/verify.html", _facts_context(result.facts))


# --- Bulk -------------------------------------------------------------------------------------


def bulk_verifier(request) -> str:
    """Whom the bulk allowance counts: the API key, or else the logged-in person."""
    api_key = getattr(request, "api_key", None)
    if api_key is not None:
        return f"key:{api_key.pk}"
    return f"user:{request.user.pk}"


def bulk_allowance(request, *, codes: int) -> rate_limits.Allowance:
    """Log a bulk request of ``codes`` codes against its verifier's allowance, if it has room
    (``CERTIFICATE_BULK_VERIFY_RATE``)."""
    return rate_limits.bulk_codes_allowed(verifier=bulk_verifier(request), codes=codes)


def bulk_too_many_message(allowance: rate_limits.Allowance, *, codes: int) -> str:
    limit, period = rate_limits.bulk_rate()
    return _(
        "At most %(limit)s codes in any %(period)s seconds for each API key or person; "
        "wait %(wait)s seconds before sending these %(n)s."
    ) % {
        "limit": _number(limit),
        "period": _number(period),
        "wait": _number(allowance.retry_after),
        "n": _number(codes),
    }


def _number(value: int) -> str:
    return number_format(value, force_grouping=True)


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
        return render(request, "certificates/verify_bulk.html", {"max": bulk_max_codes()})
    try:
        if request.FILES.get("file"):
            upload = request.FILES["file"]
            if upload.size > MAX_UPLOAD_BYTES:
                raise BulkInputError(_("The file is larger than 2 MB."))
            codes = verification.codes_from_csv(upload.read())
        else:
            codes = verification.codes_from_text(request.POST.get("codes", ""))
    except BulkInputError as error:
        return render(
            request,
            "certificates/verify_bulk.html",
            {"error": str(error), "max": bulk_max_codes()},
            status=HTTPStatus.BAD_REQUEST,
        )
    allowance = bulk_allowance(request, codes=len(codes))
    if not allowance.allowed:
        return rate_refusal_page(
            request,
            message=bulk_too_many_message(allowance, codes=len(codes)),
            retry_after=allowance.retry_after,
            template="certificates/verify_bulk.html",
            context={"max": bulk_max_codes()},
        )
    rows = bulk_rows(codes)
    wanted = request.POST.get("format", "html")
    if wanted == "csv":
        return bulk_csv_response(rows)
    if wanted == "json":
        return JsonResponse({"results": rows})
    return render(request, "certificates/verify_bulk.html", {"rows": rows, "max": bulk_max_codes()})
