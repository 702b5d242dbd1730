"""Issuing survives what goes wrong in production: killed workers, a broker that is down,
double clicks and parallel requests. PostgreSQL only (real commits, real row locks); the
worker tests also need Redis. With CI=true a missing service fails the run.

- A worker killed mid-render (SIGKILL): the task is delivered again — by the same worker when
  only its pool process died (``reject_on_worker_lost``), by another worker once the broker's
  visibility timeout has passed when the whole worker died (``acks_late``) — and in the end
  one certificate exists, with one PDF.
- The broker down when the criteria are met: the progress and the certificate commit, the
  certificate waits as ``pending``, the learner's request neither fails nor hangs, and the
  periodic sweep renders it later.
- Twenty parallel issue calls, or twenty parallel completions of the last module: one
  certificate, and every call gets it.
"""

import logging
import os
import signal
import socket
import threading
import time
import uuid
from datetime import timedelta

import pytest
import redis
from django.core import mail
from django.core.files.storage import default_storage
from django.db import connections
from django.db.models import F
from django.urls import reverse

from certificates import services
from certificates.models import Certificate, CertificateEvent, EventKind, RenderStatus
from certificates.tasks import sweep_pending_certificates
from courses import services as course_services
from courses.models import ModuleCompletion, ModulePage, ProgressEvent
from tests.certificates import test_worker
from tests.certificates.test_worker import rendered, tasks_sent_to, wait_for
from tests.learning import right_answers
from tests.services import require_postgresql

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
# The real-worker harness and the holder of the certificate, shared with test_worker.py.
workers = test_worker.workers
amina = test_worker.amina
THREADS = 20
#: Seconds after which Redis hands a task taken by a dead worker to another worker. Short
#: for the test; in production it is Celery's default, an hour (above any task time limit).
VISIBILITY_TIMEOUT = 8
FAST_RESTORE = {
    "visibility_timeout": VISIBILITY_TIMEOUT,
    "unacked_restore_interval": 1,  # look for abandoned tasks every second…
    "unacked_restore_throttle": 1,  # …each time (kombu's defaults: every 100 s)
    "unacked_mutex_expire": 5,  # a worker killed while looking frees the lock soon
}
#: Certified competencies that make the PDF several pages long: rendering takes seconds,
#: long enough to kill the worker in the middle of it.
LONG_LIST = 400


@pytest.fixture(autouse=True)
def needs_postgresql(db):
    require_postgresql("real commits, row locks and parallel connections")


def modules(course) -> list[ModulePage]:
    return list(ModulePage.objects.child_of(course).live().order_by("path"))


def pdf_files(certificate: Certificate) -> list[str]:
    """What the storage holds for this certificate (every version, every attempt)."""
    directory = f"certificates/{certificate.uuid}"
    if not default_storage.exists(directory):
        return []
    return default_storage.listdir(directory)[1]


def event_kinds(certificate: Certificate) -> list[str]:
    return list(
        CertificateEvent.objects.filter(certificate=certificate).values_list("kind", flat=True)
    )


def finish_all_but_one(learner, course) -> ModulePage:
    """Enrol, pass the quiz module; return the module without a quiz, still to complete."""
    first, second = modules(course)
    assert first.quiz_block() is None and second.quiz_block() is not None
    course_services.enrol(learner=learner, course=course)
    course_services.quiz_submit(
        learner=learner,
        module=second,
        answers=right_answers(second),
        event_id=uuid.uuid4(),
    )
    return first


def issue_with_a_long_list(learner, course) -> Certificate:
    """The learner finishes the course (rendering is queued), and the certificate is made
    long: a slow render, so that the test can kill the worker in the middle of it."""
    last = finish_all_but_one(learner, course)
    course_services.module_complete(learner=learner, module=last, event_id=uuid.uuid4())
    certificate = Certificate.objects.get(learner=learner, course=course)
    item = certificate.competencies[0]
    Certificate.objects.filter(pk=certificate.pk).update(
        competencies=[
            {**item, "code": f"PP.{i // 10}.{i % 10}", "statement": f"{item['statement']} ({i})"}
            for i in range(LONG_LIST)
        ]
    )
    return certificate


def wait_until_running(worker, certificate: Certificate, workers) -> dict:
    def running():
        for task in worker.active_tasks():
            if task["name"] == "certificates.tasks.render_certificate" and task["args"] == [
                certificate.pk
            ]:
                return task
        return None

    return wait_for(running, what="the worker starting the render", workers=workers, timeout=90)


