import contextlib
import logging

from django.core.management.base import BaseCommand
from wagtail import hooks

from lms import demo
from lms.links import absolute_url
from lms.models import Institution
from lms.roles import InstitutionRole

#: What the libraries log while the demo is built, which nobody trying the demo needs: each
#: page Wagtail creates and publishes, each Celery task run in-process, and kombu's warning
#: that the in-memory broker has no host name.
NOISY_LOGGERS = ("wagtail", "celery.app.trace", "celery.worker", "kombu.connection")
ROLE_LABELS = {
    "trainee": "trainee",
    "regulator": "regulator (reads its regulatory body's jurisdiction)",
    "superuser": "superuser",
    **{role.value: str(role.label).lower() for role in InstitutionRole},
}


@contextlib.contextmanager
def quiet(logger_names):
    """Only errors from these loggers while the block runs."""
    loggers = [logging.getLogger(name) for name in logger_names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


class Command(BaseCommand):
    help = "Seed demo institutions, logins and (through each app's hook) demo content. Idempotent."

    def handle(self, *args, **options):
        with quiet(NOISY_LOGGERS):
            logins = list(demo.seed())
            # Each app adds its own demo content through the ``seed_demo_data`` hook, in
            # order; a hook may return the demo logins it made, listed with the others.
            for seed_app in hooks.get_hooks("seed_demo_data"):
                logins.extend(seed_app() or ())
        self.stdout.write(self.style.SUCCESS(f"Demo data is ready: {absolute_url('/')}"))
        self.stdout.write(
            f"Demo logins (password for all: {demo.DEMO_PASSWORD}), each with where to start:"
        )
        names = dict(Institution.objects.values_list("slug", "name"))
        width = max(len(login.username) for login in logins) + 2
        for login in logins:
            role = ROLE_LABELS.get(login.role, login.role)
            if login.institution_slug:
                role += f" at {names.get(login.institution_slug, login.institution_slug)}"
            self.stdout.write(f"  {login.username:<{width}}{role}")
            self.stdout.write(
                f"  {'':<{width}}→ {absolute_url(login.start)}  {login.try_first}".rstrip()
            )
        self.stdout.write(f"The site: {absolute_url('/')}")
