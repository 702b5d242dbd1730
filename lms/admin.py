from allauth.account.decorators import secure_admin_login
from django.contrib import admin

from lms.models import ApiKey, Institution, LearnerIdentity, LearnerProfile, Membership


class SuperuserOnlyAdminSite(admin.AdminSite):
    site_header = "SSW Learning — system administration"

    def has_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def login(self, request, extra_context=None):
        """allauth's log-in (with the second factor) instead of Django's password-only form."""
        return secure_admin_login(super().login)(request, extra_context)


@admin.register(Institution)
class InstitutionAdmin(admin.ModelAdmin):
    list_display = ("name", "country", "accreditation_number")
    search_fields = ("name", "accreditation_number")
    prepopulated_fields = {"slug": ("name",)}


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "institution", "role", "created_at")
    list_filter = ("role", "institution")
    raw_id_fields = ("user",)


@admin.register(LearnerProfile)
class LearnerProfileAdmin(admin.ModelAdmin):
    list_display = ("full_name", "cadre", "sector", "country", "region")
    list_filter = ("cadre", "sector", "country")
    search_fields = ("full_name", "worker_registration_number", "user__username")


@admin.register(LearnerIdentity)
class LearnerIdentityAdmin(admin.ModelAdmin):
    list_display = ("external_id", "institution", "user", "created_at")
    list_filter = ("institution",)
    search_fields = ("external_id", "user__username")
    raw_id_fields = ("user",)


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ("name", "institution", "prefix", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("prefix", "key_digest", "created_at", "last_used_at")
