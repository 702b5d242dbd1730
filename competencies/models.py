"""Competency frameworks: versioned documents, their proficiency scales, item trees and crosswalks.

The shapes follow 1EdTech CASE 1.1 (CFDocument, CFItem, CFAssociation) so that frameworks
travel between systems with their identifiers intact. A published framework never changes:
courses and certificates point at a specific version, and a change makes a new version.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class EvidenceRule(models.TextChoices):
    """What a competency's own evidence must show before it is attained (directly).

    Module completions count at or above the mapping's target level; an observation at its
    own level. Recognised prior learning attains under every rule; external statements only
    under "any evidence". See docs/decisions/0003-competency-attainment.md.
    """

    ANY = "any", _("Any evidence")
    MODULES = "modules", _("All mapped modules complete")
    OBSERVATION = "observation", _("An observation signed off")
    MODULES_AND_OBSERVATION = (
        "modules_and_observation",
        _("All mapped modules complete and an observation signed off"),
    )
    MODULES_OR_OBSERVATION = (
        "modules_or_observation",
        _("All mapped modules complete or an observation signed off"),
    )


class FrameworkStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PUBLISHED = "published", _("Published")
    RETIRED = "retired", _("Retired")


class Framework(models.Model):
    """One version of a competency framework (a CASE CFDocument)."""

    identifier = models.UUIDField(_("identifier"), default=uuid.uuid4, unique=True)
    uri = models.URLField(
        _("URI"), max_length=500, blank=True, help_text=_("Kept from an imported CASE document.")
    )
    title = models.CharField(_("title"), max_length=300)
    code = models.CharField(
        _("ID number"),
        max_length=100,
        blank=True,
        help_text=_("A short code for the framework, e.g. PSSW (Moodle's framework ID number)."),
    )
    version = models.CharField(_("version"), max_length=40, default="1.0")
    language = models.CharField(_("language"), max_length=10, default="en")
    creator = models.CharField(
        _("creator"), max_length=300, help_text=_("The body that wrote the framework.")
    )
    publisher = models.CharField(_("publisher"), max_length=300, blank=True)
    description = models.TextField(_("description"), blank=True)
    licence = models.CharField(_("licence"), max_length=300, blank=True)
    licence_uri = models.URLField(_("licence URI"), max_length=500, blank=True)
    official_source_url = models.URLField(_("official source URL"), max_length=500, blank=True)
    status = models.CharField(
        _("status"), max_length=12, choices=FrameworkStatus.choices, default=FrameworkStatus.DRAFT
    )
    owner_institution = models.ForeignKey(
        "lms.Institution",
        verbose_name=_("owning institution"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="frameworks",
        help_text=_("Empty for frameworks owned by a regulator."),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    previous_version = models.ForeignKey(
        "self",
        verbose_name=_("previous version"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="next_versions",
    )
    evidence_rule = models.CharField(
        _("competencies are attained when"),
        max_length=30,
        choices=EvidenceRule.choices,
        default=EvidenceRule.ANY,
        help_text=_(
            "What a learner's evidence must show, for each competency that does not say "
            "otherwise. Recognised prior learning always counts."
        ),
    )
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    retired_at = models.DateTimeField(_("retired at"), null=True, blank=True)
    # What an imported file said that the fields above do not hold, kept so that an export
    # gives it back (see competencies.interchange).
    adoption_status = models.CharField(
        _("adoption status"),
        max_length=50,
        blank=True,
        help_text=_(
            "The CASE adoption status an imported package gave, exported while the framework "
            "is a draft here. Empty: from the status."
        ),
    )
    description_html = models.TextField(
        _("description as HTML"),
        blank=True,
        help_text=_("An imported Moodle description's HTML (sanitised)."),
    )
    case_attributes = models.JSONField(
        default=dict,
        blank=True,
        help_text=_("CASE 1.1 fields of the CFDocument that no field here holds, as imported."),
    )
    case_definitions = models.JSONField(
        default=dict,
        blank=True,
        help_text=_("The imported package's CFDefinitions other than its item types."),
    )
    extensions = models.JSONField(
        default=dict,
        blank=True,
        help_text=_(
            "The CFDocument's extensions as imported, with the fields CASE 1.1 does not define."
        ),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Also the CASE lastChangeDateTime: an import sets it to the file's.
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title", "version"]
        verbose_name = _("competency framework")
        verbose_name_plural = _("competency frameworks")
        constraints = [
            # Two partial constraints rather than nulls_distinct=False, which SQLite lacks.
            models.UniqueConstraint(
                fields=["title", "version", "owner_institution"],
                condition=Q(owner_institution__isnull=False),
                name="framework_unique_title_version_per_owner",
                violation_error_message=_(
                    "A framework with this title and version already exists."
                ),
            ),
            models.UniqueConstraint(
                fields=["title", "version"],
                condition=Q(owner_institution__isnull=True),
                name="framework_unique_title_version_regulator",
                violation_error_message=_(
                    "A framework with this title and version already exists."
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} v{self.version}"

    @property
    def is_editable(self) -> bool:
        return self.status == FrameworkStatus.DRAFT


class ScaleLevel(models.Model):
    """One level of a framework's proficiency scale, in order from lowest to highest."""

    framework = models.ForeignKey(Framework, on_delete=models.CASCADE, related_name="levels")
    identifier = models.UUIDField(default=uuid.uuid4, unique=True)
    order = models.PositiveSmallIntegerField(_("order"))
    code = models.CharField(_("code"), max_length=40, blank=True)
    name = models.CharField(_("name"), max_length=120)
    description = models.TextField(_("description"), blank=True)
    is_proficient = models.BooleanField(
        _("proficient"),
        default=False,
        help_text=_("The lowest level at which a learner counts as competent."),
    )

    class Meta:
        ordering = ["framework", "order"]
        verbose_name = _("proficiency level")
        verbose_name_plural = _("proficiency levels")
        constraints = [
            models.UniqueConstraint(fields=["framework", "order"], name="scale_level_unique_order"),
            models.UniqueConstraint(fields=["framework", "name"], name="scale_level_unique_name"),
            models.UniqueConstraint(
                fields=["framework"],
                condition=Q(is_proficient=True),
                name="scale_level_one_proficient",
            ),
        ]

    def __str__(self) -> str:
        # Shown in choosers next to other frameworks' levels, so it names its framework.
        return f"{self.name} — {self.framework.title} v{self.framework.version}"


