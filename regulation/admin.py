"""Regulatory bodies and their members in the Django admin (superusers only)."""

from django.contrib import admin

from regulation.models import RegulatorMembership, RegulatoryBody


@admin.register(RegulatoryBody)
class RegulatoryBodyAdmin(admin.ModelAdmin):
    list_display = ["name", "country", "children_per_worker_target"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(RegulatorMembership)
class RegulatorMembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "body", "created_at"]
    raw_id_fields = ["user"]
