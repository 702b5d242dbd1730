"""Wagtail admin pages of the certificates app: an institution's certificate templates, course
certificates (issuing rules), register of issued certificates, and issuing, revoking,
re-issuing and renewing them, one by one or for a whole cohort.

Who may do what is decided by the role held in the record's institution (superusers: all):

* templates and course certificates — the institution's authors and managers;
* the register (read) — its managers and instructors;
* issuing, revoking, re-issuing, renewing, bulk issuing — its managers.

Another institution's record is a 404. Every change is made by :mod:`certificates.services`;
a refusal (:class:`~certificates.services.CertificateError`) is shown as it is and changes
nothing. The pages work without JavaScript.
"""

from datetime import timedelta
from decimal import Decimal

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Exists, OuterRef, ProtectedError, Q, QuerySet
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from wagtail.admin.ui.tables import Column
from wagtail.admin.views import generic
from wagtail.admin.views.generic.history import HistoryView
from wagtail.admin.views.generic.usage import UsageView
from wagtail.admin.widgets.button import Button
from wagtail.permission_policies import BasePermissionPolicy

from certificates import selectors, services
from certificates.codes import check_symbol
from certificates.forms import IssueForm, RegisterFilterForm, ReissueForm, RevokeForm
from certificates.models import (
    BulkIssue,
    BulkIssueStatus,
    Certificate,
    CertificateRule,
    CertificateState,
    CertificateTemplate,
    IssueMethod,
)
from courses import selectors as course_selectors
from courses.models import Cohort
from lms.models import Institution, Membership
from lms.roles import InstitutionRole

ICON = "doc-full-inverse"

#: Roles that design templates and set each course's certificate.
DESIGN_ROLES = (InstitutionRole.AUTHOR, InstitutionRole.MANAGER)
#: Roles that read the register of issued certificates.
REGISTER_ROLES = (InstitutionRole.MANAGER, InstitutionRole.INSTRUCTOR)
#: Roles that issue, revoke, re-issue and renew certificates.
ISSUE_ROLES = (InstitutionRole.MANAGER,)

#: Certificates per page of the register.
REGISTER_PAGE_SIZE = 50


# --- Who may do what ----------------------------------------------------------------------


def _institution_ids_by_role(user) -> dict[str, frozenset[int]]:
    """The institutions where ``user`` holds each role: one query per request, then cached."""
    cached = getattr(user, "_certificates_roles_cache", None)
    if cached is None:
        by_role: dict[str, set[int]] = {}
        for institution_id, role in Membership.objects.filter(user=user).values_list(
            "institution_id", "role"
        ):
            by_role.setdefault(role, set()).add(institution_id)
        cached = {role: frozenset(ids) for role, ids in by_role.items()}
        user._certificates_roles_cache = cached
    return cached


def institution_ids_for(user, roles) -> frozenset[int] | None:
    """Ids of the institutions where ``user`` holds one of ``roles``; None means all of them."""
    if not user.is_authenticated or not user.is_active:
        return frozenset()
    if user.is_superuser:
        return None
    held = _institution_ids_by_role(user)
    return frozenset().union(*(held.get(role, frozenset()) for role in roles))


def _institutions(ids: frozenset[int] | None) -> QuerySet[Institution]:
    return Institution.objects.all() if ids is None else Institution.objects.filter(pk__in=ids)


def institutions_for(user, roles) -> QuerySet[Institution]:
    return _institutions(institution_ids_for(user, roles))


def _scope(queryset: QuerySet, ids: frozenset[int] | None, field: str = "institution"):
    return queryset if ids is None else queryset.filter(**{f"{field}_id__in": ids})


