"""The documents of the xAPI document resources: State, Activity Profile, Agent Profile.

Registered with the courses app by one import in :mod:`courses.models`. A document is kept
per institution (the API key's): one institution never reads, lists, merges or deletes
another's. Its content is kept as sent (bytes, with its media type), in the database: the
LRS's documents are small (bookmarks, suspend data, preferences) and a row keeps the content
and its ETag in one transaction.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class XapiDocumentKind(models.TextChoices):
    STATE = "state", _("State")
    ACTIVITY_PROFILE = "activity_profile", _("Activity profile")
    AGENT_PROFILE = "agent_profile", _("Agent profile")


class XapiDocument(models.Model):
    """One document of a document resource, found by what names it in the resource.

    ``scope`` is the SHA-256 of the names that identify the document (kind, activity, agent,
    registration, document id): IRIs and agents may be long, and a unique constraint on one
    short column is what makes two concurrent PUTs of a new document write one row."""

    institution = models.ForeignKey(
        "lms.Institution", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    kind = models.CharField(max_length=20, choices=XapiDocumentKind.choices)
    scope = models.CharField(max_length=64)
    #: SHA-256 of what the documents listed together share (kind, activity, agent).
    listing = models.CharField(max_length=64)
    #: The activity IRI (State, Activity Profile), else empty.
    activity_id = models.TextField(blank=True)
    #: The agent's inverse functional identifier key (State, Agent Profile), else empty.
    agent = models.TextField(blank=True)
    #: The State's registration (UUID text), else empty.
    registration = models.CharField(max_length=36, blank=True)
    #: The stateId or profileId.
    document_id = models.TextField()
    content = models.BinaryField()
    content_type = models.CharField(max_length=255)
    #: SHA-1 of the content, hexadecimal (the ETag, quoted in headers).
    etag = models.CharField(max_length=40)
    updated = models.DateTimeField()

    class Meta:
        verbose_name = _("xAPI document")
        verbose_name_plural = _("xAPI documents")
        constraints = [
            models.UniqueConstraint(
                fields=["institution", "scope"], name="xapi_document_unique_scope"
            ),
        ]
        indexes = [
            # The ids of a resource's documents for an activity / agent (GET without an id).
            models.Index(
                fields=["institution", "listing"],
                name="xapi_document_listing",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind}: {self.document_id}"
