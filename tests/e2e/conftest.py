"""Browser tests: a real Chromium, driven by Playwright's sync API, against pytest-django's
``live_server``.

Every test here:

* is marked ``browser`` (``pytest -m "not browser"`` skips them where there is no Chromium);
* must run on a transactional database with *serialized rollback*
  (``@pytest.mark.django_db(transaction=True, serialized_rollback=True)``): the live server
  reads what the test writes (and the other way round), and the rows Wagtail's migrations
  create (the root page, the default site, the root collection) must be restored for the
  next test after the flush that ends a transactional test;
* gets a fresh browser context (cookies, storage, viewport) from :func:`open_page`;
* saves a screenshot of every step under
  ``test-artifacts/screenshots/<test name>/NN-step.png`` through :func:`shot`, and one
  more, ``NN-failure.png``, when it fails.
"""

import contextlib
import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS_DIR = REPO_ROOT / "test-artifacts" / "screenshots"

ASYNC_UNSAFE = "DJANGO_ALLOW_ASYNC_UNSAFE"
CHROMIUM = os.environ.get("E2E_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
#: How long one action or assertion may wait. Pages here render in well under a second;
#: a generous bound still keeps a hung test far below its 30-second budget.
TIMEOUT_MS = 10_000


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the item, so fixtures can tell whether the test failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@contextlib.contextmanager
def _django_async_unsafe_allowed() -> Iterator[None]:
    """Let Django run queries on a thread that has a running event loop, for a while."""
    previous = os.environ.get(ASYNC_UNSAFE)
    os.environ[ASYNC_UNSAFE] = "true"
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(ASYNC_UNSAFE, None)
        else:
            os.environ[ASYNC_UNSAFE] = previous


# Playwright and the browser live as long as the browser tests: one package, not the whole
# session. While Playwright runs, this thread has a "running" event loop, which changes how
# Django treats it (see below); the tests collected after these ones must not inherit that,
# nor DJANGO_ALLOW_ASYNC_UNSAFE (which ``manage.py check --deploy`` rightly reports).
@pytest.fixture(scope="package")
def playwright_session(django_db_setup) -> Iterator[Playwright]:
    """Playwright, started once for all the browser tests.

    Its sync API keeps its event loop registered as this thread's *running* loop between
    calls. Django then

    * refuses database queries on this thread unless DJANGO_ALLOW_ASYNC_UNSAFE is set. It is
      safe here: the loop only waits on the browser, no query runs inside a coroutine;
    * keeps connections per context instead of per thread, so the tests would get new
      connection objects, without the test database's serialized contents: serialized
      rollback would then silently restore nothing after the first browser test. Putting
      the thread's connections back into the new storage keeps the same ones in use.
    """
    from django.db import connections

    existing = {alias: connections[alias] for alias in connections}
    with _django_async_unsafe_allowed(), sync_playwright() as playwright:
        for alias, connection in existing.items():
            connections[alias] = connection
        yield playwright


@pytest.fixture(scope="package")
def browser(playwright_session: Playwright) -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (set E2E_CHROMIUM)")
    browser = playwright_session.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
    )
    yield browser
    browser.close()


class Screenshots:
    """Numbered screenshots of one test's steps: ``01-home.png``, ``02-signup.png``…"""

    def __init__(self, directory: Path):
        self.directory = directory
        self.count = 0
        self.last_page: Page | None = None

    def __call__(self, page: Page, step: str, *, full_page: bool = True) -> Path:
        self.count += 1
        slug = re.sub(r"[^a-z0-9]+", "-", step.lower()).strip("-")
        path = self.directory / f"{self.count:02d}-{slug}.png"
        page.screenshot(path=str(path), full_page=full_page)
        self.last_page = page
        return path


@pytest.fixture
def shot(request) -> Screenshots:
    """``shot(page, "step name")`` saves the page as the test's next numbered screenshot."""
    directory = SCREENSHOTS_DIR / request.node.name
    shutil.rmtree(directory, ignore_errors=True)  # no stale steps from an earlier run
    directory.mkdir(parents=True)
    screenshots = Screenshots(directory)
    return screenshots


@pytest.fixture
def open_page(request, browser: Browser, shot: Screenshots) -> Iterator[Callable[..., Page]]:
    """``open_page(**context_options)``: a page in a new, empty browser context.

    The page records what went wrong while loading (``page.failures``): responses with an
    error status and uncaught script errors, so a test can assert a page loaded cleanly.
    """
    contexts = []

    def _open(**context_options) -> Page:
        context = browser.new_context(**context_options)
        context.set_default_timeout(TIMEOUT_MS)
        context.set_default_navigation_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        failures: list[str] = []
        page.on(
            "response",
            lambda r: failures.append(f"{r.status} {r.url}") if r.status >= 400 else None,
        )
        page.on("pageerror", lambda e: failures.append(f"script error: {e}"))
        page.failures = failures
        shot.last_page = page
        return page

    yield _open
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed and shot.last_page is not None:
        # The page may be gone already; the test's own error is what matters.
        with contextlib.suppress(Exception):
            shot(shot.last_page, "failure")
    for context in contexts:
        context.close()