class InstitutionPermissionPolicy(BasePermissionPolicy):
    """Wagtail permission policy: an action on a record is allowed to the roles ``actions``
    names, held in the record's institution (found through ``institution_field``)."""

    def __init__(self, model, *, actions: dict[str, tuple[str, ...]], institution_field: str):
        super().__init__(model)
        self.actions = actions
        self.institution_field = institution_field

    def _roles(self, actions) -> set[str]:
        return {role for action in actions for role in self.actions.get(action, ())}

    def _ids(self, user, actions) -> frozenset[int] | None:
        roles = self._roles(actions)
        if not roles:
            return frozenset()
        return institution_ids_for(user, roles)

    def institutions_for(self, user, actions) -> QuerySet[Institution]:
        """The institutions whose records ``user`` may act on in one of these ways."""
        return _institutions(self._ids(user, actions))

    def user_has_permission(self, user, action):
        return self.user_has_any_permission(user, [action])

    def user_has_any_permission(self, user, actions):
        ids = self._ids(user, actions)
        return ids is None or bool(ids)

    def users_with_any_permission(self, actions):
        return self._users(Q(memberships__role__in=self._roles(actions)))

    def users_with_any_permission_for_instance(self, actions, instance):
        return self._users(
            Q(
                memberships__role__in=self._roles(actions),
                memberships__institution_id=self._institution_id(instance),
            )
        )

    def _users(self, holds_role: Q):
        return (
            get_user_model()
            .objects.filter(is_active=True)
            .filter(Q(is_superuser=True) | holds_role)
            .distinct()
        )

    def _institution_id(self, instance) -> int | None:
        *path, last = self.institution_field.split("__")
        for name in path:
            instance = getattr(instance, name, None)
            if instance is None:
                return None
        return getattr(instance, f"{last}_id", None)

    def user_has_permission_for_instance(self, user, action, instance):
        return self.user_has_any_permission_for_instance(user, [action], instance)

    def user_has_any_permission_for_instance(self, user, actions, instance):
        ids = self._ids(user, actions)
        return ids is None or self._institution_id(instance) in ids

    def instances_user_has_any_permission_for(self, user, actions):
        return _scope(
            self.model._default_manager.all(), self._ids(user, actions), self.institution_field
        )


template_permission_policy = InstitutionPermissionPolicy(
    CertificateTemplate,
    actions=dict.fromkeys(("add", "change", "delete", "view"), DESIGN_ROLES),
    institution_field="institution",
)
rule_permission_policy = InstitutionPermissionPolicy(
    CertificateRule,
    # No "delete": a course stops awarding certificates by being changed, not by losing its rule.
    actions=dict.fromkeys(("add", "change", "view"), DESIGN_ROLES),
    institution_field="template__institution",
)


# --- Generic (ModelViewSet) views, scoped to the user's institutions -------------------------


class ScopedIndexView(generic.IndexView):
    def get_base_queryset(self):
        return self.permission_policy.instances_user_has_any_permission_for(
            self.request.user, self.any_permission_required
        )


class ScopedObjectMixin:
    """Another institution's record is not found, whichever generic view is asked for it."""

    scope_actions = ("change",)

    def get_object(self, *args, **kwargs):
        instance = super().get_object(*args, **kwargs)
        if not self.permission_policy.user_has_any_permission_for_instance(
            self.request.user, self.scope_actions, instance
        ):
            raise Http404
        return instance


class ScopedEditView(ScopedObjectMixin, generic.EditView):
    pass


class ScopedHistoryView(ScopedObjectMixin, HistoryView):
    pass


class ScopedUsageView(ScopedObjectMixin, UsageView):
    pass


class ScopedDeleteView(ScopedObjectMixin, generic.DeleteView):
    """Deleting a template that rules or certificates use is refused with a clear message
    (the reference index knows of rules; certificates are caught by the database)."""

    scope_actions = ("delete",)

    def form_valid(self, form):
        if self.usage is not None and self.usage.is_protected:
            return self._in_use()
        try:
            return super().form_valid(form)
        except ProtectedError:
            return self._in_use()

    def _in_use(self):
        messages.error(
            self.request,
            _("“%(name)s” cannot be deleted: course certificates or issued certificates use it.")
            % {"name": self.object},
        )
        return redirect(self.edit_url_name, self.object.pk)


