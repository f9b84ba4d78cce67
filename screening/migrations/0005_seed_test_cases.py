"""Seed the case files shipped with 2026.1 (screening/data/test_cases) as the first test cases, with their expected outcomes.

Frozen to what this release shipped: the nine cases of 2026.1 and their outcomes under 2026.1
(test_cases/expectations/2026.1.json). Cases and outcomes shipped later arrive through later migrations
(ship_default_rules_2026_2), so a fresh install and an upgraded one go through the same steps.
"""

import json
from pathlib import Path

from django.db import migrations

CASES = Path(__file__).resolve().parent.parent / "data" / "test_cases"
EXPECTED_2026_1 = CASES / "expectations" / "2026.1.json"
SHIPPED_WITH_2026_1 = (
    "contraindications-present",
    "mild-disease",
    "no-recent-assessment",
    "not-lupus",
    "older-patient",
    "partial-activity-score",
    "refractory-nephritis",
    "steroid-dependent",
    "workup-pending",
)
NOTE = "Shipped case file (screening/data/test_cases), expected outcomes from expected.json."
NOTE_PREFIX = "Shipped case file ("  # also matches the notes of installs seeded by earlier releases


def seed(apps, schema_editor):
    RuleCase = apps.get_model("screening", "RuleCase")
    expected = json.loads(EXPECTED_2026_1.read_text(encoding="utf-8"))
    for name in SHIPPED_WITH_2026_1:
        if RuleCase.objects.filter(name=name).exists():
            continue
        case = json.loads((CASES / f"{name}.json").read_text(encoding="utf-8"))
        RuleCase.objects.create(
            name=case["case_id"], case=case, note=NOTE,
            expected={pathway: value["outcome"] for pathway, value in expected[name].items()},
        )


def unseed(apps, schema_editor):
    apps.get_model("screening", "RuleCase").objects.filter(note__startswith=NOTE_PREFIX).delete()


class Migration(migrations.Migration):
    dependencies = [("screening", "0004_rules_admin")]
    operations = [migrations.RunPython(seed, unseed)]
