from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from competencies import services
from competencies.interchange import FrameworkFileError, parse_case_package, parse_moodle_csv
from competencies.management.commands.export_framework import find_frameworks
from lms.models import Institution


class Command(BaseCommand):
    help = "Import a competency framework from CASE 1.1 JSON or Moodle CSV (all or nothing)."

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path)
        parser.add_argument(
            "--format", choices=["case", "moodle"], help="Default: from the file extension."
        )
        parser.add_argument("--owner", help="Slug of the owning institution (none = regulator).")
        parser.add_argument(
            "--scale",
            help="For a file without a proficiency scale (CASE packages usually have none): "
            "the identifier or code of a framework whose scale to copy.",
        )
        parser.add_argument(
            "--publish",
            action="store_true",
            help="Publish it too; if it cannot be published, nothing is imported.",
        )

    def handle(self, *args, path: Path, format, owner, scale, publish, **options):
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        format = format or ("moodle" if path.suffix.lower() == ".csv" else "case")
        institution = None
        if owner:
            institution = Institution.objects.filter(slug=owner).first()
            if institution is None:
                raise CommandError(f"No institution with slug '{owner}'.")
        parse = parse_moodle_csv if format == "moodle" else parse_case_package
        write = services.framework_import_and_publish if publish else services.framework_import
        try:
            data = parse(path.read_bytes())
            framework = write(
                data=data, owner_institution=institution, scale_from=_scale_source(scale)
            )
        except FrameworkFileError as error:
            raise CommandError(
                f"{path} was not imported; nothing was changed:\n  " + "\n  ".join(error.errors)
            ) from None
        except services.FrameworkError as error:
            raise CommandError(f"{error} Nothing was imported.") from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported “{framework}” ({framework.items.count()} items, "
                f"identifier {framework.identifier}, {framework.get_status_display().lower()})."
            )
        )
        if data.report:
            self.stdout.write("Read differently from how the file writes it:")
            for line in data.report:
                self.stdout.write(f"  {line}")


def _scale_source(name: str | None):
    if not name:
        return None
    found = find_frameworks(name)
    if not found:
        raise CommandError(f"No framework with identifier or code '{name}' for --scale.")
    if len(found) > 1:
        raise CommandError(
            f"Several frameworks have the code '{name}': give --scale an identifier."
        )
    return found[0]
