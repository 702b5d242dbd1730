"""Forms of the regulator's workspace: the statistics filters and the planning inputs."""

from decimal import Decimal
from pathlib import Path

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from competencies import selectors as competency_selectors
from lms.models import Cadre, Sector
from regulation import counting, selectors
from regulation.figures import DIMENSIONS, Filters
from regulation.models import CpdActivity, CpdRequirement

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
        regions = counting.regions_of(body=body)
        districts = counting.districts_of(body=body)
        self.fields["region"].choices = [("", _("All regions"))] + [(r, r) for r in regions]
        self.fields["district"].choices = [("", _("All districts"))] + [(d, d) for d in districts]
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


# --- CPD -------------------------------------------------------------------------------------

#: What evidence may be: a scan or a photo of a certificate of attendance, say.
EVIDENCE_TYPES = {".pdf", ".jpg", ".jpeg", ".png"}
EVIDENCE_MAX_BYTES = 5 * 1024 * 1024


class CompetencyChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.code} {obj.abbreviated_statement or obj.full_statement[:80]}".strip()


class ActivityForm(forms.ModelForm):
    competencies = CompetencyChoiceField(
        queryset=None, required=False, label=_("Competencies it developed")
    )

    class Meta:
        model = CpdActivity
        fields = ["institution", "title", "provider", "done_on", "hours", "evidence"]
        widgets = {"done_on": forms.DateInput(attrs={"type": "date"})}

    def __init__(self, *args, institutions, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["institution"].queryset = institutions
        self.fields["competencies"].queryset = competency_selectors.published_items(
            kind="competency"
        )
        self.fields["hours"].min_value = Decimal("0.5")

    def clean_evidence(self):
        evidence = self.cleaned_data["evidence"]
        suffix = Path(evidence.name).suffix.lower()
        if suffix not in EVIDENCE_TYPES:
            raise forms.ValidationError(
                _("Evidence must be a PDF, JPEG or PNG file, not “%(suffix)s”.")
                % {"suffix": suffix or evidence.name}
            )
        if evidence.size > EVIDENCE_MAX_BYTES:
            raise forms.ValidationError(_("Evidence must be at most 5 MB."))
        return evidence

    def clean_done_on(self):
        done_on = self.cleaned_data["done_on"]
        if done_on > timezone.localdate():
            raise forms.ValidationError(_("The date is in the future."))
        return done_on

    def clean_hours(self):
        hours = self.cleaned_data["hours"]
        if hours <= 0:
            raise forms.ValidationError(_("The hours must be more than zero."))
        return hours


class RejectForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), max_length=1000, widget=forms.Textarea(attrs={"rows": 2})
    )


class RequirementForm(forms.ModelForm):
    competencies = CompetencyChoiceField(
        queryset=None, required=False, label=_("Only in these competencies")
    )

    class Meta:
        model = CpdRequirement
        fields = ["title", "cadre", "hours", "period_start", "period_end", "domain"]
        widgets = {
            "period_start": forms.DateInput(attrs={"type": "date"}),
            "period_end": forms.DateInput(attrs={"type": "date"}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["competencies"].queryset = competency_selectors.published_items(
            kind="competency"
        )
        self.fields["domain"].queryset = competency_selectors.published_items(kind="domain")
        self.fields["domain"].label_from_instance = lambda item: (
            f"{item.code} {item.abbreviated_statement or item.full_statement[:80]}".strip()
        )

    def clean(self):
        data = super().clean()
        start, end = data.get("period_start"), data.get("period_end")
        if start and end and end < start:
            raise forms.ValidationError(_("The period ends before it starts."))
        hours = data.get("hours")
        if hours is not None and hours <= 0:
            self.add_error("hours", _("The hours must be more than zero."))
        return data
