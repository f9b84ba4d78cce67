"""Users are deactivated, never deleted: the audit trail names people by their user row."""

from __future__ import annotations

import pytest
from django.contrib.admin.sites import site as admin_site

from accounts.models import User


@pytest.mark.django_db
def test_users_cannot_be_deleted_in_the_admin(rf) -> None:
    superuser = User.objects.create_superuser("root", password="x")
    request = rf.get("/admin/")
    request.user = superuser
    assert admin_site._registry[User].has_delete_permission(request) is False
