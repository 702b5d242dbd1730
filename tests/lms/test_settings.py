"""Production settings refuse to start without their secrets and pass Django's deploy checks."""

import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "lms.settings.production",
    "SECRET_KEY": "x" * 64 + "-a-long-random-production-secret-key",
    "ALLOWED_HOSTS": "learning.example.org",
    "DATABASE_URL": "sqlite:///:memory:",
    "CERTIFICATE_SIGNING_KEY": "11" * 32,  # the seed as 64 hex digits
}


def run_manage(*args, env):
    dropped = {*PRODUCTION_ENV, "DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    clean = {k: v for k, v in os.environ.items() if k not in dropped}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_refuses_to_start_without_secret_key():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "SECRET_KEY"}
    result = run_manage("check", env=env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "The SECRET_KEY environment variable is required" in result.stderr


def test_production_refuses_to_start_without_allowed_hosts():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "ALLOWED_HOSTS"}
    result = run_manage("check", env=env)
    assert result.returncode != 0
    assert "The ALLOWED_HOSTS environment variable is required" in result.stderr


def test_production_without_a_signing_key_says_so_at_start_up_and_the_key_command_runs():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "CERTIFICATE_SIGNING_KEY"}

    check = run_manage("check", env=env)
    make_key = run_manage("certificate_signing_key", env=env)

    assert check.returncode != 0
    assert "(certificates.E001) No certificate signing key is configured" in check.stderr
    assert "make a key with `python manage.py certificate_signing_key`" in check.stderr
    assert make_key.returncode == 0, make_key.stderr
    assert make_key.stdout.startswith("CERTIFICATE_SIGNING_KEY=z")


def test_production_passes_check_deploy():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_keeps_database_connections():
    code = "from django.conf import settings; print(settings.DATABASES['default']['CONN_MAX_AGE'])"
    result = run_manage("shell", "-c", code, env=PRODUCTION_ENV)
    assert result.stdout.strip().splitlines()[-1] == "600", result.stderr


def test_the_wsgi_application_loads_every_view_and_freezes_it_for_the_gc():
    """gunicorn imports lms.wsgi (before forking, with --preload): by then the URL modules
    and views are imported, reverse()'s table is built in every language, the xAPI
    signature check's libraries are imported, and everything loaded is frozen, out of the
    collector's walks. None of it is left for a client's first request (about 250 ms)."""
    code = (
        "import gc, sys, lms.wsgi; "
        "from django.urls import get_resolver; "
        "print(gc.get_freeze_count(), 'courses.xapi_views' in sys.modules, "
        "callable(lms.wsgi.application), "
        "'courses.xapi_signatures' in sys.modules, 'jwt' in sys.modules, "
        # the languages in which reverse() has built its table
        "'languages:' + ','.join(sorted(get_resolver()._reverse_dict)))"
    )
    dropped = {*PRODUCTION_ENV, "DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    clean = {k: v for k, v in os.environ.items() if k not in dropped}
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**clean, **PRODUCTION_ENV},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    frozen, views_loaded, application, signatures, jwt_loaded, languages = result.stdout.split()
    assert int(frozen) > 100_000  # Django, Wagtail, allauth and ours
    assert views_loaded == "True" and application == "True"
    assert signatures == "True" and jwt_loaded == "True"  # the check, and the library it uses
    built = languages.removeprefix("languages:").split(",")
    assert built == sorted(code for code, _name in settings.LANGUAGES)
