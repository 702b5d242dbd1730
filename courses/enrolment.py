"""Cohorts: an institution's groups of learners on one course, enrolled together, and the
learner files (CSV) that create, profile and enrol them."""

import secrets
import uuid
from dataclasses import dataclass, field
from datetime import date

from allauth.account.adapter import get_adapter
from allauth.account.forms import default_token_generator
from allauth.account.models import EmailAddress
from allauth.account.utils import user_pk_to_url_str
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from django.utils.translation import gettext as _

from courses import selectors
from courses.cohorts import LearnerFileError, parse_learners_csv
from courses.errors import LearningError
from courses.models import (
    Cohort,
    CoursePage,
    Enrolment,
    ProgressSource,
)
from courses.progress import enrol
from lms.models import Institution, LearnerProfile
from lms.services import (
    learner_profile_save,
)

# --- Cohorts ----------------------------------------------------------------------------------

#: Namespace of the event ids of cohort enrolments, derived so that enrolling again is a no-op.
COHORT_ENROLMENT_NAMESPACE = uuid.UUID("6f1d3c0e-9a43-4b57-9a57-0b8f5c2f4e21")


def cohort_create(
    *,
    institution: Institution,
    course: CoursePage,
    name: str,
    starts_on: date | None = None,
    ends_on: date | None = None,
) -> Cohort:
    """Create a cohort of ``institution`` on one of the institution's own live courses."""
    name = name.strip()
    if not selectors.institution_courses(institution=institution).filter(pk=course.pk).exists():
        raise LearningError(_("Choose one of your institution's published courses."), status=403)
    if starts_on and ends_on and ends_on < starts_on:
        raise LearningError(_("A cohort cannot end before it starts."))
    taken = _("%(institution)s already has a cohort called “%(name)s”.") % {
        "institution": institution.name,
        "name": name,
    }
    if Cohort.objects.filter(institution=institution, name__iexact=name).exists():
        raise LearningError(taken)
    try:
        with transaction.atomic():
            return Cohort.objects.create(
                institution=institution,
                course=course,
                name=name,
                starts_on=starts_on,
                ends_on=ends_on,
            )
    except IntegrityError:  # created by someone else a moment ago
        raise LearningError(taken) from None


@dataclass(frozen=True)
class CohortEnrolment:
    enrolled: int  # learners enrolled now
    already: int  # learners who were enrolled in the course before


def _cohort_enrolment_event_id(cohort: Cohort, learner) -> uuid.UUID:
    return uuid.uuid5(
        COHORT_ENROLMENT_NAMESPACE,
        f"{cohort.institution_id}:{cohort.pk}:{cohort.name}:{cohort.course_id}:{learner.pk}",
    )


@transaction.atomic
def cohort_enrol(*, cohort: Cohort, learners=None) -> CohortEnrolment:
    """Enrol the cohort's learners (or just ``learners``) in the cohort's course.

    Idempotent: learners already enrolled in the course are left as they are, and each
    enrolment's event id is derived from the cohort and the learner, so two managers pressing
    the button at once still enrol everyone exactly once.
    """
    course = cohort.course
    if not course.live:
        raise LearningError(
            _("“%(course)s” is not published: publish it before enrolling learners.")
            % {"course": course.title}
        )
    learners = list(cohort.learners.all() if learners is None else learners)
    already = set(
        Enrolment.objects.filter(course=course, learner__in=learners).values_list(
            "learner_id", flat=True
        )
    )
    for learner in learners:
        if learner.pk not in already:
            enrol(
                learner=learner,
                course=course,
                event_id=_cohort_enrolment_event_id(cohort, learner),
                by_institution=True,
                cohort=cohort,
                source=ProgressSource.ADMIN,
            )
    return CohortEnrolment(enrolled=len(learners) - len(already), already=len(already))


class CohortImportError(LearningError):
    """A learner list that cannot be imported; ``errors`` names every problem, by line."""

    def __init__(self, errors: list[str]):
        super().__init__("\n".join(errors))
        self.errors = errors


@dataclass
class NewAccount:
    user: object
    full_name: str
    one_time_password: str = ""  # only for learners without e-mail; shown once, never stored


@dataclass
class CohortImport:
    created: list[NewAccount] = field(default_factory=list)
    existing: list = field(default_factory=list)  # learners there before: added, not changed
    enrolment: CohortEnrolment | None = None

    @property
    def invited(self) -> list[NewAccount]:
        return [account for account in self.created if not account.one_time_password]

    @property
    def with_password(self) -> list[NewAccount]:
        return [account for account in self.created if account.one_time_password]


