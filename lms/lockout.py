"""A locked-out log-in answers 429 Too Many Requests with ``Retry-After``, in plain words.

allauth counts failed log-ins (``ACCOUNT_RATE_LIMITS["login_failed"]``) for the password and
for the authenticator code, and then refuses with a form error on a 200 page. Browsers,
proxies and scripts understand a 429 and its ``Retry-After``; the person reads the page. The
adapter and the code form hand allauth this response through its documented
``ImmediateHttpResponse`` instead of the form error.
"""

import math

from allauth.account import app_settings as account_settings
from allauth.core.exceptions import ImmediateHttpResponse
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.template.response import TemplateResponse

#: The code allauth gives the form error of a locked-out log-in.
LOCKOUT_CODE = "too_many_login_attempts"

_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def rate_window_seconds(rate: str) -> float:
    """The window of one allauth rate, ``amount/duration[/per]``: ``5/5m/key`` is 300 s."""
    duration = rate.strip().split("/")[1]
    count = duration[:-1]
    return (float(count) if count else 1.0) * _SECONDS[duration[-1]]


def login_lockout_seconds() -> int:
    """How long until every failure counted against a log-in has aged out of its window.

    A person who waits this long can always try again, whichever of the ``login_failed``
    limits (per address, per account) stopped them.
    """
    rates = account_settings.RATE_LIMITS.get("login_failed") or ""
    windows = [rate_window_seconds(rate) for rate in rates.split(",") if rate.strip()]
    return math.ceil(max(windows, default=60))


def is_lockout(error: ValidationError) -> bool:
    return any(getattr(e, "code", None) == LOCKOUT_CODE for e in error.error_list)


def lockout_response(request) -> HttpResponse:
    seconds = login_lockout_seconds()
    response = TemplateResponse(
        request,
        "lms/accounts/locked_out.html",
        {"minutes": math.ceil(seconds / 60)},
        status=429,
    )
    response["Retry-After"] = str(seconds)
    return response.render()


def refuse_locked_out(request, error: ValidationError) -> None:
    """Answer a lockout with the 429 page; any other error is left to the form."""
    if is_lockout(error):
        raise ImmediateHttpResponse(lockout_response(request)) from error
