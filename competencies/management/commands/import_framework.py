from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from competencies import services
from competencies.interchange import FrameworkFileError
from lms.models import Institution


class Command(BaseCommand):
    help = "Import a competency framework from CASE 1.1 JSON or Moodle CSV (all or nothing)."

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path)
        parser.add_argument(
            "--format", choices=["case", "moodle"], help="Default: from the file extension."
        )
        parser.add_argument("--owner", help="Slug of the owning institution (none = regulator).")
        parser.add_argument("--publish", action="store_true", help="Publish it after import.")

    def handle(self, *args, path: Path, format, owner, publish, **options):
        from competencies.case import parse_case_package
        from competencies.moodle_csv import parse_moodle_csv

        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        format = format or ("moodle" if path.suffix.lower() == ".csv" else "case")
        institution = None
        if owner:
            institution = Institution.objects.filter(slug=owner).first()
            if institution is None:
                raise CommandError(f"No institution with slug '{owner}'.")
        parse = parse_moodle_csv if format == "moodle" else parse_case_package
        try:
            framework = services.framework_import(
                data=parse(path.read_bytes()), owner_institution=institution
            )
            if publish:
                services.framework_publish(framework=framework)
        except FrameworkFileError as error:
            raise CommandError(
                f"{path} was not imported; nothing was changed:\n  " + "\n  ".join(error.errors)
            ) from None
        except services.FrameworkError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported “{framework}” ({framework.items.count()} items, "
                f"identifier {framework.identifier}, {framework.get_status_display().lower()})."
            )
        )
