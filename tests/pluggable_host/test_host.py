"""The LMS apps install into any Wagtail site: a minimal host project migrates, checks and serves.

The host (``tests.pluggable_host.settings`` and ``.urls``) imports nothing from
``lms.settings``. It runs in a subprocess so that its settings never meet the test suite's:
``python -m tests.pluggable_host.test_host`` runs :func:`host_checks`, which prints one
``OK …`` line per thing it proved; the test asserts the exit code and every line.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
HOST_SETTINGS = "tests.pluggable_host.settings"
CATALOGUE_TITLE = "Host catalogue of courses"

#: Lines the host run prints, in order, when everything works.
EXPECTED_LINES = [
    f"OK settings {HOST_SETTINGS}, no lms.settings module imported",
    "OK migrate on a fresh SQLite file",
    "OK check: System check identified no issues (0 silenced).",
    "OK makemigrations --check: no changes",
    "OK catalogue is the default site's root page",
    f"OK GET / -> 200 <h1>{CATALOGUE_TITLE}</h1>",
    "OK GET /api/v1/openapi.json -> 200 SSW Learning API, /api/v1/me",
    "OK GET /api/v1/me anonymous -> 401",
    "OK seed_demo: sections Ubuntu Institute of Social Service, Mekong Community Care College",
    "OK GET /learning/ anonymous -> 302 /accounts/login/?next=/learning/",
    "OK POST /accounts/login/ trainee -> 302 /learning/",
    "OK GET /learning/ without a profile -> 302 /profile/",
    "OK GET /learning/ -> 200 with the courses panel (My courses)",
    "OK GET /api/v1/me -> 200 user trainee",
    "OK GET /learning/ manager without TOTP -> 302 /accounts/2fa/totp/activate",
    "OK GET /api/v1/me manager without TOTP -> 403 JSON",
    "OK GET /admin/login/ -> 200",
    "OK host base.html: GET / -> 200 in the host's layout",
    "OK host base.html: GET /learning/ -> 200 in the host's layout (My courses)",
    "OK host base.html: GET /accounts/login/ -> 200 in the host's layout",
]

#: A host site's own ``base.html``, as ``wagtail start`` writes it (static files left out).
HOST_BASE_HTML = """{% load wagtailcore_tags wagtailuserbar %}<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8" />
<title>{% block title %}{% if page.seo_title %}{{ page.seo_title }}{% else %}{{ page.title }}
{% endif %}{% endblock %}</title>{% block extra_css %}{% endblock %}</head>
<body class="host-layout {% block body_class %}{% endblock %}">{% wagtailuserbar %}
{% block content %}{% endblock %}{% block extra_js %}{% endblock %}</body></html>"""


def test_apps_install_into_a_minimal_wagtail_host(tmp_path):
    # Nothing of the suite's own configuration reaches the host (e.g. DATABASE_URL).
    inherited = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("DJANGO_", "DATABASE_", "CELERY_", "PYTEST_"))
    }
    env = {
        **inherited,
        "DJANGO_SETTINGS_MODULE": HOST_SETTINGS,
        "PLUGGABLE_HOST_DB": str(tmp_path / "host.sqlite3"),
        "PYTHONUNBUFFERED": "1",
    }
    started = time.monotonic()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "tests.pluggable_host.test_host"],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(
            f"the host run took over {exc.timeout} s\n--- stdout ---\n{exc.stdout}\n"
            f"--- stderr ---\n{exc.stderr}"
        ) from exc
    elapsed = time.monotonic() - started
    report = (
        f"host run exited {result.returncode} after {elapsed:.1f} s\n"
        f"--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}"
    )
    assert result.returncode == 0, report
    printed = [line for line in result.stdout.splitlines() if line.startswith("OK ")]
    assert printed == EXPECTED_LINES, report


# --- What runs inside the host process ------------------------------------------------------


class HostCheckFailed(AssertionError):
    pass


def expect(condition, message):
    """Like ``assert``, but never stripped by ``python -O``."""
    if not condition:
        raise HostCheckFailed(message)


def host_checks():
    import io
    import json

    import django

    expect(
        os.environ.get("DJANGO_SETTINGS_MODULE") == HOST_SETTINGS,
        f"DJANGO_SETTINGS_MODULE is {os.environ.get('DJANGO_SETTINGS_MODULE')!r}",
    )
    db_path = Path(os.environ["PLUGGABLE_HOST_DB"])
    expect(not db_path.exists(), f"{db_path} should not exist before migrate")
    django.setup()

    from django.conf import settings

    # ``lms/__init__.py`` imports the Celery app, which only *defaults* the settings module.
    leaked = sorted(m for m in sys.modules if m.startswith("lms.settings"))
    expect(settings.SETTINGS_MODULE == HOST_SETTINGS, f"settings are {settings.SETTINGS_MODULE}")
    expect(not leaked, f"the host imported {leaked}")
    print(f"OK settings {HOST_SETTINGS}, no lms.settings module imported")

    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    expect(db_path.exists(), f"migrate did not create {db_path}")
    print("OK migrate on a fresh SQLite file")

    out = io.StringIO()
    call_command("check", fail_level="WARNING", stdout=out)  # raises SystemCheckError
    print(f"OK check: {out.getvalue().strip()}")

    out = io.StringIO()
    try:
        call_command("makemigrations", check=True, dry_run=True, stdout=out)
    except SystemExit as exc:
        raise HostCheckFailed(f"the host sees model changes:\n{out.getvalue()}") from exc
    print("OK makemigrations --check: no changes")

    from wagtail.models import Page, Site

    from courses.models import CourseIndexPage

    root = Page.get_first_root_node()
    catalogue = CourseIndexPage(title=CATALOGUE_TITLE, slug="courses")
    root.add_child(instance=catalogue)
    catalogue.save_revision().publish()
    site = Site.objects.get(is_default_site=True)
    site.root_page = catalogue
    site.save()
    expect(
        Site.objects.get(is_default_site=True).root_page_id == catalogue.pk,
        "the default site's root page did not change",
    )
    print("OK catalogue is the default site's root page")

    from django.test import Client

    client = Client()
    response = client.get("/")
    html = response.content.decode()
    expect(response.status_code == 200, f"GET / -> {response.status_code}\n{html[:2000]}")
    expect(f"<h1>{CATALOGUE_TITLE}</h1>" in html, f"GET / lacks the page title:\n{html[:2000]}")
    print(f"OK GET / -> 200 <h1>{CATALOGUE_TITLE}</h1>")

    response = client.get("/api/v1/openapi.json")
    expect(response.status_code == 200, f"openapi.json -> {response.status_code}")
    schema = json.loads(response.content)
    expect("/api/v1/me" in schema.get("paths", {}), f"paths: {list(schema.get('paths', {}))}")
    print(f"OK GET /api/v1/openapi.json -> 200 {schema['info']['title']}, /api/v1/me")

    response = client.get("/api/v1/me")
    expect(response.status_code == 401, f"anonymous /api/v1/me -> {response.status_code}")
    print("OK GET /api/v1/me anonymous -> 401")

    # Demo data: the core app's institutions and logins, then each app's ``seed_demo_data``
    # hook (courses adds a section per institution under the existing catalogue).
    call_command("seed_demo", stdout=io.StringIO())
    from lms.demo import DEMO_PASSWORD, INSTITUTIONS

    html = client.get("/").content.decode()
    names = [data["name"] for data in INSTITUTIONS]
    for name in names:
        expect(name in html, f"the catalogue does not list {name}:\n{html[:3000]}")
    print(f"OK seed_demo: sections {', '.join(names)}")

    response = client.get("/learning/")
    expect(
        response.status_code == 302 and response["Location"] == "/accounts/login/?next=/learning/",
        f"anonymous /learning/ -> {response.status_code} {response.get('Location')}",
    )
    print(f"OK GET /learning/ anonymous -> 302 {response['Location']}")

    # The demo seed gives the trainee a profile; remove it to walk the onboarding path.
    from lms.models import LearnerProfile

    LearnerProfile.objects.filter(user__username="trainee").delete()
    response = client.post("/accounts/login/", {"login": "trainee", "password": DEMO_PASSWORD})
    expect(
        response.status_code == 302 and response["Location"] == "/learning/",
        f"log-in -> {response.status_code} {response.get('Location')}\n"
        f"{response.content.decode()[:3000]}",
    )
    print(f"OK POST /accounts/login/ trainee -> 302 {response['Location']}")

    response = client.get("/learning/")
    expect(
        response.status_code == 302 and response["Location"].startswith("/profile/"),
        f"/learning/ without a profile -> {response.status_code} {response.get('Location')}",
    )
    print(f"OK GET /learning/ without a profile -> 302 {response['Location']}")

    from django.contrib.auth import get_user_model

    from lms import services

    user_model = get_user_model()
    trainee = user_model.objects.get(username="trainee")
    services.learner_profile_save(
        user=trainee,
        full_name="Amina Njoroge",
        cadre="para_professional",
        is_paid=False,
        sector="community",
        country="KE",
        preferred_language="en",
    )
    response = client.get("/learning/")
    html = response.content.decode()
    expect(response.status_code == 200, f"/learning/ -> {response.status_code}\n{html[:3000]}")
    expect("My courses" in html, f"no courses panel on the dashboard:\n{html[:3000]}")
    print("OK GET /learning/ -> 200 with the courses panel (My courses)")

    response = client.get("/api/v1/me")
    me = json.loads(response.content)
    expect(
        response.status_code == 200 and me["kind"] == "user" and me["username"] == "trainee",
        f"/api/v1/me -> {response.status_code} {me}",
    )
    print("OK GET /api/v1/me -> 200 user trainee")

    manager_client = Client()
    manager_client.force_login(user_model.objects.get(username="manager"))
    response = manager_client.get("/learning/")
    expect(
        response.status_code == 302 and response["Location"].startswith("/accounts/2fa/"),
        f"manager /learning/ -> {response.status_code} {response.get('Location')}",
    )
    print(f"OK GET /learning/ manager without TOTP -> 302 {response['Location'].rstrip('/')}")
    response = manager_client.get("/api/v1/me")
    expect(
        response.status_code == 403 and "detail" in json.loads(response.content),
        f"manager /api/v1/me -> {response.status_code} {response.content[:300]!r}",
    )
    print("OK GET /api/v1/me manager without TOTP -> 403 JSON")

    response = Client().get("/admin/login/")
    expect(response.status_code == 200, f"/admin/login/ -> {response.status_code}")
    print("OK GET /admin/login/ -> 200")

    # Most Wagtail sites have their own ``base.html``; the apps' templates extend
    # "base.html", so the site's layout (and its ``content`` block) frames their pages.
    from django.test import override_settings

    host_templates = [
        {
            "BACKEND": "django.template.backends.django.DjangoTemplates",
            "DIRS": [],
            "APP_DIRS": False,
            "OPTIONS": {
                "context_processors": settings.TEMPLATES[0]["OPTIONS"]["context_processors"],
                "loaders": [
                    ("django.template.loaders.locmem.Loader", {"base.html": HOST_BASE_HTML}),
                    "django.template.loaders.app_directories.Loader",
                ],
            },
        }
    ]
    with override_settings(TEMPLATES=host_templates):
        for path, client_, needle in [
            ("/", Client(), f"<h1>{CATALOGUE_TITLE}</h1>"),
            ("/learning/", client, "My courses"),
            ("/accounts/login/", Client(), 'name="login"'),
        ]:
            response = client_.get(path)
            html = response.content.decode()
            expect(
                response.status_code == 200
                and 'class="host-layout' in html
                and "site-header" not in html
                and needle in html,
                f"{path} with the host's base.html -> {response.status_code}\n{html[:3000]}",
            )
            detail = " (My courses)" if needle == "My courses" else ""
            print(f"OK host base.html: GET {path} -> 200 in the host's layout{detail}")


if __name__ == "__main__":
    host_checks()
