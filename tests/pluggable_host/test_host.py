"""The plugin guide works on a site made by ``wagtail start``, as the guide says.

The host is built, not written: ``wagtail start mysite`` in a temporary folder (offline: it
copies Wagtail's own project template), then every code block of ``docs/plugin-install.md``
marked ``<!-- host-test: … -->`` is applied exactly as it stands there (appended to the file
it names, run in ``manage.py shell``, or run as commands), so the guide cannot drift from the
code. The host then serves with its own ``manage.py runserver`` on a free port, and the tests
request its pages and APIs over HTTP, as a visitor would.

The host runs with this checkout's virtualenv and imports the apps from the checkout
(``PYTHONPATH``); nothing is installed and nothing of the suite's own configuration reaches it.
"""

import http.client
import json
import os
import re
import shlex
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
GUIDE = REPO_ROOT / "docs" / "plugin-install.md"
PROJECT = "mysite"
DEMO_PASSWORD = "learn-and-protect"
#: What a marker asks of the block under it.
ACTIONS = re.compile(
    r"append to (?P<append>\S+)|(?P<shell>run in manage\.py shell)"
    r"|(?P<run>run)(?: with (?P<settings>\S+))?|(?P<not_run>not run: .+)"
)


# --- The guide's marked blocks ------------------------------------------------------------


@dataclass(frozen=True)
class Block:
    marker: str  # what follows "host-test:", e.g. "append to mysite/urls.py"
    language: str
    code: str

    @property
    def action(self) -> re.Match:
        match = ACTIONS.fullmatch(self.marker)
        assert match, f"unknown host-test marker {self.marker!r}"
        return match


def guide_blocks() -> list[Block]:
    """Every fenced code block of the guide, with the marker on the line above it ("" for
    none)."""
    text = GUIDE.read_text(encoding="utf-8")
    return [
        Block(marker=(marker or "").strip(), language=language, code=code)
        for marker, language, code in re.findall(
            r"(?:^<!-- host-test: ([^\n]+?) -->\n)?^```(\w*)\n(.*?)^```$", text, re.M | re.S
        )
    ]


def test_every_code_block_of_the_guide_is_marked_for_the_host_test():
    """A new block without a marker would be a step no test applies."""
    blocks = guide_blocks()

    assert [block.code[:60] for block in blocks if not block.marker] == []
    assert all(block.action for block in blocks)
    applied = [block for block in blocks if not block.action["not_run"]]
    assert len(applied) >= 8


# --- Building and serving the host --------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Host:
    folder: Path
    env: dict
    base_url: str
    outputs: dict  # command → its stdout

    def manage(self, *args: str, settings: str = "", extra_env: dict | None = None):
        env = {**self.env, **(extra_env or {})}
        if settings:
            env["DJANGO_SETTINGS_MODULE"] = settings
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=self.folder,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )


def host_environment(base_url: str) -> dict:
    """The process environment of the host: ours without the suite's settings, database,
    Celery or pytest variables, the checkout on the path, and the site's address."""
    inherited = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("DJANGO_", "DATABASE_", "CELERY_", "PYTEST_", "SITE_BASE_URL"))
        and name not in ("CERTIFICATE_SIGNING_KEY", "CERTIFICATE_SIGNING_KEY_FILE", "DEBUG")
    }
    return {
        **inherited,
        "PYTHONPATH": str(REPO_ROOT),
        "PYTHONUNBUFFERED": "1",
        "SITE_BASE_URL": base_url,
    }


def apply_block(host: Host, block: Block) -> None:
    """Do what the block's marker says, exactly with the block's text."""
    action = block.action
    if action["not_run"]:
        return
    if action["append"]:
        target = host.folder / action["append"]
        assert target.exists(), f"the guide appends to {target}, which wagtail start did not make"
        with target.open("a", encoding="utf-8") as file:
            file.write("\n\n" + block.code)
        return
    if action["shell"]:
        result = host.manage("shell", "-c", block.code)
        assert result.returncode == 0, f"{block.code}\n{result.stdout}\n{result.stderr}"
        return
    for line in block.code.splitlines():
        command = line.split("  #")[0].strip()
        if not command:
            continue
        words = shlex.split(command)
        assert words[:2] == ["python", "manage.py"], f"not a manage.py command: {command}"
        result = host.manage(*words[2:], settings=action["settings"] or "")
        assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
        host.outputs[command] = result.stdout


