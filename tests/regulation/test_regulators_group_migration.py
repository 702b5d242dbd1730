"""Migration 0005: the old global "Regulators" group becomes membership of a regulatory body,
and afterwards being in a group makes no one a regulator.

The migration's function is run on today's models (``django.apps.apps``: the models it
reads have not changed since), on data shaped as the old role left it.
"""

import importlib

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, Permission

from lms import selectors as lms_selectors
from regulation import checks, services
from regulation.models import RegulatorMembership, RegulatoryBody
from tests.factories import UserFactory

migration = importlib.import_module(
    "regulation.migrations.0005_regulators_group_becomes_body_membership"
)

pytestmark = pytest.mark.django_db


def old_style_regulator(username: str):
    """A regulator as the old role made one: in the "Regulators" group, which opens the
    Wagtail admin, and in no body."""
    group, _ = Group.objects.get_or_create(name="Regulators")
    group.permissions.add(
        Permission.objects.get(content_type__app_label="wagtailadmin", codename="access_admin")
    )
    user = UserFactory(username=username)
    user.groups.add(group)
    return user


def migrate():
    migration.regulators_group_becomes_body_membership(apps, None)


def fresh(user):
    """The user as a new request would load it (permissions are cached on the object)."""
    return type(user).objects.get(pk=user.pk)


def test_a_member_of_the_old_group_becomes_a_member_of_the_sites_only_body():
    body = services.body_create(name="Kenya Council", slug="kenya", country="KE")
    user = old_style_regulator("old-regulator")

    migrate()

    user = fresh(user)
    assert RegulatorMembership.objects.get(user=user).body == body
    assert lms_selectors.regulator_jurisdiction(user=user).country == "KE"
    assert list(user.groups.values_list("name", flat=True)) == [body.admin_group.name]
    assert user.has_perm("wagtailadmin.access_admin")  # still reaches the admin pages
    assert not Group.objects.filter(name="Regulators").exists()


def test_after_the_migration_the_old_group_alone_grants_nothing():
    services.body_create(name="Kenya Council", slug="kenya", country="KE")
    old_style_regulator("old-regulator")
    migrate()

    latecomer = old_style_regulator("latecomer")  # someone recreates the group and joins it

    assert not lms_selectors.user_is_regulator(user=latecomer)
    assert lms_selectors.regulator_jurisdiction(user=latecomer) is None
    assert not RegulatorMembership.objects.filter(user=latecomer).exists()


def test_a_member_of_a_body_already_stays_in_that_body():
    services.body_create(name="Kenya Council", slug="kenya", country="KE")
    cambodia = services.body_create(name="Cambodia Council", slug="cambodia", country="KH")
    user = old_style_regulator("cambodian-regulator")
    services.regulator_add(user=user, body=cambodia)

    migrate()

    user = fresh(user)
    assert RegulatorMembership.objects.get(user=user).body == cambodia
    assert list(user.groups.values_list("name", flat=True)) == [cambodia.admin_group.name]


def test_with_several_bodies_nobody_is_guessed_and_admins_are_told():
    services.body_create(name="Kenya Council", slug="kenya", country="KE")
    cambodia = services.body_create(name="Cambodia Council", slug="cambodia", country="KH")
    user = old_style_regulator("unplaced")

    migrate()

    user = fresh(user)
    assert not RegulatorMembership.objects.filter(user=user).exists()
    assert not lms_selectors.user_is_regulator(user=user)
    assert not user.has_perm("wagtailadmin.access_admin")
    assert list(user.groups.values_list("name", flat=True)) == [checks.AWAITING_BODY_GROUP]
    assert not Group.objects.get(name=checks.AWAITING_BODY_GROUP).permissions.exists()
    assert migration.AWAITING_BODY_GROUP == checks.AWAITING_BODY_GROUP
    (warning,) = checks.former_regulators_without_a_body(databases=["default"])
    assert warning.id == "regulation.W001" and "unplaced" in warning.msg

    services.regulator_add(user=user, body=cambodia)  # what the warning asks of a superuser
    assert checks.former_regulators_without_a_body(databases=["default"]) == []


def test_with_no_body_nobody_is_placed_either():
    user = old_style_regulator("unplaced")
    migrate()
    assert not lms_selectors.user_is_regulator(user=fresh(user))
    assert list(fresh(user).groups.values_list("name", flat=True)) == [checks.AWAITING_BODY_GROUP]


def test_bodies_made_before_admin_groups_get_one_with_their_members_in_it():
    body = RegulatoryBody.objects.create(name="Old Council", slug="old", country="KE")
    user = UserFactory(username="member")
    RegulatorMembership.objects.create(user=user, body=body)
    assert not fresh(user).has_perm("wagtailadmin.access_admin")

    migrate()

    body.refresh_from_db()
    assert body.admin_group is not None
    assert fresh(user).has_perm("wagtailadmin.access_admin")
