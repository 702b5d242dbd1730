"""What the catalogue, course and module pages show a visitor, read through the selectors.

Registered in :data:`courses.models.pages.VISITOR_CONTEXTS` by ``CoursesConfig.ready``:
each function takes the page and the request and returns what it adds to the template's
context.
"""

from courses import selectors
from courses.models import CourseIndexPage, CoursePage, ModulePage
from courses.models.pages import VISITOR_CONTEXTS
from courses.translations import source_page


def catalogue_context(catalogue: CourseIndexPage, request) -> dict:
    # Every course is listed in every language (at the same address, a course is served in
    # the site's language when it has a translation).
    catalogue = source_page(catalogue)
    filters = selectors.CatalogueFilters.from_query(request.GET)
    return {
        "filters": filters,
        "courses": selectors.catalogue_courses(catalogue=catalogue, filters=filters),
        "filter_choices": selectors.catalogue_filter_choices(catalogue=catalogue),
    }


def course_context(course: CoursePage, request) -> dict:
    return selectors.course_page_context(course=course, user=request.user)


def module_context(module: ModulePage, request) -> dict:
    return selectors.module_page_context(module=module, user=request.user)


def register() -> None:
    VISITOR_CONTEXTS.update(
        {
            CourseIndexPage: catalogue_context,
            CoursePage: course_context,
            ModulePage: module_context,
        }
    )
