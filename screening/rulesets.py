"""Writes to rule sets: import a rule-set file as a draft (every change audited)."""

from __future__ import annotations

import json
from typing import Any

from django.db import transaction

from accounts.models import User
from screening import engine
from screening.models import RuleSet, RuleSetStatus


class RuleSetRefused(Exception):
    """A rule-set file or change refused; the message names the node id and parameter."""


def parse_rules_text(text: str | bytes) -> dict[str, Any]:
    """Rule-set file text → validated content (the file's own shape), or RuleSetRefused."""
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise RuleSetRefused(f"(top level): not valid JSON ({err})") from err
    if not isinstance(data, dict):
        raise RuleSetRefused("(top level): must be a JSON object")
    try:
        return engine.rule_set_to_dict(engine.parse_rule_set(data))
    except engine.RuleSetError as err:
        raise RuleSetRefused(str(err)) from err


@transaction.atomic
def import_rule_set(*, actor: User | None, content: dict[str, Any], note: str = "") -> RuleSet:
    """Store a validated rule-set file as a new draft."""
    if RuleSet.objects.filter(version=content["version"]).exists():
        raise RuleSetRefused(f"version: {content['version']} already exists; give the draft a new version")
    rule_set = RuleSet(
        name=content["name"], version=content["version"], status=RuleSetStatus.DRAFT, content=content,
        change_note=note, created_by=actor,
    )
    rule_set._history_user = actor  # type: ignore[attr-defined]
    rule_set._change_reason = note or "imported from a rule-set file"  # type: ignore[attr-defined]
    rule_set.save()
    return rule_set