def assert_one_certificate_with_one_pdf(learner, course, workers) -> Certificate:
    certificates = Certificate.objects.filter(learner=learner, course=course)
    assert certificates.count() == 1
    certificate = wait_for(
        lambda: rendered(certificates.get().pk), what="rendering again", workers=workers
    )
    assert pdf_files(certificate) == [f"{certificate.code}-v1.pdf"]
    assert certificate.pdf.name == f"certificates/{certificate.uuid}/{certificate.code}-v1.pdf"
    assert certificate.credential["proof"][0]["type"] == "DataIntegrityProof"
    mails = wait_for(workers.sent_mail, what="sending the e-mail", workers=workers)
    assert event_kinds(certificate) == [EventKind.ISSUED, EventKind.RENDERED, EventKind.EMAILED]
    assert len(mails) == 1
    return certificate


# --- A worker killed mid-render ----------------------------------------------------------------


@pytest.mark.worker
def test_a_killed_pool_process_hands_the_render_back_to_its_worker(
    workers, amina, course, certificate_rule
):
    certificate = issue_with_a_long_list(amina, course)  # queued: no worker yet
    worker = workers.start()
    task = wait_until_running(worker, certificate, workers)

    os.kill(task["worker_pid"], signal.SIGKILL)  # the pool process dies mid-render

    assert not Certificate.objects.get(pk=certificate.pk).is_ready
    assert_one_certificate_with_one_pdf(amina, course, workers)
    # The worker saw its process die and put the task back (reject_on_worker_lost).
    assert "WorkerLostError" in worker.output()
    assert "signal 9" in worker.output()


@pytest.mark.worker
def test_a_killed_worker_task_goes_to_another_worker(workers, amina, course, certificate_rule):
    certificate = issue_with_a_long_list(amina, course)
    # (The first worker looks for abandoned tasks only at start: killed, it holds no lock.)
    first = workers.start()
    wait_until_running(first, certificate, workers)

    first.kill()  # the whole worker dies mid-render, as with a machine that goes away

    assert not Certificate.objects.get(pk=certificate.pk).is_ready
    # The task was never acknowledged (acks_late): Redis still holds it for that worker…
    broker = redis.Redis.from_url(workers.broker)
    assert broker.hlen(f"{workers.queue}:unacked") == 1
    killed_at = time.monotonic()
    # …and hands it to the next worker once the visibility timeout has passed.
    workers.start(transport_options=FAST_RESTORE)
    assert_one_certificate_with_one_pdf(amina, course, workers)
    assert time.monotonic() - killed_at >= VISIBILITY_TIMEOUT - 1
    wait_for(
        lambda: broker.hlen(f"{workers.queue}:unacked") == 0,
        what="acknowledging every task",
        workers=workers,
        timeout=30,
    )


# --- The broker down when the criteria are met -----------------------------------------------


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # nothing listens once the socket is closed


def test_broker_down_the_certificate_waits_as_pending_and_the_sweep_renders_it(
    client, amina, course, certificate_rule, caplog
):
    last = finish_all_but_one(amina, course)
    client.force_login(amina)
    broker = f"redis://127.0.0.1:{closed_port()}/0"

    with (
        tasks_sent_to(broker=broker, queue="nobody-listens"),
        caplog.at_level(logging.WARNING, logger="certificates.services"),
    ):
        started = time.monotonic()
        response = client.post(
            reverse("courses:module_complete", args=[last.pk]), {"event_id": str(uuid.uuid4())}
        )
        seconds = time.monotonic() - started

    # The learner's request went through, quickly, and what it earned is recorded.
    assert response.status_code == 302
    assert seconds < 5, f"completing the module took {seconds:.1f} s with the broker down"
    assert ModuleCompletion.objects.filter(learner=amina, module=last).count() == 1
    certificate = Certificate.objects.get(learner=amina, course=course)
    assert certificate.render_status == RenderStatus.PENDING
    assert not certificate.pdf
    assert event_kinds(certificate) == [EventKind.ISSUED]
    assert "the sweep will render it" in caplog.text

    # Later (the sweep leaves alone what was issued in the last two minutes), with the
    # broker back — tasks run eagerly here — the periodic sweep renders it.
    Certificate.objects.filter(pk=certificate.pk).update(
        created_at=F("created_at") - timedelta(minutes=5)
    )
    assert sweep_pending_certificates.delay().get() == 1

    certificate.refresh_from_db()
    assert certificate.is_ready
    assert pdf_files(certificate) == [f"{certificate.code}-v1.pdf"]
    assert event_kinds(certificate) == [EventKind.ISSUED, EventKind.RENDERED, EventKind.EMAILED]
    assert [message.to for message in mail.outbox] == [["amina@example.org"]]
    assert sweep_pending_certificates.delay().get() == 0  # nothing left behind


