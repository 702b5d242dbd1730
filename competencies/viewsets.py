"""The competency chooser: how authors find one item in a framework of thousands.

A modal (Wagtail's chooser) that lists items of *published* frameworks, searchable by code
prefix ("PP.5") or by words in the statement, and filterable by framework. Course modules use
its widget to map a module to a competency.
"""

from urllib.parse import urlencode

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from wagtail.admin.forms.choosers import BaseFilterForm
from wagtail.admin.views.generic import chooser as chooser_views
from wagtail.admin.viewsets.chooser import ChooserViewSet

from competencies.models import CompetencyItem, Framework, FrameworkStatus


class CompetencyFilterForm(BaseFilterForm):
    q = forms.CharField(
        label=_("Code or words"),
        required=False,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. PP.5 or referral")}),
    )
    framework = forms.ModelChoiceField(
        label=_("Framework"),
        queryset=Framework.objects.filter(status=FrameworkStatus.PUBLISHED),
        required=False,
    )

    def filter(self, objects):
        objects = super().filter(objects)
        framework = self.cleaned_data.get("framework")
        if framework:
            objects = objects.filter(framework=framework)
        query = (self.cleaned_data.get("q") or "").strip()
        if query:
            objects = objects.filter(
                Q(code__istartswith=query)
                | Q(full_statement__icontains=query)
                | Q(abbreviated_statement__icontains=query)
            )
            self.is_searching = True
            self.search_query = query
        return objects


class CompetencyChooseMixin:
    filter_form_class = CompetencyFilterForm
    ordering = ["framework__title", "framework__version", "code"]

    def get_object_list(self):
        return CompetencyItem.objects.filter(
            framework__status=FrameworkStatus.PUBLISHED
        ).select_related("framework")


class CompetencyChooseView(CompetencyChooseMixin, chooser_views.ChooseView):
    pass


class CompetencyChooseResultsView(CompetencyChooseMixin, chooser_views.ChooseResultsView):
    pass


class CompetencyChooserViewSet(ChooserViewSet):
    model = CompetencyItem
    icon = "list-ul"
    choose_one_text = _("Choose a competency")
    choose_another_text = _("Choose another competency")
    choose_view_class = CompetencyChooseView
    choose_results_view_class = CompetencyChooseResultsView
    per_page = 25


competency_chooser_viewset = CompetencyChooserViewSet("competency_chooser")


class FrameworkFirstChooser(competency_chooser_viewset.widget_class):
    """The chooser opened on one framework version (the course's): its competencies are
    listed first, and the others are one choice away in the modal's framework filter."""

    def __init__(self, *args, framework_id: int | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.framework_id = framework_id

    def get_chooser_modal_url(self):
        url = super().get_chooser_modal_url()
        return f"{url}?{urlencode({'framework': self.framework_id})}" if self.framework_id else url
