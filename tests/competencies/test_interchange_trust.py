"""Framework files that cross institutions: download names safe for any text a framework holds,
and import refusals that name nothing of another institution's drafts."""

import copy
import json
from email.message import EmailMessage
from http import HTTPStatus

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from competencies import demo, selectors, services
from competencies.interchange import FrameworkFileError, export_case_package, parse_case_package
from competencies.models import Framework

pytestmark = pytest.mark.django_db

#: A code and a title holding a quote, a line break and letters outside ASCII.
ODD_CODE = 'PP "ç"\r\nTwo'
ODD_TITLE = 'Compétences "sociales"\r\nSecond line'


def case_package_of(framework: Framework) -> dict:
    return export_case_package(
        selectors.framework_data(framework=framework), base_url=settings.SITE_BASE_URL
    )


def upload(content: bytes, name: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


def attachment_name(response) -> str:
    """The file name a browser would save ``response`` as (RFC 6266, ``filename*`` too)."""
    header = EmailMessage()
    header["Content-Disposition"] = response["Content-Disposition"]
    assert header.get_content_disposition() == "attachment"
    return header.get_filename()


@pytest.fixture
def odd_case_file(institution_a) -> bytes:
    """A CASE package whose framework code (CFDocument.extensions.humanCodingScheme), title
    and first item's code hold odd characters."""
    source = services.framework_import(data=demo.para_professional_data(creator="Ubuntu"))
    package = copy.deepcopy(case_package_of(source))
    source.delete()
    package["CFDocument"]["extensions"]["humanCodingScheme"] = ODD_CODE
    package["CFDocument"]["title"] = ODD_TITLE
    package["CFItems"][0]["humanCodingScheme"] = 'PP.1 "x"'
    return json.dumps(package).encode()


def test_a_framework_with_quotes_line_breaks_and_accents_imports_and_exports_everywhere(
    client, people_a, people_b, institution_a, institution_b, odd_case_file
):
    # CASE JSON through the API…
    client.force_login(people_a.author)
    response = client.post(
        "/api/v1/frameworks/import",
        {"format": "case", "file": upload(odd_case_file, "odd.json"), "owner": "ubuntu"},
    )
    assert response.status_code == HTTPStatus.CREATED, response.content
    case_framework = Framework.objects.get(identifier=response.json()["identifier"])
    assert (case_framework.code, case_framework.title) == (ODD_CODE, ODD_TITLE)

    # … and its Moodle CSV export through the admin, into another institution.
    moodle = client.get(reverse("competencies_export_moodle", args=[case_framework.pk])).content
    client.force_login(people_b.author)
    response = client.post(
        reverse("competencies_framework_import"),
        {
            "file": upload(moodle, "odd.csv"),
            "format": "moodle",
            "owner_institution": institution_b.pk,
        },
    )
    assert response.status_code == HTTPStatus.FOUND, response.content.decode()
    moodle_framework = Framework.objects.get(owner_institution=institution_b)
    assert moodle_framework.code == ODD_CODE.replace("\r\n", "\n")  # Moodle CSV keeps LF

    for person, framework in ((people_a, case_framework), (people_b, moodle_framework)):
        client.force_login(person.author)
        admin = {
            "case": client.get(reverse("competencies_export_case", args=[framework.pk])),
            "moodle": client.get(reverse("competencies_export_moodle", args=[framework.pk])),
        }
        api = {
            format: client.get(
                f"/api/v1/frameworks/{framework.identifier}/export", {"format": format}
            )
            for format in ("case", "moodle")
        }
        for response in (*admin.values(), *api.values()):
            assert response.status_code == HTTPStatus.OK
        # The admin names the file after the code, made a slug; the API after the code itself.
        assert attachment_name(admin["case"]) == "pp-c-two-v1.0.case.json"
        assert attachment_name(admin["moodle"]) == "pp-c-two-v1.0.csv"
        assert attachment_name(api["case"]) == 'PP "ç"-Two-v1.0.case.json'
        assert attachment_name(api["moodle"]) == 'PP "ç"-Two-v1.0.csv'
        document = json.loads(api["case"].content)["CFDocument"]
        assert document["extensions"]["humanCodingScheme"] == framework.code


# --- Reused identifiers ---------------------------------------------------------------------


@pytest.fixture
def b_draft(institution_b) -> Framework:
    return services.framework_import(
        data=demo.para_professional_data(creator="Mekong College"),
        owner_institution=institution_b,
    )


def reusing(framework: Framework, *, title: str = "Our own framework") -> bytes:
    """A CASE file of another framework that carries ``framework``'s identifier."""
    package = copy.deepcopy(case_package_of(framework))
    package["CFDocument"]["title"] = title
    for item in package["CFItems"]:  # fresh item identifiers: only the document's is reused
        item["identifier"] = item["identifier"][:-12] + "0" * 12
    package["CFItems"] = package["CFItems"][:1]
    package["CFAssociations"] = []
    return json.dumps(package).encode()


def test_reusing_another_institutions_draft_identifier_names_nothing_of_it(
    client, people_a, institution_a, b_draft
):
    content = reusing(b_draft)
    before = Framework.objects.count()

    with pytest.raises(FrameworkFileError) as raised:
        services.framework_import(data=parse_case_package(content), owner_institution=institution_a)
    client.force_login(people_a.author)
    api = client.post(
        "/api/v1/frameworks/import",
        {"format": "case", "file": upload(content, "x.json"), "owner": "ubuntu"},
    )
    admin = client.post(
        reverse("competencies_framework_import"),
        {
            "file": upload(content, "x.json"),
            "format": "case",
            "owner_institution": institution_a.pk,
        },
    )

    assert api.status_code == HTTPStatus.BAD_REQUEST
    expected = f"a framework with identifier {b_draft.identifier} is here already; give the"
    for text in ("\n".join(raised.value.errors), json.dumps(api.json()), admin.content.decode()):
        assert expected in text
        for secret in (b_draft.title, "Mekong", "v1.0"):
            assert secret not in text
    assert Framework.objects.count() == before


def test_reusing_a_published_or_own_frameworks_identifier_names_it(institution_a, b_draft):
    own = services.framework_import(
        data=demo.para_professional_data(creator="Ubuntu"), owner_institution=institution_a
    )
    with pytest.raises(FrameworkFileError) as raised:
        services.framework_import(
            data=parse_case_package(reusing(own)), owner_institution=institution_a
        )
    assert f"is here already (“{own}”)" in "\n".join(raised.value.errors)

    services.framework_publish(framework=b_draft)  # public now, in the CASE API
    with pytest.raises(FrameworkFileError) as raised:
        services.framework_import(
            data=parse_case_package(reusing(b_draft)), owner_institution=institution_a
        )
    assert f"is here already (“{b_draft}”)" in "\n".join(raised.value.errors)


# --- Association ends: only what the importer may see ---------------------------------------


def linking_to(item_identifier: str, *, origin_outside: bool) -> bytes:
    """A small CASE package with one association to (or, ``origin_outside``, from) an item
    that is not in the package."""
    source = services.framework_import(data=demo.para_professional_data(creator="Ours"))
    package = copy.deepcopy(case_package_of(source))
    source.delete()
    package["CFDocument"]["title"] = "Linking framework"
    ours = package["CFItems"][0]
    elsewhere = {"title": "Elsewhere", "identifier": item_identifier, "uri": "https://x.example/i"}
    mine = {"title": "Mine", "identifier": ours["identifier"], "uri": ours["uri"]}
    package["CFAssociations"].append(
        {
            "identifier": "5e1f0c3a-7d7e-4a1b-9c55-3b4f2a1d0e99",
            "associationType": "exactMatchOf",
            "uri": "https://x.example/a",
            "originNodeURI": elsewhere if origin_outside else mine,
            "destinationNodeURI": mine if origin_outside else elsewhere,
            "lastChangeDateTime": "2024-01-01T00:00:00Z",
        }
    )
    return json.dumps(package).encode()


def test_an_import_links_to_published_items_and_its_own_drafts_only(
    institution_a, institution_b, b_draft
):
    hidden = b_draft.items.order_by("pk").first()  # another institution's draft
    framework = services.framework_import(
        data=parse_case_package(linking_to(str(hidden.identifier), origin_outside=False)),
        owner_institution=institution_a,
    )
    link = framework.associations.get()
    # Kept as an identifier from elsewhere: not linked, so nothing of it is shown or exported.
    assert (link.destination, link.destination_identifier) == (None, str(hidden.identifier))
    assert link.destination_title == "Elsewhere"
    framework.delete()

    services.framework_publish(framework=b_draft)
    framework = services.framework_import(
        data=parse_case_package(linking_to(str(hidden.identifier), origin_outside=False)),
        owner_institution=institution_a,
    )
    assert framework.associations.get().destination == hidden  # public now: linked


def test_an_association_from_another_institutions_draft_is_refused_naming_nothing(
    institution_a, b_draft
):
    hidden = b_draft.items.order_by("pk").first()
    content = linking_to(str(hidden.identifier), origin_outside=True)
    with pytest.raises(FrameworkFileError) as raised:
        services.framework_import(data=parse_case_package(content), owner_institution=institution_a)
    [error] = raised.value.errors
    assert error.endswith(f"originNodeURI '{hidden.identifier}' points at nothing in the file")
    for secret in (hidden.full_statement, hidden.code, b_draft.title, "Mekong"):
        assert secret not in error
    # The institution that owns the draft may link from it.
    framework = services.framework_import(
        data=parse_case_package(content), owner_institution=b_draft.owner_institution
    )
    assert framework.associations.get().origin == hidden
