"""Every command starts without paying for what it does not use.

Each ``manage.py`` command, worker and test subprocess sets Django up, and Wagtail imports
every app's ``wagtail_hooks`` while it does. WeasyPrint (the certificate PDF) and the Redis
client (rate limits, verification counts) take long to import and most processes never use
them: they are imported where they are used.
"""

import json
import os
import subprocess
import sys

from tests.test_readme_commands import REPO_ROOT

#: Imported only by the code that uses them.
HEAVY_MODULES = ("weasyprint", "redis")


def modules_loaded_after(code: str) -> dict[str, bool]:
    """Which of HEAVY_MODULES a fresh Python process has imported after running ``code``."""
    probe = (
        "import django, json, sys; django.setup(); "
        f"{code}; "
        f"print(json.dumps({{name: name in sys.modules for name in {HEAVY_MODULES!r}}}))"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "lms.settings.test"}
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_admin_hooks_import_neither_weasyprint_nor_redis():
    loaded = modules_loaded_after(
        "import certificates.wagtail_hooks, competencies.wagtail_hooks, courses.wagtail_hooks"
    )

    assert loaded == dict.fromkeys(HEAVY_MODULES, False)


def test_a_management_command_starts_without_weasyprint():
    loaded = modules_loaded_after(
        "from django.core.management import get_commands, load_command_class; "
        "load_command_class(get_commands()['rebuild_attainment'], 'rebuild_attainment')"
    )

    assert loaded["weasyprint"] is False


def test_writing_a_certificate_pdf_still_imports_weasyprint():
    loaded = modules_loaded_after("from certificates import pdf_writer")

    assert loaded["weasyprint"] is True
