"""Fixtures of the rules administration tests: a second rules admin, a draft, a constructed cohort."""

from __future__ import annotations

import copy
import json
from datetime import date

import pytest

from accounts.models import Role, Site, User
from clinical.casefile import validate_case
from patients.casefiles import import_cases
from screening import rulesets
from screening.catalogue import drug_units
from screening.models import RuleSet
from tests.conftest import make_user
from tests.shipped import CASES, case_paths

AS_OF = date(2026, 11, 1)  # the shipped cases' as-of date
AGE_65 = {"min_years": 18, "max_years": 65}


def case_file(name: str) -> dict:
    return json.loads((CASES / f"{name}.json").read_text())


def import_named(site: Site, *names: str, extra: list[dict] | None = None) -> None:
    raw = [case_file(n) for n in names] + (extra or [])
    import_cases(actor=None, site=site, cases=[validate_case(c, drugs=drug_units()) for c in raw])


@pytest.fixture
def admin_2(site_a: Site) -> User:
    return make_user("admin_2", Role.RULES_ADMIN, site_a)


@pytest.fixture
def draft(rules_admin: User) -> RuleSet:
    """A draft of the published rules by admin_1."""
    return rulesets.create_draft(
        actor=rules_admin, source=RuleSet.objects.published(), version="2026.3", reason="review of the age limits"
    )


@pytest.fixture
def older_draft(draft: RuleSet, rules_admin: User) -> RuleSet:
    """The draft with HSCT's upper age raised to 65 (flags older-patient as of 2026-11-01)."""
    rulesets.set_criterion_params(
        rule_set=draft,
        actor=rules_admin,
        node_id="hsct.age",
        params=AGE_65,
        source="S30",
        reason="the LIST protocol admits patients up to 65",
    )
    draft.refresh_from_db()
    return draft


@pytest.fixture
def cohort(site_a: Site) -> None:
    """The shipped cases plus older-patient without its damage index ("older-no-damage")."""
    no_damage = copy.deepcopy(case_file("older-patient"))
    no_damage["case_id"] = "older-no-damage"
    no_damage.pop("damage")
    import_named(site_a, *(p.stem for p in case_paths()), extra=[no_damage])
