"""Demo content of courses: the catalogue at the site root and a section per institution."""

from django.db import transaction
from wagtail.models import Page, Site

from courses.models import CourseIndexPage
from courses.services import institution_page_create
from lms.models import Institution


@transaction.atomic
def seed() -> None:
    catalogue = CourseIndexPage.objects.first()
    if catalogue is None:
        root = Page.get_first_root_node()
        catalogue = CourseIndexPage(
            title="Courses for the social service workforce",
            slug="courses",
            intro=(
                "<p>Free, phone-friendly training for social workers, para-professionals and "
                "community volunteers who protect children and families.</p>"
            ),
        )
        root.add_child(instance=catalogue)
        catalogue.save_revision().publish()
        site = Site.objects.filter(is_default_site=True).first()
        old_home = site.root_page if site else None
        if site:
            site.root_page = catalogue
            site.site_name = "SSW Learning"
            site.save()
        else:
            Site.objects.create(
                hostname="localhost",
                port=80,
                root_page=catalogue,
                is_default_site=True,
                site_name="SSW Learning",
            )
        # Wagtail's "Welcome to your new Wagtail site!" page is no use to anyone.
        if old_home and old_home.specific_class is Page and old_home.depth == 2:
            old_home.delete()
    for institution in Institution.objects.filter(page__isnull=True):
        institution_page_create(institution=institution, catalogue=catalogue)
