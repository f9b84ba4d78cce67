"""The read-replica router (config/replicas.py): off by default; when on, only the named pages read there."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import RequestFactory
from django.urls import resolve, reverse

from accounts.models import User
from config.replicas import REPLICA, ReplicaPagesMiddleware, ReplicaRouter, replica_reads
from patients.models import Patient
from referrals.models import Referral
from screening.models import ScreeningResult


def test_off_by_default() -> None:
    assert REPLICA not in settings.DATABASES and not getattr(settings, "DATABASE_ROUTERS", [])
    assert settings.REPLICA_PAGES == ("referrals:dashboard",)


@pytest.fixture
def with_replica(settings):
    settings.DATABASES = {**settings.DATABASES, REPLICA: {**settings.DATABASES["default"]}}
    return ReplicaRouter()


def test_the_router_sends_only_replica_reads_of_clinical_tables_there(with_replica) -> None:
    router = with_replica
    for model in (Patient, Referral, ScreeningResult, User):
        assert router.db_for_read(model) is None  # outside a replica page: the primary
        assert router.db_for_write(model) is None
    with replica_reads():
        assert router.db_for_read(Patient) == router.db_for_read(Referral) == REPLICA
        assert router.db_for_read(ScreeningResult) == REPLICA
        assert router.db_for_read(User) is None  # sessions and users stay on the primary
        assert router.db_for_write(Referral) is None  # writes never go to the replica
    assert router.db_for_read(Referral) is None
    assert router.allow_migrate(REPLICA, "referrals") is False and router.allow_migrate("default", "referrals") is None


def test_without_a_replica_configured_nothing_moves() -> None:
    with replica_reads():
        assert ReplicaRouter().db_for_read(Referral) is None


@pytest.mark.parametrize("name,replica", [("referrals:dashboard", True), ("referrals:queue", False)])
def test_the_middleware_serves_the_named_pages_from_the_replica(with_replica, name, replica) -> None:
    seen = []

    def view(request):
        seen.append(with_replica.db_for_read(Referral))
        return "response"

    middleware = ReplicaPagesMiddleware(lambda request: middleware.process_view(request, view, (), {}) or view(request))
    request = RequestFactory().get(reverse(name))
    request.resolver_match = resolve(reverse(name))
    assert middleware(request) == "response"
    assert seen == [REPLICA if replica else None]
    assert with_replica.db_for_read(Referral) is None  # reset after the response
