"""Reads of the core app: who holds which role where, and what that lets them see."""

from dataclasses import dataclass

from allauth.mfa.models import Authenticator
from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _
from wagtail import hooks

from lms.jurisdiction import REGULATOR_JURISDICTION_HOOK, REGULATOR_USER_IDS_HOOK, Jurisdiction
from lms.models import ApiKey, Institution, LearnerIdentity, LearnerProfile, Membership, Webhook
from lms.raw_sql import placeholders, user_table
from lms.roles import MFA_ROLES, InstitutionRole


@dataclass(frozen=True)
class RoleGrant:
    institution: Institution | None
    role: str
    label: str


def regulator_jurisdiction(*, user) -> Jurisdiction | None:
    """The jurisdiction ``user`` regulates as a member of a regulatory body, or None.

    Every check of the regulator role asks here (see :mod:`lms.jurisdiction`): a regulator
    reads their body's jurisdiction and nothing outside it. No Django group grants the role.
    """
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    for answer in hooks.get_hooks(REGULATOR_JURISDICTION_HOOK):
        if (jurisdiction := answer(user)) is not None:
            return jurisdiction
    return None


def user_is_regulator(*, user) -> bool:
    """Whether ``user`` is a member of a regulatory body."""
    return regulator_jurisdiction(user=user) is not None


def regulator_users_q() -> Q:
    """A condition on users: those who are members of a regulatory body."""
    condition = Q(pk__in=[])
    for answer in hooks.get_hooks(REGULATOR_USER_IDS_HOOK):
        condition |= Q(pk__in=answer())
    return condition


def users_holding_roles(*, user_ids) -> set[int]:
    """Of ``user_ids``, the accounts that are more than learners: superusers, Django staff,
    staff of any institution (a membership in any role) and regulators.

    An institution never acts on such an account as on one of its learners (enrolling it,
    writing its profile): that would let one institution reach into another's staff, or into
    accounts that can see every institution's records.
    """
    return set(
        get_user_model()
        .objects.filter(pk__in=user_ids)
        .filter(
            Q(is_superuser=True)
            | Q(is_staff=True)
            | Q(pk__in=Membership.objects.values("user_id"))
            | regulator_users_q()
        )
        .values_list("pk", flat=True)
    )


def user_memberships(*, user) -> QuerySet[Membership]:
    return Membership.objects.filter(user=user).select_related("institution")


def user_roles(*, user) -> list[RoleGrant]:
    """Every role the user holds, for display and for the API's ``/me``."""
    if not user.is_authenticated:
        return []
    grants = [
        RoleGrant(institution=m.institution, role=m.role, label=m.get_role_display())
        for m in user_memberships(user=user)
    ]
    if user_is_regulator(user=user):
        grants.append(RoleGrant(institution=None, role="regulator", label=_("Regulator")))
    return grants


def user_institutions(
    *, user, role: str | None = None, roles: tuple[str, ...] = ()
) -> QuerySet[Institution]:
    """Institutions where the user holds ``role`` or one of ``roles`` (any role when neither)."""
    if not user.is_authenticated:
        return Institution.objects.none()
    memberships = Membership.objects.filter(user=user)
    if role:
        memberships = memberships.filter(role=role)
    if roles:
        memberships = memberships.filter(role__in=roles)
    return Institution.objects.filter(pk__in=memberships.values("institution_id"))


def user_requires_mfa(*, user) -> bool:
    """Managers, regulators and superusers must use a second factor before they reach any data."""
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    return (
        get_user_model()
        .objects.filter(pk=user.pk)
        .filter(regulator_users_q() | Q(memberships__role__in=list(MFA_ROLES)))
        .exists()
    )


def user_has_mfa(*, user) -> bool:
    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()


def user_authenticators(*, user) -> dict[int, str]:
    """The user's allauth authenticators, id → type (TOTP, WebAuthn, recovery codes)."""
    return dict(Authenticator.objects.filter(user=user).values_list("pk", "type"))


def learner_profile_for(*, user) -> LearnerProfile | None:
    if not user.is_authenticated:
        return None
    return LearnerProfile.objects.filter(user=user).first()


def api_keys_for_manager(*, user) -> QuerySet[ApiKey]:
    """Keys of the institutions the user manages, newest first."""
    return ApiKey.objects.filter(
        institution__in=user_institutions(user=user, role=InstitutionRole.MANAGER)
    ).select_related("institution", "created_by")


def webhooks_for_manager(*, user) -> QuerySet:
    """Webhooks of the institutions the user manages."""
    return Webhook.objects.filter(
        institution__in=user_institutions(user=user, role=InstitutionRole.MANAGER)
    ).select_related("institution")


def webhook_recent_deliveries(*, webhook, limit: int = 50) -> list:
    return list(webhook.deliveries.order_by("-created_at", "-pk")[:limit])


def learner_identity_for(*, institution: Institution, external_id: str) -> LearnerIdentity | None:
    """The institution's learner known by ``external_id``; another institution's ids are None."""
    return (
        LearnerIdentity.objects.select_related("user", "user__learner_profile")
        .filter(institution=institution, external_id=external_id)
        .first()
    )


def learners_by_external_id(*, institution: Institution, external_ids) -> dict:
    """Map each of ``external_ids`` the institution knows to its user, in one query (a SQL
    template: every event and statement from another LMS asks it; see :mod:`lms.raw_sql`)."""
    if not external_ids:
        return {}
    ids = sorted(set(external_ids))
    table, pk = user_table()
    found = get_user_model().objects.raw(
        f"SELECT u.*, i.external_id AS learner_external_id FROM {table} u"  # noqa: S608 - names
        f" JOIN lms_learneridentity i ON i.user_id = u.{pk}"
        f" WHERE i.institution_id = %s AND i.external_id IN ({placeholders(ids)})",
        [institution.pk, *ids],
    )
    return {user.learner_external_id: user for user in found}


def learner_identities_of(*, user_id: int) -> QuerySet[LearnerIdentity]:
    """The external ids a learner is known by, one per institution that registered them."""
    return LearnerIdentity.objects.select_related("institution").filter(user_id=user_id)


def learner_profiles_in(*, jurisdiction: Jurisdiction) -> QuerySet[LearnerProfile]:
    """Learner profiles of the jurisdiction's country (and regions, when it names some):
    the workers a regulatory body's jurisdiction covers."""
    return LearnerProfile.objects.filter(jurisdiction.profiles_q())


def institutions_in(*, country: str) -> QuerySet[Institution]:
    return Institution.objects.filter(country=country)
