"""Attainment follows the modules: a changed competency mapping, or a module or course taken
offline, recomputes the learners concerned without anyone running a command.

- **A module published with other mappings than it had when last published** (compared with
  the revision of its previous publication, from Wagtail's log of publications): past
  completions of the module show the newly mapped competencies (evidence is added for each,
  dated when the module was completed), and every learner with evidence or attainment in a
  competency it is or was mapped to is recomputed — an "all mapped modules complete" rule
  now needs another set of modules.
- **A module or course unpublished**: its modules are no longer required by such rules, so
  the learners of the competencies they were mapped to are recomputed.

Evidence already recorded stays as it was recorded (evidence is append-only): a mapping
removed, or a target level changed, does not rewrite what past completions showed; the
rules read the mappings that are live now.

The work runs in a Celery task once the publication commits
(:func:`courses.tasks.module_mappings_apply`); its progress and result are the
:class:`~competencies.models.AttainmentRecompute` it records, which the person who published
is pointed to.
"""

from celery import current_app
from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext as _
from wagtail.models import PageLogEntry
from wagtail.signals import page_published, page_unpublished

from competencies import recompute
from competencies.models import EvidenceSource
from competencies.services import evidence_record
from courses.models import CoursePage, ModuleCompetency, ModuleCompletion, ModulePage

#: Found by name in the Celery app's registry (``courses.tasks`` imports this module).
APPLY_TASK = "courses.tasks.module_mappings_apply"


def _live_mappings(module: ModulePage) -> set[tuple[int, int]]:
    return set(
        ModuleCompetency.objects.filter(module=module).values_list(
            "competency_id", "target_level_id"
        )
    )


def _mappings_published_before(module: ModulePage, *, revision) -> set[tuple[int, int]]:
    """The mappings of the module's previous publication (none if it was never published)."""
    entry = (
        PageLogEntry.objects.filter(page=module, action="wagtail.publish")
        .exclude(revision=revision)
        .exclude(revision__isnull=True)
        .order_by("-timestamp", "-pk")
        .first()
    )
    if entry is None:
        return set()
    before = entry.revision.as_object()
    return {(m.competency_id, m.target_level_id) for m in before.competency_mappings.all()}


def module_published(sender, *, instance: ModulePage, revision=None, **kwargs) -> None:
    now = _live_mappings(instance)
    before = _mappings_published_before(instance, revision=revision)
    if now == before:
        return
    record = recompute.recompute_record(
        reason=_("The competencies of module “%(module)s” changed") % {"module": instance.title},
        competency_ids={competency for competency, _level in now | before},
        source_url=reverse("wagtailadmin_pages:edit", args=[instance.pk]),
        requested_by=getattr(revision, "user", None),
    )
    module_id, recompute_id = instance.pk, record.pk
    transaction.on_commit(lambda: current_app.tasks[APPLY_TASK].delay(module_id, recompute_id))


def page_unpublished_recompute(sender, *, instance, **kwargs) -> None:
    """A module or course taken offline: the competencies its modules were mapped to."""
    modules = ModulePage.objects.descendant_of(instance, inclusive=True)
    competency_ids = set(
        ModuleCompetency.objects.filter(module__in=modules).values_list("competency_id", flat=True)
    )
    if not competency_ids:
        return
    record = recompute.recompute_record(
        reason=_("“%(page)s” was taken offline") % {"page": instance.title},
        competency_ids=competency_ids,
        source_url=reverse("wagtailadmin_pages:edit", args=[instance.pk]),
    )
    recompute.recompute_enqueue(recompute=record)


def past_completions_evidence_add(*, module_id: int) -> int:
    """Evidence of the module's live mappings for each of its past completions that lacks it;
    returns how many pieces were added (none on a second run)."""
    module = ModulePage.objects.get(pk=module_id)
    mappings = list(
        ModuleCompetency.objects.filter(module=module).select_related("competency", "target_level")
    )
    added = 0
    if not mappings:
        return added
    completions = ModuleCompletion.objects.filter(module=module).select_related("learner")
    for completion in completions.order_by("pk").iterator():
        with transaction.atomic():
            for mapping in mappings:
                recorded = evidence_record(
                    learner=completion.learner,
                    competency=mapping.competency,
                    level=mapping.target_level,
                    source_kind=EvidenceSource.MODULE_COMPLETION,
                    source_id=completion.pk,
                    source_uri=module.url or "",
                    source_title=module.title,
                    occurred_at=completion.completed_at,
                )
                added += recorded.created
    return added


def connect() -> None:
    page_published.connect(module_published, sender=ModulePage, dispatch_uid="courses.mappings")
    for page_type in (ModulePage, CoursePage):
        page_unpublished.connect(
            page_unpublished_recompute,
            sender=page_type,
            dispatch_uid=f"courses.unpublished.{page_type.__name__}",
        )
