"""Serve a signed-in person only once this session has passed the second factor they need."""

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import Resolver404, resolve, reverse
from django.utils.translation import gettext as _

from lms import second_factor, selectors

#: Paths reachable without a second factor: the account pages themselves (to set one up or
#: log out), static files and the public verification pages.
MFA_EXEMPT_PREFIXES = ("/accounts/", "/static/", "/media/", "/verify/", "/i18n/", "/favicon")

#: Paths that answer JSON, so they get a JSON refusal rather than a redirect.
JSON_PREFIXES = ("/api/",)


def _is_exempt(path_info: str) -> bool:
    """Exempt by prefix, or any allauth page wherever the site mounts allauth's URLs."""
    if path_info.startswith(MFA_EXEMPT_PREFIXES):
        return True
    try:
        return resolve(path_info).func.__module__.startswith("allauth.")
    except Resolver404:
        return False


class MfaRequiredMiddleware:
    """Two rules, for every signed-in request:

    * A person with an authenticator is served only if this session passed it (allauth
      records that at log-in: :mod:`lms.second_factor`). A session without that record was
      made by some other door, or before this check: it is signed out and sent to allauth's
      log-in, which asks for the code.
    * Managers, regulators and superusers without an authenticator are sent to the page that
      activates one (the account pages stay open so they can).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return self.get_response(request)
        authenticators = selectors.user_authenticators(user=user)
        if second_factor.SECOND_FACTOR_TYPES.intersection(authenticators.values()):
            if not second_factor.passed_in_session(
                request.session, authenticator_ids=authenticators.keys()
            ):
                return self._sign_out(request)
        elif not _is_exempt(request.path_info) and selectors.user_requires_mfa(user=user):
            return self._set_up_second_factor(request)
        return self.get_response(request)

    def _sign_out(self, request):
        logout(request)
        message = _(
            "For your safety, log in again with your password and the code from your "
            "authenticator app."
        )
        if request.path_info.startswith(JSON_PREFIXES):
            return JsonResponse({"detail": message}, status=401)
        messages.warning(request, message)
        if _is_exempt(request.path_info):
            return redirect(reverse("account_login"))
        return redirect_to_login(request.get_full_path())

    def _set_up_second_factor(self, request):
        message = _(
            "Your role gives access to other people's records. Set up two-factor "
            "authentication with an authenticator app before you continue."
        )
        if request.path_info.startswith(JSON_PREFIXES):
            return JsonResponse({"detail": message}, status=403)
        messages.warning(request, message)
        return redirect(reverse("mfa_activate_totp"))
