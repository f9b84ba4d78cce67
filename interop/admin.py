from django.contrib import admin

from interop.models import CdsCard, CdsClient, CdsFeedback


@admin.register(CdsClient)
class CdsClientAdmin(admin.ModelAdmin):
    list_display = ("name", "issuer", "active")
    filter_horizontal = ("sites",)


@admin.register(CdsFeedback)
class CdsFeedbackAdmin(admin.ModelAdmin):
    list_display = ("card", "outcome", "reason", "outcome_at")
    readonly_fields = ("card", "outcome", "reason", "outcome_at", "received_at")

    def has_add_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False


@admin.register(CdsCard)
class CdsCardAdmin(admin.ModelAdmin):
    list_display = ("uuid", "client", "rule_set_version", "pathway", "outcome", "issued_at")

    def has_add_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False
