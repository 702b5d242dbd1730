"""Wagtail admin pages of the certificates app: an institution's certificate templates, course
certificates (issuing rules), register of issued certificates, and issuing, revoking,
re-issuing and renewing them, one by one or for a whole cohort.

Who may do what is decided by the role held in the record's institution
(:mod:`certificates.permissions`). Another institution's record is a 404. Regulators read
the register and its certificates of their jurisdiction only, and change nothing. Every change is
made by :mod:`certificates.services`; a refusal
(:class:`~certificates.services.CertificateError`) is shown as it is and changes nothing.
The pages work without JavaScript.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Exists, OuterRef, ProtectedError
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

from certificates import rendering, selectors, services
from certificates.forms import IssueForm, RegisterFilterForm, ReissueForm, RevokeForm
from certificates.models import (
    BulkIssue,
    BulkIssueStatus,
    Certificate,
    CertificateRule,
    CertificateState,
    IssueMethod,
)
from certificates.permissions import (
    ISSUE_ROLES,
    institution_ids_for,
    institutions_for,
    may_read_register,
    register_certificates_for,
    scope,
    template_permission_policy,
)
from courses.models import Cohort
from lms.downloads import inline_header

ICON = "doc-full-inverse"

#: Certificates per page of the register.
REGISTER_PAGE_SIZE = 50


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


@never_cache
def template_preview(request, pk: int):
    """A sample PDF of the template, rendered now and shown in the browser."""
    template = get_object_or_404(
        template_permission_policy.instances_user_has_any_permission_for(
            request.user, ["change", "view"]
        ).select_related("institution", "logo", "signature"),
        pk=pk,
    )
    certificate = rendering.sample_certificate(template)
    pdf = services.certificate_pdf_bytes(certificate=certificate)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = inline_header(f"preview-{template.pk}.pdf")
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
    certificates = scope(
        Certificate.objects.select_related("institution", "course", "learner", "template"), ids
    )
    return get_object_or_404(certificates, uuid=uuid)


def _readable_certificates(request):
    """The register as this person may read it: their institutions' certificates, and a
    regulator's jurisdiction (read-only); refused to everyone else."""
    if not may_read_register(request.user):
        raise PermissionDenied(_("Only an institution's staff and regulators can read this."))
    return register_certificates_for(request.user)


def _can_manage(request, certificate: Certificate) -> bool:
    ids = institution_ids_for(request.user, ISSUE_ROLES)
    return ids is None or certificate.institution_id in ids


# --- Register ---------------------------------------------------------------------------------


def register(request):
    """The institution's certificates (a regulator's: their jurisdiction's): search, filter,
    page through."""
    certificates = _readable_certificates(request).select_related("learner")
    form = RegisterFilterForm(request.GET or None, certificates=certificates)
    if form.is_valid():
        certificates = selectors.register_filter(
            certificates,
            text=form.cleaned_data["q"],
            status=form.cleaned_data["status"],
            course=form.cleaned_data["course"],
            today=timezone.localdate(),
        )
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
    certificate = get_object_or_404(
        _readable_certificates(request).select_related(
            "institution", "course", "learner", "template"
        ),
        uuid=uuid,
    )
    return _certificate_page(request, certificate)


def _certificate_page(request, certificate: Certificate, **forms):
    can_manage = _can_manage(request, certificate)
    context = {
        "certificate": certificate,
        "events": certificate.events.select_related("actor").order_by("at", "pk"),
        "renewal": Certificate.objects.filter(renews=certificate).first(),
        "verification_url": services.verification_url(certificate),
        "verifications": selectors.verification_counts(certificates=[certificate])[certificate.pk],
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
    return scope(cohorts, ids)


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
    jobs = scope(BulkIssue.objects.select_related("cohort", "requested_by"), ids)[:RECENT_JOBS]
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
    jobs = scope(BulkIssue.objects.select_related("cohort__course"), _ids(request, ISSUE_ROLES))
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
