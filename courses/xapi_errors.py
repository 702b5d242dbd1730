"""The error every xAPI module raises when the LRS refuses a request.

A module of its own so that :mod:`courses.xapi` can import :mod:`courses.xapi_signatures`
(which raises it too) when it is loaded, not lazily on the first statement: that import
brings PyJWT and cryptography's X.509 support, which a worker would otherwise load inside
some client's first request (docs/decisions/0019).
"""


class XapiError(Exception):
    """A request the LRS refuses; ``status`` is the HTTP status, the message says why."""

    def __init__(self, message: str, *, status: int = 400):
        super().__init__(message)
        self.status = status
