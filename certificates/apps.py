from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CertificatesConfig(AppConfig):
    name = "certificates"
    verbose_name = _("Certificates")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # api and learner_hooks register hooks; services connects its rule-change receivers.
        from certificates import api, learner_hooks, services  # noqa: F401
        from courses.signals import learning_changed_many

        # The batch form: a batch of progress costs one query for the rules of all its pairs.
        learning_changed_many.connect(
            _issue_earned_certificates, dispatch_uid="certificates.issue_earned"
        )


def _issue_earned_certificates(sender, *, pairs, **kwargs):
    """Inside the progress transaction: issue what the learners have just earned."""
    from certificates.services import certificates_issue_if_eligible_many

    certificates_issue_if_eligible_many(pairs=pairs)
