"""An author whose page's address (slug) is taken learns it where they are.

Autosave keeps a form left incomplete as a draft; starting again with the same title then
clashes with that draft's slug. A new page that clashes with a draft never published gets a
free slug and publishes; one that clashes with a published page is refused with a message
at the top of the form naming that page and where to edit it (not only on the Promote tab).
"""

import html

import pytest
from django.contrib.messages import get_messages

from courses.models import CoursePage, InstitutionPage
from tests.courses.test_authoring import add_url, course_post_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def section(institution_a, course):
    return InstitutionPage.objects.get(institution=institution_a)


def draft_course(section, framework, *, publish: bool) -> CoursePage:
    page = CoursePage(
        title="Referral and follow-up",
        slug="referral",
        summary="Left half-done.",
        framework=framework,
    )
    section.add_child(instance=page)
    revision = page.save_revision()
    if publish:
        revision.publish()
    else:
        page.unpublish()
    return CoursePage.objects.get(pk=page.pk)


def test_a_clash_with_a_forgotten_draft_gives_the_new_page_a_free_slug(
    client, people_a, section, published_framework
):
    draft_course(section, published_framework, publish=False)
    client.force_login(people_a.author)

    response = client.post(add_url(CoursePage, section), course_post_data(published_framework))

    assert response.status_code == 302, response.content.decode()[:3000]
    new = CoursePage.objects.child_of(section).get(slug="referral-2")
    assert new.live and new.title == "Referral and follow-up"


def test_a_clash_with_a_published_page_names_it_at_the_top_of_the_form(
    client, people_a, section, published_framework
):
    holder = draft_course(section, published_framework, publish=True)
    client.force_login(people_a.author)

    response = client.post(add_url(CoursePage, section), course_post_data(published_framework))

    assert response.status_code == 200
    top = " ".join(html.unescape(str(m)) for m in get_messages(response.wsgi_request))
    assert "The page could not be created due to validation errors." in top
    assert f"“{holder.title}” (/admin/pages/{holder.pk}/edit/)" in top
    assert "This page's address “referral” is already used by the page" in top
    assert f"(/admin/pages/{holder.pk}/edit/)" in response.content.decode()  # shown, at the top
    assert CoursePage.objects.child_of(section).filter(slug="referral").count() == 1