def test_a_broker_that_does_not_answer_holds_no_request(client, amina, course, certificate_rule):
    """A broker that takes connections but never answers (wedged, or a link that died without
    a word): sending the task gives up within seconds — the broker's socket timeouts in
    CELERY_BROKER_TRANSPORT_OPTIONS — and the certificate waits for the sweep."""
    last = finish_all_but_one(amina, course)
    client.force_login(amina)
    outcome = {}

    def complete_the_module():
        try:
            outcome["response"] = client.post(
                reverse("courses:module_complete", args=[last.pk]),
                {"event_id": str(uuid.uuid4())},
            )
        finally:
            connections.close_all()

    with socket.socket() as wedged:
        wedged.bind(("127.0.0.1", 0))
        wedged.listen(16)  # the kernel completes the handshakes; nobody ever answers
        broker = f"redis://127.0.0.1:{wedged.getsockname()[1]}/0"
        with tasks_sent_to(broker=broker, queue="nobody-listens"):
            request = threading.Thread(target=complete_the_module, daemon=True)
            started = time.monotonic()
            request.start()
            request.join(timeout=15)
            seconds = time.monotonic() - started
            still_waiting = request.is_alive()
    # (Closing the socket above ends a request still waiting, so that nothing hangs on.)

    assert not still_waiting, "completing the module still waited on the broker after 15 s"
    assert outcome["response"].status_code == 302
    assert seconds < 8, f"completing the module took {seconds:.1f} s with the broker wedged"
    certificate = Certificate.objects.get(learner=amina, course=course)
    assert certificate.render_status == RenderStatus.PENDING


# --- Parallel requests -----------------------------------------------------------------------


def run_in_parallel(target, count=THREADS) -> tuple[list, list]:
    """Start ``count`` threads at once, each with its own connection; results and errors."""
    barrier = threading.Barrier(count)
    results, errors = [None] * count, [None] * count

    def run(index):
        try:
            barrier.wait()
            results[index] = target(index)
        except Exception as error:  # noqa: BLE001 - reported to the test
            errors[index] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results, errors


def test_twenty_parallel_issue_calls_make_one_certificate(amina, course, certificate_rule):
    certificate_rule.automatic = False  # the institution issues: finishing issues nothing
    certificate_rule.save(update_fields=["automatic"])
    last = finish_all_but_one(amina, course)
    course_services.module_complete(learner=amina, module=last, event_id=uuid.uuid4())
    assert not Certificate.objects.exists()

    results, errors = run_in_parallel(
        lambda i: services.certificate_issue(learner=amina, course=course)
    )

    assert errors == [None] * THREADS
    certificate = Certificate.objects.get(learner=amina, course=course)
    assert {result.certificate.pk for result in results} == {certificate.pk}
    assert sum(result.created for result in results) == 1
    assert event_kinds(certificate).count(EventKind.ISSUED) == 1
    certificate.refresh_from_db()
    assert certificate.is_ready
    assert pdf_files(certificate) == [f"{certificate.code}-v1.pdf"]


def test_twenty_parallel_completions_of_the_last_module_make_one_certificate(
    amina, course, certificate_rule
):
    last = finish_all_but_one(amina, course)

    results, errors = run_in_parallel(
        lambda i: course_services.module_complete(learner=amina, module=last, event_id=uuid.uuid4())
    )

    assert errors == [None] * THREADS
    # Every report is kept; the completion and the certificate exist once.
    assert ProgressEvent.objects.filter(learner=amina, module=last, verb="completed").count() == (
        THREADS
    )
    assert ModuleCompletion.objects.filter(learner=amina, module=last).count() == 1
    certificate = Certificate.objects.get(learner=amina, course=course)
    assert event_kinds(certificate).count(EventKind.ISSUED) == 1
    certificate.refresh_from_db()
    assert certificate.is_ready
    assert pdf_files(certificate) == [f"{certificate.code}-v1.pdf"]
