"""The certificates app's signal receivers, connected by ``CertificatesConfig.ready()``.

- **Progress** (the one documented hook between courses and certificates): the courses app
  sends ``courses.signals.learning_changed_many`` inside the transaction that recorded a
  learner's progress; certificates decide themselves what it earns
  (:func:`certificates.issuing.certificates_issue_if_eligible_many`), so a certificate commits
  or rolls back with the progress that earned it. Every sender of that signal (a progress
  event, a quiz attempt, an observation, an enrolment's replay) is news here, so the receiver
  is connected without a sender.
- **Rules**: a ``CertificateRule`` saved or deleted makes every process read the courses
  with automatic rules afresh (:mod:`certificates.caches`).
- **Settings**: a changed ``CERTIFICATE_*`` setting (``override_settings`` in tests) drops
  the signing keys read so far. Django sends ``setting_changed`` from whichever settings
  holder is current, so that receiver too is connected without a sender.
"""

from django.core.signals import setting_changed
from django.db.models.signals import post_delete, post_save

from certificates import caches, issuing, keys
from certificates.models import CertificateRule
from courses.signals import learning_changed_many


def issue_earned_certificates(sender, *, pairs, **kwargs) -> None:
    """Inside the progress transaction: issue what the learners have just earned (the batch
    form: a batch of progress costs one query for the rules of all its pairs)."""
    issuing.certificates_issue_if_eligible_many(pairs=pairs)


def rules_changed(sender, **kwargs) -> None:
    caches.automatic_rules_changed()


def settings_changed(*, setting: str, **kwargs) -> None:
    if setting.startswith("CERTIFICATE_") or setting in ("DEBUG", "BASE_DIR"):
        keys.reset_cache()


def connect() -> None:
    """Connect every receiver of the app (each once, whatever calls this)."""
    learning_changed_many.connect(
        issue_earned_certificates, dispatch_uid="certificates.issue_earned"
    )
    post_save.connect(
        rules_changed, sender=CertificateRule, dispatch_uid="certificates.rules_changed_on_save"
    )
    post_delete.connect(
        rules_changed, sender=CertificateRule, dispatch_uid="certificates.rules_changed_on_delete"
    )
    setting_changed.connect(settings_changed, dispatch_uid="certificates.settings_changed")
