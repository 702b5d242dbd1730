"""Writes of the certificates app: the door other apps and the app's views write through.

Each job lives in a module of its own; this module re-exports their public functions:

- :mod:`certificates.issuing` — issue one learner's certificate, automatically on progress,
  or a cohort's in bulk;
- :mod:`certificates.delivery` — render and store the PDF and signed credential, e-mail
  the holder, sweep up what the broker never got;
- :mod:`certificates.lifecycle` — revoke, re-issue, renew, remind before expiry;
- :mod:`certificates.verification` and :mod:`certificates.verification_counts` — verify
  by code, and count verifications.

Every refusal is a :class:`CertificateError` whose message says why, and changes nothing.
"""

from certificates.delivery import (
    certificate_email,
    certificate_pdf_bytes,
    certificate_render,
    certificate_render_failed,
    certificates_pending_sweep,
)
from certificates.dispatch import render_enqueue
from certificates.exceptions import CertificateError
from certificates.issuing import (
    Issued,
    bulk_issue_run,
    bulk_issue_start,
    certificate_issue,
    certificate_issue_if_eligible,
    certificates_issue_if_eligible_many,
)
from certificates.lifecycle import (
    certificate_reissue,
    certificate_renew,
    certificate_revoke,
    expiry_reminders_send,
)
from certificates.links import site_url, verification_url
from certificates.models import STATUS_LIST_SIZE
from certificates.verification import Verification, certificate_verify
from certificates.verification_counts import verification_counts_flush, verifications_count

__all__ = [
    "STATUS_LIST_SIZE",
    "CertificateError",
    "Issued",
    "Verification",
    "bulk_issue_run",
    "bulk_issue_start",
    "certificate_email",
    "certificate_issue",
    "certificate_issue_if_eligible",
    "certificate_pdf_bytes",
    "certificate_reissue",
    "certificate_render",
    "certificate_render_failed",
    "certificate_renew",
    "certificate_revoke",
    "certificate_verify",
    "certificates_issue_if_eligible_many",
    "certificates_pending_sweep",
    "expiry_reminders_send",
    "render_enqueue",
    "site_url",
    "verification_counts_flush",
    "verification_url",
    "verifications_count",
]
