"""How django-allauth behaves on this site, through its adapter rather than copied views."""

from allauth.account.adapter import DefaultAccountAdapter
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from wagtail import hooks

from lms import lockout, selectors
from lms.landing import landing_url


class AccountAdapter(DefaultAccountAdapter):
    def get_signup_redirect_url(self, request):
        """A new trainee completes their worker profile first."""
        return reverse("lms:profile") + "?next=" + reverse("lms:dashboard")

    def get_login_redirect_url(self, request):
        """Where a log-in without ``?next=`` lands: a page an installed app names for the
        person (the ``login_redirect_url`` hook: regulators' workspace), else the profile first
        for a new trainee, else where the person's role works (:func:`lms.landing.landing_url`)."""
        for landing in hooks.get_hooks("login_redirect_url"):
            if url := landing(request):
                return url
        user = request.user
        is_trainee = not (
            user.is_superuser or user.memberships.exists() or selectors.user_is_regulator(user=user)
        )
        if is_trainee and selectors.learner_profile_for(user=user) is None:
            return reverse("lms:profile") + "?next=" + reverse("lms:dashboard")
        return landing_url(user)

    def authenticate(self, request, **credentials):
        """A locked-out log-in answers 429 with ``Retry-After`` (lms.lockout), not a form error."""
        try:
            return super().authenticate(request, **credentials)
        except ValidationError as error:
            lockout.refuse_locked_out(request, error)
            raise

    def send_mail(self, template_prefix, email, context):
        """Render now, send from a Celery worker after commit: slow SMTP never blocks a page."""
        from lms.tasks import send_email

        message = self.render_mail(template_prefix, email, context)
        alternatives = [
            {"content": content, "mimetype": mimetype}
            for content, mimetype in getattr(message, "alternatives", [])
        ]
        payload = {
            "subject": message.subject,
            "body": message.body,
            "from_email": message.from_email,
            "to": list(message.to),
            "alternatives": alternatives,
            "content_subtype": message.content_subtype,
        }
        transaction.on_commit(lambda: send_email.delay(payload))
