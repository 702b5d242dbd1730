"""The errors the courses app's services raise, for views and other apps to catch."""


class LearningError(Exception):
    """A learning action that cannot be done; the message says why, for the learner."""

    def __init__(self, message: str, *, status: int = 400):
        super().__init__(message)
        self.status = status


class ProgressWriteClash(Exception):
    """Writing progress events failed part-way (a parallel request wrote one of the same rows
    first, a deadlock, or derived state refused), in a caller's transaction that gave them no
    savepoint: the caller rolls back whole and tries again (see
    :func:`progress_events_record_or_clash`)."""
