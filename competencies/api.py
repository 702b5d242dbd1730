"""Framework endpoints of the JSON API (/api/v1/…) and the CASE 1.1 read API (/ims/case/v1p1/…).

The /api/v1 endpoints need an API key or a session: a key sees published frameworks and its
institution's drafts. The CASE endpoints are public and serve published and retired
frameworks only, as CASE providers do, so other LMSs and regulators can pull them.
"""

import uuid
from datetime import datetime
from http import HTTPStatus

from django.db.models import Count, Q
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404
from ninja import File, Form, Router, Schema
from ninja.files import UploadedFile
from ninja.responses import Status
from pydantic import Field
from wagtail import hooks

from competencies import selectors, services
from competencies.interchange import (
    FrameworkFileError,
    export_case_package,
    export_moodle_csv,
    parse_case_package,
    parse_moodle_csv,
)
from competencies.models import CompetencyItem, Framework, FrameworkStatus
from lms.api_auth import api_key_auth
from lms.api_common import ErrorOut, ProjectAPI, error_body
from lms.downloads import attachment_header
from lms.links import site_base_url
from lms.selectors import learner_identity_for

router = Router(tags=["competency frameworks"])


# --- who may see and change what, for a key or a session ---------------------------------


def _visible(request):
    api_key = getattr(request, "api_key", None)
    if api_key is not None:
        return (
            Framework.objects.select_related("owner_institution")
            .filter(~Q(status=FrameworkStatus.DRAFT) | Q(owner_institution=api_key.institution))
            .annotate(item_count=Count("items"))
        )
    return selectors.frameworks_readable_by(user=request.user)


def _owner_for_import(request, owner_slug: str | None):
    """The institution an import belongs to, or raise a 403 naming the problem."""
    api_key = getattr(request, "api_key", None)
    if api_key is not None:
        return api_key.institution
    institutions = selectors.institutions_for_framework_owner(user=request.user)
    if owner_slug:
        owner = institutions.filter(slug=owner_slug).first()
        if owner is None:
            raise PermissionError(f"You cannot create frameworks for '{owner_slug}'.")
        return owner
    if institutions.count() == 1:
        return institutions.first()
    if selectors.user_can_author_frameworks(user=request.user) and not institutions.exists():
        return None  # a regulator's own framework
    raise PermissionError("Say which institution owns the framework (owner=<slug>).")


# --- schemas ------------------------------------------------------------------------------


class LevelOut(Schema):
    name: str
    code: str
    is_proficient: bool


class FrameworkSummaryOut(Schema):
    identifier: uuid.UUID
    title: str
    code: str
    version: str
    status: str
    language: str
    creator: str
    owner: str | None
    item_count: int
    case_package_url: str


class FrameworkImportOut(FrameworkSummaryOut):
    report: list[str] = Field(
        description="What the import read differently from how the file writes it."
    )


class ItemNodeOut(Schema):
    identifier: uuid.UUID
    code: str
    kind: str
    full_statement: str
    abbreviated_statement: str
    children: list["ItemNodeOut"]


class FrameworkOut(FrameworkSummaryOut):
    description: str
    licence: str
    levels: list[LevelOut]
    items: list[ItemNodeOut]


class AssociationOut(Schema):
    type: str
    origin: uuid.UUID
    destination: str
    destination_code: str | None
    destination_framework: uuid.UUID | None


class ItemOut(Schema):
    identifier: uuid.UUID
    code: str
    kind: str
    full_statement: str
    abbreviated_statement: str
    notes: str
    framework: uuid.UUID
    framework_title: str
    framework_version: str
    parent: uuid.UUID | None
    children: list[uuid.UUID]
    associations: list[AssociationOut]


def _summary(framework: Framework) -> dict:
    return {
        "identifier": framework.identifier,
        "title": framework.title,
        "code": framework.code,
        "version": framework.version,
        "status": framework.status,
        "language": framework.language,
        "creator": framework.creator,
        "owner": framework.owner_institution.name if framework.owner_institution else None,
        "item_count": getattr(framework, "item_count", None) or framework.items.count(),
        "case_package_url": f"{site_base_url()}/ims/case/v1p1/CFPackages/{framework.identifier}",
    }


def _node(node: selectors.TreeNode) -> dict:
    item = node.item
    return {
        "identifier": item.identifier,
        "code": item.code,
        "kind": item.kind,
        "full_statement": item.full_statement,
        "abbreviated_statement": item.abbreviated_statement,
        "children": [_node(child) for child in node.children],
    }


# --- /api/v1 endpoints --------------------------------------------------------------------


@router.get("/frameworks", response=list[FrameworkSummaryOut], summary="List frameworks")
def framework_list(request, status: str | None = None):
    frameworks = _visible(request).order_by("title", "version")
    if status:
        frameworks = frameworks.filter(status=status)
    return [_summary(f) for f in frameworks]


