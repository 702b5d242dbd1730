"""The catalogue's page types: catalogue → institution → course → module (see the package's
docstring), and the competencies a module builds."""

from collections.abc import Callable

from django.core.exceptions import ValidationError
from django.db import models
from django.http import Http404, HttpRequest
from django.utils.translation import gettext_lazy as _
from modelcluster.fields import ParentalKey
from wagtail.admin.panels import FieldPanel, InlinePanel, MultiFieldPanel
from wagtail.fields import RichTextField, StreamField
from wagtail.models import Orderable, Page
from wagtail.search import index

from competencies.viewsets import competency_chooser_viewset
from courses.blocks import ModuleBodyBlock
from courses.page_forms import CoursePageForm, ModulePageForm
from courses.translations import source_page
from lms.models import Cadre, language_choices

#: What each page type adds to its template's context for the visitor (the catalogue's
#: courses, a learner's progress), by page class: filled by ``CoursesConfig.ready`` from
#: :mod:`courses.page_contexts`, so that page models never import the selectors.
VISITOR_CONTEXTS: dict[type, Callable[[Page, HttpRequest], dict]] = {}


def visitor_context(page: Page, request: HttpRequest) -> dict:
    """What ``page``'s type (or the nearest of its bases) adds for the visitor."""
    for cls in type(page).__mro__:
        if cls in VISITOR_CONTEXTS:
            return VISITOR_CONTEXTS[cls](page, request)
    return {}


# --- Pages --------------------------------------------------------------------------------


class CourseIndexPage(Page):
    """The catalogue of courses, grouped by institution."""

    intro = RichTextField(_("introduction"), blank=True)

    content_panels = [*Page.content_panels, FieldPanel("intro")]
    subpage_types = ["courses.InstitutionPage"]
    max_count_per_parent = 1

    class Meta:
        verbose_name = _("course catalogue")

    def route(self, request, path_components):
        """In another language, a page not translated yet is served in its original: the
        site routes through this catalogue's translation in the site's language, whose tree
        only holds the pages translated so far (courses.translations)."""
        try:
            return super().route(request, path_components)
        except Http404:
            original = source_page(self)
            if original.pk == self.pk:
                raise
            return original.route(request, path_components)

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        context.update(visitor_context(self, request))
        return context


class InstitutionPage(Page):
    """One training institution's section of the site."""

    # One section per institution, and one per translation of it (same institution): the
    # original is the institution's ``root_page``, which services.institution_page_create sets.
    institution = models.ForeignKey(
        "lms.Institution",
        on_delete=models.PROTECT,
        related_name="pages",
        verbose_name=_("institution"),
    )
    intro = RichTextField(_("introduction"), blank=True)

    # Only superusers choose the institution: staff would otherwise see every institution's
    # name in the list and could try to hand their section to another.
    content_panels = [
        *Page.content_panels,
        FieldPanel("institution", permission="superuser"),
        FieldPanel("intro"),
    ]
    parent_page_types = ["courses.CourseIndexPage"]
    subpage_types = ["courses.CoursePage"]
    search_fields = [*Page.search_fields, index.SearchField("intro")]

    class Meta:
        verbose_name = _("institution section")

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        context["courses"] = CoursePage.objects.child_of(self).live().specific()
        return context


