"""System checks of the core app: what a site that installs the apps must set, said at
start-up (``runserver``, ``migrate``, ``check``) with the setting's name and the fix, rather
than as a server error on some later request.

The certificates app checks its own settings (:mod:`certificates.checks`).
"""

from django.conf import settings
from django.core import checks

from lms.links import DEFAULT_BASE_URL, configured_base_url

MFA_MIDDLEWARE = "lms.middleware.MfaRequiredMiddleware"
ACCOUNT_MIDDLEWARE = "allauth.account.middleware.AccountMiddleware"


@checks.register("lms")
def second_factor_middleware_check(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """Managers, regulators and superusers hold other people's records: without the
    middleware they would reach them without the second factor the apps promise."""
    if MFA_MIDDLEWARE in settings.MIDDLEWARE:
        return []
    return [
        checks.Error(
            f"{MFA_MIDDLEWARE} is not in MIDDLEWARE: staff who must use a second factor "
            "would be served without one.",
            hint=f"Add it to MIDDLEWARE right after {ACCOUNT_MIDDLEWARE} "
            "(docs/plugin-install.md, step 3).",
            id="lms.E001",
        )
    ]


@checks.register("lms")
def app_order_check(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """``lms`` ships the layout of allauth's pages, which counts only before ``allauth``."""
    return app_order_warnings(list(settings.INSTALLED_APPS))


def app_order_warnings(installed_apps: list[str]) -> list[checks.CheckMessage]:
    """What :func:`app_order_check` says of an ``INSTALLED_APPS`` list."""
    apps = [entry.split(".apps.")[0] for entry in installed_apps]
    if "allauth" not in apps or "lms" not in apps or apps.index("lms") < apps.index("allauth"):
        return []
    return [
        checks.Warning(
            "'lms' comes after 'allauth' in INSTALLED_APPS: the log-in and sign-up pages "
            "will not use the site's layout.",
            hint="List 'lms', 'competencies', 'courses' and 'certificates' before 'allauth'.",
            id="lms.W001",
        )
    ]


@checks.register("lms")
def site_address_check(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """Outside development, links without the site's address would lead nowhere."""
    if configured_base_url() or settings.DEBUG:
        return []
    return [
        checks.Warning(
            "Neither SITE_BASE_URL nor WAGTAILADMIN_BASE_URL is set: certificates, "
            f"credentials, CASE exports and e-mails will link to {DEFAULT_BASE_URL}.",
            hint="Set SITE_BASE_URL to the site's public address, e.g. "
            "https://learning.example.org.",
            id="lms.W002",
        )
    ]