PARSERS = {"case": parse_case_package, "moodle": parse_moodle_csv}


@router.post(
    "/frameworks/import",
    response={201: FrameworkImportOut, 400: ErrorOut, 403: ErrorOut},
    summary="Import a framework from CASE JSON or Moodle CSV (all or nothing)",
    description="`format`: `case` or `moodle`. `owner`: the owning institution's slug (an API "
    "key's import belongs to its institution). `scale`: for a file without a proficiency scale "
    "(CASE packages usually have none), the identifier of a framework whose scale to copy. "
    "`report` lists what the import read differently from how the file writes it.",
)
def framework_import(
    request,
    file: File[UploadedFile],
    format: Form[str] = "case",
    owner: Form[str | None] = None,
    scale: Form[str | None] = None,
):
    try:
        owner_institution = _owner_for_import(request, owner)
    except PermissionError as error:
        return Status(
            HTTPStatus.FORBIDDEN, error_body(str(error), [(("form", "owner"), str(error))])
        )
    problems = []
    if format not in PARSERS:
        problems.append((("form", "format"), f"format must be 'case' or 'moodle', not '{format}'"))
    scale_from = _scale_source(request, scale)
    if scale and scale_from is None:
        problems.append((("form", "scale"), f"no framework with a proficiency scale is '{scale}'"))
    if problems:
        return Status(HTTPStatus.BAD_REQUEST, error_body("The request was not accepted.", problems))
    try:
        data = PARSERS[format](file.read())
        framework = services.framework_import(
            data=data,
            owner_institution=owner_institution,
            created_by=request.user if request.user.is_authenticated else None,
            scale_from=scale_from,
        )
    except FrameworkFileError as error:
        return Status(
            HTTPStatus.BAD_REQUEST,
            error_body(
                "The file was not imported; nothing was changed.",
                [(("file", "file"), problem) for problem in error.errors],
                errors=error.errors,
            ),
        )
    return Status(HTTPStatus.CREATED, {**_summary(framework), "report": data.report})


def _scale_source(request, scale: str | None) -> Framework | None:
    """The visible framework with a scale that ``scale`` names by identifier, if any."""
    try:
        identifier = uuid.UUID(scale or "")
    except ValueError:
        return None
    return _visible(request).filter(identifier=identifier, levels__is_proficient=True).first()


@router.get(
    "/frameworks/{identifier}",
    response={200: FrameworkOut, 404: ErrorOut},
    summary="One framework with its scale and nested tree",
)
def framework_detail(request, identifier: uuid.UUID):
    framework = get_object_or_404(_visible(request), identifier=identifier)
    return {
        **_summary(framework),
        "description": framework.description,
        "licence": framework.licence,
        "levels": list(framework.levels.order_by("order").values("name", "code", "is_proficient")),
        "items": [_node(n) for n in selectors.framework_tree(framework=framework)],
    }


