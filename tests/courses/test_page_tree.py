"""The catalogue's page tree is what authors can build in the Wagtail admin: catalogue →
institution → course → module, and nothing else under or between them (the rules of
``parent_page_types`` and ``subpage_types``, checked with Wagtail's own page test case)."""

from wagtail.models import Page
from wagtail.test.utils import WagtailPageTestCase

from courses.models import CourseIndexPage, CoursePage, InstitutionPage, ModulePage


class PageTreeRules(WagtailPageTestCase):
    def test_an_institution_s_section_sits_only_in_the_catalogue(self):
        self.assertAllowedParentPageTypes(InstitutionPage, {CourseIndexPage})
        self.assertCanCreateAt(CourseIndexPage, InstitutionPage)
        self.assertCanNotCreateAt(Page, InstitutionPage)

    def test_a_course_sits_only_in_an_institution_s_section(self):
        self.assertAllowedParentPageTypes(CoursePage, {InstitutionPage})
        self.assertCanCreateAt(InstitutionPage, CoursePage)
        self.assertCanNotCreateAt(CourseIndexPage, CoursePage)
        self.assertCanNotCreateAt(Page, CoursePage)

    def test_a_module_sits_only_in_a_course_and_has_no_pages_under_it(self):
        self.assertAllowedParentPageTypes(ModulePage, {CoursePage})
        self.assertAllowedSubpageTypes(ModulePage, set())
        self.assertCanNotCreateAt(InstitutionPage, ModulePage)
        self.assertCanNotCreateAt(ModulePage, ModulePage)

    def test_each_level_holds_only_the_next(self):
        self.assertAllowedSubpageTypes(CourseIndexPage, {InstitutionPage})
        self.assertAllowedSubpageTypes(InstitutionPage, {CoursePage})
        self.assertAllowedSubpageTypes(CoursePage, {ModulePage})

    def test_the_catalogue_may_go_under_a_site_s_own_pages(self):
        self.assertCanCreateAt(Page, CourseIndexPage)
        self.assertCanNotCreateAt(InstitutionPage, CourseIndexPage)
