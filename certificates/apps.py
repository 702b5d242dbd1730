from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CertificatesConfig(AppConfig):
    name = "certificates"
    verbose_name = _("Certificates")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from certificates import api, learner_hooks  # noqa: F401 - they register hooks
        from courses.signals import learning_changed

        learning_changed.connect(
            _issue_earned_certificates, dispatch_uid="certificates.issue_earned"
        )


def _issue_earned_certificates(sender, *, learner_id, course_id, **kwargs):
    """Inside the progress transaction: issue what the learner has just earned."""
    from certificates.services import certificate_issue_if_eligible

    certificate_issue_if_eligible(learner_id=learner_id, course_id=course_id)
