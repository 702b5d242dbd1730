"""Every command README.md and docs/plugin-install.md show is run, or says why not.

The commands are collected from the documents themselves (shell code blocks, and inline code
in the prose that starts like a command), and each must be in :data:`HOW`: run here as it is
written, against a fresh SQLite database and media folder (``manage.py`` commands, and
``make run``: its recipe read with ``make -n``, its commands run, its server started on a
free port until ``/`` answers, then stopped); dry-run with ``make -n`` (targets that run the
suite, benchmarks or installs); run by another named test; or not run, with the reason. A
command added to a document without an entry here fails
:func:`test_every_command_shown_is_run_or_explained`.
"""

import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.competencies.real_shapes import FILES, opensalt_export
from tests.pluggable_host.test_host import guide_blocks

REPO_ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = ("README.md", "docs/plugin-install.md")
HOST_TEST = "tests/pluggable_host/test_host.py"

#: Inline code that starts like a command (the prose names many other things in code).
COMMAND_START = re.compile(
    r"(?:[A-Z_]+=\S+\s+)*(?:make(?:\s|$)|\.venv/bin/|python |manage\.py |celery |pip |export )"
)


# --- What the documents show --------------------------------------------------------------


def shown_commands() -> dict[str, str]:
    """Each command the documents show (whitespace collapsed), with the document showing it."""
    found: dict[str, str] = {}
    for name in DOCUMENTS:
        text = (REPO_ROOT / name).read_text(encoding="utf-8")
        for language, code in re.findall(r"^```(\w*)\n(.*?)^```$", text, re.M | re.S):
            if language not in ("sh", "bash", "shell", "console"):
                continue
            for line in re.sub(r"\\\n", " ", code).splitlines():
                command = " ".join(re.sub(r"\s#.*$", "", line).split())
                if command and not command.startswith("#"):
                    found.setdefault(command, name)
        prose = re.sub(r"^```.*?^```$", "", text, flags=re.M | re.S)
        for span in re.findall(r"`([^`]+)`", prose):
            command = " ".join(span.split())
            if COMMAND_START.match(command):
                found.setdefault(command, name)
    return found


