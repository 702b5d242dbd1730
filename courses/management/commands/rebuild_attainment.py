"""Recompute competency attainment from the evidence, for one learner, a cohort or everyone.

Attainment is kept up to date as evidence arrives, and the changes that move it otherwise
(a framework published or retired, a module's mapping changed) recompute it by themselves
(competencies.recompute); this command is for the rest, e.g. after restoring a backup. It
lives in courses because cohorts do; the work is
:func:`competencies.services.attainment_rebuild`.
"""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from competencies.selectors import learners_with_evidence
from competencies.services import attainment_rebuild
from courses.models import Cohort


class Command(BaseCommand):
    help = "Recompute competency attainment from evidence (--learner, --cohort or --all)."

    def add_arguments(self, parser):
        who = parser.add_mutually_exclusive_group(required=True)
        who.add_argument("--learner", metavar="USERNAME", help="One learner, by username.")
        who.add_argument("--cohort", type=int, metavar="ID", help="A cohort's learners.")
        who.add_argument("--all", action="store_true", help="Everyone with evidence.")

    def handle(self, *args, learner=None, cohort=None, all=False, **options):
        users = get_user_model().objects.all()
        if learner:
            users = users.filter(username=learner)
            if not users.exists():
                raise CommandError(f"No user is called {learner!r}.")
        elif cohort is not None:
            found = Cohort.objects.filter(pk=cohort).first()
            if found is None:
                raise CommandError(f"There is no cohort with id {cohort}.")
            users = found.learners.all()
        else:
            users = learners_with_evidence()
        learners = rows = 0
        for user in users.order_by("pk").iterator():
            rows += attainment_rebuild(learner=user)
            learners += 1
        self.stdout.write(f"Rebuilt attainment of {learners} learner(s): {rows} row(s).")
