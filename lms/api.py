"""The JSON API (django-ninja), mounted at /api/v1/ with its OpenAPI schema at /api/v1/openapi.json.

Two ways in: an institution's API key (``Authorization: Bearer …`` or ``X-API-Key``), for
other LMSs; or a logged-in browser session (with its CSRF token for writes), for our pages.
Each app adds its own router in its ``api.py``; this module only assembles them.
"""

from ninja import Schema
from ninja.security import django_auth
from wagtail import hooks

from lms import selectors
from lms.api_auth import BearerApiKey, HeaderApiKey
from lms.api_common import ProjectAPI

api_auth = [BearerApiKey(), HeaderApiKey(), django_auth]

api = ProjectAPI(
    title="SSW Learning API",
    version="1",
    description=(
        "Competency frameworks, learner progress and certificates for the social service "
        "workforce. Authenticate with an institution's API key or a browser session.\n\n"
        "Every refusal has one shape (`ErrorOut`): `detail` says what went wrong, `errors` "
        "lists each problem as `where: what`, `fields` lists each with its location "
        '(`loc`, e.g. `["body", "events", 3, "learner"]`) and message (`msg`). '
        "400: the request cannot be taken as sent (not JSON, a wrong or out-of-range value, "
        "a NUL character, which no string may hold, or nesting deeper than 64 levels); "
        "401: no valid credentials; 403: not allowed; 404: not found (or not yours); "
        "409: clashes with what exists; 413: body too large; 429: too many, see "
        "`Retry-After`."
    ),
    urls_namespace="lms-api",
    auth=api_auth,
)


class InstitutionOut(Schema):
    uuid: str
    name: str
    slug: str
    country: str


class RoleOut(Schema):
    role: str
    label: str
    institution: InstitutionOut | None


class MeOut(Schema):
    kind: str
    username: str | None = None
    email: str | None = None
    roles: list[RoleOut] = []
    institution: InstitutionOut | None = None
    key_name: str | None = None


def _institution_out(institution) -> InstitutionOut | None:
    if institution is None:
        return None
    return InstitutionOut(
        uuid=str(institution.uuid),
        name=institution.name,
        slug=institution.slug,
        country=institution.country,
    )


@api.get("/me", response=MeOut, tags=["auth"], summary="Who is calling")
def me(request):
    """Tell the caller who they are: the API key's institution, or the logged-in user's roles."""
    api_key = getattr(request, "api_key", None)
    if api_key is not None:
        return MeOut(
            kind="api_key", institution=_institution_out(api_key.institution), key_name=api_key.name
        )
    user = request.user
    return MeOut(
        kind="user",
        username=user.get_username(),
        email=user.email or None,
        roles=[
            RoleOut(role=g.role, label=str(g.label), institution=_institution_out(g.institution))
            for g in selectors.user_roles(user=user)
        ],
    )


# Each app contributes its endpoints through the ``register_api_routers`` hook: a function
# returning ``(prefix, router)``. The core app imports none of them.
for register in hooks.get_hooks("register_api_routers"):
    prefix, router = register()
    api.add_router(prefix, router)
