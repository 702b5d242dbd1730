"""The admin form of a module page: its competency mappings start from the course's
framework.

A module maps to competencies of the framework version its course trains against: the
competency chooser opens on that version (other frameworks stay one choice away in its
filter), and the target level lists only the levels of the mapped competency's framework
(of the course's framework for a new mapping), never two frameworks' levels mixed.
"""

import copy

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


class ModulePageForm(WagtailAdminPageForm):
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
