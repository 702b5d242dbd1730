"""Receivers of the competencies app, connected in :meth:`CompetenciesConfig.ready`.

- **A framework saved or deleted**: each process checks its settled graph again
  (:data:`competencies.caches.FRAMEWORKS`).
- **A framework published or retired** (a save of its ``status``, as
  :func:`competencies.services.framework_publish` and ``framework_retire`` make it): its
  rules and crosswalks take effect or stop, so its learners' attainment is recomputed
  (:func:`competencies.recompute.framework_recompute_request`).
"""

from django.db.models.signals import post_delete, post_save

from competencies import recompute
from competencies.caches import FRAMEWORKS
from competencies.models import Framework, FrameworkStatus

#: The statuses whose arrival moves learners' attainment.
STATUSES_THAT_MOVE_ATTAINMENT = frozenset({FrameworkStatus.PUBLISHED, FrameworkStatus.RETIRED})


def frameworks_changed(sender, **kwargs) -> None:
    """A publication, retirement or deletion: each process checks its settled graph again."""
    FRAMEWORKS.changed()


def framework_status_saved(sender, *, instance: Framework, update_fields=None, **kwargs) -> None:
    if update_fields is None or "status" not in update_fields:
        return
    if instance.status in STATUSES_THAT_MOVE_ATTAINMENT:
        recompute.framework_recompute_request(framework=instance)


def connect() -> None:
    post_save.connect(
        frameworks_changed, sender=Framework, dispatch_uid="competencies.frameworks_changed_on_save"
    )
    post_delete.connect(
        frameworks_changed,
        sender=Framework,
        dispatch_uid="competencies.frameworks_changed_on_delete",
    )
    post_save.connect(
        framework_status_saved, sender=Framework, dispatch_uid="competencies.framework_status"
    )