@router.get(
    "/frameworks/{identifier}/export",
    summary="Download a framework as CASE JSON or Moodle CSV",
    response={200: None, 404: ErrorOut},
)
def framework_export(request, identifier: uuid.UUID, format: str = "case"):
    framework = get_object_or_404(_visible(request), identifier=identifier)
    data = selectors.framework_data(framework=framework)
    name = f"{framework.code or framework.identifier}-v{framework.version}"
    if format == "moodle":
        response = HttpResponse(export_moodle_csv(data), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = attachment_header(f"{name}.csv")
        return response
    response = JsonResponse(
        export_case_package(data, base_url=site_base_url()), json_dumps_params={"indent": 1}
    )
    response["Content-Disposition"] = attachment_header(f"{name}.case.json")
    return response


@router.get(
    "/competencies/{identifier}",
    response={200: ItemOut, 404: ErrorOut},
    summary="One competency with its links",
)
def item_detail(request, identifier: uuid.UUID):
    item = get_object_or_404(
        CompetencyItem.objects.select_related("framework", "parent").filter(
            framework__in=_visible(request)
        ),
        identifier=identifier,
    )
    associations = [
        {
            "type": a.association_type,
            "origin": a.origin.identifier,
            "destination": str(a.destination.identifier)
            if a.destination
            else a.destination_uri or a.destination_identifier,
            "destination_code": a.destination.code if a.destination else None,
            "destination_framework": a.destination.framework.identifier if a.destination else None,
        }
        for a in item.outgoing_associations.select_related(
            "origin", "destination__framework"
        ).order_by("pk")
    ]
    return {
        "identifier": item.identifier,
        "code": item.code,
        "kind": item.kind,
        "full_statement": item.full_statement,
        "abbreviated_statement": item.abbreviated_statement,
        "notes": item.notes,
        "framework": item.framework.identifier,
        "framework_title": item.framework.title,
        "framework_version": item.framework.version,
        "parent": item.parent.identifier if item.parent else None,
        "children": list(item.children.order_by("order").values_list("identifier", flat=True)),
        "associations": associations,
    }


# --- a learner's competency profile, for the LMS that reports their progress -----------------


class EvidenceOut(Schema):
    kind: str
    level: str
    title: str
    uri: str
    occurred_at: datetime


class ProfileItemOut(Schema):
    identifier: uuid.UUID
    code: str
    statement: str
    depth: int
    level: str | None = Field(None, description="The level reached, if any.")
    level_order: int | None = None
    since: datetime | None = None
    via: str | None = Field(None, description="direct, rollup or crosswalk")
    still_needed: str = Field(
        "",
        description="For an item with evidence but no level yet, under an evidence rule: "
        "what is missing, in the learner's language (e.g. '2 of 3 modules complete; "
        "observation needed').",
    )
    evidence: list[EvidenceOut]


class ProfileFrameworkOut(Schema):
    identifier: uuid.UUID
    title: str
    version: str
    attained: int
    items: list[ProfileItemOut]


@router.get(
    "/learners/{external_id}/competencies",
    auth=api_key_auth,
    response={200: list[ProfileFrameworkOut], 404: ErrorOut},
    summary="A learner's competency profile",
    description="Per framework: the items the learner has evidence or a level for (with "
    "their ancestors), the level reached, since when, how, and the evidence trail. Only "
    "for a learner of the key's institution (by the external id it gave them).",
)
def learner_competencies(request, external_id: str):
    identity = learner_identity_for(
        institution=request.api_key.institution, external_id=external_id
    )
    if identity is None:
        return Status(
            404, error_body(f"No learner with external id '{external_id}' at your institution.")
        )
    return [
        {
            "identifier": profile.framework.identifier,
            "title": profile.framework.title,
            "version": profile.framework.version,
            "attained": profile.attained,
            "items": [
                {
                    "identifier": row.item.identifier,
                    "code": row.item.code,
                    "statement": row.item.abbreviated_statement or row.item.full_statement,
                    "depth": row.depth,
                    "level": row.attainment.level.name if row.attainment else None,
                    "level_order": row.attainment.level.order if row.attainment else None,
                    "since": row.attainment.since if row.attainment else None,
                    "via": row.attainment.via if row.attainment else None,
                    "still_needed": row.still_needed,
                    "evidence": [
                        {
                            "kind": evidence.source_kind,
                            "level": evidence.level.name,
                            "title": evidence.source_title,
                            "uri": evidence.source_uri,
                            "occurred_at": evidence.occurred_at,
                        }
                        for evidence in row.evidence
                    ],
                }
                for row in profile.rows
            ],
        }
        for profile in selectors.learner_competency_profile(learner=identity.user)
    ]


@hooks.register("register_api_routers")
def register_competency_router():
    return "/", router


# --- CASE 1.1 read API --------------------------------------------------------------------

case_api = ProjectAPI(
    title="CASE 1.1 provider",
    version="1.1",
    description="Published competency frameworks as 1EdTech CASE 1.1 CFDocuments and CFPackages.",
    urls_namespace="case-v1p1",
)


def _public_frameworks():
    return Framework.objects.exclude(status=FrameworkStatus.DRAFT)


@case_api.get("/CFDocuments", summary="All published frameworks as CFDocuments")
def case_documents(request):
    documents = []
    for framework in _public_frameworks().order_by("title", "version"):
        package = export_case_package(
            selectors.framework_data(framework=framework), base_url=site_base_url()
        )
        documents.append(package["CFDocument"])
    return {"CFDocuments": documents}


@case_api.get("/CFDocuments/{identifier}", summary="One CFDocument")
def case_document(request, identifier: uuid.UUID):
    framework = get_object_or_404(_public_frameworks(), identifier=identifier)
    data = selectors.framework_data(framework=framework)
    return export_case_package(data, base_url=site_base_url())["CFDocument"]


@case_api.get("/CFPackages/{identifier}", summary="A whole framework as a CFPackage")
def case_package(request, identifier: uuid.UUID):
    framework = get_object_or_404(_public_frameworks(), identifier=identifier)
    return export_case_package(
        selectors.framework_data(framework=framework), base_url=site_base_url()
    )


@case_api.get("/CFItems/{identifier}", summary="One CFItem")
def case_item(request, identifier: uuid.UUID):
    item = get_object_or_404(
        CompetencyItem.objects.filter(framework__in=_public_frameworks()), identifier=identifier
    )
    package = export_case_package(
        selectors.framework_data(framework=item.framework), base_url=site_base_url()
    )
    return next(i for i in package["CFItems"] if i["identifier"] == str(identifier))