class TemplateIndexView(ScopedIndexView):
    def get_base_queryset(self):
        return super().get_base_queryset().select_related("institution")


class RuleIndexView(ScopedIndexView):
    def get_base_queryset(self):
        return super().get_base_queryset().select_related("course", "template__institution")


class TemplateEditView(ScopedEditView):
    @property
    def header_more_buttons(self):
        return [
            *super().header_more_buttons,
            Button(
                _("Preview (PDF)"),
                url=reverse("certificate_templates:preview", args=[self.object.pk]),
                icon_name="view",
                priority=5,
                attrs={"target": "_blank", "rel": "noopener"},
            ),
        ]


class PreviewColumn(Column):
    """A "Preview (PDF)" link in each row of the template listing (no JavaScript needed)."""

    cell_template_name = "certificates/admin/preview_cell.html"

    def get_value(self, instance):
        return reverse("certificate_templates:preview", args=[instance.pk])


# --- Template preview -----------------------------------------------------------------------

SAMPLE_CODE_DATA = "SAMP1EC0DE000000"


def _sample_certificate(template: CertificateTemplate) -> Certificate:
    """An unsaved certificate with sample data, printed on ``template``."""
    institution = template.institution
    course = course_selectors.institution_courses(institution=institution).order_by("path").first()
    now = timezone.now()
    return Certificate(
        code=SAMPLE_CODE_DATA + check_symbol(SAMPLE_CODE_DATA),
        template=template,
        institution=institution,
        holder_name="Amina Example",
        course_title=course.title if course else _("Sample course: case management basics"),
        institution_name=institution.name,
        cpd_hours=(course.cpd_hours if course else None) or Decimal("12"),
        framework_title=_("Sample competency framework"),
        framework_version="1.0",
        competencies=[
            {"code": code, "statement": statement, "level": level}
            for code, statement, level in (
                ("PP.1.1", _("Coordinates with other service providers"), _("Competent")),
                ("PP.3.1", _("Carries out a strengths-based assessment"), _("Proficient")),
                ("PP.4.2", _("Refers children and families to services"), _("Competent")),
            )
        ],
        language=template.language,
        issued_at=now,
        valid_until=timezone.localdate(now) + timedelta(days=3 * 365),
        version=1,
    )


@never_cache
def template_preview(request, pk: int):
    """A sample PDF of the template, rendered now and shown in the browser."""
    template = get_object_or_404(
        template_permission_policy.instances_user_has_any_permission_for(
            request.user, ["change", "view"]
        ).select_related("institution", "logo", "signature"),
        pk=pk,
    )
    certificate = _sample_certificate(template)
    pdf = services.certificate_pdf_bytes(certificate=certificate)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="preview-{template.pk}.pdf"'
    return response


# --- Helpers for the pages below --------------------------------------------------------------


def _render(request, template: str, context: dict, *, title: str, subtitle: str = "", **kw):
    return TemplateResponse(
        request,
        f"certificates/admin/{template}",
        {
            "header_title": f"{title} — {subtitle}" if subtitle else title,
            "page_title": title,
            "page_subtitle": subtitle,
            "header_icon": ICON,
            **context,
        },
        **kw,
    )


def _ids(request, roles) -> frozenset[int] | None:
    ids = institution_ids_for(request.user, roles)
    if ids is not None and not ids:
        raise PermissionDenied(_("Only an institution's staff can do this."))
    return ids


def _certificate(request, uuid, roles) -> Certificate:
    ids = _ids(request, roles)
    certificates = _scope(
        Certificate.objects.select_related("institution", "course", "learner", "template"), ids
    )
    return get_object_or_404(certificates, uuid=uuid)


def _can_manage(request, certificate: Certificate) -> bool:
    ids = institution_ids_for(request.user, ISSUE_ROLES)
    return ids is None or certificate.institution_id in ids


# --- Register ---------------------------------------------------------------------------------


