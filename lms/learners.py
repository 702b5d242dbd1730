"""Learners known to another LMS by its own id: matched, created and profiled."""

import re
import secrets
from dataclasses import dataclass

from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from django.utils.translation import gettext as _

from lms.forms import LearnerProfileForm
from lms.institutions import learner_profile_save
from lms.models import (
    Institution,
    LearnerIdentity,
    LearnerProfile,
)

# --- Learners known to another LMS by its own id -------------------------------------------

#: An external id travels in URL paths (``/api/v1/learners/<id>``): no slashes, no spaces (and
#: no NUL character, which no text we store may hold).
EXTERNAL_ID_PATTERN = r"^[^/\s\x00]{1,100}$"
#: Profile fields another LMS may set, with the values a new profile starts from.
LEARNER_PROFILE_FIELDS = (
    "cadre",
    "is_paid",
    "sector",
    "organisation",
    "country",
    "region",
    "district",
    "worker_registration_number",
    "preferred_language",
)


class LearnerIdentityError(Exception):
    """A learner that cannot be created or matched.

    ``problems`` names each problem as (the field it is about, or "", the message);
    ``errors`` reads them as ``"field: message"``.
    """

    def __init__(self, problems: list[tuple[str, str]], *, status: int = 400):
        self.problems = problems
        self.errors = [f"{field}: {message}" if field else message for field, message in problems]
        super().__init__("; ".join(self.errors))
        self.status = status


@dataclass(frozen=True)
class MatchedLearner:
    identity: LearnerIdentity
    created: bool  # False: the external id was known already (its profile may be updated)


def learner_match_or_create(
    *,
    institution: Institution,
    external_id: str,
    full_name: str | None = None,
    email: str | None = None,
    username: str | None = None,
    **profile_fields,
) -> MatchedLearner:
    """Find the institution's learner with ``external_id``, or create their account and profile.

    Idempotent: calling again with the same external id returns the same learner, updating
    only the profile fields given (the LMS is the source of its learners' details; the
    account's username and e-mail are never changed here). Race-safe: the unique constraint
    on (institution, external_id) lets one of two parallel creations win; the other returns
    the winner's learner.

    A new account is never matched to an existing one by e-mail, username or registration
    number: that would let an institution take over someone's records. Such a clash is
    refused (status 409) with a message. The account has no password: with an e-mail address,
    the learner can set one through "forgot password".
    """
    external_id = (external_id or "").strip()
    if not re.match(EXTERNAL_ID_PATTERN, external_id):
        raise LearnerIdentityError(
            [("external_id", _("use 1 to 100 characters without slashes or spaces."))]
        )
    unknown = set(profile_fields) - set(LEARNER_PROFILE_FIELDS)
    if unknown:
        raise LearnerIdentityError(
            [("", _("Unknown profile fields: %s") % ", ".join(sorted(unknown)))]
        )
    if full_name is not None:
        profile_fields["full_name"] = full_name
    identity = _learner_identity(institution=institution, external_id=external_id)
    if identity is not None:
        _learner_profile_update(user=identity.user, institution=institution, fields=profile_fields)
        return MatchedLearner(identity, created=False)
    try:
        with transaction.atomic():
            user = _learner_account_create(institution=institution, email=email, username=username)
            _learner_profile_update(user=user, institution=institution, fields=profile_fields)
            identity = LearnerIdentity.objects.create(
                institution=institution, external_id=external_id, user=user
            )
    except IntegrityError:
        # A parallel request created this external id first (or took the username or
        # registration number a moment ago): match theirs, or say what clashed.
        identity = _learner_identity(institution=institution, external_id=external_id)
        if identity is None:
            raise LearnerIdentityError(
                [("", _("The account clashed with one registered at the same moment; try again."))],
                status=409,
            ) from None
        _learner_profile_update(user=identity.user, institution=institution, fields=profile_fields)
        return MatchedLearner(identity, created=False)
    return MatchedLearner(identity, created=True)


def _learner_identity(*, institution: Institution, external_id: str) -> LearnerIdentity | None:
    return (
        LearnerIdentity.objects.select_related("user", "user__learner_profile", "institution")
        .filter(institution=institution, external_id=external_id)
        .first()
    )


def _learner_account_create(*, institution: Institution, email: str | None, username: str | None):

    User = get_user_model()
    email = (email or "").strip().lower()
    username = (username or "").strip()
    invalid = _account_fields_invalid(User, email=email, username=username)
    if invalid:
        raise LearnerIdentityError(invalid)
    errors = []
    if email:
        taken = User.objects.annotate(email_lower=Lower("email")).filter(email_lower=email)
        if taken.exists() or EmailAddress.objects.filter(email__iexact=email).exists():
            errors.append(("email", _("another account already uses '%s'.") % email))
    if username:
        taken = User.objects.annotate(name_lower=Lower("username"))
        if taken.filter(name_lower=username.lower()).exists():
            errors.append(("username", _("'%s' is already taken.") % username))
    else:
        username = f"{institution.slug}-{secrets.token_hex(5)}"
    if errors:
        raise LearnerIdentityError(errors, status=409)
    user = User.objects.create_user(username=username, email=email, password=None)
    if email:
        EmailAddress.objects.create(user=user, email=email, primary=True, verified=False)
    return user


def _account_fields_invalid(User, *, email: str, username: str) -> list[tuple[str, str]]:
    """What the account model would refuse in ``email`` and ``username`` (its own validators,
    its field lengths), so that nothing reaches the database that it cannot store."""
    problems = []
    for name, value in (("email", email), ("username", username)):
        if not value:
            continue
        try:
            User._meta.get_field(name).run_validators(value)
        except ValidationError as error:
            problems.extend((name, message) for message in error.messages)
    return problems


def _learner_profile_update(*, user, institution: Institution, fields: dict) -> None:
    """Validate ``fields`` as the profile form does (with the current profile for the rest)."""

    profile = LearnerProfile.objects.filter(user=user).first()
    if profile is not None and all(getattr(profile, k) == v for k, v in fields.items()):
        return
    data = {"country": institution.country, "preferred_language": "en", "is_paid": False}
    if profile is not None:
        data.update({name: getattr(profile, name) for name in LearnerProfileForm.Meta.fields})
    data.update({k: v for k, v in fields.items() if v is not None})
    form = LearnerProfileForm(data=data, instance=profile)
    if not form.is_valid():
        raise LearnerIdentityError(
            [(name, message) for name, messages in form.errors.items() for message in messages],
            status=409 if "worker_registration_number" in form.errors else 400,
        )
    learner_profile_save(
        user=user, **{name: form.cleaned_data[name] for name in LearnerProfileForm.Meta.fields}
    )
