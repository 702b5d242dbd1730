"""The learning record store: xAPI statements from other LMSs, their query keys and
attachments (see :mod:`courses.xapi`)."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from courses.models.records import ProgressEvent

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
