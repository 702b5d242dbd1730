"""Reading a cohort's list of learners from a CSV file.

Only the file itself is checked here — its header, every value, and clashes between its own
rows — and *every* problem is collected with the line it is on, so an institution fixes its
spreadsheet once rather than error by error. Checks against existing accounts, and all
writing, are :func:`courses.services.cohort_learners_import`'s.
"""

import csv
import io
from dataclasses import asdict, dataclass

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

from lms.models import Cadre, LearnerProfile, Sector

COLUMNS = (
    "username",
    "email",
    "full_name",
    "cadre",
    "sector",
    "country",
    "region",
    "district",
    "worker_registration_number",
)
REQUIRED_VALUES = ("username", "full_name", "cadre", "sector", "country")
MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 5000


class LearnerFileError(Exception):
    """The file cannot be imported; ``errors`` lists every problem, with its line."""

    def __init__(self, errors: list[str]):
        super().__init__("\n".join(errors))
        self.errors = errors


@dataclass(frozen=True)
class LearnerRow:
    line: int
    username: str
    email: str
    full_name: str
    cadre: str
    sector: str
    country: str
    region: str
    district: str
    worker_registration_number: str

    def profile_fields(self) -> dict:
        """The row's values as keyword arguments of ``lms.services.learner_profile_save``."""
        fields = asdict(self)
        for name in ("line", "username", "email"):
            del fields[name]
        return fields


def parse_learners_csv(data: bytes) -> list[LearnerRow]:
    """Parse and check a learner list; raise :class:`LearnerFileError` with every problem."""
    if len(data) > MAX_BYTES:
        raise LearnerFileError(
            [_("The file is larger than %(size)d MB.") % {"size": MAX_BYTES // (1024 * 1024)}]
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise LearnerFileError(
            [_("The file is not UTF-8 text. Save it from your spreadsheet as “CSV UTF-8”.")]
        ) from None
    if not text.strip():
        raise LearnerFileError([_("The file is empty.")])
    first_line = text.splitlines()[0]
    # Spreadsheets in many locales save "CSV" with semicolons.
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = [name.strip().lower() for name in next(reader)]
        errors = _header_errors(header)
        if errors:
            raise LearnerFileError(errors)
        rows, errors = _read_rows(reader, header)
    except csv.Error as error:
        raise LearnerFileError(
            [_("line %(line)d: %(error)s") % {"line": reader.line_num, "error": error}]
        ) from None
    if errors:
        raise LearnerFileError(errors)
    if not rows:
        raise LearnerFileError([_("The file has a header but no learners.")])
    return rows


def _header_errors(header: list[str]) -> list[str]:
    errors = []
    missing = [name for name in COLUMNS if name not in header]
    if missing:
        errors.append(
            _("line 1: the header lacks the columns %(columns)s (it needs %(expected)s)")
            % {"columns": ", ".join(missing), "expected": ",".join(COLUMNS)}
        )
    for name in header:
        if name not in COLUMNS:
            errors.append(_("line 1: unknown column '%(name)s'") % {"name": name})
    duplicated = sorted({name for name in header if header.count(name) > 1})
    for name in duplicated:
        errors.append(_("line 1: column '%(name)s' appears twice") % {"name": name})
    return errors


def _read_rows(reader, header: list[str]) -> tuple[list[LearnerRow], list[str]]:
    rows: list[LearnerRow] = []
    errors: list[str] = []
    first_seen: dict[tuple[str, str], int] = {}  # (what, value) -> first line it was on
    line = reader.line_num + 1
    count = 0
    for values in reader:
        start, line = line, reader.line_num + 1
        if not any(value.strip() for value in values):
            continue  # blank lines are harmless
        count += 1
        if count > MAX_ROWS:
            errors.append(_("The file has more than %(max)d learners.") % {"max": MAX_ROWS})
            break
        if len(values) != len(header):
            errors.append(
                _("line %(line)d: expected %(expected)d values, found %(found)d")
                % {"line": start, "expected": len(header), "found": len(values)}
            )
            continue
        record = {name: value.strip() for name, value in zip(header, values, strict=True)}
        row_errors = _value_errors(record)
        for what, key in (
            ("username", record["username"].lower()),
            ("email", record["email"].lower()),
            (
                "worker_registration_number",
                f"{record['country'].upper()}/{record['worker_registration_number']}",
            ),
        ):
            if not key or key.endswith("/"):
                continue
            if (what, key) in first_seen:
                row_errors.append(_duplicate_message(what, record[what], first_seen[(what, key)]))
            else:
                first_seen[(what, key)] = start
        if row_errors:
            errors.extend(
                _("line %(line)d: %(error)s") % {"line": start, "error": error}
                for error in row_errors
            )
            continue
        rows.append(LearnerRow(line=start, **{name: record[name] for name in COLUMNS}))
    return rows, errors


def _duplicate_message(what: str, value: str, first: int) -> str:
    if what == "username":
        message = _("username '%(value)s' is used twice in the file (first on line %(first)d)")
    elif what == "email":
        message = _("e-mail '%(value)s' is used twice in the file (first on line %(first)d)")
    else:
        message = _(
            "worker registration number '%(value)s' is used twice in the file "
            "(first on line %(first)d)"
        )
    return message % {"value": value, "first": first}


def _value_errors(record: dict[str, str]) -> list[str]:
    """Problems with one row's values; normalises cadre, sector and country in place."""
    errors = []
    for name in REQUIRED_VALUES:
        if not record[name]:
            errors.append(_("%(column)s is missing") % {"column": name})
    username = record["username"]
    if username:
        for validator in get_user_model()._meta.get_field("username").validators:
            try:
                validator(username)
            except ValidationError as error:
                errors.extend(
                    _("username '%(value)s': %(error)s") % {"value": username, "error": message}
                    for message in error.messages
                )
    if record["email"]:
        try:
            validate_email(record["email"])
        except ValidationError:
            errors.append(
                _("e-mail '%(value)s' is not a valid address") % {"value": record["email"]}
            )
    for name, choices in (("cadre", Cadre), ("sector", Sector)):
        value = record[name]
        normalised = value.lower().replace("-", "_").replace(" ", "_")
        if value and normalised not in choices.values:
            errors.append(
                _("%(column)s '%(value)s' is not one of %(choices)s")
                % {"column": name, "value": value, "choices": ", ".join(choices.values)}
            )
        record[name] = normalised
    country = record["country"]
    if country and (len(country) != 2 or not country.isascii() or not country.isalpha()):
        errors.append(_("country must be a two-letter code"))
    record["country"] = country.upper()
    for name in ("full_name", "region", "district", "worker_registration_number"):
        limit = LearnerProfile._meta.get_field(name).max_length
        if len(record[name]) > limit:
            errors.append(
                _("%(column)s is longer than %(max)d characters") % {"column": name, "max": limit}
            )
    return errors
