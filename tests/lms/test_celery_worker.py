"""A real round trip through a Celery worker on Redis: nothing eager, nothing mocked."""

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from celery import Celery

from tests.services import require_redis

pytestmark = pytest.mark.worker
ROOT = Path(__file__).resolve().parents[2]
WORKER_START_SECONDS = 90


@pytest.fixture
def worker(tmp_path):
    """Start ``celery -A lms worker`` on its own queue; stop it after the test."""
    broker = require_redis()
    queue = f"test-{uuid.uuid4().hex[:12]}"
    mail_dir = tmp_path / "mail"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "lms.settings.test",
        "CELERY_BROKER_URL": broker,
        "CELERY_RESULT_BACKEND": broker,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(mail_dir),
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "lms",
            "worker",
            "--pool=solo",
            "-Q",
            queue,
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--hostname",
            f"{queue}@127.0.0.1",
            "--loglevel=INFO",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    _wait_until_listening(process, broker=broker, name=f"{queue}@127.0.0.1")
    yield {"broker": broker, "queue": queue, "mail_dir": mail_dir, "process": process}
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


def _wait_until_listening(process, *, broker: str, name: str) -> None:
    """Wait until the worker answers a ping: on Redis, a task sent to a queue that no worker
    has declared yet is routed nowhere and lost, which a slow start on a busy machine
    made happen."""
    control = Celery("ping", broker=broker)
    deadline = time.monotonic() + WORKER_START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the worker stopped; its output:\n{process.communicate()[0]}")
        if control.control.ping(destination=[name], timeout=0.5):
            return
    process.terminate()
    pytest.fail(f"the worker did not start; its output:\n{process.communicate(timeout=20)[0]}")


def test_email_task_round_trip_through_a_real_worker(worker):
    client = Celery("round-trip", broker=worker["broker"], backend=worker["broker"])
    client.conf.update(task_serializer="json", accept_content=["json"], result_serializer="json")
    message = {
        "subject": "Your certificate is ready",
        "body": "Hello Amina, your certificate is ready.",
        "from_email": "noreply@example.org",
        "to": ["amina@example.org"],
        "alternatives": [],
    }
    result = client.send_task("lms.tasks.send_email", args=[message], queue=worker["queue"])
    try:
        recipients = result.get(timeout=90)
    except Exception:
        worker["process"].terminate()
        output = worker["process"].communicate(timeout=20)[0]
        pytest.fail(f"the worker did not answer; its output:\n{output}")
    assert recipients == "amina@example.org"
    assert result.state == "SUCCESS"

    deadline = time.monotonic() + 10
    files = []
    while time.monotonic() < deadline and not files:
        files = list(worker["mail_dir"].glob("*.log"))
        time.sleep(0.1)
    assert len(files) == 1
    sent = files[0].read_text()
    assert "Subject: Your certificate is ready" in sent
    assert "To: amina@example.org" in sent