class CoursePage(Page):
    """A course: an ordered set of modules training against one framework version."""

    # A taken slug is dealt with where the author is (courses/page_forms.py).
    base_form_class = CoursePageForm

    summary = models.TextField(_("summary"), max_length=600)
    description = RichTextField(_("description"), blank=True)
    for_professionals = models.BooleanField(_("professionals"), default=True)
    for_para_professionals = models.BooleanField(_("para-professionals"), default=True)
    for_volunteers = models.BooleanField(_("volunteers"), default=True)
    language = models.CharField(
        _("language"), max_length=10, choices=language_choices, default="en"
    )
    cpd_hours = models.DecimalField(
        _("CPD hours"), max_digits=5, decimal_places=1, null=True, blank=True
    )
    estimated_minutes = models.PositiveIntegerField(_("estimated time (minutes)"), default=60)
    framework = models.ForeignKey(
        "competencies.Framework",
        verbose_name=_("competency framework"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to={"status": "published"},
        help_text=_("The published framework version this course trains against."),
    )
    self_enrolment = models.BooleanField(
        _("learners may enrol themselves"),
        default=True,
        help_text=_("Otherwise the institution enrols learners or cohorts."),
    )
    max_quiz_attempts = models.PositiveSmallIntegerField(
        _("quiz attempts allowed"),
        default=0,
        help_text=_("0 means unlimited retakes."),
    )

    content_panels = [
        *Page.content_panels,
        FieldPanel("summary"),
        FieldPanel("description"),
        MultiFieldPanel(
            [
                FieldPanel("for_professionals"),
                FieldPanel("for_para_professionals"),
                FieldPanel("for_volunteers"),
                FieldPanel("language"),
                FieldPanel("cpd_hours"),
                FieldPanel("estimated_minutes"),
            ],
            heading=_("Audience and size"),
        ),
        MultiFieldPanel(
            [
                FieldPanel("framework"),
                FieldPanel("self_enrolment"),
                FieldPanel("max_quiz_attempts"),
            ],
            heading=_("Framework and rules"),
        ),
    ]
    parent_page_types = ["courses.InstitutionPage"]
    subpage_types = ["courses.ModulePage"]
    search_fields = [
        *Page.search_fields,
        index.SearchField("summary"),
        index.FilterField("language"),
    ]

    class Meta:
        verbose_name = _("course")

    @property
    def institution(self):
        parent = self.get_parent()
        return parent.specific.institution if parent else None

    @property
    def audience_cadres(self) -> list[str]:
        flags = {
            Cadre.PROFESSIONAL: self.for_professionals,
            Cadre.PARA_PROFESSIONAL: self.for_para_professionals,
            Cadre.VOLUNTEER: self.for_volunteers,
        }
        return [cadre for cadre, included in flags.items() if included]

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        context.update(visitor_context(self, request))
        return context


class ModulePage(Page):
    """One module of a course: lessons, at most one quiz, practice activities."""

    # The competency mappings start from the course's framework (courses/page_forms.py).
    base_form_class = ModulePageForm

    summary = models.CharField(_("summary"), max_length=300, blank=True)
    body = StreamField(ModuleBodyBlock(), verbose_name=_("content"), blank=True)
    is_required = models.BooleanField(
        _("required"), default=True, help_text=_("Required modules count towards completion.")
    )
    estimated_minutes = models.PositiveIntegerField(_("estimated time (minutes)"), default=20)
    xapi_activity_iri = models.URLField(
        _("xAPI activity IRI"),
        max_length=500,
        blank=True,
        help_text=_("The activity id another LMS uses for this module in its xAPI statements."),
    )

    content_panels = [
        *Page.content_panels,
        FieldPanel("summary"),
        FieldPanel("body"),
        InlinePanel(
            "competency_mappings",
            heading=_("Competencies this module builds"),
            label=_("Competency"),
        ),
        MultiFieldPanel(
            [
                FieldPanel("is_required"),
                FieldPanel("estimated_minutes"),
                FieldPanel("xapi_activity_iri"),
            ],
            heading=_("Settings"),
        ),
    ]
    parent_page_types = ["courses.CoursePage"]
    subpage_types: list[str] = []
    search_fields = [*Page.search_fields, index.SearchField("summary"), index.SearchField("body")]

    class Meta:
        verbose_name = _("module")

    @property
    def course(self) -> "CoursePage":
        return self.get_parent().specific

    def quiz_block(self):
        return next((block for block in self.body if block.block_type == "quiz"), None)

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        context.update(visitor_context(self, request))
        return context


class ModuleCompetency(Orderable):
    """A competency a module builds, at a target proficiency level."""

    module = ParentalKey(ModulePage, on_delete=models.CASCADE, related_name="competency_mappings")
    competency = models.ForeignKey(
        "competencies.CompetencyItem",
        verbose_name=_("competency"),
        on_delete=models.PROTECT,
        related_name="module_mappings",
        limit_choices_to={"framework__status": "published"},
    )
    target_level = models.ForeignKey(
        "competencies.ScaleLevel",
        verbose_name=_("target level"),
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to={"framework__status": "published"},
    )

    # The chooser searches big frameworks by code or words; a plain select would list
    # thousands of items.
    panels = [
        FieldPanel("competency", widget=competency_chooser_viewset.widget_class),
        FieldPanel("target_level"),
    ]

    class Meta(Orderable.Meta):
        verbose_name = _("competency mapping")
        constraints = [
            models.UniqueConstraint(
                fields=["module", "competency"], name="module_competency_unique"
            ),
        ]

    def clean(self):
        super().clean()
        if self.competency_id and self.target_level_id:
            if self.target_level.framework_id != self.competency.framework_id:
                raise ValidationError(
                    {"target_level": _("Choose a level of the competency's own framework.")}
                )
            if self.competency.framework.status != "published":
                raise ValidationError(
                    {"competency": _("Map modules only to competencies of published frameworks.")}
                )
