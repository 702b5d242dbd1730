"""Institutions and roles: who holds which role where, kept in two places on purpose.

:class:`Membership` rows say who holds which role, and Django groups carry the permissions
Wagtail checks; these services keep both in step. Learner profiles are saved here too.
"""

from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.utils.text import slugify
from wagtail.models import Collection, GroupCollectionPermission, GroupPagePermission, Page

from lms.models import (
    Institution,
    InstitutionGroup,
    LearnerProfile,
    Membership,
)
from lms.roles import (
    ADMIN_ROLES,
    COLLECTION_PERMISSIONS,
    PAGE_PERMISSIONS,
    InstitutionRole,
)


@transaction.atomic
def institution_create(
    *,
    name: str,
    country: str,
    slug: str = "",
    accreditation_number: str = "",
    signatory_name: str = "",
    signatory_title: str = "",
) -> Institution:
    """Create an institution with its media collection and one group per role."""
    institution = Institution.objects.create(
        name=name,
        slug=slug or slugify(name)[:80],
        country=country.upper(),
        accreditation_number=accreditation_number,
        signatory_name=signatory_name,
        signatory_title=signatory_title,
    )
    root_collection = Collection.get_first_root_node()
    institution.collection = root_collection.add_child(name=name)
    institution.save(update_fields=["collection"])
    institution_permissions_sync(institution=institution)
    return institution


@transaction.atomic
def institution_root_page_set(*, institution: Institution, page: Page) -> Institution:
    """Make ``page`` the institution's section of the site and grant its staff rights on it."""
    institution.root_page = page
    institution.save(update_fields=["root_page"])
    institution_permissions_sync(institution=institution)
    return institution


@transaction.atomic
def institution_permissions_sync(*, institution: Institution) -> None:
    """(Re)create the institution's role groups and their Wagtail permissions. Idempotent."""
    access_admin = Permission.objects.get(
        content_type__app_label="wagtailadmin", codename="access_admin"
    )
    for role in InstitutionRole:
        group = _institution_group(institution=institution, role=role)
        if role in ADMIN_ROLES:
            group.permissions.add(access_admin)
        else:
            group.permissions.remove(access_admin)
        if institution.root_page_id:
            GroupPagePermission.objects.filter(group=group).exclude(
                page_id=institution.root_page_id
            ).delete()
            for codename in PAGE_PERMISSIONS[role]:
                GroupPagePermission.objects.get_or_create(
                    group=group,
                    page_id=institution.root_page_id,
                    permission=Permission.objects.get(
                        content_type__app_label="wagtailcore", codename=codename
                    ),
                )
        if institution.collection_id:
            for dotted in COLLECTION_PERMISSIONS[role]:
                app_label, codename = dotted.split(".")
                GroupCollectionPermission.objects.get_or_create(
                    group=group,
                    collection_id=institution.collection_id,
                    permission=Permission.objects.get(
                        content_type__app_label=app_label, codename=codename
                    ),
                )


def _institution_group(*, institution: Institution, role: str) -> Group:
    link = (
        InstitutionGroup.objects.select_related("group")
        .filter(institution=institution, role=role)
        .first()
    )
    if link:
        return link.group
    label = InstitutionRole(role).label
    group, _ = Group.objects.get_or_create(name=f"{institution.name} · {label}"[:150])
    InstitutionGroup.objects.create(institution=institution, role=role, group=group)
    return group


@transaction.atomic
def membership_grant(*, user, institution: Institution, role: str) -> Membership:
    """Give ``user`` a role at ``institution``. Granting a role held already changes nothing."""
    role = InstitutionRole(role)
    membership, _ = Membership.objects.get_or_create(user=user, institution=institution, role=role)
    user.groups.add(_institution_group(institution=institution, role=role))
    return membership


@transaction.atomic
def membership_revoke(*, user, institution: Institution, role: str) -> None:
    """Take a role away, with the permissions that came with it."""
    Membership.objects.filter(user=user, institution=institution, role=role).delete()
    user.groups.remove(_institution_group(institution=institution, role=role))


@transaction.atomic
def learner_profile_save(*, user, **fields) -> LearnerProfile:
    """Create or update the learner's profile with ``fields`` (validated by the caller's form)."""
    profile, created = LearnerProfile.objects.get_or_create(user=user, defaults=fields)
    if not created:
        for name, value in fields.items():
            setattr(profile, name, value)
        profile.save(update_fields=[*fields, "updated_at"])
    return profile
