"""Course catalogue pages and the learning records hung on them.

The page tree is: ``CourseIndexPage`` (the catalogue, usually the site's home) →
``InstitutionPage`` (one institution's section: its staff's Wagtail permissions are granted
here, so they see and edit only their own courses) → ``CoursePage`` → ``ModulePage``.

Learning records (enrolments, completions, quiz attempts) point at pages by id and remember
the revision the learner saw, so republishing a course never breaks anyone's progress.
``ProgressEvent`` is the append-only log; the other records are derived from it in the same
transaction by :mod:`courses.services`.
"""

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from modelcluster.fields import ParentalKey
from wagtail.admin.panels import FieldPanel, InlinePanel, MultiFieldPanel
from wagtail.fields import RichTextField, StreamField
from wagtail.models import Orderable, Page
from wagtail.search import index

from competencies.viewsets import competency_chooser_viewset
from courses.blocks import ModuleBodyBlock
from lms.models import Cadre, language_choices

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
        from django.http import Http404

        from courses.translations import source_page

        try:
            return super().route(request, path_components)
        except Http404:
            original = source_page(self)
            if original.pk == self.pk:
                raise
            return original.route(request, path_components)

    def get_context(self, request, *args, **kwargs):
        from courses import selectors
        from courses.translations import source_page

        context = super().get_context(request, *args, **kwargs)
        # Every course is listed in every language (at the same address, a course is
        # served in the site's language when it has a translation).
        catalogue = source_page(self)
        filters = selectors.CatalogueFilters.from_query(request.GET)
        context["filters"] = filters
        context["courses"] = selectors.catalogue_courses(catalogue=catalogue, filters=filters)
        context["filter_choices"] = selectors.catalogue_filter_choices(catalogue=catalogue)
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
        from courses import selectors

        context = super().get_context(request, *args, **kwargs)
        context.update(selectors.course_page_context(course=self, user=request.user))
        return context


class ModulePage(Page):
    """One module of a course: lessons, at most one quiz, practice activities."""

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
        from courses import selectors

        context = super().get_context(request, *args, **kwargs)
        context.update(selectors.module_page_context(module=self, user=request.user))
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


# --- Learning records ---------------------------------------------------------------------


class ProgressVerb(models.TextChoices):
    ENROLLED = "enrolled", _("enrolled")
    VIEWED = "viewed", _("viewed")
    COMPLETED = "completed", _("completed")
    ATTEMPTED = "attempted", _("attempted")
    PASSED = "passed", _("passed")
    FAILED = "failed", _("failed")
    OBSERVED = "observed", _("observed")


class ProgressSource(models.TextChoices):
    WEB = "web", _("web")
    API = "api", _("API")
    XAPI = "xapi", _("xAPI")
    ADMIN = "admin", _("institution")


class ObjectType(models.TextChoices):
    COURSE = "course", _("course")
    MODULE = "module", _("module")
    COMPETENCY = "competency", _("competency")


