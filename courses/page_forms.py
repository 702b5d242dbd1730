"""The admin forms of course and module pages: an address (slug) that is taken is dealt with
where the author is, and a module's competency mappings start from the course's framework.

Slugs: Wagtail refuses a slug that a sibling page holds, on the Promote tab, where an author
who only filled in the content does not look. Autosave makes this common: a form left
incomplete is saved as a draft, and starting again with the same title clashes with it. So
a clash with a draft that was never published gives the new page a free slug (``-2``,
``-3``…); a clash with a page that was published is said at the top of the form, naming
that page and where to edit it.

A module maps to competencies of the framework version its course trains against: the
competency chooser opens on that version (other frameworks stay one choice away in its
filter), and the target level lists only the levels of the mapped competency's framework
(of the course's framework for a new mapping), never two frameworks' levels mixed.
"""

import copy

from django import forms
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from wagtail.admin.forms import WagtailAdminPageForm

from competencies.models import CompetencyItem, ScaleLevel
from competencies.viewsets import FrameworkFirstChooser

MAPPINGS = "competency_mappings"
#: A level outside the list offered is one of another framework: said as the model says it.
FOREIGN_LEVEL = _("Choose a level of the competency's own framework.")


def _course_framework(form: WagtailAdminPageForm, parent_page):
    course = parent_page or (form.instance.get_parent() if form.instance.pk else None)
    return getattr(course.specific, "framework", None) if course else None


def _levels_of(framework_id):
    return ScaleLevel.objects.filter(framework_id=framework_id).order_by("order")


def _mapped_framework_id(mapping_form, default_id):
    """The framework of the competency the mapping names (as sent, else as saved)."""
    chosen = mapping_form.data.get(mapping_form.add_prefix("competency"), "")
    if mapping_form.is_bound and str(chosen).isdigit():
        found = CompetencyItem.objects.filter(pk=chosen).values_list("framework_id", flat=True)
        if found:
            return found[0]
    if mapping_form.instance.competency_id:
        return mapping_form.instance.competency.framework_id
    return default_id


def _slug_holder(slug: str, parent_page, instance):
    """The sibling page that holds ``slug``, if another one does."""
    if not slug or parent_page is None:
        return None
    return parent_page.get_children().filter(slug=slug).exclude(pk=instance.pk).first()


def _free_slug(slug: str, parent_page, instance) -> str:
    number = 2
    while _slug_holder(f"{slug}-{number}", parent_page, instance) is not None:
        number += 1
    return f"{slug}-{number}"


class SlugClashForm(WagtailAdminPageForm):
    """A taken slug: a free one instead of a forgotten draft's, or the page that holds it."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.slug_holder = None
        if not self.is_bound:
            return
        slug = self.data.get("slug", "")
        holder = _slug_holder(slug, self.parent_page, self.instance)
        if holder is not None and not holder.live and holder.first_published_at is None:
            data = self.data.copy()
            data["slug"] = _free_slug(slug, self.parent_page, self.instance)
            self.data = data
        else:
            self.slug_holder = holder

    def clean(self):
        cleaned_data = super().clean()
        holder = self.slug_holder
        if holder is not None and "slug" in self.errors:
            self.add_error(
                None,
                forms.ValidationError(
                    gettext(
                        "This page's address “%(slug)s” is already used by the page "
                        "“%(title)s” (%(url)s). Change this page's slug on the Promote tab, "
                        "or rename that page."
                    )
                    % {
                        "slug": holder.slug,
                        "title": holder.title,
                        "url": reverse("wagtailadmin_pages:edit", args=[holder.pk]),
                    }
                ),
            )
        return cleaned_data


class CoursePageForm(SlugClashForm):
    pass


class ModulePageForm(SlugClashForm):
    def __init__(self, *args, parent_page=None, **kwargs):
        super().__init__(*args, parent_page=parent_page, **kwargs)
        mappings = self.formsets.get(MAPPINGS)
        framework = _course_framework(self, parent_page)
        if mappings is None or framework is None:
            return
        # Every mapping form, the blank one "Add" copies too, is made from this class.
        base = mappings.form
        narrowed = type(base.__name__, (base,), {})
        narrowed.base_fields = copy.deepcopy(base.base_fields)
        narrowed.base_fields["competency"].widget = FrameworkFirstChooser(framework_id=framework.pk)
        narrowed.base_fields["target_level"].queryset = _levels_of(framework.pk)
        narrowed.base_fields["target_level"].error_messages["invalid_choice"] = FOREIGN_LEVEL
        mappings.form = narrowed
        for mapping_form in mappings.forms:
            framework_id = _mapped_framework_id(mapping_form, framework.pk)
            mapping_form.fields["target_level"].queryset = _levels_of(framework_id)
