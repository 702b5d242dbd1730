"""The roles people hold, and what each may do.

Institution roles are held through a :class:`~lms.models.Membership`; the regulator role is
membership of a regulatory body (the ``regulation`` app; asked through
:mod:`lms.jurisdiction`). Roles are mapped onto Django and Wagtail groups by
:mod:`lms.services` (and ``regulation.services``), so Wagtail's own permission checks
enforce them; a group never makes anyone a regulator.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class InstitutionRole(models.TextChoices):
    AUTHOR = "author", _("Author")
    INSTRUCTOR = "instructor", _("Instructor")
    SUPERVISOR = "supervisor", _("Supervisor")
    MANAGER = "manager", _("Institution manager")


#: Roles that open the Wagtail admin.
ADMIN_ROLES = frozenset(
    {InstitutionRole.AUTHOR, InstitutionRole.INSTRUCTOR, InstitutionRole.MANAGER}
)

#: Roles that must have a second factor before they reach any data (regulators too).
MFA_ROLES = frozenset({InstitutionRole.MANAGER})

#: Wagtail page permissions each role holds on its institution's section of the page tree.
PAGE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    InstitutionRole.AUTHOR: ("add_page", "change_page", "publish_page", "lock_page"),
    InstitutionRole.MANAGER: (
        "add_page",
        "change_page",
        "publish_page",
        "bulk_delete_page",
        "lock_page",
        "unlock_page",
    ),
    InstitutionRole.INSTRUCTOR: (),
    InstitutionRole.SUPERVISOR: (),
}

#: Image and document permissions each role holds on its institution's collection.
COLLECTION_PERMISSIONS: dict[str, tuple[str, ...]] = {
    InstitutionRole.AUTHOR: (
        "wagtailimages.add_image",
        "wagtailimages.change_image",
        "wagtailimages.choose_image",
        "wagtaildocs.add_document",
        "wagtaildocs.change_document",
        "wagtaildocs.choose_document",
    ),
    InstitutionRole.MANAGER: (
        "wagtailimages.add_image",
        "wagtailimages.change_image",
        "wagtailimages.delete_image",
        "wagtailimages.choose_image",
        "wagtaildocs.add_document",
        "wagtaildocs.change_document",
        "wagtaildocs.delete_document",
        "wagtaildocs.choose_document",
    ),
    InstitutionRole.INSTRUCTOR: ("wagtailimages.choose_image", "wagtaildocs.choose_document"),
    InstitutionRole.SUPERVISOR: (),
}
