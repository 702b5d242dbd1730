"""The core app's system checks: what a site that installs the apps must set is said at
start-up, with the fix."""

from django.core import checks

from lms.checks import app_order_warnings


def lms_checks() -> list[checks.CheckMessage]:
    return checks.run_checks(tags=["lms"])


def test_the_project_passes_its_own_checks():
    assert lms_checks() == []


def test_a_site_without_the_second_factor_middleware_is_told_at_start_up(settings):
    settings.MIDDLEWARE = [
        m for m in settings.MIDDLEWARE if m != "lms.middleware.MfaRequiredMiddleware"
    ]

    [message] = lms_checks()

    assert (message.id, message.level) == ("lms.E001", checks.ERROR)
    assert "lms.middleware.MfaRequiredMiddleware is not in MIDDLEWARE" in message.msg
    assert "after allauth.account.middleware.AccountMiddleware" in message.hint


def test_lms_after_allauth_is_a_warning(settings):
    # (Not through the settings: changing INSTALLED_APPS would reload every app.)
    apps = [app for app in settings.INSTALLED_APPS if app != "lms"]

    assert [message.id for message in app_order_warnings([*apps, "lms"])] == ["lms.W001"]
    assert app_order_warnings(["lms.apps.LmsConfig", *apps]) == []


def test_a_site_without_its_address_is_warned_outside_development(settings):
    del settings.SITE_BASE_URL
    del settings.WAGTAILADMIN_BASE_URL
    settings.DEBUG = False

    [message] = lms_checks()

    assert message.id == "lms.W002"
    assert "http://localhost:8000" in message.msg
    settings.WAGTAILADMIN_BASE_URL = "https://learning.example.org"
    assert lms_checks() == []