class RuleType(models.TextChoices):
    """How a parent item is attained from its children (as Moodle's competency rules)."""

    NONE = "", _("No rule")
    ALL = "all", _("All children attained")
    POINTS = "points", _("Points from children")


class ItemKind(models.TextChoices):
    DOMAIN = "domain", _("Domain")
    COMPETENCY = "competency", _("Competency")
    INDICATOR = "indicator", _("Indicator")


class ItemType(models.Model):
    """A publisher's class of items (a CASE CFItemType, e.g. "Standard" or "Cluster").

    Kept from an imported package so that its items export with the types they came with. How
    an item behaves here is its ``kind`` (domain, competency or indicator), read from the type's
    title on import; items made here have no type and export with their kind as one.
    """

    framework = models.ForeignKey(Framework, on_delete=models.CASCADE, related_name="item_types")
    identifier = models.UUIDField(_("identifier"))
    uri = models.URLField(_("URI"), max_length=500, blank=True)
    title = models.CharField(_("title"), max_length=300)
    description = models.TextField(_("description"), blank=True)
    hierarchy_code = models.CharField(_("hierarchy code"), max_length=100, blank=True)
    type_code = models.CharField(_("type code"), max_length=100, blank=True)
    extensions = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["framework", "pk"]
        verbose_name = _("item type")
        verbose_name_plural = _("item types")
        constraints = [
            # Publishers share one type between their documents, so an identifier is unique
            # only within a framework.
            models.UniqueConstraint(
                fields=["framework", "identifier"], name="item_type_unique_identifier"
            ),
        ]

    def __str__(self) -> str:
        return self.title


