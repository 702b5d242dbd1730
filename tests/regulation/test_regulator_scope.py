"""The regulator role is membership of a regulatory body, and a regulator sees their body's
jurisdiction — its country, and only its regions when it names some — and nothing else:
certificates (admin register, search, detail, PDF), workers (register, statistics, CPD,
exports), frameworks (admin pages) and the regulator API, read-only.

The matrix: institution A's trainee, supervisor, author and manager; the regulator of body A
(Kenya, region "Nairobi"); the regulator of body B (Cambodia); anonymous. Three workers hold
a certificate each: one in Nairobi and one in Mombasa (issued by institution A, in Kenya) and
one in Phnom Penh (issued by institution B, in Cambodia); A's trainee lives in Nairobi.
"""

import csv
import datetime
import io
import re
from dataclasses import dataclass
from decimal import Decimal
from http import HTTPStatus

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse
from django.utils import timezone

from certificates.models import Certificate, CertificateState
from certificates.permissions import may_open_pdf
from competencies import demo as competencies_demo
from competencies import services as competencies_services
from lms import selectors as lms_selectors
from regulation import cpd, services
from tests.conftest import enable_totp
from tests.factories import UserFactory
from tests.regulation.conftest import certify, make_worker

PEOPLE = [
    "anonymous",
    "trainee",
    "supervisor",
    "author",
    "manager",
    "nairobi_regulator",
    "cambodia_regulator",
]


@dataclass
class World:
    people: dict
    nairobi: Certificate
    mombasa: Certificate
    phnom_penh: Certificate
    body_a: object
    body_b: object
    frameworks: dict


def regulator_of(body, username: str):
    user = UserFactory(username=username)
    services.regulator_add(user=user, body=body)
    enable_totp(user)
    return user


@pytest.fixture
def world(people_a, institution_a, institution_b, course, published_framework) -> World:
    body_a = services.body_create(
        name="Nairobi Council", slug="nairobi", country="KE", regions=["Nairobi"]
    )
    body_b = services.body_create(name="Cambodia Council", slug="cambodia", country="KH")
    nairobi = make_worker("nairobi-worker", region="Nairobi", worker_registration_number="N-1")
    mombasa = make_worker("mombasa-worker", region="Mombasa", worker_registration_number="M-1")
    phnom_penh = make_worker(
        "phnom-penh-worker", country="KH", region="Phnom Penh", worker_registration_number="P-1"
    )
    mekong = competencies_services.framework_import(
        data=competencies_demo.para_professional_data(creator="Mekong College"),
        owner_institution=institution_b,
    )
    national = competencies_services.framework_import(
        data=competencies_demo.national_data(para_professional=published_framework)
    )
    return World(
        people={
            "anonymous": None,
            "trainee": people_a.trainee,
            "supervisor": people_a.supervisor,
            "author": people_a.author,
            "manager": people_a.manager,
            "nairobi_regulator": regulator_of(body_a, "nairobi-regulator"),
            "cambodia_regulator": regulator_of(body_b, "cambodia-regulator"),
        },
        nairobi=certify(nairobi, course, institution_a),
        mombasa=certify(mombasa, course, institution_a),
        phnom_penh=certify(phnom_penh, course, institution_b),
        body_a=body_a,
        body_b=body_b,
        frameworks={
            "kenya": published_framework,
            "cambodia": competencies_services.framework_publish(framework=mekong),
            "national": competencies_services.framework_publish(framework=national),
        },
    )


def as_person(client, world: World, name: str):
    client.logout()
    if world.people[name] is not None:
        client.force_login(world.people[name])
    return client


def outcome(response) -> str:
    if response.status_code == HTTPStatus.OK:
        return "ok"
    if response.status_code == HTTPStatus.FOUND:
        return "login" if "login" in response["Location"] else "denied"
    if response.status_code in (HTTPStatus.FORBIDDEN, HTTPStatus.NOT_FOUND):
        return "denied"
    return f"status {response.status_code}"


