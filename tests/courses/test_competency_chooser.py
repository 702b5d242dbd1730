"""Authors find a competency in a big framework with the chooser: by code or by words."""

from http import HTTPStatus

import pytest

from competencies import services as competency_services

pytestmark = pytest.mark.django_db


def test_chooser_searches_published_items_by_code_and_words(client, people_a, published_framework):
    draft = competency_services.framework_create(title="Draft", creator="A")
    competency_services.item_create(framework=draft, full_statement="Referral draft", code="D.1")
    client.force_login(people_a.author)
    response = client.get("/admin/competency_chooser/results/", {"q": "PP.5.2"})
    assert response.status_code == HTTPStatus.OK
    page = response.content.decode()
    assert "Develops and reviews a case plan" in page
    assert "Opens and documents a case" not in page

    page = client.get("/admin/competency_chooser/results/", {"q": "referral"}).content.decode()
    assert "Referral to services" in page
    assert "Referral draft" not in page  # drafts cannot be mapped


def test_module_mapping_uses_the_chooser_widget(client, people_a, course):
    from courses.models import ModulePage

    module = ModulePage.objects.child_of(course).first()
    client.force_login(people_a.author)
    page = client.get(f"/admin/pages/{module.pk}/edit/").content.decode()
    assert "Choose a competency" in page or "Choose another competency" in page
