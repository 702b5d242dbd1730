"""Automatic issue through a real Celery worker on Redis: nothing eager, nothing mocked.

A trainee finishes the demo course in the test process. The certificate is recorded in the
transaction that met the criteria and its rendering is sent to Redis when that transaction
commits; a real ``celery -A lms worker`` — another process, on the same PostgreSQL test
database, media folder and signing key — renders the PDF, signs the credential, stores both
and e-mails the holder.

Each test's worker listens on a queue of its own (named in a settings module written for it),
so workers of other test runs on the same Redis never take its tasks, nor it theirs.
``tests/certificates/test_reliability.py`` uses the same helpers to kill workers mid-render.
"""

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import pytest
import redis
from celery import Celery
from django.db import connection

from certificates import credentials
from certificates.models import Certificate, CertificateEvent, EventKind, RenderStatus
from lms.celery import app as celery_app
from lms.services import learner_profile_save
from tests.factories import UserFactory, learner_profile_data
from tests.learning import finish_course, pdf_text
from tests.services import require_postgresql, require_redis

pytestmark = [
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]
ROOT = Path(__file__).resolve().parents[2]
#: How long a test waits for a worker to start, or for a certificate to be rendered.
WORKER_START_SECONDS = 60
RENDER_SECONDS = 120

WORKER_SETTINGS = '''\
"""Settings of one test's Celery worker: the test settings, on a queue of its own."""

from lms.settings.test import *  # noqa: F403

CELERY_TASK_DEFAULT_QUEUE = {queue!r}
CELERY_BROKER_TRANSPORT_OPTIONS = {{
    **globals().get("CELERY_BROKER_TRANSPORT_OPTIONS", {{}}),
    **{transport_options!r},
}}
'''


def worker_database_url() -> str:
    """The URL of the database this test runs on (pytest-django's ``test_…`` database)."""
    db = connection.settings_dict
    password = f":{quote(db['PASSWORD'], safe='')}" if db.get("PASSWORD") else ""
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return (
        f"postgres://{quote(db['USER'] or '', safe='')}{password}@{db['HOST']}{port}/{db['NAME']}"
    )


@contextlib.contextmanager
def tasks_sent_to(*, broker: str, queue: str):
    """Send this process's tasks to ``broker`` (not eagerly), on ``queue``; restore after.

    The tasks go through a Celery app of the test's own, configured as the project's but for
    those three settings, and made the current and default app meanwhile (Celery's public
    ``set_current`` / ``set_default``): every task of ours is a shared task, which resolves
    to the current app, while the project's app keeps its configuration and connections.
    Yields that app (its ``control`` asks the workers on ``broker``).
    """
    saved_environ = os.environ.get("CELERY_BROKER_URL")
    # Celery reads CELERY_BROKER_URL from the environment before its configuration.
    os.environ["CELERY_BROKER_URL"] = broker
    sender = Celery("tests-certificates-sender", set_as_current=False, fixups=[])
    sender.config_from_object("django.conf:settings", namespace="CELERY")
    sender.conf.update(broker_url=broker, task_always_eager=False, task_default_queue=queue)
    sender.set_current()
    sender.set_default()
    try:
        yield sender
    finally:
        celery_app.set_default()
        celery_app.set_current()
        sender.close()
        if saved_environ is None:
            os.environ.pop("CELERY_BROKER_URL", None)
        else:
            os.environ["CELERY_BROKER_URL"] = saved_environ


