from axes.utils import reset as axes_reset
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.db.models import Exists, OuterRef
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import twofactor
from accounts.models import Site, User


@admin.register(User)
class CandidacyUserAdmin(UserAdmin):
    fieldsets = UserAdmin.fieldsets + (("Candidacy", {"fields": ("role", "sites")}),)
    list_display = ("username", "email", "role", "is_active", "two_factor")
    list_filter = ("role", "sites", "is_active")
    # A forgotten password: the user's page has "Reset password" (Django's own form, which signs
    # the user's sessions out); a lost phone: the action below; a lockout: the other action.
    actions = ["reset_two_factor", "unlock_sign_in"]

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        # The audit trail names people by their user row: deactivate a leaver, never delete them.
        return False

    def get_queryset(self, request):  # type: ignore[no-untyped-def]
        app = TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True)
        return super().get_queryset(request).annotate(has_two_factor=Exists(app))

    @admin.display(boolean=True, description="Two-factor", ordering="has_two_factor")
    def two_factor(self, obj):  # type: ignore[no-untyped-def]
        return obj.has_two_factor

    @admin.action(description="Reset two-factor sign-in (lost phone): set up again at next sign-in")
    def reset_two_factor(self, request, queryset):  # type: ignore[no-untyped-def]
        for user in queryset:
            twofactor.remove_two_factor(user=user, actor=request.user, reason=f"reset by {request.user.username}")
        self.message_user(request, f"Two-factor sign-in reset for {len(queryset)} user(s).", messages.SUCCESS)

    @admin.action(description="Unlock sign-in (clear failed logins)")
    def unlock_sign_in(self, request, queryset):  # type: ignore[no-untyped-def]
        cleared = sum(axes_reset(username=user.username) for user in queryset)
        for user in queryset:
            self.log_change(request, user, "Sign-in unlocked (failed logins cleared).")
        self.message_user(request, f"Sign-in unlocked: {cleared} lockout record(s) cleared.", messages.SUCCESS)


@admin.register(Site)
class SiteAdmin(admin.ModelAdmin):
    list_display = ("code", "name")