def cohort_learners_import(*, cohort: Cohort, data: bytes) -> CohortImport:
    """Create, profile, add to the cohort and enrol the learners of a CSV file. All or nothing.

    The whole file is checked first (see :mod:`courses.cohorts`), then against existing
    accounts; any problem raises :class:`CohortImportError` listing them all, and nothing is
    written. Otherwise, in one transaction: accounts that do not exist are created — those
    with an e-mail address get an invitation to choose their password (sent after commit),
    the others a one-time password returned here for the institution to hand over — with
    their learner profiles; existing accounts (matched by username) are added and enrolled
    as they are. Importing the same file again changes nothing.

    A username may name an existing account only if it is a learner of this institution:

    * a learner: not a superuser, not Django staff, not a regulator, and staff of no
      institution (this one included: staff enrol themselves if they wish);
    * of this institution: it has a learner identity of this institution (the institution's
      LMS registered it through the API), or it is in one of the institution's cohorts, or
      enrolled in one of its courses — and it is not an account that only other
      institutions' LMSs registered (learner identities, none of them this institution's).

    Any other existing account makes its row refused with "this username belongs to an account
    this institution cannot enrol", and nothing more about it (not whose it is). A file never
    writes to an existing account: a learner of this institution keeps their profile (or
    their lack of one) as it is, whatever the file says; only new accounts get the file's
    profile.
    """

    try:
        rows = parse_learners_csv(data)
    except LearnerFileError as error:
        raise CohortImportError(error.errors) from None
    if not cohort.course.live:
        raise CohortImportError(
            [
                _("“%(course)s” is not published: publish it before enrolling learners.")
                % {"course": cohort.course.title}
            ]
        )
    User = get_user_model()
    existing = {
        user.username_lower: user
        for user in User.objects.annotate(username_lower=Lower("username")).filter(
            username_lower__in={row.username.lower() for row in rows}
        )
    }
    enrollable = selectors.learners_the_institution_may_enrol(
        institution=cohort.institution, user_ids=[user.pk for user in existing.values()]
    )
    errors = _learner_account_errors(rows, existing=existing, enrollable=enrollable)
    if errors:
        raise CohortImportError(errors)
    try:
        with transaction.atomic():
            return _learners_import(cohort=cohort, rows=rows, existing=existing)
    except IntegrityError:
        raise CohortImportError(
            [
                _(
                    "Some of these accounts changed while the file was imported; nothing was "
                    "imported. Upload the file again."
                )
            ]
        ) from None


def _learner_account_errors(rows, *, existing: dict, enrollable: set[int]) -> list[str]:
    """Existing accounts the institution may not enrol, and clashes of the file's new accounts
    and profiles with those already registered."""

    new_rows = [row for row in rows if row.username.lower() not in existing]
    emails = {row.email.lower() for row in new_rows if row.email}
    taken_emails = set()
    if emails:
        User = get_user_model()
        taken_emails = {
            email.lower()
            for email in User.objects.annotate(email_lower=Lower("email"))
            .filter(email_lower__in=emails)
            .values_list("email", flat=True)
        } | {
            email.lower()
            for email in EmailAddress.objects.annotate(email_lower=Lower("email"))
            .filter(email_lower__in=emails)
            .values_list("email", flat=True)
        }
    taken_numbers = set(
        LearnerProfile.objects.filter(
            worker_registration_number__in={
                row.worker_registration_number for row in new_rows if row.worker_registration_number
            }
        ).values_list("country", "worker_registration_number")
    )
    errors = []
    for row in rows:
        account = existing.get(row.username.lower())
        if account is not None:
            errors.extend(_existing_account_errors(row, account=account, enrollable=enrollable))
            continue
        if row.email and row.email.lower() in taken_emails:
            errors.append(
                _("line %(line)d: e-mail '%(email)s' is already used by another account")
                % {"line": row.line, "email": row.email}
            )
        number = (row.country, row.worker_registration_number)
        if row.worker_registration_number and number in taken_numbers:
            errors.append(
                _(
                    "line %(line)d: worker registration number '%(number)s' is already "
                    "registered to another learner in %(country)s"
                )
                % {"line": row.line, "number": number[1], "country": row.country}
            )
    return errors


def _existing_account_errors(row, *, account, enrollable: set[int]) -> list[str]:
    if account.pk not in enrollable:
        # Says nothing of the account (whose staff or learner it is): only that it is not ours.
        return [
            _(
                "line %(line)d: username '%(username)s' belongs to an account this "
                "institution cannot enrol"
            )
            % {"line": row.line, "username": row.username}
        ]
    if row.email and account.email and row.email.lower() != account.email.lower():
        # Probably someone else with the same username: do not enrol the wrong person.
        return [
            _(
                "line %(line)d: username '%(username)s' belongs to an existing account "
                "with another e-mail address"
            )
            % {"line": row.line, "username": row.username}
        ]
    return []


def _learners_import(*, cohort: Cohort, rows, existing: dict) -> CohortImport:

    User = get_user_model()
    result = CohortImport()
    learners = []
    for row in rows:
        user = existing.get(row.username.lower())
        if user is None:
            password = "" if row.email else _one_time_password()
            user = User.objects.create_user(
                username=row.username, email=row.email.lower(), password=password or None
            )
            if row.email:
                EmailAddress.objects.create(
                    user=user, email=row.email.lower(), primary=True, verified=False
                )
            learner_profile_save(user=user, **row.profile_fields())
            result.created.append(NewAccount(user, row.full_name, password))
        else:
            result.existing.append(user)  # added and enrolled; their profile is theirs
        learners.append(user)
    cohort.learners.add(*learners)
    result.enrolment = cohort_enrol(cohort=cohort, learners=learners)
    for account in result.invited:
        _cohort_invitation_send(cohort=cohort, account=account)
    return result


def _one_time_password() -> str:
    """Twelve easy-to-read characters in three groups, e.g. ``k7mp-2xqa-9fhr`` (about 59 bits)."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(3))


def _cohort_invitation_send(*, cohort: Cohort, account: NewAccount) -> None:
    """E-mail a new learner a link to choose their password: allauth's password-reset link.

    allauth's adapter sends it after the import commits. Must run during a request (allauth
    builds the link's address from it).
    """

    user = account.user
    adapter = get_adapter()
    key = f"{user_pk_to_url_str(user)}-{default_token_generator.make_token(user)}"
    adapter.send_mail(
        "courses/email/cohort_invitation",
        user.email,
        {
            "username": user.get_username(),
            "full_name": account.full_name,
            "institution": cohort.institution,
            "course": cohort.course,
            "password_reset_url": adapter.get_reset_password_from_key_url(key),
            "link_days": max(1, settings.PASSWORD_RESET_TIMEOUT // (24 * 3600)),
        },
    )