@dataclass
class Worker:
    """One ``celery -A lms worker`` process (with its pool) started by a test."""

    name: str
    process: subprocess.Popen
    log: Path
    app: Celery  # the test's app, which reaches the worker's broker

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def wait_until_ready(self) -> None:
        deadline = time.monotonic() + WORKER_START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"the worker stopped; its output:\n{self.output()}")
            if self.app.control.ping(destination=[self.name], timeout=0.5):
                return
        pytest.fail(f"the worker did not answer; its output:\n{self.output()}")

    def active_tasks(self) -> list[dict]:
        """Tasks the worker's pool is running now (asked over the broker)."""
        replies = self.app.control.inspect(destination=[self.name], timeout=0.5).active()
        return (replies or {}).get(self.name, [])

    def kill(self) -> None:
        """SIGKILL the worker and its pool processes at once, like a machine that dies."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=20)

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill()


@dataclass
class Workers:
    """Starts workers for one test, all on the test's database and its own queue."""

    directory: Path
    broker: str
    queue: str
    mail_dir: Path
    app: Celery
    started: list[Worker] = field(default_factory=list)

    def start(self, *, concurrency: int = 1, transport_options: dict | None = None) -> Worker:
        """A prefork worker (its pool can be asked what it is running, and killed)."""
        number = len(self.started) + 1
        settings_dir = self.directory / f"worker{number}"
        settings_dir.mkdir()
        options = {
            # This worker's own bookkeeping of unacknowledged tasks: restoring them after a
            # short visibility timeout never touches another worker's tasks on this Redis.
            "unacked_key": f"{self.queue}:unacked",
            "unacked_index_key": f"{self.queue}:unacked_index",
            "unacked_mutex_key": f"{self.queue}:unacked_mutex",
            **(transport_options or {}),
        }
        (settings_dir / "worker_settings.py").write_text(
            WORKER_SETTINGS.format(queue=self.queue, transport_options=options)
        )
        name = f"{self.queue}-{number}@127.0.0.1"
        log = self.directory / f"worker{number}.log"
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(settings_dir), str(ROOT)]),
            "DJANGO_SETTINGS_MODULE": "worker_settings",
            "DATABASE_URL": worker_database_url(),
            "CELERY_BROKER_URL": self.broker,
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "EMAIL_FILE_PATH": str(self.mail_dir),
        }
        with log.open("w") as output:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "lms",
                    "worker",
                    "--pool=prefork",
                    f"--concurrency={concurrency}",
                    "-Q",
                    self.queue,
                    "--hostname",
                    name,
                    "--without-gossip",
                    "--without-mingle",
                    "--loglevel=INFO",
                ],
                cwd=ROOT,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: kill() takes the pool too
            )
        worker = Worker(name=name, process=process, log=log, app=self.app)
        self.started.append(worker)
        worker.wait_until_ready()
        return worker

    def output(self) -> str:
        return "\n".join(f"--- {w.name}\n{w.output()}" for w in self.started)

    def sent_mail(self) -> list[str]:
        return [path.read_text() for path in sorted(self.mail_dir.glob("*.log"))]


@pytest.fixture
def workers(tmp_path):
    """Celery workers on Redis for this test; this process sends its tasks to them."""
    require_postgresql()
    broker = require_redis()
    queue = f"test-certificates-{uuid.uuid4().hex[:12]}"
    with tasks_sent_to(broker=broker, queue=queue) as sender:
        pool = Workers(
            directory=tmp_path, broker=broker, queue=queue, mail_dir=tmp_path / "mail", app=sender
        )
        try:
            yield pool
        finally:
            for worker in pool.started:
                worker.stop()
            client = redis.Redis.from_url(broker)
            client.delete(
                queue,
                f"_kombu.binding.{queue}",
                f"_kombu.binding_permanent.{queue}",
                *client.keys(f"{queue}:*"),
            )


def wait_for(condition, *, what: str, workers: Workers, timeout: float = RENDER_SECONDS):
    """Poll ``condition`` until it returns something true; fail with the workers' output."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.2)
    pytest.fail(f"{what} did not happen within {timeout:.0f} s; workers:\n{workers.output()}")


def rendered(certificate_id: int):
    certificate = Certificate.objects.get(pk=certificate_id)
    if certificate.render_status == RenderStatus.FAILED:
        pytest.fail(f"rendering failed: {certificate.render_error}")
    return certificate if certificate.is_ready else None


@pytest.fixture
def amina(db):
    user = UserFactory(username="amina", email="amina@example.org")
    learner_profile_save(user=user, **learner_profile_data(full_name="Amina Wanjiru Njoroge"))
    return user


def test_finishing_the_course_issues_the_certificate_through_a_real_worker(
    workers, amina, course, certificate_rule
):
    workers.start()

    finish_course(amina, course)  # each step commits: the last one issues and enqueues

    certificate = Certificate.objects.get(learner=amina, course=course)
    certificate = wait_for(
        lambda: rendered(certificate.pk), what="rendering the certificate", workers=workers
    )
    # The PDF, stored through the storage API by the worker, says whose it is and its code.
    text = pdf_text(certificate)
    assert "Amina Wanjiru Njoroge" in text
    assert certificate.display_code in "".join(text.split())
    assert certificate.course_title in " ".join(text.split())
    # The credential the worker signed verifies here, with the service's public key.
    check = credentials.credential_check(certificate.credential)
    assert check.status == "valid", check.message
    assert check.certificate == certificate
    assert certificate.credential["credentialSubject"]["identifier"][0]["identityHash"] == (
        "Amina Wanjiru Njoroge"
    )
    # The holder was e-mailed a link, once.
    mails = wait_for(workers.sent_mail, what="sending the e-mail", workers=workers)
    assert len(mails) == 1
    assert "To: amina@example.org" in mails[0]
    assert f"Subject: Your certificate: {certificate.course_title}" in mails[0]
    assert f"/verify/{certificate.display_code}/" in mails[0]
    kinds = list(
        CertificateEvent.objects.filter(certificate=certificate).values_list("kind", flat=True)
    )
    assert kinds == [EventKind.ISSUED, EventKind.RENDERED, EventKind.EMAILED]
