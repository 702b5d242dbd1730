"""Authors find a competency in a big framework with the chooser: by code or by words."""

import re
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


# --- The chooser starts from the course's framework -----------------------------------------


@pytest.fixture
def other_framework(institution_a):
    """A second published framework, with its own scale, that the demo course does not use."""
    from competencies.interchange.data import LevelData

    other = competency_services.framework_create(title="Other national framework", creator="B")
    competency_services.scale_set(
        framework=other,
        levels=[LevelData(name="Novice"), LevelData(name="Expert", is_proficient=True)],
    )
    competency_services.item_create(framework=other, full_statement="Other referral", code="O.1")
    return competency_services.framework_publish(framework=other)


def module_edit_page(client, course) -> str:
    from courses.models import ModulePage

    module = ModulePage.objects.child_of(course).first()
    return client.get(f"/admin/pages/{module.pk}/edit/").content.decode()


def test_the_chooser_opens_on_the_courses_framework_version(
    client, people_a, course, other_framework
):
    client.force_login(people_a.author)

    page = module_edit_page(client, course)

    assert f"/admin/competency_chooser/?framework={course.framework_id}" in page

    modal = client.get("/admin/competency_chooser/", {"framework": course.framework_id})
    body = modal.json()["html"]
    assert "PP.1" in body  # the course framework's items come first
    assert "Other referral" not in body
    # The other framework is one choice away in the modal's filter.
    assert f'<option value="{other_framework.pk}">' in body
    assert re.search(rf'<option value="{course.framework_id}" selected>', body)


def test_the_target_levels_are_only_the_courses_framework_levels(
    client, people_a, course, other_framework
):
    client.force_login(people_a.author)

    page = module_edit_page(client, course)

    levels = re.findall(r"<option value=\"\d+\"[^>]*>([^<]+)</option>", page)
    framework_levels = [name for name in levels if " — " in name]
    assert framework_levels, "no target level offered"
    assert all(course.framework.title in name for name in framework_levels), framework_levels
    assert not any("Other national framework" in name for name in levels)
