"""Seed the default rule set of this release, 2026.1 (screening/data/rules/default-2026.1.json), as the published version.

The file is the frozen copy of 2026.1, not the current default: later defaults arrive through later migrations
(ship_default_rules_2026_2 ships 2026.2), so a fresh install and an upgraded one go through the same steps.
"""

import json
from pathlib import Path

from django.db import migrations
from django.utils import timezone

DEFAULT_RULES = Path(__file__).resolve().parent.parent / "data" / "rules" / "default-2026.1.json"


def seed(apps, schema_editor):
    RuleSet = apps.get_model("screening", "RuleSet")
    content = json.loads(DEFAULT_RULES.read_text(encoding="utf-8"))
    if RuleSet.objects.filter(version=content["version"]).exists():
        return
    RuleSet.objects.create(
        name=content["name"],
        version=content["version"],
        status="published",
        content=content,
        change_note="Default rule set shipped with Candidacy (described in docs/rule-sets.md).",
        published_at=timezone.now(),
    )


def unseed(apps, schema_editor):
    apps.get_model("screening", "RuleSet").objects.filter(version="2026.1").delete()


class Migration(migrations.Migration):
    dependencies = [("screening", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
