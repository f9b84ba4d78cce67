from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from accounts.models import Site, User


@admin.register(User)
class CandidacyUserAdmin(UserAdmin):
    fieldsets = UserAdmin.fieldsets + (("Candidacy", {"fields": ("role", "sites")}),)
    list_display = ("username", "email", "role", "is_active")
    list_filter = ("role", "sites", "is_active")

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        # The audit trail names people by their user row: deactivate a leaver, never delete them.
        return False


@admin.register(Site)
class SiteAdmin(admin.ModelAdmin):
    list_display = ("code", "name")