def get(host: Host, path: str, cookies: SimpleCookie | None = None, **request):
    """One HTTP request to the running host, redirects not followed."""
    method = request.pop("method", "GET")
    headers = request.pop("headers", {})
    if cookies:
        headers["Cookie"] = "; ".join(f"{k}={m.value}" for k, m in cookies.items())
    netloc = urlsplit(host.base_url).netloc
    connection = http.client.HTTPConnection(netloc, timeout=30)
    try:
        connection.request(method, path, headers=headers, **request)
        response = connection.getresponse()
        body = response.read().decode("utf-8", "replace")
    finally:
        connection.close()
    if cookies is not None:
        for value in response.headers.get_all("Set-Cookie") or []:
            cookies.load(value)
    return response.status, response.headers, body


@pytest.fixture(scope="module")
def host(tmp_path_factory):
    """A ``wagtail start`` site with the guide applied, migrated, seeded and serving."""
    folder = tmp_path_factory.mktemp("host")
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    built = Host(folder=folder, env=host_environment(base_url), base_url=base_url, outputs={})
    wagtail = Path(sys.executable).parent / "wagtail"
    started = subprocess.run(
        [str(wagtail), "start", PROJECT, str(folder)],
        env=built.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert started.returncode == 0, started.stderr
    for block in guide_blocks():
        apply_block(built, block)

    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=folder,
        env=built.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline, answer = time.monotonic() + 60, None
        while answer is None or answer[0] != 200:
            assert server.poll() is None, f"runserver stopped:\n{server.stdout.read()}"
            assert time.monotonic() < deadline, f"GET / did not answer 200 in 60 s: {answer}"
            time.sleep(0.3)
            try:
                answer = get(built, "/")
            except OSError:
                answer = None
        yield built
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def title_of(html: str) -> str:
    match = re.search(r"<title>(.*?)</title>", html, re.S)
    assert match, f"no <title> in:\n{html[:1500]}"
    return " ".join(match.group(1).split())


def log_in(host: Host, username: str) -> SimpleCookie:
    """Log in through allauth's form, as a browser does (CSRF cookie and token)."""
    cookies = SimpleCookie()
    status, _headers, html = get(host, "/accounts/login/", cookies)
    assert status == 200
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    status, headers, body = get(
        host,
        "/accounts/login/",
        cookies,
        method="POST",
        body=urlencode(
            {"csrfmiddlewaretoken": token, "login": username, "password": DEMO_PASSWORD}
        ),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert status == 302, f"log-in of {username} -> {status}\n{body[:2000]}"
    assert headers["Location"] == "/learning/"  # LOGIN_REDIRECT_URL, as the guide sets it
    return cookies


# --- The tests ----------------------------------------------------------------------------


def test_the_guides_commands_run_on_a_new_wagtail_site(host):
    assert (
        "System check identified no issues (0 silenced)." in host.outputs["python manage.py check"]
    )
    makemigrations = host.outputs["python manage.py makemigrations --check --dry-run"]
    assert "No changes detected" in makemigrations
    seeded = host.outputs["python manage.py seed_demo"]
    assert "Ubuntu Institute" in seeded or "Demo data is ready" in seeded
    assert f"The site: {host.base_url}/" in seeded


@pytest.mark.parametrize(
    ("path", "title", "content"),
    [
        ("/", "Courses", "<h1>Courses</h1>"),
        ("/verify/", "Verify a certificate", 'name="code"'),
        ("/accounts/login/", "Sign In", 'name="login"'),
        ("/accounts/signup/", "Signup", 'name="username"'),
    ],
)
def test_pages_render_in_the_hosts_layout_with_their_own_title(host, path, title, content):
    status, _headers, html = get(host, path)

    assert status == 200, html[:2000]
    assert title in title_of(html)
    assert content in html
    assert f"css/{PROJECT}.css" in html  # the host's base.html, not the apps' own
    assert "site-header" not in html


def test_a_learner_logs_in_and_sees_their_learning_in_the_hosts_layout(host):
    status, headers, _html = get(host, "/learning/")
    assert (status, headers["Location"]) == (302, "/accounts/login/?next=/learning/")
    cookies = log_in(host, "trainee")

    status, _headers, html = get(host, "/learning/", cookies)

    assert status == 200, html[:2000]
    assert title_of(html).startswith("My learning")
    assert "My courses" in html
    status, _headers, body = get(host, "/api/v1/me", cookies)
    assert status == 200 and json.loads(body)["username"] == "trainee"


def test_a_manager_without_a_second_factor_is_sent_to_set_one_up(host):
    cookies = log_in(host, "manager")

    page = get(host, "/learning/", cookies)
    api = get(host, "/api/v1/me", cookies)

    assert page[0] == 302 and page[1]["Location"].startswith("/accounts/2fa/totp/activate")
    assert api[0] == 403 and "detail" in json.loads(api[2])


def test_the_admin_sends_everyone_to_allauths_log_in(host):
    status, headers, _html = get(host, "/admin/")
    assert status == 302
    assert headers["Location"].startswith("/accounts/login/")

    status, headers, _html = get(host, "/admin/login/?next=/admin/")
    assert (status, headers["Location"]) == (302, "/accounts/login/?next=/admin/")


def test_the_apis_answer_with_links_at_the_sites_address(host):
    status, _headers, body = get(host, "/api/v1/openapi.json")
    assert status == 200
    assert "/api/v1/frameworks" in json.loads(body)["paths"]

    status, _headers, body = get(host, "/api/v1/frameworks")
    assert status == 401  # an API key or a session
    status, _headers, body = get(host, "/api/v1/frameworks", log_in(host, "trainee"))
    assert status == 200, body[:2000]
    frameworks = json.loads(body)
    assert any(framework["code"] == "PSSW" for framework in frameworks)
    assert all(
        framework["case_package_url"].startswith(f"{host.base_url}/ims/case/v1p1/CFPackages/")
        for framework in frameworks
    )

    status, _headers, body = get(host, "/ims/case/v1p1/CFDocuments")
    assert status == 200, body[:2000]
    documents = json.loads(body)["CFDocuments"]
    assert documents
    assert all(document["uri"].startswith(f"{host.base_url}/ims/case/") for document in documents)

    status, _headers, body = get(host, "/xapi/about", headers={"X-Experience-API-Version": "1.0.3"})
    assert status == 200, body[:2000]
    assert "1.0.3" in json.loads(body)["version"]


def test_the_demo_certificate_verifies_at_the_sites_address(host):
    seeded = host.outputs["python manage.py seed_demo"]
    link = re.search(r"Demo certificate \S+ \(held by 'graduate'\): (\S+)", seeded).group(1)
    assert link.startswith(f"{host.base_url}/verify/")

    status, _headers, html = get(host, urlsplit(link).path)
    assert status == 200
    assert re.search(r'id="certificate-status">\s*Valid', html), html[:3000]

    cookies = log_in(host, "graduate")
    status, _headers, html = get(host, "/certificates/", cookies)
    assert status == 200
    assert f'href="{link}"' in html  # the share link is the QR code's
    credential_path = re.search(r'href="(/credentials/[0-9a-f-]+/)\?download=1"', html).group(1)
    status, _headers, body = get(host, credential_path)
    credential = json.loads(body)
    assert credential["id"] == f"{host.base_url}{credential_path}"
    assert isinstance(credential["proof"], list)
    status_list = urlsplit(credential["credentialStatus"]["statusListCredential"])
    status, _headers, body = get(host, status_list.path)
    assert status == 200
    assert json.loads(body)["issuer"]["id"] == credential["issuer"]["id"]


def test_production_settings_without_a_key_stop_at_start_up_and_the_key_command_runs(host):
    production = f"{PROJECT}.settings.production"

    refused = host.manage("check", settings=production)
    made = host.outputs["python manage.py certificate_signing_key"]
    key = re.search(r"^CERTIFICATE_SIGNING_KEY=(\S+)$", made, re.M).group(1)
    accepted = host.manage("check", settings=production, extra_env={"CERTIFICATE_SIGNING_KEY": key})

    assert refused.returncode != 0
    assert "(certificates.E001) No certificate signing key is configured" in refused.stderr
    assert "`python manage.py certificate_signing_key`" in refused.stderr
    assert accepted.returncode == 0, accepted.stderr
