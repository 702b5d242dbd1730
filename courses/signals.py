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
"""

from django.dispatch import Signal

progress_recorded = Signal()
learning_changed = Signal()