class ProgressEvent(models.Model):
    """One thing a learner did, as reported once. Append-only.

    ``event_id`` is generated by the client (the browser form, another LMS, an offline phone)
    so that a retried or re-synced submission is recognised and applied exactly once.
    """

    event_id = models.UUIDField(unique=True, editable=False)
    # Indexed by (learner, occurred_at), which starts with it: an index of its own would
    # only cost every insert (docs/decisions/0014).
    learner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="progress_events",
        db_index=False,
    )
    verb = models.CharField(max_length=20, choices=ProgressVerb.choices)
    object_type = models.CharField(max_length=20, choices=ObjectType.choices)
    course = models.ForeignKey(
        CoursePage, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    module = models.ForeignKey(
        ModulePage, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    competency = models.ForeignKey(
        "competencies.CompetencyItem",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    score = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    success = models.BooleanField(null=True, blank=True)
    revision_id = models.PositiveIntegerField(null=True, blank=True)
    occurred_at = models.DateTimeField(_("when it happened"))
    recorded_at = models.DateTimeField(auto_now_add=True)
    source = models.CharField(max_length=10, choices=ProgressSource.choices)
    recorded_by = models.ForeignKey(
        "lms.ApiKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    extra = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["occurred_at", "pk"]
        indexes = [models.Index(fields=["learner", "occurred_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(course__isnull=False)
                | Q(module__isnull=False)
                | Q(competency__isnull=False),
                name="progress_event_has_object",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.learner} {self.verb} {self.object_type} ({self.event_id})"


class EnrolmentStatus(models.TextChoices):
    ACTIVE = "active", _("In progress")
    COMPLETED = "completed", _("Completed")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class Enrolment(models.Model):
    learner = models.ForeignKey(  # indexed by enrolment_unique, which starts with it
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="enrolments",
        db_index=False,
    )
    course = models.ForeignKey(CoursePage, on_delete=models.PROTECT, related_name="enrolments")
    status = models.CharField(
        max_length=12, choices=EnrolmentStatus.choices, default=EnrolmentStatus.ACTIVE
    )
    cohort = models.ForeignKey(
        "courses.Cohort",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="enrolments",
    )
    enrolled_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["learner", "course"], name="enrolment_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.learner} in {self.course}"


class ModuleCompletion(models.Model):
    learner = models.ForeignKey(  # indexed by module_completion_unique, which starts with it
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="module_completions",
        db_index=False,
    )
    module = models.ForeignKey(ModulePage, on_delete=models.PROTECT, related_name="completions")
    course = models.ForeignKey(CoursePage, on_delete=models.PROTECT, related_name="+")
    revision_id = models.PositiveIntegerField(null=True, blank=True)
    completed_at = models.DateTimeField()
    event = models.OneToOneField(ProgressEvent, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["learner", "module"], name="module_completion_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.learner} completed {self.module}"


class QuizAttempt(models.Model):
    learner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="quiz_attempts"
    )
    module = models.ForeignKey(ModulePage, on_delete=models.PROTECT, related_name="quiz_attempts")
    quiz_block_id = models.CharField(max_length=64)
    revision_id = models.PositiveIntegerField(null=True, blank=True)
    answers = models.JSONField(help_text=_("Question block id → chosen answer block ids."))
    score = models.DecimalField(max_digits=5, decimal_places=2)
    passed = models.BooleanField()
    attempted_at = models.DateTimeField()
    event = models.OneToOneField(ProgressEvent, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["-attempted_at"]

    def __str__(self) -> str:
        return f"{self.learner} scored {self.score} on {self.module}"


class Cohort(models.Model):
    """A group of learners an institution trains together on one course."""

    institution = models.ForeignKey(
        "lms.Institution", on_delete=models.CASCADE, related_name="cohorts"
    )
    course = models.ForeignKey(CoursePage, on_delete=models.PROTECT, related_name="cohorts")
    name = models.CharField(_("name"), max_length=200)
    starts_on = models.DateField(_("starts on"), null=True, blank=True)
    ends_on = models.DateField(_("ends on"), null=True, blank=True)
    learners = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="cohorts", blank=True)

    class Meta:
        ordering = ["-starts_on", "name"]
        constraints = [
            models.UniqueConstraint(fields=["institution", "name"], name="cohort_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name


class Observation(models.Model):
    """A supervisor's sign-off that a learner showed a competency at a level, in practice."""

    identifier = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    learner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="observations"
    )
    supervisor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="observations_made"
    )
    institution = models.ForeignKey(
        "lms.Institution", on_delete=models.PROTECT, related_name="observations"
    )
    competency = models.ForeignKey(
        "competencies.CompetencyItem", on_delete=models.PROTECT, related_name="observations"
    )
    level = models.ForeignKey("competencies.ScaleLevel", on_delete=models.PROTECT, related_name="+")
    module = models.ForeignKey(
        ModulePage,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("The module whose practice activity this observation signs off, if any."),
    )
    observed_on = models.DateField(_("observed on"))
    notes = models.TextField(_("notes"), blank=True)
    recorded_at = models.DateTimeField(auto_now_add=True)
    event = models.OneToOneField(ProgressEvent, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["-observed_on", "-recorded_at"]

    def __str__(self) -> str:
        return f"{self.learner}: {self.competency} at {self.level} ({self.observed_on})"


# --- xAPI ---------------------------------------------------------------------------------------


class XapiProgressStatus(models.TextChoices):
    PENDING = "pending", _("not looked at yet")
    APPLIED = "applied", _("became a progress event")
    DUPLICATE = "duplicate", _("its progress event was recorded before")
    NOT_MAPPED = "not_mapped", _("no module is mapped to its activity and verb")
    UNKNOWN_LEARNER = "unknown_learner", _("its actor is not a known learner")
    REJECTED = "rejected", _("the progress event was refused")


class XapiStatement(models.Model):
    """An xAPI statement another LMS sent with an institution's API key, kept as received.

    Append-only, like progress: voiding marks a statement ``voided`` (hidden from queries)
    and leaves the progress it brought. Statement ids are unique per institution.
    """

    institution = models.ForeignKey(  # indexed by the indexes below, which all start with it
        "lms.Institution",
        on_delete=models.CASCADE,
        related_name="xapi_statements",
        db_index=False,
    )
    statement_id = models.UUIDField(editable=False)
    raw = models.JSONField(help_text=_("The statement as received, with its id."))
    stored = models.DateTimeField()
    timestamp = models.DateTimeField()
    authority = models.JSONField()
    api_key = models.ForeignKey(
        "lms.ApiKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Query keys (personal data: the actor's e-mail address or account name). The agent and
    # activity filters use XapiStatementKey; actor_ifi finds a learner's statements to replay.
    actor_ifi = models.CharField(max_length=600)
    verb_iri = models.CharField(max_length=500)
    activity_iri = models.CharField(max_length=500, blank=True)
    voided = models.BooleanField(default=False)
    voids = models.UUIDField(null=True, blank=True)
    progress_status = models.CharField(
        max_length=20, choices=XapiProgressStatus.choices, default=XapiProgressStatus.PENDING
    )
    progress_reason = models.CharField(max_length=500, blank=True)
    progress_event = models.ForeignKey(
        ProgressEvent, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("xAPI statement")
        verbose_name_plural = _("xAPI statements")
        constraints = [
            models.UniqueConstraint(
                fields=["institution", "statement_id"], name="xapi_statement_unique_id"
            ),
        ]
        indexes = [
            models.Index(fields=["institution", "verb_iri"], name="xapi_statement_verb"),
            models.Index(fields=["institution", "activity_iri"], name="xapi_statement_activity"),
            models.Index(fields=["institution", "stored"], name="xapi_statement_stored"),
            # Finds the statements a replay may turn into progress (courses.xapi).
            models.Index(fields=["institution", "progress_status"], name="xapi_statement_progress"),
        ]

    def __str__(self) -> str:
        return f"{self.statement_id} ({self.verb_iri})"


class XapiKeyKind(models.TextChoices):
    AGENT = "agent", _("agent")
    ACTIVITY = "activity", _("activity")


class XapiStatementKey(models.Model):
    """An agent or activity a statement is about, extracted when it is stored, for queries.

    The ``agent`` and ``activity`` filters of GET /xapi/statements look keys up here (an index
    on institution, kind and key) instead of searching the statements' JSON, which neither
    SQLite nor PostgreSQL can index portably. ``related`` is False where the narrow filter
    matches (agent: the actor or an Agent/Group object, members included; activity: the
    object) and True where only ``related_agents`` / ``related_activities`` do (authority,
    instructor, team, context activities, a SubStatement's parts). One row per statement,
    kind and key.
    """

    statement = models.ForeignKey(
        XapiStatement, on_delete=models.CASCADE, related_name="keys", db_index=False
    )
    institution = models.ForeignKey(
        "lms.Institution", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    kind = models.CharField(max_length=8, choices=XapiKeyKind.choices)
    # An agent's inverse functional identifier as in XapiStatement.actor_ifi (personal data),
    # or an activity IRI.
    key = models.CharField(max_length=600)
    related = models.BooleanField()

    class Meta:
        verbose_name = _("xAPI statement key")
        verbose_name_plural = _("xAPI statement keys")
        constraints = [
            models.UniqueConstraint(
                fields=["statement", "kind", "key"], name="xapi_statement_key_unique"
            ),
        ]
        indexes = [
            models.Index(
                fields=["institution", "kind", "key", "related", "statement"],
                name="xapi_statement_key_lookup",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.key}"


def xapi_attachment_path(instance: "XapiAttachment", filename: str) -> str:
    return f"xapi-attachments/{instance.institution_id}/{instance.sha2}"


class XapiAttachment(models.Model):
    """The content of a statement attachment, kept once per institution and SHA-2 hash.

    Content-addressed: statements name their attachments by ``sha2`` (in ``raw``), and an
    attachment sent again with another statement is stored once. Kept per institution so
    that knowing a hash never gives one institution another's file.
    """

    institution = models.ForeignKey(
        "lms.Institution", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    sha2 = models.CharField(max_length=128, help_text=_("Lower-case hexadecimal SHA-2 hash."))
    content_type = models.CharField(max_length=255)
    length = models.PositiveBigIntegerField()
    file = models.FileField(upload_to=xapi_attachment_path, max_length=300)
    stored = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("xAPI attachment")
        verbose_name_plural = _("xAPI attachments")
        constraints = [
            models.UniqueConstraint(
                fields=["institution", "sha2"], name="xapi_attachment_unique_sha2"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sha2} ({self.content_type})"


from courses.xapi.models import XapiDocument, XapiDocumentKind  # noqa: E402, F401
