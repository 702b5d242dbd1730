"""Keep people who must use a second factor away from data until they have set one up."""

from django.contrib import messages
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import Resolver404, resolve, reverse
from django.utils.translation import gettext as _

from lms import selectors

#: Paths reachable without a second factor: the account pages themselves (to set one up or
#: log out), static files and the public verification pages.
MFA_EXEMPT_PREFIXES = ("/accounts/", "/static/", "/media/", "/verify/", "/i18n/", "/favicon")


def _is_exempt(path_info: str) -> bool:
    """Exempt by prefix, or any allauth page wherever the site mounts allauth's URLs."""
    if path_info.startswith(MFA_EXEMPT_PREFIXES):
        return True
    try:
        return resolve(path_info).func.__module__.startswith("allauth.")
    except Resolver404:
        return False


class MfaRequiredMiddleware:
    """Send managers, regulators and superusers without TOTP to the page that activates it.

    allauth's MFA then asks for the code at every log-in; this middleware only closes the gap
    before the first authenticator exists (and for people who get such a role later).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and not _is_exempt(request.path_info)
            and selectors.user_requires_mfa(user=user)
            and not selectors.user_has_mfa(user=user)
        ):
            message = _(
                "Your role gives access to other people's records. Set up two-factor "
                "authentication with an authenticator app before you continue."
            )
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": message}, status=403)
            messages.warning(request, message)
            return redirect(reverse("mfa_activate_totp"))
        return self.get_response(request)
