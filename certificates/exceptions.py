"""The error every certificate service raises when an action cannot be done."""


class CertificateError(Exception):
    """A certificate action that cannot be done; the message says why, for the person who
    asked, and nothing was changed. ``status`` is the HTTP status an API answers with."""

    def __init__(self, message: str, *, status: int = 400):
        super().__init__(message)
        self.status = status