# --- How each is checked ------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    """Run here as written or, for a usage pattern or a port that may be taken, as these
    (``{port}``: a free port)."""

    runs: tuple[str, ...] = ()


@dataclass(frozen=True)
class DryRun:
    """``make -n``: the target exists and its recipe names ``expect`` (a file that exists,
    when it is a path)."""

    expect: str


@dataclass(frozen=True)
class RunBy:
    """Run by another test, whose source names ``fragment``."""

    test: str
    fragment: str


@dataclass(frozen=True)
class NotRun:
    reason: str


PYTHON = ".venv/bin/python manage.py"
NOT_PRODUCTION = (
    "a production process on PostgreSQL and Redis that serves until stopped; "
    "lms.wsgi and the Celery app are loaded by tests/lms/test_settings.py and a real worker "
    "is started by tests/lms/test_celery_worker.py"
)

HOW: dict[str, Run | DryRun | RunBy | NotRun] = {
    # README: the two commands.
    "make run": Run(("make run PORT={port}",)),
    "make run PORT=8080": Run(("make run PORT={port}",)),
    "make test": DryRun(".venv/bin/pytest"),
    # README: frameworks.
    f"{PYTHON} import_framework national.case.json --owner ubuntu-institute --scale PSSW "
    "--publish": Run(),
    f"{PYTHON} import_framework moodle-export.csv": Run(),
    f"{PYTHON} export_framework PSSW --format moodle -o pssw.csv": Run(),
    f"{PYTHON} export_framework PSSW --framework-version 1.0 --format case -o pssw.case.json": (
        Run()
    ),
    # README: competence, xAPI, certificates.
    "manage.py rebuild_attainment [--learner U | --cohort ID | --all]": Run(
        (
            f"{PYTHON} rebuild_attainment --learner graduate",
            f"{PYTHON} rebuild_attainment --cohort {{cohort}}",
            f"{PYTHON} rebuild_attainment --all",
        )
    ),
    "manage.py xapi_replay [--institution SLUG] [--learner ID]": Run(
        (
            f"{PYTHON} xapi_replay --institution ubuntu-institute",
            f"{PYTHON} xapi_replay --learner lms-learner-1",
            f"{PYTHON} xapi_replay",
        )
    ),
    "manage.py certificate_signing_key": Run((f"{PYTHON} certificate_signing_key",)),
    # README: tests and CI.
    'make test PYTEST_ARGS="tests/lms -x"': DryRun(".venv/bin/pytest tests/lms -x"),
    "make test PYTEST_ARGS=\"-m 'not browser'\"": DryRun(".venv/bin/pytest -m 'not browser'"),
    "DATABASE_URL=postgres://postgres@127.0.0.1:5432/test "
    "CELERY_BROKER_URL=redis://127.0.0.1:6379/0 make test": DryRun(".venv/bin/pytest"),
    "make fuzz-api": DryRun("tests/lms/test_api_fuzz.py"),
    "make fuzz-api FUZZ_EXAMPLES=2000 FUZZ_SEED=7": DryRun("tests/lms/test_api_fuzz.py"),
    "manage.py check": Run((f"{PYTHON} check",)),
    "manage.py check --database default": Run((f"{PYTHON} check --database default",)),
    # README: production.
    "make install": DryRun("uv sync --frozen --inexact --compile-bytecode"),
    "export DJANGO_SETTINGS_MODULE=lms.settings.production SECRET_KEY=… "
    "ALLOWED_HOSTS=learning.example.org DATABASE_URL=postgres://lms:…@db/lms "
    "CELERY_BROKER_URL=redis://redis:6379/0 CACHE_URL=redis://redis:6379/1 "
    "SITE_BASE_URL=https://learning.example.org CERTIFICATE_SIGNING_KEY=…": NotRun(
        "the production environment of the lines after it (placeholders); production "
        "settings are checked by tests/lms/test_settings.py"
    ),
    f"{PYTHON} migrate": Run(),
    f"{PYTHON} collectstatic --noinput": Run(),
    ".venv/bin/gunicorn lms.wsgi --preload --workers 4 --bind 0.0.0.0:8000": NotRun(NOT_PRODUCTION),
    ".venv/bin/celery -A lms worker --loglevel=INFO --concurrency 2": NotRun(NOT_PRODUCTION),
    ".venv/bin/celery -A lms beat --loglevel=INFO": NotRun(NOT_PRODUCTION),
    "celery -A lms beat": NotRun(NOT_PRODUCTION),
    "celery -A lms worker": NotRun(NOT_PRODUCTION),
    "celery beat": NotRun(NOT_PRODUCTION),
    "manage.py check --deploy": RunBy("tests/lms/test_settings.py", '"check", "--deploy"'),
    # README: benchmarks (minutes each, on PostgreSQL and Redis).
    "make bench": DryRun("bench/frameworks_import.py"),
    "make bench-ingest": DryRun("bench/progress_ingest.py"),
    "make bench-xapi-state": DryRun("bench/xapi_state.py"),
    "make bench-certificates": DryRun("bench/certificates_issue.py"),
    "make bench-verify": DryRun("bench/certificates_verify.py"),
    "make bench-regulator": DryRun("bench/regulator.py"),
    # docs/plugin-install.md: the host test applies the guide's blocks marked "run".
    ".venv/bin/pytest tests/pluggable_host": NotRun("the suite runs tests/pluggable_host"),
    "pip install /path/to/checkout": NotRun(
        "installs packages; the tests run offline and install nothing (the host test imports "
        "the apps from the checkout); a wheel installed elsewhere was checked by hand"
    ),
    "pip wheel": NotRun("builds a wheel to install elsewhere: checked by hand, as above"),
    "python manage.py migrate": RunBy(HOST_TEST, "guide"),
    "python manage.py check": RunBy(HOST_TEST, "guide"),
    "python manage.py makemigrations --check --dry-run": RunBy(HOST_TEST, "guide"),
    "python manage.py certificate_signing_key": RunBy(HOST_TEST, "guide"),
    "python manage.py seed_demo": RunBy(HOST_TEST, "guide"),
    "python manage.py shell": RunBy(HOST_TEST, '"shell", "-c"'),
    "manage.py runserver": RunBy(HOST_TEST, '"runserver"'),
}


def test_every_command_shown_is_run_or_explained():
    shown = shown_commands()

    assert {command: shown[command] for command in shown if command not in HOW} == {}
    assert [command for command in HOW if command not in shown] == []  # no stale entries


@pytest.mark.parametrize(
    "command", [command for command, how in HOW.items() if isinstance(how, DryRun)]
)
def test_make_targets_the_documents_show_have_the_recipe_they_say(command):
    expect = HOW[command].expect
    dry = re.sub(r"\bmake\b", "make -n", command, count=1)

    result = subprocess.run(
        ["bash", "-c", dry],
        cwd=REPO_ROOT,
        env=shell_env_outside_make(),
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    assert expect in result.stdout, result.stdout
    if "/" in expect and " " not in expect:
        assert (REPO_ROOT / expect).exists()


@pytest.mark.parametrize(
    "command", [command for command, how in HOW.items() if isinstance(how, RunBy)]
)
def test_commands_run_by_other_tests_are_in_those_tests(command):
    how = HOW[command]
    source = (REPO_ROOT / how.test).read_text(encoding="utf-8")

    assert how.fragment in source
    if how.test == HOST_TEST and how.fragment == "guide":
        # The host test runs every command of the guide's blocks marked "run".
        commands = {
            " ".join(line.split("  #")[0].split())
            for block in guide_blocks()
            if block.action["run"]
            for line in block.code.splitlines()
        }
        assert command in commands


# --- Running them -------------------------------------------------------------------------


def shell_env_outside_make() -> dict:
    """The environment of a newcomer's shell: when the suite itself runs under ``make test``,
    the enclosing make's variables would make the inner one print "Entering directory"
    lines around the recipe."""
    inherited = ("MAKELEVEL", "MAKEFLAGS", "MFLAGS", "MAKEOVERRIDES")
    return {key: value for key, value in os.environ.items() if key not in inherited}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Sandbox:
    """A folder where the commands run as written: ``.venv`` and ``manage.py`` lead to the
    checkout, and the database, media and static files are the folder's own."""

    folder: Path
    env: dict

    def run(self, command: str, timeout: int = 300) -> subprocess.CompletedProcess:
        result = subprocess.run(
            ["bash", "-c", command],
            cwd=self.folder,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
        return result


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory) -> Sandbox:
    folder = tmp_path_factory.mktemp("readme")
    (folder / ".venv").symlink_to(REPO_ROOT / ".venv")
    (folder / "manage.py").symlink_to(REPO_ROOT / "manage.py")
    dropped = ("DJANGO_", "DATABASE_", "CELERY_", "PYTEST_", "SITE_BASE_URL", "CERTIFICATE_")
    env = {
        **{
            k: v
            for k, v in shell_env_outside_make().items()
            if not k.startswith(dropped) and k != "DEBUG"
        },
        "DATABASE_URL": f"sqlite:///{folder / 'db.sqlite3'}",
        "MEDIA_ROOT": str(folder / "media"),
        "STATIC_ROOT": str(folder / "static"),
    }
    return Sandbox(folder=folder, env=env)


