from allauth.account.forms import LoginForm as AllauthLoginForm
from allauth.core import context
from allauth.mfa.base.forms import AuthenticateForm
from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from lms import lockout
from lms.models import LearnerProfile, WebhookEvent


class LearnerProfileForm(forms.ModelForm):
    country = forms.CharField(
        label=_("Country"),
        max_length=60,
        help_text=_("Two-letter code, e.g. KE for Kenya, ZA for South Africa."),
        widget=forms.TextInput(attrs={"size": 4, "autocapitalize": "characters"}),
    )

    class Meta:
        model = LearnerProfile
        fields = [
            "full_name",
            "cadre",
            "is_paid",
            "sector",
            "organisation",
            "country",
            "region",
            "district",
            "worker_registration_number",
            "preferred_language",
            "listed_in_register",
        ]
        widgets = {
            "cadre": forms.RadioSelect,
            "sector": forms.RadioSelect,
        }
        labels = {"is_paid": _("I am paid for this work")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("cadre", "sector"):  # radio buttons need no "---------" choice
            self.fields[name].choices = [c for c in self.fields[name].choices if c[0] != ""]

    def clean_country(self):
        country = self.cleaned_data["country"].strip().upper()
        if len(country) != 2 or not country.isalpha():
            raise forms.ValidationError(
                _("Enter the two-letter country code, for example KE for Kenya.")
            )
        return country

    def clean_worker_registration_number(self):
        return self.cleaned_data["worker_registration_number"].strip()

    def clean(self):
        cleaned = super().clean()
        number = cleaned.get("worker_registration_number")
        country = cleaned.get("country")
        if number and country:
            taken = LearnerProfile.objects.filter(
                country=country, worker_registration_number=number
            )
            if self.instance.pk:
                taken = taken.exclude(pk=self.instance.pk)
            if taken.exists():
                self.add_error(
                    "worker_registration_number",
                    _("Another learner already has this registration number in this country."),
                )
        return cleaned


class ApiKeyCreateForm(forms.Form):
    institution = forms.ModelChoiceField(queryset=None, label=_("Institution"))
    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        help_text=_("What will use this key, e.g. 'Moodle at the regional college'."),
    )

    def __init__(self, *args, institutions, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["institution"].queryset = institutions
        if institutions.count() == 1:
            self.fields["institution"].initial = institutions.first()


class WebhookCreateForm(forms.Form):
    institution = forms.ModelChoiceField(queryset=None, label=_("Institution"))
    url = forms.URLField(
        label=_("URL"),
        max_length=500,
        assume_scheme="https",
        help_text=_("Where to POST the events, e.g. https://lms.example.org/ssw/webhook."),
    )
    events = forms.MultipleChoiceField(
        label=_("Events"),
        choices=WebhookEvent.choices,
        widget=forms.CheckboxSelectMultiple,
        initial=list(WebhookEvent.values),
    )

    def __init__(self, *args, institutions, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["institution"].queryset = institutions
        if institutions.count() == 1:
            self.fields["institution"].initial = institutions.first()


class LoginForm(AllauthLoginForm):
    """allauth's log-in form, with a label that says a username works as well as an e-mail."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["login"].label = _("Username or e-mail")


class MfaAuthenticateForm(AuthenticateForm):
    """allauth's authenticator-code form (``MFA_FORMS``): a lockout answers 429 (lms.lockout)."""

    def clean_code(self):
        try:
            return super().clean_code()
        except ValidationError as error:
            lockout.refuse_locked_out(context.request, error)
            raise
