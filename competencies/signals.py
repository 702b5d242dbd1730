"""Receivers of the competencies app, connected in :meth:`CompetenciesConfig.ready`."""

from django.db.models.signals import post_delete, post_save

from competencies.caches import FRAMEWORKS
from competencies.models import Framework


def frameworks_changed(sender, **kwargs) -> None:
    """A publication, retirement or deletion: each process checks its settled graph again."""
    FRAMEWORKS.changed()


def connect() -> None:
    post_save.connect(
        frameworks_changed, sender=Framework, dispatch_uid="competencies.frameworks_changed_on_save"
    )
    post_delete.connect(
        frameworks_changed,
        sender=Framework,
        dispatch_uid="competencies.frameworks_changed_on_delete",
    )
