"""How callers of the JSON API prove who they are with an institution's API key.

Kept apart from :mod:`lms.api` so that apps' routers (imported while apps load) can require a
key without importing the assembled API, which collects the routers when it is imported.
"""

from django.http import HttpRequest
from ninja.security import APIKeyHeader, HttpBearer

from lms import services
from lms.models import ApiKey


class BearerApiKey(HttpBearer):
    openapi_description = "An institution's API key: `Authorization: Bearer sswk_…`."

    def authenticate(self, request: HttpRequest, token: str) -> ApiKey | None:
        api_key = services.api_key_authenticate(key=token)
        if api_key is not None:
            request.api_key = api_key
        return api_key


class HeaderApiKey(APIKeyHeader):
    param_name = "X-API-Key"
    openapi_description = "An institution's API key in the X-API-Key header."

    def authenticate(self, request: HttpRequest, key: str | None) -> ApiKey | None:
        if not key:
            return None
        api_key = services.api_key_authenticate(key=key)
        if api_key is not None:
            request.api_key = api_key
        return api_key


#: Only an institution's API key: for endpoints meant for other systems, not for browsers.
api_key_auth = [BearerApiKey(), HeaderApiKey()]
