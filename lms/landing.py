"""Where a person lands after logging in, when no page asked for them (no ``?next=``).

Each role lands where its work is: the people who build and run courses in the Wagtail
admin, learners on "My learning" (``LOGIN_REDIRECT_URL``, which a host site may set). One
function, one line a role, so that a new role, or a new workspace for one, is a line more.
"""

from django.conf import settings
from django.shortcuts import resolve_url
from django.urls import reverse

from lms import selectors
from lms.roles import ADMIN_ROLES


def landing_url(user) -> str:
    """The page ``user`` starts on after logging in."""
    roles = {grant.role for grant in selectors.user_roles(user=user)}
    if user.is_superuser:
        return reverse("wagtailadmin_home")
    if "regulator" in roles:
        return reverse("wagtailadmin_home")
    if roles & ADMIN_ROLES:  # authors, instructors, institution managers
        return reverse("wagtailadmin_home")
    return resolve_url(settings.LOGIN_REDIRECT_URL)  # learners and supervisors: My learning