def http_get(port: int, path: str) -> tuple[int, str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path, headers={"Host": f"localhost:{port}"})
        response = connection.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    finally:
        connection.close()


def make_run(sandbox: Sandbox, port: int) -> str:
    """``make run PORT=port`` as make would run it, once installed: its recipe read with
    ``make -n``, its migrate and seed lines run, its server started until ``/`` answers,
    its links checked to be at the address it serves, and the server stopped. Returns what
    the seed printed."""
    recipe = subprocess.run(
        ["make", "-n", "run", f"PORT={port}"],
        cwd=REPO_ROOT,
        env=shell_env_outside_make(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert recipe.returncode == 0, recipe.stderr
    lines = recipe.stdout.splitlines()
    serve = lines[-1]
    address = f"SITE_BASE_URL=${{SITE_BASE_URL:-http://localhost:{port}}}"
    assert serve == f"{address} .venv/bin/python manage.py runserver {port}"
    assert lines[-3:-1] == [
        f"{address} .venv/bin/python manage.py migrate --noinput -v0",
        f"{address} .venv/bin/python manage.py seed_demo",
    ]
    sandbox.run(lines[-3])
    seeded = sandbox.run(lines[-2]).stdout
    assert f"The site: http://localhost:{port}/" in seeded

    server = subprocess.Popen(
        ["bash", "-c", serve],
        cwd=sandbox.folder,
        env=sandbox.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # runserver's autoreloader runs the site in a child process
    )
    try:
        deadline, status = time.monotonic() + 60, None
        while status != 200:
            assert server.poll() is None, "make run's server stopped"
            assert time.monotonic() < deadline, f"GET / did not answer 200 in 60 s ({status})"
            time.sleep(0.3)
            try:
                status, _html = http_get(port, "/")
            except OSError:
                status = None
        # What the server links to is the address it serves.
        link = re.search(r"Demo certificate \S+ \(held by 'graduate'\): (\S+)", seeded)[1]
        assert link.startswith(f"http://localhost:{port}/verify/")
        status, html = http_get(port, link.removeprefix(f"http://localhost:{port}"))
        assert status == 200 and 'id="certificate-status">Valid' in html.replace("\n", "")
        status, body = http_get(port, "/ims/case/v1p1/CFDocuments")
        assert status == 200
        uris = [document["uri"] for document in json.loads(body)["CFDocuments"]]
        assert uris and all(uri.startswith(f"http://localhost:{port}/ims/") for uri in uris)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)
    return seeded


def test_the_commands_the_documents_show_run_against_a_fresh_site(sandbox):
    """In the order a newcomer meets them: ``make run``, then the other commands."""
    ran: set[str] = set()

    def run(command: str) -> str:
        ran.add(command)
        return sandbox.run(command).stdout

    # make run, on a free port (its server is stopped once it answered).
    port = free_port()
    make_run(sandbox, port)
    ran.add("make run PORT={port}")

    # Frameworks: export the demo's, import a CASE package as OpenSALT writes one and a
    # Moodle export, as the README shows.
    run(f"{PYTHON} export_framework PSSW --format moodle -o pssw.csv")
    assert (
        (sandbox.folder / "pssw.csv")
        .read_text(encoding="utf-8")
        .startswith("Parent ID number,ID number,Short name,")
    )
    run(f"{PYTHON} export_framework PSSW --framework-version 1.0 --format case -o pssw.case.json")
    package = json.loads((sandbox.folder / "pssw.case.json").read_text(encoding="utf-8"))
    assert package["CFDocument"]["uri"].startswith("http://localhost:8000/ims/case/v1p1/")
    (sandbox.folder / "national.case.json").write_text(json.dumps(opensalt_export()))
    imported = run(
        f"{PYTHON} import_framework national.case.json --owner ubuntu-institute --scale PSSW "
        "--publish"
    )
    assert imported.startswith("Imported") and ", published)." in imported
    shutil.copy(FILES / "moodle-export.csv", sandbox.folder / "moodle-export.csv")
    assert "Imported" in run(f"{PYTHON} import_framework moodle-export.csv")

    # Competence and xAPI.
    cohort = sandbox.run(
        f'{PYTHON} shell -c "from courses.models import Cohort, CoursePage; '
        "from django.contrib.auth import get_user_model; "
        "course = CoursePage.objects.get(slug='case-management', locale__language_code='en'); "
        "c = Cohort.objects.create(institution=course.institution, course=course, name='R'); "
        "c.learners.add(get_user_model().objects.get(username='graduate')); print(c.pk)\""
    ).stdout.split()[-1]
    for command in HOW["manage.py rebuild_attainment [--learner U | --cohort ID | --all]"].runs:
        assert "Rebuilt attainment of" in run(command.format(cohort=cohort))
    for command in HOW["manage.py xapi_replay [--institution SLUG] [--learner ID]"].runs:
        assert "statement" in run(command)

    # Certificates: a signing key.
    assert run(f"{PYTHON} certificate_signing_key").startswith("CERTIFICATE_SIGNING_KEY=z")

    # CI and production (on this machine's embedded settings: the database is a file).
    assert "no issues" in run(f"{PYTHON} check")
    # The demo's regulator is a member of its council: no former regulator waits for a body.
    assert "no issues" in run(f"{PYTHON} check --database default")
    run(f"{PYTHON} migrate")
    run(f"{PYTHON} collectstatic --noinput")
    assert (sandbox.folder / "static" / "lms" / "site.css").exists()

    expected = set()
    for command, how in HOW.items():
        if isinstance(how, Run):
            expected |= set(how.runs) if how.runs else {command}
    expected = {c for c in expected if "{cohort}" not in c} | {
        c.format(cohort=cohort) for c in expected if "{cohort}" in c
    }
    assert ran == expected