def register(request):
    """The institution's certificates: search, filter, page through."""
    ids = _ids(request, REGISTER_ROLES)
    certificates = _scope(Certificate.objects.select_related("learner"), ids)
    form = RegisterFilterForm(request.GET or None, certificates=certificates)
    if form.is_valid():
        certificates = form.filter(certificates, today=timezone.localdate())
    page = Paginator(certificates.order_by("-issued_at", "-pk"), REGISTER_PAGE_SIZE).get_page(
        request.GET.get("p")
    )
    query = request.GET.copy()
    query.pop("p", None)
    return _render(
        request,
        "register.html",
        {"form": form, "page": page, "query": query.urlencode()},
        title=_("Certificate register"),
    )


def certificate_detail(request, uuid):
    certificate = _certificate(request, uuid, REGISTER_ROLES)
    return _certificate_page(request, certificate)


def _certificate_page(request, certificate: Certificate, **forms):
    can_manage = _can_manage(request, certificate)
    context = {
        "certificate": certificate,
        "events": certificate.events.select_related("actor").order_by("at", "pk"),
        "renewal": Certificate.objects.filter(renews=certificate).first(),
        "verification_url": services.verification_url(certificate),
        "can_manage": can_manage,
    }
    if can_manage:
        context |= {
            "revoke_form": forms.get("revoke_form") or RevokeForm(),
            "reissue_form": forms.get("reissue_form") or ReissueForm(),
            "can_revoke": not certificate.is_revoked,
            "can_reissue": not certificate.is_revoked,
            "can_renew": certificate.state == CertificateState.ACTIVE
            and certificate.valid_until is not None,
        }
    return _render(
        request,
        "certificate_detail.html",
        context,
        title=_("Certificate"),
        subtitle=certificate.display_code,
    )


@require_POST
def certificate_revoke(request, uuid):
    certificate = _certificate(request, uuid, ISSUE_ROLES)
    form = RevokeForm(request.POST)
    if form.is_valid():
        try:
            services.certificate_revoke(
                certificate=certificate, actor=request.user, reason=form.cleaned_data["reason"]
            )
        except services.CertificateError as error:
            messages.error(request, str(error))
        else:
            messages.success(
                request,
                _("Certificate %(code)s revoked. Verification now says so, with the reason.")
                % {"code": certificate.display_code},
            )
        return redirect("certificates_certificate", certificate.uuid)
    return _certificate_page(request, certificate, revoke_form=form)


@require_POST
def certificate_reissue(request, uuid):
    certificate = _certificate(request, uuid, ISSUE_ROLES)
    form = ReissueForm(request.POST)
    if form.is_valid():
        try:
            certificate = services.certificate_reissue(
                certificate=certificate,
                actor=request.user,
                reason=form.cleaned_data["reason"],
                holder_name=form.cleaned_data["holder_name"] or None,
            )
        except services.CertificateError as error:
            messages.error(request, str(error))
        else:
            messages.success(
                request,
                _("Certificate %(code)s re-issued as version %(version)s, to %(name)s.")
                % {
                    "code": certificate.display_code,
                    "version": certificate.version,
                    "name": certificate.holder_name,
                },
            )
        return redirect("certificates_certificate", certificate.uuid)
    return _certificate_page(request, certificate, reissue_form=form)


@require_POST
def certificate_renew(request, uuid):
    certificate = _certificate(request, uuid, ISSUE_ROLES)
    try:
        renewal = services.certificate_renew(certificate=certificate, actor=request.user)
    except services.CertificateError as error:
        messages.error(request, str(error))
        return redirect("certificates_certificate", certificate.uuid)
    messages.success(
        request,
        _("Certificate %(old)s renewed: the new certificate is %(new)s.")
        % {"old": certificate.display_code, "new": renewal.display_code},
    )
    return redirect("certificates_certificate", renewal.uuid)


# --- Issue manually ---------------------------------------------------------------------------


