"""The one hook other apps use to learn that a learner's progress changed.

``progress_recorded`` is sent after the transaction that recorded a progress event commits,
with ``event_id`` (the ProgressEvent's primary key) and ``learner_id``. Receivers decide
for themselves what it means (competency attainment, certificate criteria…).
"""

from django.dispatch import Signal

progress_recorded = Signal()
