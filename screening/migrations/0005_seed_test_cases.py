"""Seed the shipped case files (screening/data/test_cases) as the first test cases, with their expected outcomes."""

import json
from pathlib import Path

from django.db import migrations

CASES = Path(__file__).resolve().parent.parent / "data" / "test_cases"
NOTE = "Shipped case file (screening/data/test_cases), expected outcomes from expected.json."
NOTE_PREFIX = "Shipped case file ("  # also matches the notes of installs seeded by earlier releases


def seed(apps, schema_editor):
    RuleCase = apps.get_model("screening", "RuleCase")
    expected = json.loads((CASES / "expected.json").read_text(encoding="utf-8"))
    for name in sorted(expected):
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
