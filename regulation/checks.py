"""System checks of the regulation app: former regulators who belong to no body.

The regulator role used to be the global "Regulators" group; it is now membership of a
regulatory body. Migration ``0005`` moved the old group's members into the site's body when
there was exactly one; the others wait in :data:`AWAITING_BODY_GROUP`, which grants nothing,
and this check tells the site's administrators until each is placed.
"""

from django.contrib.auth import get_user_model
from django.core import checks
from django.db import DatabaseError

#: Where migration 0005 left the former regulators it could not place in a body.
AWAITING_BODY_GROUP = "Regulators awaiting a regulatory body"


@checks.register("regulation", checks.Tags.database)
def former_regulators_without_a_body(app_configs=None, databases=None, **kwargs):
    if not databases:
        return []
    try:
        waiting = list(
            get_user_model()
            .objects.filter(groups__name=AWAITING_BODY_GROUP, regulator_membership__isnull=True)
            .order_by("pk")
            .values_list("username", flat=True)[:20]
        )
    except DatabaseError:  # not migrated yet
        return []
    if not waiting:
        return []
    return [
        checks.Warning(
            f"These accounts were regulators under the old global role and belong to no "
            f"regulatory body, so they see no workers: {', '.join(waiting)}.",
            hint="In the Django admin, add each to a body (Regulation › Regulator "
            f"memberships), then remove them from the group “{AWAITING_BODY_GROUP}”.",
            id="regulation.W001",
        )
    ]
