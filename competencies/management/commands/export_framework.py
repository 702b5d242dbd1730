import json
import sys
import uuid
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from competencies import selectors
from competencies.interchange import export_case_package, export_moodle_csv
from competencies.models import Framework
from lms.links import site_base_url


class Command(BaseCommand):
    help = "Export a competency framework as CASE 1.1 JSON or Moodle CSV."

    def add_arguments(self, parser):
        parser.add_argument("framework", help="The framework's identifier (UUID) or code.")
        # Not --version: every Django command has that one (Django's own version).
        parser.add_argument(
            "--framework-version",
            dest="framework_version",
            help="Which version, when the framework is given by its code.",
        )
        parser.add_argument("--format", choices=["case", "moodle"], default="case")
        parser.add_argument("--output", "-o", type=Path, help="Default: standard output.")

    def handle(self, *args, framework, framework_version, format, output, **options):
        found = find_frameworks(framework, version=framework_version)
        if not found:
            raise CommandError(f"No framework with identifier or code '{framework}'.")
        if len(found) > 1:
            raise CommandError(
                f"Several versions of '{framework}': say which with --framework-version."
            )
        data = selectors.framework_data(framework=found[0])
        if format == "moodle":
            text = export_moodle_csv(data)
        else:
            text = json.dumps(
                export_case_package(data, base_url=site_base_url()),
                indent=1,
                ensure_ascii=False,
            )
        if output:
            output.write_text(text, encoding="utf-8")
            self.stderr.write(f"Wrote {output}")
        else:
            sys.stdout.write(text)


def find_frameworks(name: str, *, version: str | None = None) -> list[Framework]:
    """The frameworks a command line names: by identifier, or by code (and version)."""
    try:
        candidates = Framework.objects.filter(identifier=uuid.UUID(name))
    except ValueError:
        candidates = Framework.objects.filter(code=name)
        if version:
            candidates = candidates.filter(version=version)
    return list(candidates.order_by("-created_at")[:2])