class CompetencyItem(models.Model):
    """A node of a framework's tree (a CASE CFItem): a domain, a competency or an indicator."""

    framework = models.ForeignKey(Framework, on_delete=models.CASCADE, related_name="items")
    identifier = models.UUIDField(_("identifier"), default=uuid.uuid4, unique=True)
    uri = models.URLField(_("URI"), max_length=500, blank=True)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="children",
    )
    order = models.PositiveIntegerField(_("order"), default=0)
    code = models.CharField(
        _("code"), max_length=100, blank=True, help_text=_("Human coding scheme, e.g. PP.2.3.")
    )
    kind = models.CharField(
        _("kind"), max_length=20, choices=ItemKind.choices, default=ItemKind.COMPETENCY
    )
    full_statement = models.TextField(_("statement"))
    statement_html = models.TextField(
        _("statement as HTML"),
        blank=True,
        help_text=_(
            "An imported Moodle description's HTML (sanitised), exported again while the "
            "statement still says what it says."
        ),
    )
    abbreviated_statement = models.CharField(_("short name"), max_length=300, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    language = models.CharField(_("language"), max_length=10, blank=True)
    rule_type = models.CharField(
        _("rule"), max_length=10, choices=RuleType.choices, default=RuleType.NONE, blank=True
    )
    rule_config = models.JSONField(
        _("rule configuration"),
        default=dict,
        blank=True,
        help_text=_(
            'For points: {"base": {"points": 4}, "competencies": [{"id": "<child code>",'
            ' "points": 2, "required": 0}]}: Moodle\'s rule, children named by code.'
        ),
    )
    evidence_rule = models.CharField(
        _("attained when"),
        max_length=30,
        choices=EvidenceRule.choices,
        blank=True,
        default="",
        help_text=_("Empty: as the framework says."),
    )
    previous_version = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="next_versions",
        help_text=_("The same item in the framework's previous version (CASE replacedBy)."),
    )
    item_type = models.ForeignKey(
        ItemType,
        verbose_name=_("item type"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="items",
    )
    case_attributes = models.JSONField(
        default=dict,
        blank=True,
        help_text=_("CASE 1.1 fields of the CFItem that no field here holds, as imported."),
    )
    extensions = models.JSONField(
        default=dict,
        blank=True,
        help_text=_(
            "The CFItem's extensions as imported, with the fields CASE 1.1 does not define."
        ),
    )
    # Also the CASE lastChangeDateTime: an import sets it to the file's.
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["framework", "parent_id", "order"]
        verbose_name = _("competency")
        verbose_name_plural = _("competencies")
        constraints = [
            models.UniqueConstraint(
                fields=["framework", "code"],
                condition=~Q(code=""),
                name="competency_item_unique_code",
            ),
        ]
        indexes = [models.Index(fields=["framework", "parent", "order"])]

    def __str__(self) -> str:
        label = self.abbreviated_statement or self.full_statement
        return f"{self.code} {label}".strip() if self.code else label

    @property
    def label(self) -> str:
        return self.abbreviated_statement or self.full_statement


class ParentAssociation(models.Model):
    """The CASE ``isChildOf`` association that placed an imported item in its tree.

    The tree itself is ``CompetencyItem.parent``; this keeps the association's own identity
    (identifier, URI, date, extensions) so that an export gives it back unchanged. Items made
    here have none: their ``isChildOf`` is derived from the item and its parent.
    """

    item = models.OneToOneField(
        CompetencyItem, on_delete=models.CASCADE, related_name="parent_association"
    )
    identifier = models.UUIDField(unique=True)
    uri = models.URLField(max_length=500, blank=True)
    case_attributes = models.JSONField(default=dict, blank=True)
    extensions = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("parent association")
        verbose_name_plural = _("parent associations")

    def __str__(self) -> str:
        return f"{self.item} isChildOf"


class AssociationType(models.TextChoices):
    """CASE 1.1 association types (the tree itself, isChildOf, is kept as ``parent``)."""

    EXACT_MATCH_OF = "exactMatchOf", _("is an exact match of")
    IS_RELATED_TO = "isRelatedTo", _("is related to")
    IS_PART_OF = "isPartOf", _("is part of")
    IS_PEER_OF = "isPeerOf", _("is a peer of")
    PRECEDES = "precedes", _("precedes")
    REPLACED_BY = "replacedBy", _("is replaced by")
    EXEMPLAR = "exemplar", _("has exemplar")
    HAS_SKILL_LEVEL = "hasSkillLevel", _("has skill level")
    IS_TRANSLATION_OF = "isTranslationOf", _("is a translation of")


class CompetencyAssociation(models.Model):
    """A link from an item to another item, in this or another framework: a crosswalk.

    The destination is an item we hold, or — when it lives in a framework we do not hold —
    just its CASE identifier and URI, so nothing is lost on import and export.
    """

    framework = models.ForeignKey(
        Framework,
        on_delete=models.CASCADE,
        related_name="associations",
        help_text=_("The framework whose package carries this association."),
    )
    identifier = models.UUIDField(default=uuid.uuid4, unique=True)
    association_type = models.CharField(_("type"), max_length=40, choices=AssociationType.choices)
    origin = models.ForeignKey(
        CompetencyItem, on_delete=models.CASCADE, related_name="outgoing_associations"
    )
    destination = models.ForeignKey(
        CompetencyItem,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="incoming_associations",
    )
    destination_identifier = models.CharField(max_length=100, blank=True)
    destination_uri = models.URLField(max_length=500, blank=True)
    destination_title = models.CharField(max_length=300, blank=True)
    sequence_number = models.PositiveIntegerField(null=True, blank=True)
    notes = models.TextField(blank=True)
    uri = models.URLField(
        _("URI"), max_length=500, blank=True, help_text=_("Kept from an imported CASE package.")
    )
    case_attributes = models.JSONField(default=dict, blank=True)
    extensions = models.JSONField(default=dict, blank=True)
    # Associations are made and deleted, never edited: this is when it was made (or the
    # CASE lastChangeDateTime an imported package gave it).
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("competency association")
        verbose_name_plural = _("competency associations")
        constraints = [
            models.CheckConstraint(
                condition=Q(destination__isnull=False) | ~Q(destination_identifier=""),
                name="association_has_destination",
            ),
            models.UniqueConstraint(
                fields=["origin", "association_type", "destination"],
                condition=Q(destination__isnull=False),
                name="association_unique_link",
            ),
        ]

    def __str__(self) -> str:
        target = self.destination or self.destination_title or self.destination_identifier
        return f"{self.origin} {self.get_association_type_display()} {target}"


# --- Evidence and attainment --------------------------------------------------------------


class EvidenceSource(models.TextChoices):
    """What a piece of evidence is. The source itself lives in another app (or another LMS),
    so evidence names it generically: a kind, an id within that kind and/or a URI."""

    MODULE_COMPLETION = "module_completion", _("Module completed")
    OBSERVATION = "observation", _("Observed in practice")
    PRIOR_LEARNING = "prior_learning", _("Recognised prior learning")
    EXTERNAL = "external", _("External statement")


class CompetencyEvidence(models.Model):
    """Something that shows a learner has a competency at a level. Append-only.

    ``(source_kind, source_id, competency)`` is unique, so the same module completion or
    observation never counts twice, however often it is reported.
    """

    learner = models.ForeignKey(  # indexed by (learner, competency), which starts with it
        settings.AUTH_USER_MODEL,
        verbose_name=_("learner"),
        on_delete=models.PROTECT,
        related_name="competency_evidence",
        db_index=False,
    )
    competency = models.ForeignKey(
        CompetencyItem,
        verbose_name=_("competency"),
        on_delete=models.PROTECT,
        related_name="evidence",
    )
    level = models.ForeignKey(
        ScaleLevel, verbose_name=_("level"), on_delete=models.PROTECT, related_name="+"
    )
    source_kind = models.CharField(_("kind"), max_length=30, choices=EvidenceSource.choices)
    source_id = models.CharField(
        _("source id"), max_length=100, blank=True, help_text=_("The source's id in its app.")
    )
    source_uri = models.CharField(_("source URI"), max_length=500, blank=True)
    source_title = models.CharField(
        _("what"), max_length=300, blank=True, help_text=_("Shown to the learner, e.g. the module.")
    )
    occurred_at = models.DateTimeField(_("when it happened"))
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    institution = models.ForeignKey(
        "lms.Institution",
        verbose_name=_("institution"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    notes = models.TextField(_("notes"), blank=True)

    class Meta:
        ordering = ["pk"]
        verbose_name = _("competency evidence")
        verbose_name_plural = _("competency evidence")
        indexes = [models.Index(fields=["learner", "competency"])]
        constraints = [
            models.UniqueConstraint(
                fields=["source_kind", "source_id", "competency"],
                condition=~Q(source_id=""),
                name="competency_evidence_unique_source",
            ),
            models.CheckConstraint(
                condition=~Q(source_id="") | ~Q(source_uri=""),
                name="competency_evidence_names_source",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.learner}: {self.competency} at {self.level.name} ({self.source_kind})"


class AttainmentVia(models.TextChoices):
    DIRECT = "direct", _("Shown directly")
    ROLLUP = "rollup", _("From its parts")
    CROSSWALK = "crosswalk", _("Recognised through a crosswalk")


class CompetencyAttainment(models.Model):
    """The level a learner has reached in a competency: derived from evidence, never edited.

    :func:`competencies.services.evidence_record` keeps it up to date in the transaction that
    records the evidence; :func:`competencies.services.attainment_rebuild` recomputes it.
    """

    learner = models.ForeignKey(  # indexed by competency_attainment_unique, which starts with it
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="competency_attainments",
        db_index=False,
    )
    competency = models.ForeignKey(
        CompetencyItem, on_delete=models.CASCADE, related_name="attainments"
    )
    framework = models.ForeignKey(Framework, on_delete=models.CASCADE, related_name="+")
    level = models.ForeignKey(ScaleLevel, on_delete=models.PROTECT, related_name="+")
    since = models.DateTimeField(_("since"))
    via = models.CharField(_("how"), max_length=12, choices=AttainmentVia.choices)
    via_item = models.ForeignKey(
        CompetencyItem,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("For a crosswalk: the item whose attainment was recognised."),
    )

    class Meta:
        verbose_name = _("competency attainment")
        verbose_name_plural = _("competency attainments")
        indexes = [models.Index(fields=["learner", "framework"])]
        constraints = [
            models.UniqueConstraint(
                fields=["learner", "competency"], name="competency_attainment_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.learner}: {self.competency} at {self.level.name}"


class RecomputeStatus(models.TextChoices):
    QUEUED = "queued", _("Waiting to start")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class AttainmentRecompute(models.Model):
    """One automatic recomputation of learners' attainment after a change that moves it: a
    framework published or retired (its rules and crosswalks take effect, or stop), a module's
    competency mapping changed, a module or course taken offline.

    It names the competencies whose learners are recomputed; the frameworks it touched show it
    on their pages ("attainment last recomputed …"), and the person who made the change can
    follow its progress.
    """

    reason = models.CharField(_("why"), max_length=300)
    source_url = models.CharField(
        _("what changed"), max_length=500, blank=True, help_text=_("The admin page of the change.")
    )
    frameworks = models.ManyToManyField(Framework, related_name="recomputes", blank=True)
    competency_ids = models.JSONField(_("competencies"), default=list)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now)
    status = models.CharField(
        _("status"), max_length=10, choices=RecomputeStatus.choices, default=RecomputeStatus.QUEUED
    )
    evidence_added = models.PositiveIntegerField(_("evidence added"), default=0)
    learners_total = models.PositiveIntegerField(_("learners"), default=0)
    learners_done = models.PositiveIntegerField(_("learners recomputed"), default=0)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-pk"]
        verbose_name = _("attainment recomputation")
        verbose_name_plural = _("attainment recomputations")

    def __str__(self) -> str:
        return f"{self.reason} ({self.get_status_display()})"

    @property
    def percent_done(self) -> int:
        if self.status == RecomputeStatus.DONE:
            return 100
        if not self.learners_total:
            return 0
        return min(100, self.learners_done * 100 // self.learners_total)
