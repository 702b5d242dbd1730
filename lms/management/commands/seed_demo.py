from django.core.management.base import BaseCommand
from wagtail import hooks

from lms import demo
from lms.links import absolute_url


class Command(BaseCommand):
    help = "Seed demo institutions, logins and (through each app's hook) demo content. Idempotent."

    def handle(self, *args, **options):
        logins = demo.seed()
        # Each app adds its own demo content through the ``seed_demo_data`` hook, in order.
        for seed_app in hooks.get_hooks("seed_demo_data"):
            seed_app()
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data is ready. Demo logins (password for all: {demo.DEMO_PASSWORD}):"
            )
        )
        for login in logins:
            where = f" at {login.institution_slug}" if login.institution_slug else ""
            self.stdout.write(f"  {login.username:<15} {login.role}{where}")
        self.stdout.write(
            "Managers, regulators and the admin set up two-factor authentication (an "
            "authenticator app) at their first log-in."
        )
        self.stdout.write(f"The site: {absolute_url('/')}")
