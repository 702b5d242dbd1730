"""Writes of the courses app."""

from django.db import transaction

from courses.models import CourseIndexPage, InstitutionPage
from lms.models import Institution
from lms.services import institution_root_page_set


@transaction.atomic
def institution_page_create(
    *, institution: Institution, catalogue: CourseIndexPage, intro: str = ""
) -> InstitutionPage:
    """Give an institution its section of the catalogue and make it its staff's working area."""
    page = InstitutionPage(
        title=institution.name, slug=institution.slug, institution=institution, intro=intro
    )
    catalogue.add_child(instance=page)
    page.save_revision().publish()
    institution_root_page_set(institution=institution, page=page)
    return page
