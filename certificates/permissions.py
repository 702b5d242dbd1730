"""Who may do what with certificates, by the role held in the record's institution.

Superusers may do everything; otherwise:

* templates and course certificates — the institution's authors and managers;
* the register and the PDFs of its certificates (read) — its managers and instructors;
* issuing, revoking, re-issuing, renewing, bulk issuing — its managers;
* bulk verification — regulators, any institution's staff, superusers.

Regulators (members of a regulatory body) read the register, its certificates and their
PDFs across institutions, but only the certificates of workers of their body's
jurisdiction (by the holder's learner profile: country, and region when the body names
some; :func:`lms.selectors.regulator_jurisdiction`), and change nothing.

The admin pages, the admin menu and the holder's PDF download all ask here, so that a role's
reach is written once.
"""

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from wagtail.permission_policies import BasePermissionPolicy

from certificates.models import Certificate, CertificateRule, CertificateTemplate
from lms.jurisdiction import Jurisdiction
from lms.models import Institution, Membership
from lms.roles import InstitutionRole
from lms.selectors import regulator_jurisdiction, user_institutions

#: Roles that design templates and set each course's certificate.
DESIGN_ROLES = (InstitutionRole.AUTHOR, InstitutionRole.MANAGER)
#: Roles that read the register of issued certificates.
REGISTER_ROLES = (InstitutionRole.MANAGER, InstitutionRole.INSTRUCTOR)
#: Roles that issue, revoke, re-issue and renew certificates.
ISSUE_ROLES = (InstitutionRole.MANAGER,)


#: The attribute of a user object (``request.user``) that keeps their roles for the rest of
#: the request, as Wagtail's permission policies keep theirs (``permission_cache_name``).
ROLES_CACHE_ATTRIBUTE = "_certificates_roles_cache"
JURISDICTION_CACHE_ATTRIBUTE = "_certificates_jurisdiction_cache"
#: The learner profile of a certificate's holder, from the certificate.
HOLDER_PROFILE = "learner__learner_profile__"


def _institution_ids_by_role(user) -> dict[str, frozenset[int]]:
    """The institutions where ``user`` holds each role: one query per request, then cached."""
    cached = getattr(user, ROLES_CACHE_ATTRIBUTE, None)
    if cached is None:
        by_role: dict[str, set[int]] = {}
        for institution_id, role in Membership.objects.filter(user=user).values_list(
            "institution_id", "role"
        ):
            by_role.setdefault(role, set()).add(institution_id)
        cached = {role: frozenset(ids) for role, ids in by_role.items()}
        setattr(user, ROLES_CACHE_ATTRIBUTE, cached)
    return cached


def institution_ids_for(user, roles) -> frozenset[int] | None:
    """Ids of the institutions where ``user`` holds one of ``roles``; None means all of them."""
    if not user.is_authenticated or not user.is_active:
        return frozenset()
    if user.is_superuser:
        return None
    held = _institution_ids_by_role(user)
    return frozenset().union(*(held.get(role, frozenset()) for role in roles))


def jurisdiction_for(user) -> Jurisdiction | None:
    """The jurisdiction ``user`` reads as a regulator (None: no regulator), asked once a
    request and then kept on the user object like the roles."""
    if not hasattr(user, JURISDICTION_CACHE_ATTRIBUTE):
        setattr(user, JURISDICTION_CACHE_ATTRIBUTE, regulator_jurisdiction(user=user))
    return getattr(user, JURISDICTION_CACHE_ATTRIBUTE)


def may_read_register(user) -> bool:
    """Register keepers of some institution, regulators and superusers."""
    return institution_ids_for(user, REGISTER_ROLES) != frozenset() or (
        jurisdiction_for(user) is not None
    )


def register_certificates_for(user) -> QuerySet[Certificate]:
    """The certificates ``user`` may read in the register: all for a superuser; those of
    the institutions where they keep it; and, for a regulator, those of the workers of
    their jurisdiction, whichever institution issued them. None of them for anyone else."""
    ids = institution_ids_for(user, REGISTER_ROLES)
    if ids is None:
        return Certificate.objects.all()
    readable = Q(institution_id__in=ids)
    if (jurisdiction := jurisdiction_for(user)) is not None:
        readable |= jurisdiction.profiles_q(HOLDER_PROFILE)
    return (
        Certificate.objects.filter(readable) if ids or jurisdiction else Certificate.objects.none()
    )