def issue(request):
    """Issue one learner's certificate; unmet criteria can be overridden, with a reason."""
    _ids(request, ISSUE_ROLES)
    form = IssueForm(request.POST or None, institutions=institutions_for(request.user, ISSUE_ROLES))
    missing: list[str] = []
    if request.method == "POST" and form.is_valid():
        course, learner = form.cleaned_data["course"], form.cleaned_data["learner"]
        try:
            issued = services.certificate_issue(
                learner=learner,
                course=course,
                method=IssueMethod.MANUAL,
                actor=request.user,
                override_reason=form.cleaned_data["override_reason"],
            )
        except services.CertificateError as error:
            rule = selectors.certificate_rule_for(course=course)
            if rule is not None:
                missing = selectors.criteria_check(rule=rule, learner=learner).missing
            if not missing:
                form.add_error(None, str(error))
        else:
            certificate = issued.certificate
            if issued.created:
                messages.success(
                    request,
                    _("Certificate %(code)s issued to %(name)s.")
                    % {"code": certificate.display_code, "name": certificate.holder_name},
                )
            else:
                messages.info(
                    request,
                    _("%(name)s already holds this course's certificate: %(code)s.")
                    % {"code": certificate.display_code, "name": certificate.holder_name},
                )
            return redirect("certificates_certificate", certificate.uuid)
    return _render(
        request,
        "issue.html",
        {"form": form, "missing": missing},
        title=_("Issue a certificate"),
    )


# --- Bulk issue for a cohort -----------------------------------------------------------------

#: Jobs listed on the bulk issue page, newest first.
RECENT_JOBS = 20


def _managed_cohorts(ids):
    cohorts = Cohort.objects.select_related("institution", "course")
    return _scope(cohorts, ids)


def bulk(request):
    """The cohorts a manager can issue certificates to, and the recent bulk issues."""
    ids = _ids(request, ISSUE_ROLES)
    cohorts = (
        _managed_cohorts(ids)
        .annotate(
            learner_count=Count("learners"),
            has_rule=Exists(CertificateRule.objects.filter(course_id=OuterRef("course_id"))),
        )
        .order_by("institution__name", "name")
    )
    jobs = _scope(BulkIssue.objects.select_related("cohort", "requested_by"), ids)[:RECENT_JOBS]
    return _render(request, "bulk.html", {"cohorts": cohorts, "jobs": jobs}, title=_("Bulk issue"))


@require_POST
def bulk_start(request, pk: int):
    cohort = get_object_or_404(_managed_cohorts(_ids(request, ISSUE_ROLES)), pk=pk)
    try:
        job = services.bulk_issue_start(cohort=cohort, actor=request.user)
    except services.CertificateError as error:
        messages.error(request, str(error))
        return redirect("certificates_bulk")
    messages.success(
        request,
        _("Issuing certificates to the %(count)d learners of “%(cohort)s”.")
        % {"count": job.total, "cohort": cohort.name},
    )
    return redirect("certificates_bulk_job", job.pk)


@never_cache
def bulk_job(request, pk: int):
    """A bulk issue's progress; the page reloads itself until the job is done."""
    jobs = _scope(BulkIssue.objects.select_related("cohort__course"), _ids(request, ISSUE_ROLES))
    job = get_object_or_404(jobs, pk=pk)
    running = job.status != BulkIssueStatus.DONE
    if request.GET.get("format") == "json":
        return JsonResponse(
            {
                "id": job.pk,
                "status": job.status,
                "running": running,
                "total": job.total,
                "processed": job.processed,
                "percent": job.percent,
                "issued": job.issued,
                "already_held": job.already_held,
                "not_eligible": job.not_eligible,
                "created_at": job.created_at.isoformat(),
                "finished_at": job.finished_at.isoformat() if job.finished_at else None,
            }
        )
    return _render(
        request,
        "bulk_job.html",
        {"job": job, "running": running},
        title=_("Bulk issue"),
        subtitle=job.cohort.name,
    )
