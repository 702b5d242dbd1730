"""Wagtail admin wiring of the certificates app: the "Certificates" menu and its pages.

Templates and course certificates are ``ModelViewSet``\\s whose permission policies grant each
action by role in the record's institution (:mod:`certificates.admin_views`); the register,
manual and bulk issuing are plain admin views of their own.
"""

from django.urls import include, path, reverse
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.menu import MenuItem
from wagtail.admin.panels import FieldPanel, MultiFieldPanel, ObjectList
from wagtail.admin.ui.tables import BooleanColumn, Column
from wagtail.admin.viewsets.base import ViewSetGroup
from wagtail.admin.viewsets.model import ModelViewSet
from wagtail.permissions import register_permission_policy

from certificates import admin_views as views
from certificates import permissions
from certificates.forms import CertificateRuleForm, CertificateTemplateForm
from certificates.models import CertificateRule, CertificateTemplate

# Registered before the viewsets below look their policies up (Wagtail would otherwise make
# a model-permission fallback, which knows nothing of institutions).
register_permission_policy(CertificateTemplate, permissions.template_permission_policy)
register_permission_policy(CertificateRule, permissions.rule_permission_policy)

SUBMENU_HOOK = "register_certificates_menu_item"


class CertificateTemplateViewSet(ModelViewSet):
    model = CertificateTemplate
    name = "certificate_templates"
    url_prefix = "certificates/templates"
    icon = "doc-full"
    menu_label = _("Templates")
    copy_view_enabled = False
    index_view_class = views.TemplateIndexView
    edit_view_class = views.TemplateEditView
    delete_view_class = views.ScopedDeleteView
    history_view_class = views.ScopedHistoryView
    usage_view_class = views.ScopedUsageView
    list_display = [
        "name",
        "institution",
        Column("layout", label=_("Layout"), accessor="get_layout_display"),
        Column("language", label=_("Language"), accessor="get_language_display"),
        views.PreviewColumn("preview", label=_("Preview")),
    ]
    edit_handler = ObjectList(
        [
            FieldPanel("institution"),
            FieldPanel("name"),
            FieldPanel("layout"),
            FieldPanel("language"),
            FieldPanel("statement"),
            MultiFieldPanel(
                [FieldPanel("logo"), FieldPanel("primary_colour"), FieldPanel("accent_colour")],
                heading=_("Branding"),
            ),
            MultiFieldPanel(
                [
                    FieldPanel("signatory_name"),
                    FieldPanel("signatory_title"),
                    FieldPanel("signature"),
                ],
                heading=_("Signatory"),
            ),
        ],
        base_form_class=CertificateTemplateForm,
    )

    def get_urlpatterns(self):
        return [
            *super().get_urlpatterns(),
            path("preview/<int:pk>/", views.template_preview, name="preview"),
        ]


class CertificateRuleViewSet(ModelViewSet):
    model = CertificateRule
    name = "certificate_rules"
    url_prefix = "certificates/rules"
    icon = "tasks"
    menu_label = _("Course certificates")
    copy_view_enabled = False
    index_view_class = views.RuleIndexView
    edit_view_class = views.ScopedEditView
    history_view_class = views.ScopedHistoryView
    usage_view_class = views.ScopedUsageView
    list_display = [
        "course",
        "template",
        Column("course_version", label=_("Course version")),
        Column(
            "validity",
            label=_("Valid for"),
            accessor=lambda rule: (
                _("%(months)s months") % {"months": rule.validity_months}
                if rule.validity_months
                else _("does not expire")
            ),
        ),
        BooleanColumn("automatic", label=_("Automatic")),
    ]
    edit_handler = ObjectList(
        [
            FieldPanel("course"),
            FieldPanel("template"),
            MultiFieldPanel(
                [
                    FieldPanel("require_modules"),
                    FieldPanel("require_quizzes"),
                    FieldPanel("require_competencies"),
                    FieldPanel("require_observations"),
                ],
                heading=_("Criteria"),
            ),
            FieldPanel("validity_months"),
            FieldPanel("course_version"),
            FieldPanel("automatic"),
        ],
        base_form_class=CertificateRuleForm,
    )


class CertificatesMenu(ViewSetGroup):
    menu_label = _("Certificates")
    menu_icon = views.ICON
    menu_name = "certificates"
    menu_order = 320
    submenu_hook = SUBMENU_HOOK
    items = (CertificateTemplateViewSet, CertificateRuleViewSet)


@hooks.register("register_admin_viewset")
def register_certificates_viewsets():
    return CertificatesMenu()


admin_urls = [
    path("register/", views.register, name="certificates_register"),
    path("register/<uuid:uuid>/", views.certificate_detail, name="certificates_certificate"),
    path(
        "register/<uuid:uuid>/revoke/",
        views.certificate_revoke,
        name="certificates_certificate_revoke",
    ),
    path(
        "register/<uuid:uuid>/reissue/",
        views.certificate_reissue,
        name="certificates_certificate_reissue",
    ),
    path(
        "register/<uuid:uuid>/renew/",
        views.certificate_renew,
        name="certificates_certificate_renew",
    ),
    path("issue/", views.issue, name="certificates_issue"),
    path("bulk/", views.bulk, name="certificates_bulk"),
    path("bulk/cohorts/<int:pk>/", views.bulk_start, name="certificates_bulk_start"),
    path("bulk/<int:pk>/", views.bulk_job, name="certificates_bulk_job"),
]


@hooks.register("register_admin_urls")
def register_certificates_urls():
    return [path("certificates/", include(admin_urls))]


class PermittedMenuItem(MenuItem):
    """Shown to the people ``may_use(user)`` lets in."""

    def __init__(self, *args, may_use, **kwargs):
        super().__init__(*args, **kwargs)
        self.may_use = may_use

    def is_shown(self, request):
        return self.may_use(request.user)


def _issuers(user) -> bool:
    """People who issue certificates in some institution (and superusers)."""
    return permissions.institution_ids_for(user, permissions.ISSUE_ROLES) != frozenset()


#: The admin pages of the "Certificates" menu besides the viewsets, and who sees each.
MENU_PAGES = (
    # label, URL name, item name, icon, order, who may use it
    (
        _("Register"),
        "certificates_register",
        "certificate-register",
        "list-ul",
        30,
        permissions.may_read_register,  # register keepers and regulators
    ),
    (
        _("Issue a certificate"),
        "certificates_issue",
        "certificate-issue",
        "plus",
        40,
        _issuers,
    ),
    (
        _("Bulk issue for a cohort"),
        "certificates_bulk",
        "certificate-bulk",
        "group",
        50,
        _issuers,
    ),
)


def _menu_item_hook(label, url_name, name, icon, order, may_use):
    def menu_item():
        return PermittedMenuItem(
            label, reverse(url_name), name=name, icon_name=icon, order=order, may_use=may_use
        )

    return menu_item


for page in MENU_PAGES:
    hooks.register(SUBMENU_HOOK, _menu_item_hook(*page))