def register_codes(response) -> set[str]:
    return set(re.findall(r'<tr data-certificate="([^"]+)"', response.content.decode()))


# --- Certificates in the admin ----------------------------------------------------------------


def test_each_person_reads_exactly_the_certificates_of_their_reach_in_the_admin_register(
    client, world
):
    codes = {
        name: getattr(world, name).display_code for name in ("nairobi", "mombasa", "phnom_penh")
    }
    expected = {
        "anonymous": "login",
        "trainee": "login",
        "supervisor": "login",
        "author": "denied",
        "manager": {codes["nairobi"], codes["mombasa"]},  # what institution A issued
        "nairobi_regulator": {codes["nairobi"]},  # Kenya, Nairobi only, any institution
        "cambodia_regulator": {codes["phnom_penh"]},
    }
    got = {}
    for name in PEOPLE:
        response = as_person(client, world, name).get(reverse("certificates_register"))
        got[name] = register_codes(response) if response.status_code == 200 else outcome(response)
    assert got == expected


def test_a_regulators_register_search_finds_nothing_outside_the_jurisdiction(client, world):
    as_person(client, world, "nairobi_regulator")
    register = reverse("certificates_register")
    for text, found in (
        ("Nairobi-Worker", {world.nairobi.display_code}),
        ("Mombasa-Worker", set()),
        (world.mombasa.code, set()),
        ("mombasa-worker", set()),  # the username
        (world.phnom_penh.code, set()),
    ):
        assert register_codes(client.get(register, {"q": text})) == found, text


@pytest.mark.parametrize(
    ("person", "readable"),
    [
        ("anonymous", set()),
        ("trainee", set()),
        ("supervisor", set()),
        ("author", set()),
        ("manager", {"nairobi", "mombasa"}),
        ("nairobi_regulator", {"nairobi"}),
        ("cambodia_regulator", {"phnom_penh"}),
    ],
)
def test_each_person_opens_only_the_certificate_pages_and_pdfs_of_their_reach(
    client, world, person, readable
):
    as_person(client, world, person)
    for name in ("nairobi", "mombasa", "phnom_penh"):
        certificate = getattr(world, name)
        response = client.get(reverse("certificates_certificate", args=[certificate.uuid]))
        assert (outcome(response) == "ok") is (name in readable), name
        user = world.people[person]
        if user is not None:
            assert may_open_pdf(user, certificate) is (name in readable), name


def test_a_regulator_reads_a_certificate_but_can_change_nothing(client, world):
    as_person(client, world, "nairobi_regulator")
    certificate = world.nairobi
    page = client.get(reverse("certificates_certificate", args=[certificate.uuid]))
    assert certificate.display_code in page.content.decode()
    assert "Revoke the certificate" not in page.content.decode()
    for action in ("revoke", "reissue", "renew"):
        response = client.post(
            reverse(f"certificates_certificate_{action}", args=[certificate.uuid]),
            {"reason": "Not theirs to decide"},
        )
        assert outcome(response) == "denied", action
    for url in (reverse("certificates_issue"), reverse("certificates_bulk")):
        assert outcome(client.get(url)) == "denied", url
    certificate.refresh_from_db()
    assert certificate.state == CertificateState.ACTIVE
    assert certificate.events.count() == 0


# --- Frameworks in the admin ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("person", "listed"),
    [
        # An institution's staff and everyone see published frameworks, as before.
        ("author", {"kenya", "cambodia", "national"}),
        ("manager", {"kenya", "cambodia", "national"}),
        # A regulator: their country's institutions' and the national (unowned) ones.
        ("nairobi_regulator", {"kenya", "national"}),
        ("cambodia_regulator", {"cambodia", "national"}),
    ],
)
def test_each_regulator_lists_and_opens_only_the_frameworks_of_their_jurisdiction(
    client, world, person, listed
):
    as_person(client, world, person)
    page = client.get(reverse("competencies_frameworks")).content.decode()
    for name, framework in world.frameworks.items():
        detail = reverse("competencies_framework", args=[framework.pk])
        assert (f'href="{detail}"' in page) is (name in listed), name
        assert (outcome(client.get(detail)) == "ok") is (name in listed), name


