"""Regulatory bodies and their members in the Django admin (superusers only).

Saving here goes through :mod:`regulation.services`, so that a member added, moved or
removed in the admin gains or loses the Wagtail admin access the role brings, as one added
by the services would.
"""

from django.contrib import admin

from regulation import services
from regulation.models import RegulatorMembership, RegulatoryBody


@admin.register(RegulatoryBody)
class RegulatoryBodyAdmin(admin.ModelAdmin):
    list_display = ["name", "country", "children_per_worker_target"]
    prepopulated_fields = {"slug": ["name"]}

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        services.body_admin_group_sync(body=obj)

    def delete_model(self, request, obj):
        services.body_delete(body=obj)

    def delete_queryset(self, request, queryset):
        for body in queryset:
            services.body_delete(body=body)


@admin.register(RegulatorMembership)
class RegulatorMembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "body", "created_at"]
    raw_id_fields = ["user"]

    def save_model(self, request, obj, form, change):
        if change:
            # Moved to another body (or given to another person): the old membership goes,
            # with its admin access, before the new one is made.
            before = RegulatorMembership.objects.select_related("user").get(pk=obj.pk)
            services.regulator_remove(user=before.user)
        obj.pk = services.regulator_add(user=obj.user, body=obj.body).pk

    def delete_model(self, request, obj):
        services.regulator_remove(user=obj.user)

    def delete_queryset(self, request, queryset):
        for membership in queryset.select_related("user"):
            services.regulator_remove(user=membership.user)
