"""Wagtail page types of the course catalogue.

The tree is: ``CourseIndexPage`` (the catalogue, usually the site's home) →
``InstitutionPage`` (one institution's section: its staff's Wagtail permissions are granted
here, so they see and edit only their own courses) → courses and modules.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import FieldPanel
from wagtail.fields import RichTextField
from wagtail.models import Page
from wagtail.search import index


class CourseIndexPage(Page):
    """The catalogue of courses, grouped by institution."""

    intro = RichTextField(_("introduction"), blank=True)

    content_panels = [*Page.content_panels, FieldPanel("intro")]
    subpage_types = ["courses.InstitutionPage"]
    max_count_per_parent = 1

    class Meta:
        verbose_name = _("course catalogue")

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        context["institution_pages"] = (
            InstitutionPage.objects.child_of(self).live().select_related("institution")
        )
        return context


class InstitutionPage(Page):
    """One training institution's section of the site."""

    institution = models.OneToOneField(
        "lms.Institution",
        on_delete=models.PROTECT,
        related_name="page",
        verbose_name=_("institution"),
    )
    intro = RichTextField(_("introduction"), blank=True)

    content_panels = [*Page.content_panels, FieldPanel("institution"), FieldPanel("intro")]
    parent_page_types = ["courses.CourseIndexPage"]
    subpage_types: list[str] = []
    search_fields = [*Page.search_fields, index.SearchField("intro")]

    class Meta:
        verbose_name = _("institution section")