def test_the_public_case_api_lists_the_same_frameworks_to_a_regulator_as_to_anyone(client, world):
    """Published frameworks are public documents: the workspace narrows what it shows a
    regulator, the CASE API does not hide from them what it serves to anonymous visitors."""

    def listed(person) -> set[str]:
        as_person(client, world, person)
        documents = client.get("/ims/case/v1p1/CFDocuments").json()["CFDocuments"]
        return {document["identifier"] for document in documents}

    anyone = listed("anonymous")
    assert {str(f.identifier) for f in world.frameworks.values()} <= anyone
    assert listed("nairobi_regulator") == anyone
    assert listed("cambodia_regulator") == anyone


def test_people_without_an_admin_role_open_no_framework_page(client, world):
    for person in ("anonymous", "trainee", "supervisor"):
        as_person(client, world, person)
        assert outcome(client.get(reverse("competencies_frameworks"))) == "login", person


# --- Workers: register, statistics, CPD, exports ----------------------------------------------


def export_rows(client, view: str, query: dict | None = None) -> list[list[str]]:
    response = client.get(reverse("regulation:export", args=[view, "csv"]), query or {})
    assert response.status_code == HTTPStatus.OK
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_a_region_limited_regulator_finds_only_that_regions_workers_in_the_register(client, world):
    as_person(client, world, "nairobi_regulator")
    url = reverse("regulation:register_body", args=["nairobi"])
    assert "<h2>Nairobi-Worker</h2>" in client.get(url, {"q": "N-1"}).content.decode()
    for text in ("M-1", "Mombasa-Worker", world.mombasa.code, "P-1"):
        page = client.get(url, {"q": text}).content.decode()
        assert "No certified worker matches." in page, text


def test_a_region_limited_regulator_counts_only_that_regions_workers(client, world):
    as_person(client, world, "nairobi_regulator")
    statistics = {row[0]: row[1:] for row in export_rows(client, "statistics")[1:]}
    assert list(statistics) == ["Nairobi", "Total"]
    # Institution A's trainee lives in Nairobi too, without a certificate.
    assert statistics["Total"] == ["2", "0", "0", "1", "1"]
    page = client.get(reverse("regulation:workspace")).content.decode()
    assert "Mombasa-Worker" not in page


def test_cpd_who_is_behind_lists_only_the_regions_workers(client, world):
    today = timezone.localdate()
    requirement = services.requirement_create(
        body=world.body_a,
        created_by=world.people["nairobi_regulator"],
        title="Annual CPD",
        cadre="",
        hours=Decimal("20"),
        period_start=today - datetime.timedelta(days=10),
        period_end=today + datetime.timedelta(days=100),
    )
    in_nairobi = ["Nairobi-Worker", "Trainee a"]  # not the Mombasa or Phnom Penh workers
    assert [row.name for row in cpd.behind(requirement=requirement)] == in_nairobi
    as_person(client, world, "nairobi_regulator")
    rows = export_rows(client, "cpd-behind", {"requirement": requirement.pk})
    assert [row[0] for row in rows[1:]] == in_nairobi


# --- The regulator API ------------------------------------------------------------------------


def test_a_bodys_api_key_reads_only_its_jurisdictions_workers(client, world):
    _key, secret = services.regulator_api_key_create(
        body=world.body_a, name="Council systems", created_by=world.people["nairobi_regulator"]
    )
    auth = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}

    def register(text):
        response = client.get("/api/v1/regulation/register", {"q": text}, **auth)
        return [entry["name"] for entry in response.json()["results"]]

    assert register("N-1") == ["Nairobi-Worker"]
    assert register("M-1") == [] and register("P-1") == []
    assert client.get("/api/v1/regulation/cpd/N-1", **auth).status_code == HTTPStatus.OK
    for number in ("M-1", "P-1"):
        response = client.get(f"/api/v1/regulation/cpd/{number}", **auth)
        assert response.status_code == HTTPStatus.NOT_FOUND, number
    statistics = client.get("/api/v1/regulation/statistics", **auth).json()
    assert [row["label"] for row in statistics["rows"]] == ["Nairobi"]
    assert statistics["total"]["certified"] == 1


