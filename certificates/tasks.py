"""Celery tasks of the certificates app: ids in, idempotent, enqueued on commit.

Each task calls the module that does the work; those modules enqueue through
:mod:`certificates.dispatch`, never by importing this one.
"""

from celery import shared_task

from certificates import delivery, issuing, lifecycle, verification_counts


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,  # a worker killed mid-render: the task is delivered again
    autoretry_for=(Exception,),
    retry_backoff=5,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=6,
)
def render_certificate(self, certificate_id: int, email: bool = False) -> str:
    """Render and store a certificate's PDF and signed credential, then e-mail the holder."""
    try:
        certificate = delivery.certificate_render(certificate_id=certificate_id)
    except Exception as error:
        if self.request.retries >= self.max_retries:
            delivery.certificate_render_failed(certificate_id=certificate_id, error=repr(error))
        raise
    if certificate is None:
        return "missing"
    if email and certificate.is_ready:
        delivery.certificate_email(certificate=certificate)
    return certificate.render_status


@shared_task
def sweep_pending_certificates() -> int:
    """Beat: render certificates whose task never ran (broker down at issue time)."""
    return delivery.certificates_pending_sweep()


@shared_task
def send_expiry_reminders() -> int:
    """Beat, daily: remind holders before their certificates expire."""
    return lifecycle.expiry_reminders_send()


@shared_task(acks_late=True)
def run_bulk_issue(job_id: int) -> int:
    """Issue a cohort's certificates, keeping the job's progress up to date."""
    return issuing.bulk_issue_run(job_id=job_id).issued


@shared_task
def flush_verification_counts() -> int:
    """Beat, every few seconds: move verifications counted in Redis into the database."""
    return verification_counts.verification_counts_flush()
