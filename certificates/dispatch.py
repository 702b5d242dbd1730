"""Enqueue the app's Celery tasks, once the caller's transaction commits.

The modules that enqueue (:mod:`~certificates.issuing`, :mod:`~certificates.lifecycle`,
:mod:`~certificates.delivery`) are the very ones the tasks run, so they cannot import
:mod:`certificates.tasks` (which imports them) without a cycle. They enqueue through here,
and this module finds each task by its name in the Celery app's registry
(``current_app.tasks``, Celery's public API). ``CertificatesConfig.ready()`` imports
``certificates.tasks``, so every process has them registered, and they run in place where
tasks run eagerly (the embedded default, the tests).

Tasks are enqueued only after commit: a worker must find the rows the caller wrote, and
nothing is sent for a transaction that rolls back.
"""

import logging

from celery import current_app
from django.db import transaction

from lms.tasks import send_email

logger = logging.getLogger(__name__)

RENDER_TASK = "certificates.tasks.render_certificate"
BULK_ISSUE_TASK = "certificates.tasks.run_bulk_issue"

#: Sending a render task retries a broker that blinks, briefly: the learner's request waits.
RENDER_RETRY_POLICY = {"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5}


def task(name: str):
    """The registered task of that name (``KeyError`` if ``certificates.tasks`` was never
    imported, which ``CertificatesConfig.ready()`` rules out)."""
    return current_app.tasks[name]


def render_enqueue(*, certificate_id: int, email: bool = False) -> None:
    """Render the certificate (and e-mail its holder) after commit.

    With the broker away the certificate stays ``pending`` and the request that issued it
    goes on: the pending sweep (:func:`certificates.delivery.certificates_pending_sweep`)
    renders it later.
    """

    def send():
        try:
            task(RENDER_TASK).apply_async(
                args=[certificate_id],
                kwargs={"email": email},
                retry=True,
                retry_policy=RENDER_RETRY_POLICY,
            )
        except Exception:  # noqa: BLE001 - the broker is down: the pending sweep catches up
            logger.warning(
                "Could not enqueue rendering of certificate %s; the sweep will render it.",
                certificate_id,
                exc_info=True,
            )

    transaction.on_commit(send)


def render_send(*, certificate_id: int) -> None:
    """Enqueue rendering (and the e-mail) now, for the sweep, which runs in no transaction."""
    task(RENDER_TASK).delay(certificate_id, email=True)


def bulk_issue_enqueue(*, job_id: int) -> None:
    """Run the bulk issue job after commit."""
    transaction.on_commit(lambda: task(BULK_ISSUE_TASK).delay(job_id))


def email_enqueue(message: dict) -> None:
    """Send an e-mail (``lms.tasks.send_email``'s message) after commit."""
    transaction.on_commit(lambda: send_email.delay(message))
