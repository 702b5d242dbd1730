"""Framework read API (/api/v1) and the public CASE 1.1 endpoints."""

import json
from http import HTTPStatus

import pytest

from competencies import demo, services
from competencies.models import Framework
from lms import services as lms_services
from tests.competencies.real_shapes import opensalt_export

pytestmark = pytest.mark.django_db


@pytest.fixture
def frameworks(institution_a):
    para = services.framework_import(
        data=demo.para_professional_data(creator="Ubuntu"), owner_institution=institution_a
    )
    services.framework_publish(framework=para)
    national = services.framework_import(data=demo.national_data(para_professional=para))
    draft = services.framework_create(
        title="Draft of A", creator="A", owner_institution=institution_a
    )
    return para, national, draft


@pytest.fixture
def key_b(people_b, institution_b):
    return lms_services.api_key_create(
        institution=institution_b, name="LMS B", created_by=people_b.manager
    )[1]


def test_list_shows_published_and_own_drafts(client, frameworks, people_a, key_b):
    para, national, draft = frameworks
    client.force_login(people_a.author)
    titles = {f["title"]: f for f in client.get("/api/v1/frameworks").json()}
    assert {"Para-Professional Social Service Workforce Competencies", "Draft of A"} <= set(titles)
    assert titles["Para-Professional Social Service Workforce Competencies"]["item_count"] == 60
    client.logout()
    # B's key sees published frameworks, not A's drafts (nor the unpublished national one).
    body = client.get("/api/v1/frameworks", HTTP_AUTHORIZATION=f"Bearer {key_b}").json()
    assert [f["title"] for f in body] == ["Para-Professional Social Service Workforce Competencies"]


def test_framework_as_a_nested_tree(client, frameworks, key_b):
    para = frameworks[0]
    body = client.get(
        f"/api/v1/frameworks/{para.identifier}", HTTP_AUTHORIZATION=f"Bearer {key_b}"
    ).json()
    assert [level["name"] for level in body["levels"]][2] == "Competent"
    first = body["items"][0]
    assert first["code"] == "PP.1" and first["kind"] == "domain"
    assert first["children"][0]["code"] == "PP.1.1"
    assert first["children"][0]["children"][0]["code"] == "PP.1.1.a"


def test_another_institutions_draft_is_not_found(client, frameworks, key_b):
    draft = frameworks[2]
    response = client.get(
        f"/api/v1/frameworks/{draft.identifier}", HTTP_AUTHORIZATION=f"Bearer {key_b}"
    )
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert draft.title not in response.content.decode()
    listed = client.get("/api/v1/frameworks", HTTP_AUTHORIZATION=f"Bearer {key_b}").json()
    assert str(draft.identifier) not in {f["identifier"] for f in listed}


def test_one_item_with_its_crosswalk(client, frameworks, people_a):
    para, national, _ = frameworks
    services.framework_publish(framework=national)
    client.force_login(people_a.author)
    item = national.items.get(code="NPS.A1")
    body = client.get(f"/api/v1/competencies/{item.identifier}").json()
    assert body["framework_title"] == "National Para Social Worker Standards"
    assert body["associations"] == [
        {
            "type": "exactMatchOf",
            "origin": str(item.identifier),
            "destination": str(para.items.get(code="PP.1.3").identifier),
            "destination_code": "PP.1.3",
            "destination_framework": str(para.identifier),
        }
    ]


def test_tree_endpoint_query_count_does_not_grow(
    client, frameworks, people_a, django_assert_max_num_queries
):
    para = frameworks[0]
    client.force_login(people_a.author)
    small = services.framework_create(
        title="Small", creator="A", owner_institution=para.owner_institution
    )
    services.item_create(framework=small, full_statement="Only one")
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as small_queries:
        client.get(f"/api/v1/frameworks/{small.identifier}")
    with CaptureQueriesContext(connection) as big_queries:
        client.get(f"/api/v1/frameworks/{para.identifier}")
    assert len(big_queries) == len(small_queries)


def test_case_endpoints_are_public_and_serve_published_only(client, frameworks):
    para, national, draft = frameworks
    documents = client.get("/ims/case/v1p1/CFDocuments").json()["CFDocuments"]
    assert [d["identifier"] for d in documents] == [str(para.identifier)]
    package = client.get(f"/ims/case/v1p1/CFPackages/{para.identifier}").json()
    assert package["CFDocument"]["title"] == para.title
    assert len(package["CFItems"]) == 60
    item = para.items.get(code="PP.5.2")
    cf_item = client.get(f"/ims/case/v1p1/CFItems/{item.identifier}").json()
    assert cf_item["humanCodingScheme"] == "PP.5.2"
    for unpublished in (national, draft):
        response = client.get(f"/ims/case/v1p1/CFPackages/{unpublished.identifier}")
        assert response.status_code == HTTPStatus.NOT_FOUND


def test_import_through_the_api_is_all_or_nothing(client, institution_a, people_a):
    from competencies.interchange import export_moodle_csv
    from competencies.selectors import framework_data

    client.force_login(people_a.author)
    before = Framework.objects.count()
    response = client.post(
        "/api/v1/frameworks/import",
        {"format": "moodle", "file": _upload(b"not,a,moodle,file\n1,2,3,4\n")},
    )
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["errors"]
    assert Framework.objects.count() == before

    source = services.framework_import(data=demo.para_professional_data(creator="x"))
    csv_text = export_moodle_csv(framework_data(framework=source))
    source.delete()
    response = client.post(
        "/api/v1/frameworks/import", {"format": "moodle", "file": _upload(csv_text.encode())}
    )
    assert response.status_code == HTTPStatus.CREATED, response.content
    imported = Framework.objects.get(identifier=response.json()["identifier"])
    assert imported.owner_institution == institution_a
    assert imported.items.count() == 60


def _upload(content: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("framework.csv", content, content_type="text/csv")


def test_import_through_the_api_may_copy_a_visible_frameworks_scale(
    client, frameworks, people_b, key_b
):
    para, _national, draft = frameworks
    services.scale_set(framework=draft, levels=list(demo.SCALE))  # A's draft: hidden from B
    package = json.dumps(opensalt_export()).encode()
    client.force_login(people_b.author)

    response = client.post(
        "/api/v1/frameworks/import",
        {"format": "case", "file": _upload(package), "scale": str(draft.identifier)},
    )
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["fields"] == [
        {
            "loc": ["form", "scale"],
            "msg": f"no framework with a proficiency scale is '{draft.identifier}'",
        }
    ]
    assert not Framework.objects.filter(title="What social service workers do").exists()

    response = client.post(
        "/api/v1/frameworks/import",
        {"format": "case", "file": _upload(package), "scale": str(para.identifier)},
    )
    assert response.status_code == HTTPStatus.CREATED, response.content
    body = response.json()
    imported = Framework.objects.get(identifier=body["identifier"])
    assert list(imported.levels.values_list("name", "is_proficient")) == list(
        para.levels.values_list("name", "is_proficient")
    )
    assert any("CFDocumentURI" in line for line in body["report"])
