"""Whether this session passed a second factor, read from what allauth records in it.

allauth keeps a list of the authentication steps a session completed under the public
``AUTHENTICATION_METHODS_SESSION_KEY``: ``{"method": "mfa", "id": <authenticator>, ...}``
after an authenticator code (or a recovery code) was accepted at log-in or
re-authentication. :class:`lms.middleware.MfaRequiredMiddleware` serves a person who has an
authenticator only if such a record names one of *their* authenticators: a session opened
by any other door (an admin's own log-in form, ``login()`` in code, a session from before
this check) has none, whatever the person proved elsewhere.
"""

import time

from allauth.account.authentication import (
    AUTHENTICATION_METHODS_SESSION_KEY,
    get_authentication_records,
)
from allauth.mfa.models import Authenticator

#: Authenticators allauth asks for at log-in (recovery codes only stand in for them).
SECOND_FACTOR_TYPES = frozenset({Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN})


def passed_in_session(session, *, authenticator_ids) -> bool:
    """True when the session records a second factor passed with one of these authenticators."""
    records = session.get(AUTHENTICATION_METHODS_SESSION_KEY)
    if not isinstance(records, list):
        return False
    return any(
        isinstance(record, dict)
        and record.get("method") == "mfa"
        and record.get("id") in authenticator_ids
        for record in records
    )


def record_activation(sender, request, user, authenticator, **kwargs) -> None:
    """Receiver of allauth's ``authenticator_added``: activating one is passing it.

    allauth accepts a new authenticator only with a valid code from it, after the password
    was asked for again; it records no "mfa" step for that, so without this the session that
    set the second factor up would be signed out on its next page.
    """
    if authenticator.type not in SECOND_FACTOR_TYPES:
        return
    record = {
        "method": "mfa",
        "at": time.time(),
        "id": authenticator.pk,
        "type": authenticator.type,
        "activated": True,
    }
    request.session[AUTHENTICATION_METHODS_SESSION_KEY] = [
        *get_authentication_records(request, user),
        record,
    ]
