"""The global "Regulators" group becomes membership of a regulatory body.

Before, anyone in the Django group "Regulators" was a regulator of every country. Now the
role is a :class:`~regulation.models.RegulatorMembership` only, scoped to the body's
jurisdiction, and the body's admin group carries the Wagtail admin access. For each member
of the old group:

* already a member of a body: kept there;
* else, when the site has exactly one regulatory body: made a member of it (the only
  jurisdiction a regulator of this site can have meant; the demo is such a site);
* else (no body, or several and nothing says which): no body is guessed, since a wrong one
  would show a country's workers to the wrong people. They are moved to the group
  "Regulators awaiting a regulatory body", which grants nothing, and the system check
  ``regulation.W001`` (``manage.py check --database default``, and every ``migrate``) lists
  them until a superuser adds each to a body in the Django admin.

The old group is then deleted: no group means "regulator" any more. Every body also gets
its admin group (bodies made before it existed). Reversing restores none of this.
"""

from django.conf import settings
from django.db import migrations

OLD_GROUP = "Regulators"
#: The same name as ``regulation.checks.AWAITING_BODY_GROUP`` (kept here as it was then).
AWAITING_BODY_GROUP = "Regulators awaiting a regulatory body"


def _admin_group(apps, body):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    if body.admin_group_id is None:
        body.admin_group, _ = Group.objects.get_or_create(name=f"{body.name} · regulators"[:150])
        body.save(update_fields=["admin_group"])
    # Wagtail's own migration created it (a dependency below).
    body.admin_group.permissions.add(
        *Permission.objects.filter(content_type__app_label="wagtailadmin", codename="access_admin")
    )
    return body.admin_group


def regulators_group_becomes_body_membership(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    User = apps.get_model(*settings.AUTH_USER_MODEL.split("."))
    RegulatoryBody = apps.get_model("regulation", "RegulatoryBody")
    RegulatorMembership = apps.get_model("regulation", "RegulatorMembership")

    bodies = list(RegulatoryBody.objects.all())
    for body in bodies:
        members = User.objects.filter(regulator_membership__body=body)
        _admin_group(apps, body).user_set.add(*members)

    old = Group.objects.filter(name=OLD_GROUP).first()
    if old is None:
        return
    only_body = bodies[0] if len(bodies) == 1 else None
    awaiting = []
    for user in User.objects.filter(groups=old):
        membership = RegulatorMembership.objects.filter(user=user).first()
        if membership is None and only_body is not None:
            membership = RegulatorMembership.objects.create(user=user, body=only_body)
        if membership is None:
            awaiting.append(user)
            continue
        body = RegulatoryBody.objects.get(pk=membership.body_id)
        _admin_group(apps, body).user_set.add(user)
    if awaiting:
        group, _ = Group.objects.get_or_create(name=AWAITING_BODY_GROUP)
        group.permissions.clear()
        group.user_set.add(*awaiting)
        print(  # noqa: T201 - said once, to whoever runs the migration
            f"\n  {len(awaiting)} former regulator(s) belong to no regulatory body and now see "
            f"nothing: see the group “{AWAITING_BODY_GROUP}” (check regulation.W001)."
        )
    old.delete()


class Migration(migrations.Migration):
    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("wagtailadmin", "0001_create_admin_access_permissions"),
        ("regulation", "0004_regulatory_body_admin_group"),
    ]

    operations = [
        migrations.RunPython(regulators_group_becomes_body_membership, migrations.RunPython.noop),
    ]
