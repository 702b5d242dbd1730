"""Headers that tell browsers what a page may do: Content-Security-Policy and Permissions-Policy.

The policies themselves are settings (``CONTENT_SECURITY_POLICY``,
``CONTENT_SECURITY_POLICY_BY_PATH``, ``PERMISSIONS_POLICY``): learner and public pages get a
strict one, the admin sites a looser one their inline scripts need, the JSON API one that
loads nothing.
"""

from csp.middleware import CSPMiddleware, PolicyParts

from lms.app_settings import app_settings


def policy_for_path(path_info: str) -> dict | None:
    """The directives ``CONTENT_SECURITY_POLICY_BY_PATH`` gives this path, or None (the default)."""
    for prefix, directives in app_settings.CONTENT_SECURITY_POLICY_BY_PATH:
        if path_info.startswith(prefix):
            return directives
    return None


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's middleware, with the policy chosen by path where no view chose its own.

    django-csp documents ``get_policy_parts`` as the place to extend; a view's own
    ``@csp_replace`` / ``@csp_update`` still apply on top of the path's policy.
    """

    def get_policy_parts(self, request, response, report_only: bool = False) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only=report_only)
        if not report_only and parts.config is None:
            parts.config = policy_for_path(request.path_info)
        return parts


class PermissionsPolicyMiddleware:
    """Refuse the browser features no page uses (camera, microphone, location, payment).

    Django has no setting for this header; a page that needs one sets its own header.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        policy = app_settings.PERMISSIONS_POLICY
        if policy and "Permissions-Policy" not in response:
            response["Permissions-Policy"] = policy
        return response
