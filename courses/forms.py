"""Forms of the courses app's institution and supervisor pages. They parse what people type and
offer the choices they may make; the rules themselves are :mod:`courses.services`'."""

import uuid
from functools import reduce
from operator import or_

from django import forms
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from competencies.models import ItemKind, ScaleLevel
from competencies.selectors import framework_tree_rows
from courses.cohorts import COLUMNS, MAX_BYTES
from courses.models import CoursePage, ModulePage
from courses.selectors import institution_courses
from lms.models import Institution


class CohortForm(forms.Form):
    institution = forms.ModelChoiceField(queryset=None, label=_("Institution"))
    name = forms.CharField(
        label=_("Name"),
        max_length=200,
        help_text=_("e.g. “Kibera volunteers, March intake”."),
    )
    course = forms.ModelChoiceField(queryset=None, label=_("Course"))
    starts_on = forms.DateField(
        label=_("Starts on"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    ends_on = forms.DateField(
        label=_("Ends on"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, institutions, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["institution"].queryset = Institution.objects.filter(
            pk__in=[institution.pk for institution in institutions]
        )
        if len(institutions) == 1:
            self.fields["institution"].initial = institutions[0]
            self.fields["institution"].widget = forms.HiddenInput()
        courses = CoursePage.objects.none()
        for institution in institutions:
            courses |= institution_courses(institution=institution)
        self.fields["course"].queryset = courses.order_by("title")
        if len(institutions) > 1:
            self.fields["course"].label_from_instance = lambda course: (
                f"{course.title} ({course.get_parent().title})"
            )


class LearnerImportForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file of learners"),
        help_text=_(
            "A header line, then one learner per line, with the columns %(columns)s. "
            "E-mail, region, district and worker registration number may be empty."
        )
        % {"columns": ", ".join(COLUMNS)},
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_BYTES:
            raise forms.ValidationError(
                _("The file is larger than %(size)d MB.") % {"size": MAX_BYTES // (1024 * 1024)}
            )
        return upload


class ObservationForm(forms.Form):
    """What a supervisor fills in on their phone; the choices are the institution's own."""

    learner = forms.ModelChoiceField(queryset=None, label=_("Learner"))
    competency = forms.TypedChoiceField(label=_("Competency"), coerce=int)
    level = forms.TypedChoiceField(label=_("Level shown"), coerce=int)
    observed_on = forms.DateField(
        label=_("Observed on"), widget=forms.DateInput(attrs={"type": "date"})
    )
    notes = forms.CharField(
        label=_("Notes"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("What you saw the learner do."),
    )
    module = forms.TypedChoiceField(
        label=_("Practice activity of module"),
        coerce=int,
        required=False,
        empty_value=None,
        help_text=_("Only if you observed a module's practice activity."),
    )
    event_id = forms.UUIDField(widget=forms.HiddenInput)

    def __init__(self, *args, institution, learners, **kwargs):
        kwargs.setdefault("initial", {})
        kwargs["initial"].setdefault("observed_on", timezone.localdate())
        kwargs["initial"].setdefault("event_id", uuid.uuid4())
        super().__init__(*args, **kwargs)
        learner_field = self.fields["learner"]
        learner_field.queryset = learners.select_related("learner_profile").order_by(
            "learner_profile__full_name", "username"
        )
        learner_field.label_from_instance = _learner_label
        learner_field.error_messages["invalid_choice"] = _(
            "This person is not enrolled in any of %(institution)s's courses."
        ) % {"institution": institution.name}

        courses = list(institution_courses(institution=institution).select_related("framework"))
        frameworks = {c.framework_id: c.framework for c in courses if c.framework_id}
        self._competencies, competency_choices = {}, [("", "---------")]
        for framework in sorted(frameworks.values(), key=str):
            options = []
            for node in framework_tree_rows(framework=framework):
                if node.item.kind != ItemKind.DOMAIN:
                    self._competencies[node.item.pk] = node.item
                    options.append((node.item.pk, str(node.item)))
            competency_choices.append((str(framework), options))
        self.fields["competency"].choices = competency_choices

        levels = ScaleLevel.objects.filter(framework__in=frameworks).order_by("framework", "order")
        self._levels = {level.pk: level for level in levels}
        level_choices = [("", "---------")]
        for framework in sorted(frameworks.values(), key=str):
            options = [(lv.pk, lv.name) for lv in levels if lv.framework_id == framework.pk]
            if len(frameworks) == 1:
                level_choices.extend(options)
            else:
                level_choices.append((str(framework), options))
        self.fields["level"].choices = level_choices

        in_courses = reduce(or_, (Q(path__startswith=c.path) for c in courses), Q(pk__in=[]))
        modules = ModulePage.objects.live().filter(in_courses).order_by("path")
        self._modules = {module.pk: module for module in modules}
        module_choices = [("", _("None"))]
        for course in courses:
            options = [
                (m.pk, m.title) for m in self._modules.values() if m.path.startswith(course.path)
            ]
            if options:
                module_choices.append((course.title, options))
        self.fields["module"].choices = module_choices

    def clean_competency(self):
        return self._competencies[self.cleaned_data["competency"]]

    def clean_level(self):
        return self._levels[self.cleaned_data["level"]]

    def clean_module(self):
        pk = self.cleaned_data["module"]
        return self._modules[pk] if pk is not None else None


def _learner_label(user) -> str:
    profile = getattr(user, "learner_profile", None)
    if profile is not None and profile.full_name:
        return f"{profile.full_name} ({user.get_username()})"
    return user.get_username()


class PriorLearningForm(ObservationForm):
    """Recognition of what a learner learnt elsewhere (a diploma, years of supervised work)."""

    title = forms.CharField(
        label=_("What is recognised"),
        max_length=300,
        help_text=_("E.g. “Diploma in Social Work, University of Nairobi, 2019”."),
    )
    evidence_url = forms.URLField(
        label=_("Link to the evidence"),
        required=False,
        max_length=500,
        assume_scheme="https",
        help_text=_("Optional: where the certificate or assessment can be seen."),
    )

    field_order = ["learner", "competency", "level", "observed_on", "title", "evidence_url"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["module"]
        self.fields["observed_on"].label = _("Achieved on")
        self.fields["level"].label = _("Level recognised")
        self.fields["notes"].help_text = _("How the institution assessed it.")
        self.order_fields(self.field_order)
