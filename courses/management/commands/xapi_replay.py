"""Apply again the xAPI statements that brought no progress when they arrived.

A statement about a mapped module is kept without progress when its learner is not known yet,
not enrolled, or the activity not mapped yet (docs/decisions/0005-xapi.md). Enrolling a
learner replays their statements by itself; run this after mapping activities to modules, or
to catch up statements whose replay task was lost. Safe to run again: a statement brings its
progress once. The work is :func:`courses.xapi.statements_replay`.
"""

from collections import Counter

from django.core.management.base import BaseCommand, CommandError

from courses.xapi import statements_replay
from lms.models import Institution


class Command(BaseCommand):
    help = (
        "Apply stored xAPI statements whose learner, enrolment or module mapping was missing "
        "(--institution, --learner, or everything)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--institution", metavar="SLUG", help="One institution, by slug.")
        parser.add_argument(
            "--learner",
            metavar="EXTERNAL_ID",
            help="One learner, by the external id their LMS uses (actor.account.name).",
        )

    def handle(self, *args, institution=None, learner=None, **options):
        institutions = Institution.objects.order_by("slug")
        if institution:
            institutions = institutions.filter(slug=institution)
            if not institutions.exists():
                raise CommandError(f"No institution has the slug {institution!r}.")
        external_ids = [learner] if learner else None
        total: Counter = Counter()
        for each in institutions:
            statuses = statements_replay(institution=each, external_ids=external_ids)
            if statuses:
                self.stdout.write(f"{each.slug}: {_summary(statuses)}")
            total += statuses
        if total:
            self.stdout.write(f"Replayed {total.total()} statement(s): {_summary(total)}.")
        else:
            self.stdout.write("No statement was waiting for a learner, enrolment or mapping.")


def _summary(statuses: Counter) -> str:
    return ", ".join(f"{count} {status}" for status, count in sorted(statuses.items()))
