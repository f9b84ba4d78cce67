"""The drug catalogue of the published rule set."""

from __future__ import annotations

from typing import Any

from screening.models import RuleSet


def drug_catalogue() -> dict[str, dict[str, Any]]:
    """Drug code → catalogue entry (agent, class, unit, adequacy thresholds)."""
    return RuleSet.objects.published().drugs


def drug_units() -> dict[str, str]:
    return {code: d["dose_unit"] for code, d in drug_catalogue().items()}
