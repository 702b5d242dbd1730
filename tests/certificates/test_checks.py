"""The certificates app's system checks: a missing or broken signing key is said at start-up,
with the setting's name and how to make a key, instead of failing when a certificate is
issued."""

import pytest
from django.core import checks

from certificates import keys

#: A valid key (the seed as 64 hex digits), for the tests that need one configured.
SEED_HEX = "11" * 32


def certificate_checks() -> list[checks.CheckMessage]:
    return checks.run_checks(tags=["certificates"])


@pytest.fixture
def production_like(settings, tmp_path):
    """No key set, no key made on first use (DEBUG off), and nowhere a development key lies."""
    settings.DEBUG = False
    settings.CERTIFICATE_SIGNING_KEY_AUTOGENERATE = False
    settings.CERTIFICATE_SIGNING_KEY = ""
    settings.CERTIFICATE_SIGNING_KEY_FILE = ""
    settings.BASE_DIR = tmp_path
    yield settings
    keys.reset_cache()


def test_a_missing_signing_key_is_an_error_that_says_how_to_make_one(production_like):
    [message] = certificate_checks()

    assert message.id == "certificates.E001"
    assert message.level == checks.ERROR
    assert message.msg == (
        "No certificate signing key is configured: certificates cannot be issued."
    )
    assert "CERTIFICATE_SIGNING_KEY" in message.hint
    assert "`python manage.py certificate_signing_key`" in message.hint


@pytest.mark.parametrize(
    ("key", "key_file", "reason"),
    [
        ("z6MkiCiFvMTgM8kGZ1iCWUc9Cu5ZNHJD8nFhJAuSE5tKXwtT", "", "is it the public key?"),
        ("not a key", "", "neither 'z' + base58btc nor 64 hex digits"),
        (SEED_HEX, "/nonexistent/key", "Set CERTIFICATE_SIGNING_KEY or"),
        ("", "/nonexistent/key", "which cannot be read"),
    ],
)
def test_a_broken_signing_key_is_an_error_naming_the_problem(
    production_like, key, key_file, reason
):
    production_like.CERTIFICATE_SIGNING_KEY = key
    production_like.CERTIFICATE_SIGNING_KEY_FILE = key_file

    [message] = certificate_checks()

    assert message.id == "certificates.E002"
    assert reason in message.msg


def test_a_configured_key_passes(production_like):
    production_like.CERTIFICATE_SIGNING_KEY = SEED_HEX

    assert certificate_checks() == []


def test_in_development_a_key_is_made_on_first_use_not_by_the_check(production_like, tmp_path):
    production_like.DEBUG = True

    assert certificate_checks() == []
    assert not (tmp_path / "var").exists()


def test_a_retired_key_that_is_not_a_multikey_is_an_error(production_like):
    production_like.CERTIFICATE_SIGNING_KEY = SEED_HEX
    production_like.CERTIFICATE_PREVIOUS_PUBLIC_KEYS = (
        "z6MkjZRZv3aez3r18pB1RBFJR1kwUVJ5jHt92JmQwXbd5hwi,zzz"
    )

    [message] = certificate_checks()

    assert message.id == "certificates.E003"
    assert "'zzz'" in message.msg
