"""Forms of the certificates admin. They parse what staff type and offer only the choices they
may make (their own institutions' courses, templates and learners); the rules themselves are
:mod:`certificates.services`'."""

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from wagtail.admin.forms import WagtailAdminModelForm
from wagtail.permissions import policy_registry

from certificates.models import CertificateTemplate
from certificates.selectors import RegisterStatus
from courses.models import CoursePage
from courses.selectors import institution_courses, institution_learners


def _allowed_institutions(form: WagtailAdminModelForm):
    """The institutions the form's user may add (or, editing, change) records of this kind in."""
    policy = policy_registry.get_by_type(type(form.instance))
    action = "change" if form.instance.pk else "add"
    return policy.institutions_for(form.for_user, [action])


class CertificateTemplateForm(WagtailAdminModelForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        institutions = _allowed_institutions(self)
        field = self.fields["institution"]
        field.queryset = institutions
        if not self.instance.pk and len(institutions) == 1:
            field.initial = institutions[0].pk


class CertificateRuleForm(WagtailAdminModelForm):
    """A course's certificate: only the user's institutions' courses and templates are offered
    (the template must be of the course's institution: :meth:`CertificateRule.clean`)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        institutions = list(_allowed_institutions(self))
        courses = CoursePage.objects.none()
        for institution in institutions:
            courses |= institution_courses(institution=institution)
        if self.instance.course_id:  # keep the course of a rule whose course was unpublished
            courses |= CoursePage.objects.filter(pk=self.instance.course_id)
        course = self.fields["course"]
        course.widget = forms.Select()
        course.queryset = courses.order_by("title")
        self.fields["template"].queryset = CertificateTemplate.objects.filter(
            institution__in=institutions
        ).select_related("institution")


# --- Register ---------------------------------------------------------------------------------


class RegisterFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=200,
        help_text=_("Holder name, certificate code (with or without dashes), course or username."),
    )
    status = forms.ChoiceField(label=_("Status"), required=False, choices=RegisterStatus.choices)
    course = forms.ModelChoiceField(
        label=_("Course"), required=False, queryset=None, empty_label=_("All courses")
    )

    def __init__(self, *args, certificates, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["course"].queryset = CoursePage.objects.filter(
            pk__in=certificates.values("course_id")
        ).order_by("title")


# --- Actions on a certificate -----------------------------------------------------------------


class RevokeForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for revoking"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Shown to anyone who verifies the certificate, and kept in its audit log."),
    )


class ReissueForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for re-issuing"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("e.g. “Name misspelt”, “New template with the right signatory”."),
    )
    holder_name = forms.CharField(
        label=_("Corrected holder name"),
        required=False,
        max_length=200,
        help_text=_("Leave empty to print the name from the learner's profile."),
    )


class IssueForm(forms.Form):
    """Issue one learner's certificate. "Issue anyway" needs the reason for overriding."""

    course = forms.ModelChoiceField(
        label=_("Course"),
        queryset=None,
        help_text=_("Only courses that award a certificate are listed."),
    )
    learner = forms.CharField(
        label=_("Learner"),
        max_length=254,
        help_text=_("Username or e-mail address of a learner enrolled in one of your courses."),
    )
    override_reason = forms.CharField(
        label=_("Reason for issuing without the criteria"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Kept in the certificate's audit log."),
    )

    def __init__(self, *args, institutions, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["course"].queryset = (
            CoursePage.objects.filter(certificate_rule__template__institution__in=institutions)
            .select_related("certificate_rule__template__institution")
            .order_by("title")
        )

    @property
    def issue_anyway(self) -> bool:
        return bool(self.data.get("issue_anyway"))

    def clean(self):
        cleaned = super().clean()
        course, text = cleaned.get("course"), (cleaned.get("learner") or "").strip()
        if course and text:
            institution = course.certificate_rule.template.institution
            learners = institution_learners(institution=institution).filter(
                Q(username__iexact=text) | Q(email__iexact=text)
            )[:2]
            learners = list(learners)
            if len(learners) != 1:
                self.add_error(
                    "learner",
                    _("No learner of %(institution)s has the username or e-mail “%(text)s”.")
                    % {"institution": institution.name, "text": text}
                    if not learners
                    else _("Several learners have this e-mail address: give the username."),
                )
            else:
                cleaned["learner"] = learners[0]
        if self.issue_anyway and not cleaned.get("override_reason", "").strip():
            self.add_error(
                "override_reason", _("Say why you issue the certificate without the criteria.")
            )
        if not self.issue_anyway:
            cleaned["override_reason"] = ""
        return cleaned
