"""The certificates app's settings: one object, read when asked, with the defaults a host
site gets when it sets nothing."""

from django.conf import settings as django_settings

from certificates.app_settings import AppSettings, app_settings
from certificates.links import verification_url
from certificates.models import Certificate


def test_a_changed_setting_is_read_at_once(settings):
    settings.CERTIFICATE_VERIFY_CACHE_SECONDS = 5
    settings.CERTIFICATE_EXPIRY_REMINDER_DAYS = ["30", 7]

    assert app_settings.VERIFY_CACHE_SECONDS == 5
    assert app_settings.EXPIRY_REMINDER_DAYS == [30, 7]


def test_a_host_site_that_sets_nothing_gets_the_documented_defaults(settings):
    for name in [
        "CERTIFICATE_SIGNING_KEY",
        "CERTIFICATE_SIGNING_KEY_FILE",
        "CERTIFICATE_PREVIOUS_PUBLIC_KEYS",
        "CERTIFICATE_SIGNING_KEY_AUTOGENERATE",
        "CERTIFICATE_EXPIRY_REMINDER_DAYS",
        "CERTIFICATE_VERIFY_RATE",
        "CERTIFICATE_BULK_VERIFY_RATE",
        "CERTIFICATE_VERIFY_CACHE_SECONDS",
        "RATELIMIT_IP_META_KEY",
    ]:
        if hasattr(django_settings, name):
            delattr(settings, name)
    settings.DEBUG = False

    assert (app_settings.SIGNING_KEY, app_settings.SIGNING_KEY_FILE) == ("", "")
    assert app_settings.PREVIOUS_PUBLIC_KEYS == []
    assert app_settings.SIGNING_KEY_AUTOGENERATE is False
    assert app_settings.EXPIRY_REMINDER_DAYS == [60, 14]
    assert (app_settings.VERIFY_RATE, app_settings.BULK_VERIFY_RATE) == ("60/m", "5000/m")
    assert app_settings.VERIFY_CACHE_SECONDS == 600
    assert app_settings.CLIENT_IP_META_KEY == "REMOTE_ADDR"


def test_previous_keys_from_the_environment_are_a_comma_separated_list(settings):
    settings.CERTIFICATE_PREVIOUS_PUBLIC_KEYS = " z6MkA , ,z6MkB"

    assert app_settings.PREVIOUS_PUBLIC_KEYS == ["z6MkA", "z6MkB"]


def test_links_use_wagtails_base_url_when_the_host_sets_only_that(settings):
    del settings.SITE_BASE_URL
    settings.WAGTAILADMIN_BASE_URL = "https://learning.example.org/"
    certificate = Certificate(code="7KQ4M2XD9HRTW3ZP6")

    assert app_settings.SITE_BASE_URL == "https://learning.example.org"
    assert verification_url(certificate) == (
        "https://learning.example.org/verify/7KQ4-M2XD-9HRT-W3ZP-6/"
    )


def test_every_setting_has_a_docstring():
    properties = [
        (name, member) for name, member in vars(AppSettings).items() if isinstance(member, property)
    ]
    assert len(properties) >= 10
    assert [name for name, member in properties if not (member.__doc__ or "").strip()] == []
