"""The hooks other apps use to learn that a learner's progress changed.

``progress_recorded`` is sent after the transaction that recorded a progress event commits,
with ``event_id`` (the ProgressEvent's primary key) and ``learner_id``. Receivers decide
for themselves what it means (notifications, caches…); they cannot undo the event.

``learning_changed`` is sent *inside* that transaction, once the derived records (module
completion, competency evidence and attainment) are written, with ``learner_id`` and
``course_id`` (``None`` when the change — a supervisor's observation without a module — may
concern any of the learner's courses). It is for receivers whose own records must commit or
roll back together with the progress (a certificate issued when its criteria are met): what
they write is part of the same transaction, and an exception they raise rolls it all back,
so they must only raise for a real inconsistency.

``learning_changed_many`` is the same news for many pairs at once: it is sent once, with
``pairs`` (a list of ``(learner_id, course_id)``, each once, in the order they changed), at
the same moment. Every change is announced on both signals — always through
:func:`learning_changed_send` — so a receiver connects to exactly one of them: to
``learning_changed`` if it handles one pair at a time, to ``learning_changed_many`` if it can
handle a batch with fewer queries (certificates: one query for the rules of all the pairs).

Batches of events (:func:`courses.services.progress_events_record`, the plugin API's) are
written set-wise: the pairs that got a new module completion are announced once, after the
whole batch's derived records are written, and ``progress_recorded`` is sent once per event
after commit. If that attempt fails (a collision with a parallel request, or a
:class:`courses.services.LearningError` raised by a receiver), it is rolled back with what
receivers wrote, and the events are applied one at a time, each in its own savepoint: the
signals are then sent per event that completes a module, and a ``LearningError`` refuses
only the event that raised it.
"""

from django.apps import apps
from django.db.models.signals import post_delete, post_save
from django.dispatch import Signal
from wagtail.models import Page
from wagtail.signals import post_page_move

from courses.caches import STRUCTURE
from courses.models import ModuleCompetency
from lms.models import Institution

progress_recorded = Signal()
#: Sent inside the transaction that enrolled learners (on the web, by a cohort, through the
#: plugin API or in a batch), with ``learner_ids``: the xAPI statements their LMS sent
#: before, kept without progress for want of an enrolment, are replayed after commit
#: (``courses.tasks.xapi_replay_after_enrolment``).
learners_enrolled = Signal()
learning_changed = Signal()
learning_changed_many = Signal()


def learning_changed_send(*, sender, pairs) -> None:
    """Announce that these ``(learner_id, course_id)`` pairs changed, on both signals."""
    pairs = list(dict.fromkeys(pairs))
    if not pairs:
        return
    learning_changed_many.send(sender=sender, pairs=pairs)
    for learner_id, course_id in pairs:
        learning_changed.send(sender=sender, learner_id=learner_id, course_id=course_id)


# --- Receivers, connected in CoursesConfig.ready ------------------------------------------


def structure_changed(sender, **kwargs) -> None:
    """A page saved, moved or deleted, a module's competency mapping or an institution (its
    root page names its section) changed: each process reads the structure again."""
    STRUCTURE.changed()


def connect() -> None:
    """Connect the receivers, each with its sender: every page type (a host site's too, as
    its pages hold the catalogue), competency mappings and institutions."""
    senders = [model for model in apps.get_models() if issubclass(model, Page)]
    for sender in [*senders, ModuleCompetency, Institution]:
        label = sender._meta.label_lower
        post_save.connect(
            structure_changed, sender=sender, dispatch_uid=f"courses.structure_saved:{label}"
        )
    for sender in [*senders, ModuleCompetency]:
        label = sender._meta.label_lower
        post_delete.connect(
            structure_changed, sender=sender, dispatch_uid=f"courses.structure_deleted:{label}"
        )
    for sender in senders:
        label = sender._meta.label_lower
        post_page_move.connect(
            structure_changed, sender=sender, dispatch_uid=f"courses.structure_moved:{label}"
        )
