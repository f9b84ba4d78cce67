"""seed_demo: a demo site, one user per role and a dozen demo patients; safe to run twice."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from accounts.models import Role, Site, User
from clinic.demo import seed_demo_referrals
from clinical.casefile import validate_case
from patients.casefiles import import_cases
from patients.demo import demo_cases
from screening.catalogue import drug_units

DEMO_PASSWORD = "candidacy-demo"
DEMO_USERS = (
    ("specialist", Role.SPECIALIST, "Sam", "Specialist"),
    ("staff", Role.STAFF, "Kim", "Staff"),
    ("rulesadmin", Role.RULES_ADMIN, "Ada", "Rules"),
    ("rulesadmin2", Role.RULES_ADMIN, "Ben", "Reviewer"),
    ("privacy", Role.PRIVACY_OFFICER, "Pat", "Privacy"),
)


class Command(BaseCommand):
    help = "Create the demo site (code 'demo'), demo users and demo patients. Safe to run twice."

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            site, outcome = self._seed()
        # After the commit: the patients have been screened, so referrals exist to move along.
        moved = seed_demo_referrals(site)
        self.stdout.write(
            f"demo site ready: {outcome.created} patients created, {outcome.updated} refreshed, "
            f"{moved} demo referrals moved along; logins {', '.join(u[0] for u in DEMO_USERS)} "
            f"(password {DEMO_PASSWORD})"
        )

    def _seed(self) -> tuple[Site, Any]:
        site, _ = Site.objects.get_or_create(code="demo", defaults={"name": "Demo lupus clinic"})
        for username, role, first, last in DEMO_USERS:
            user, created = User.objects.get_or_create(
                username=username, defaults={"role": role, "first_name": first, "last_name": last}
            )
            if created:
                user.set_password(DEMO_PASSWORD)
                user.save()
            user.sites.add(site)
        today = timezone.localdate()
        cases = [validate_case(c, drugs=drug_units(), today=today) for c in demo_cases(today)]
        return site, import_cases(actor=None, site=site, cases=cases)
