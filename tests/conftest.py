"""Shared fixtures: a site with two institutions and a person in every role at each."""

import base64
import hashlib
import hmac
import os
import struct
import time
from dataclasses import dataclass

import pytest
from allauth.account.authentication import AUTHENTICATION_METHODS_SESSION_KEY
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.test import Client

from courses.models import CourseIndexPage
from courses.services import institution_page_create
from lms import services
from lms.models import Institution
from lms.roles import InstitutionRole
from tests.factories import UserFactory, learner_profile_data

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in the site's default language: a request in French (the locale
    middleware activates it for the thread) must not leak into the next test's messages."""
    from django.utils import translation

    translation.deactivate()
    yield
    translation.deactivate()


def enable_totp(user) -> str:
    """Give ``user`` a TOTP authenticator, as allauth's activation page would; return the secret."""
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    return secret


def totp_code(secret: str, at: float | None = None) -> str:
    """The six digits an authenticator app shows for ``secret`` (RFC 6238: SHA-1, 30 s)."""
    counter = int((time.time() if at is None else at) // 30)
    key = base64.b32decode(secret, casefold=True)
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"


class SecondFactorClient(Client):
    """The test client, whose ``force_login`` means "logged in properly".

    A person with an authenticator is served only once their session passed it
    (lms.middleware). ``force_login`` here records that step in the session as allauth does
    after a code was accepted (``AUTHENTICATION_METHODS_SESSION_KEY``, an "mfa" record naming
    the authenticator), so a test that is not about logging in can start logged in. Tests of
    the log-in itself use the real pages (tests/lms/test_login_doors.py); a session from a
    plain ``django.test.Client().force_login`` is one that skipped the second factor.
    """

    def force_login(self, user, backend=None):
        super().force_login(user, backend)
        authenticator = (
            Authenticator.objects.filter(
                user=user, type__in=[Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN]
            )
            .order_by("pk")
            .first()
        )
        if authenticator is None:
            return
        session = self.session
        session[AUTHENTICATION_METHODS_SESSION_KEY] = [
            {"method": "mfa", "at": time.time(), "id": authenticator.pk, "type": authenticator.type}
        ]
        session.save()


@pytest.fixture
def client() -> SecondFactorClient:
    """pytest-django's ``client``, with :class:`SecondFactorClient`'s ``force_login``."""
    return SecondFactorClient()


@pytest.fixture
def catalogue(db) -> CourseIndexPage:
    from wagtail.models import Page, Site

    root = Page.get_first_root_node()
    page = CourseIndexPage(title="Courses", slug="courses")
    root.add_child(instance=page)
    page.save_revision().publish()
    site = Site.objects.get(is_default_site=True)
    site.root_page = page
    site.site_name = "SSW Learning"
    site.save()
    return page


def _make_institution(catalogue, name: str, slug: str, country: str) -> Institution:
    institution = services.institution_create(name=name, slug=slug, country=country)
    institution_page_create(institution=institution, catalogue=catalogue)
    institution.refresh_from_db()
    return institution


@pytest.fixture
def institution_a(catalogue) -> Institution:
    return _make_institution(catalogue, "Ubuntu Institute", "ubuntu", "KE")


@pytest.fixture
def institution_b(catalogue) -> Institution:
    return _make_institution(catalogue, "Mekong College", "mekong", "KH")


@dataclass
class People:
    """One person per role at an institution (trainees are not members of any)."""

    trainee: object
    supervisor: object
    author: object
    instructor: object
    manager: object


def _people(institution: Institution, tag: str) -> People:
    staff = {}
    for role in InstitutionRole:
        user = UserFactory(username=f"{role.value}-{tag}")
        services.membership_grant(user=user, institution=institution, role=role)
        staff[role.value] = user
    enable_totp(staff["manager"])
    trainee = UserFactory(username=f"trainee-{tag}")
    services.learner_profile_save(user=trainee, **learner_profile_data(full_name=f"Trainee {tag}"))
    return People(trainee=trainee, **staff)


@pytest.fixture
def people_a(institution_a) -> People:
    return _people(institution_a, "a")


@pytest.fixture
def people_b(institution_b) -> People:
    return _people(institution_b, "b")


def make_regulator(username: str, *, country: str = "KE", regions=()):
    """A member of a regulatory body of ``country`` (and ``regions``): the regulator role.
    The body is made for them, named after them."""
    from regulation import services as regulation_services

    body = regulation_services.body_create(
        name=f"Council of {username}", slug=f"council-{username}", country=country, regions=regions
    )
    user = UserFactory(username=username)
    regulation_services.regulator_add(user=user, body=body)
    enable_totp(user)
    return user


@pytest.fixture
def regulator(db):
    """A regulator whose body's jurisdiction is the whole of Kenya (institution A's country)."""
    return make_regulator("regulator")


@pytest.fixture
def trainee(db):
    user = UserFactory(username="new-trainee")
    services.learner_profile_save(user=user, **learner_profile_data())
    return user


@pytest.fixture
def published_framework(institution_a):
    from competencies import demo as competencies_demo
    from competencies import services as competencies_services

    framework = competencies_services.framework_import(
        data=competencies_demo.para_professional_data(creator="Ubuntu Institute"),
        owner_institution=institution_a,
    )
    return competencies_services.framework_publish(framework=framework)


@pytest.fixture
def course(institution_a, published_framework):
    """The demo course: two modules, the second with a two-question quiz."""
    from courses import demo as courses_demo

    return courses_demo.seed_course(institution=institution_a, framework=published_framework)


@pytest.fixture
def key_a(people_a, institution_a):
    """An API key of institution A (its LMS): ``(ApiKey, the secret)``."""
    return services.api_key_create(
        institution=institution_a, name="Moodle A", created_by=people_a.manager
    )


@pytest.fixture
def key_b(people_b, institution_b):
    """An API key of institution B: ``(ApiKey, the secret)``."""
    return services.api_key_create(
        institution=institution_b, name="Kolibri B", created_by=people_b.manager
    )
