"""API tokens in Django admin: create (the secret is shown once, on the next page), list, revoke."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest

from api.models import ApiToken


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "prefix", "created_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("name", "user__username", "prefix")
    readonly_fields = ("prefix", "created_at", "created_by", "last_used_at", "revoked_at")
    actions = ["revoke"]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ("name", "user") if obj is None else ("name", "user", *self.readonly_fields)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # the owner of an existing token is fixed: a token for someone else is a new token
        return self.readonly_fields if obj is None else ("user", *self.readonly_fields)

    def save_model(self, request: HttpRequest, obj: ApiToken, form: Any, change: bool) -> None:
        if not change:
            obj.created_by = request.user  # type: ignore[assignment]
            secret = obj.new_secret()
            super().save_model(request, obj, form, change)
            messages.warning(
                request,
                f"The token for “{obj.name}” is {secret} — copy it now: it is not stored and will not be shown again.",
            )
            return
        super().save_model(request, obj, form, change)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # revoke instead: the token's record stays

    @admin.action(description="Revoke the selected tokens (at once)")
    def revoke(self, request: HttpRequest, queryset: Any) -> None:
        done = 0
        for token in queryset.filter(revoked_at__isnull=True):
            token.revoke()
            done += 1
        messages.success(request, f"{done} token(s) revoked.")