def _institutions(ids: frozenset[int] | None) -> QuerySet[Institution]:
    return Institution.objects.all() if ids is None else Institution.objects.filter(pk__in=ids)


def institutions_for(user, roles) -> QuerySet[Institution]:
    return _institutions(institution_ids_for(user, roles))


def scope(queryset: QuerySet, ids: frozenset[int] | None, field: str = "institution"):
    return queryset if ids is None else queryset.filter(**{f"{field}_id__in": ids})


class InstitutionPermissionPolicy(BasePermissionPolicy):
    """Wagtail permission policy: an action on a record is allowed to the roles ``actions``
    names, held in the record's institution (found through ``institution_field``)."""

    def __init__(self, model, *, actions: dict[str, tuple[str, ...]], institution_field: str):
        super().__init__(model)
        self.actions = actions
        self.institution_field = institution_field

    def _roles(self, actions) -> set[str]:
        return {role for action in actions for role in self.actions.get(action, ())}

    def _ids(self, user, actions) -> frozenset[int] | None:
        roles = self._roles(actions)
        if not roles:
            return frozenset()
        return institution_ids_for(user, roles)

    def institutions_for(self, user, actions) -> QuerySet[Institution]:
        """The institutions whose records ``user`` may act on in one of these ways."""
        return _institutions(self._ids(user, actions))

    def user_has_permission(self, user, action):
        return self.user_has_any_permission(user, [action])

    def user_has_any_permission(self, user, actions):
        ids = self._ids(user, actions)
        return ids is None or bool(ids)

    def users_with_any_permission(self, actions):
        return self._users(Q(memberships__role__in=self._roles(actions)))

    def users_with_any_permission_for_instance(self, actions, instance):
        return self._users(
            Q(
                memberships__role__in=self._roles(actions),
                memberships__institution_id=self._institution_id(instance),
            )
        )

    def _users(self, holds_role: Q):
        return (
            get_user_model()
            .objects.filter(is_active=True)
            .filter(Q(is_superuser=True) | holds_role)
            .distinct()
        )

    def _institution_id(self, instance) -> int | None:
        *path, last = self.institution_field.split("__")
        for name in path:
            instance = getattr(instance, name, None)
            if instance is None:
                return None
        return getattr(instance, f"{last}_id", None)

    def user_has_permission_for_instance(self, user, action, instance):
        return self.user_has_any_permission_for_instance(user, [action], instance)

    def user_has_any_permission_for_instance(self, user, actions, instance):
        ids = self._ids(user, actions)
        return ids is None or self._institution_id(instance) in ids

    def instances_user_has_any_permission_for(self, user, actions):
        # Model._default_manager is documented Django API (as in Wagtail's own policies).
        manager = self.model._default_manager  # noqa: SLF001
        return scope(manager.all(), self._ids(user, actions), self.institution_field)


template_permission_policy = InstitutionPermissionPolicy(
    CertificateTemplate,
    actions=dict.fromkeys(("add", "change", "delete", "view"), DESIGN_ROLES),
    institution_field="institution",
)
rule_permission_policy = InstitutionPermissionPolicy(
    CertificateRule,
    # No "delete": a course stops awarding certificates by being changed, not by losing its rule.
    actions=dict.fromkeys(("add", "change", "view"), DESIGN_ROLES),
    institution_field="template__institution",
)


def may_open_pdf(user, certificate: Certificate) -> bool:
    """The PDF is for its holder, for those who keep the issuing institution's register and
    for the regulators of the holder's jurisdiction."""
    return (
        certificate.learner_id == user.pk
        or register_certificates_for(user).filter(pk=certificate.pk).exists()
    )


def may_verify_in_bulk(user) -> bool:
    """Regulators, institution staff and superusers (a logged-in person we know)."""
    return (
        user.is_superuser
        or jurisdiction_for(user) is not None
        or user_institutions(user=user).exists()
    )