# --- The role is membership of a body, nothing else ---------------------------------------------


def test_only_members_of_a_body_are_regulators_with_its_jurisdiction(world):
    nairobi = lms_selectors.regulator_jurisdiction(user=world.people["nairobi_regulator"])
    assert (nairobi.country, nairobi.regions) == ("KE", ("Nairobi",))
    cambodia = lms_selectors.regulator_jurisdiction(user=world.people["cambodia_regulator"])
    assert (cambodia.country, cambodia.regions) == ("KH", ())
    for person in ("trainee", "supervisor", "author", "manager"):
        assert not lms_selectors.user_is_regulator(user=world.people[person]), person


def test_a_group_named_regulators_with_admin_access_grants_no_regulator_powers(client, world):
    """The old global role: a Django group "Regulators" that opens the Wagtail admin."""
    old = Group.objects.create(name="Regulators")
    old.permissions.add(
        Permission.objects.get(content_type__app_label="wagtailadmin", codename="access_admin")
    )
    user = make_worker("old-style", region="")
    user.groups.add(old)
    enable_totp(user)
    client.force_login(user)

    assert not lms_selectors.user_is_regulator(user=user)
    assert lms_selectors.user_roles(user=user) == []
    assert outcome(client.get(reverse("regulation:workspace"))) == "denied"
    assert outcome(client.get(reverse("certificates_register"))) == "denied"
    detail = reverse("certificates_certificate", args=[world.nairobi.uuid])
    assert outcome(client.get(detail)) == "denied"


def test_a_regulator_removed_from_their_body_loses_the_role_and_the_admin(client, world):
    user = world.people["nairobi_regulator"]
    assert user.has_perm("wagtailadmin.access_admin")
    services.regulator_remove(user=user)
    user = type(user).objects.get(pk=user.pk)  # permissions are cached on the object
    assert not lms_selectors.user_is_regulator(user=user)
    assert not user.has_perm("wagtailadmin.access_admin")
    client.force_login(user)
    assert outcome(client.get(reverse("certificates_register"))) in {"login", "denied"}


def test_deleting_a_body_takes_the_role_and_the_admin_from_its_members(world):
    user = world.people["nairobi_regulator"]
    services.body_delete(body=world.body_a)
    user = type(user).objects.get(pk=user.pk)
    assert not lms_selectors.user_is_regulator(user=user)
    assert not user.has_perm("wagtailadmin.access_admin")
    assert not user.groups.exists()


def test_a_member_added_in_the_django_admin_is_a_regulator_who_reaches_the_wagtail_admin(
    client, world
):
    superuser = UserFactory(username="root", is_staff=True, is_superuser=True)
    enable_totp(superuser)
    client.force_login(superuser)
    newcomer = UserFactory(username="newcomer")
    response = client.post(
        "/django-admin/regulation/regulatormembership/add/",
        {"user": newcomer.pk, "body": world.body_b.pk},
    )
    assert response.status_code == HTTPStatus.FOUND, response.content.decode()[:2000]
    newcomer = type(newcomer).objects.get(pk=newcomer.pk)
    assert lms_selectors.regulator_jurisdiction(user=newcomer).country == "KH"
    assert newcomer.has_perm("wagtailadmin.access_admin")

    membership = newcomer.regulator_membership
    response = client.post(
        f"/django-admin/regulation/regulatormembership/{membership.pk}/delete/", {"post": "yes"}
    )
    assert response.status_code == HTTPStatus.FOUND
    newcomer = type(newcomer).objects.get(pk=newcomer.pk)
    assert not lms_selectors.user_is_regulator(user=newcomer)
    assert not newcomer.has_perm("wagtailadmin.access_admin")
