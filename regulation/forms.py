"""Forms of the regulator's workspace: the statistics filters and the planning inputs."""

from django import forms
from django.utils.translation import gettext_lazy as _

from lms.models import Cadre, Sector
from regulation import selectors
from regulation.statistics import DIMENSIONS, Filters

PAID_CHOICES = [("", _("Paid and unpaid")), ("paid", _("Paid")), ("unpaid", _("Unpaid"))]


class FiltersForm(forms.Form):
    """The filters every statistics view and export takes from its query string."""

    region = forms.ChoiceField(label=_("Region"), required=False)
    district = forms.ChoiceField(label=_("District"), required=False)
    cadre = forms.ChoiceField(
        label=_("Cadre"), required=False, choices=[("", _("All cadres")), *Cadre.choices]
    )
    sector = forms.ChoiceField(
        label=_("Sector"), required=False, choices=[("", _("All sectors")), *Sector.choices]
    )
    paid = forms.ChoiceField(label=_("Paid or unpaid"), required=False, choices=PAID_CHOICES)
    institution = forms.TypedChoiceField(
        label=_("Institution"), required=False, coerce=int, empty_value=None
    )
    date_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    group = forms.ChoiceField(label=_("Group by"), required=False, choices=list(DIMENSIONS.items()))

    def __init__(self, data=None, *, body):
        super().__init__(data)
        self.fields["region"].choices = [("", _("All regions"))] + [
            (r, r) for r in selectors.jurisdiction_regions(body=body)
        ]
        self.fields["district"].choices = [("", _("All districts"))] + [
            (d, d) for d in selectors.jurisdiction_districts(body=body)
        ]
        self.fields["institution"].choices = [("", _("All institutions"))] + [
            (i.pk, i.name) for i in selectors.jurisdiction_institutions(body=body)
        ]

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            raise forms.ValidationError(_("The start of the date range is after its end."))
        return data

    def filters(self) -> Filters:
        """The filters, or none when the form is invalid (its errors are shown)."""
        if not self.is_valid():
            return Filters()
        data = self.cleaned_data
        return Filters(
            region=data["region"],
            district=data["district"],
            cadre=data["cadre"],
            sector=data["sector"],
            paid=data["paid"],
            institution_id=data["institution"],
            date_from=data["date_from"],
            date_to=data["date_to"],
        )

    def grouping(self) -> str:
        return (self.is_valid() and self.cleaned_data.get("group")) or "region"


class PopulationUploadForm(forms.Form):
    file = forms.FileField(
        label=_("Population by region (CSV)"),
        help_text=_("Columns: region, total_population, children_under_18, with that header."),
    )


class TargetForm(forms.Form):
    children_per_worker = forms.IntegerField(
        label=_("Target: children per certified worker"),
        min_value=1,
        max_value=10_000_000,
        help_text=_("E.g. 1000 for one certified social service worker per 1,000 children."),
    )
