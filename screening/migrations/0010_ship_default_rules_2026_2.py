"""Ship the default rules 2026.2 and the test cases' expected outcomes under them (docs/rule-sets.md, "Changes").

A fresh install publishes 2026.2. This migration tells one from an install in use by a rule that errs on the
safe side: the install is fresh when nothing was ever recorded or screened (no patient, no screening result,
no background job, no rule-set event) and the only rule set is 2026.1 as migration 0002 seeded it (published by
the installation, never edited, its content the shipped 2026.1 file). Then 2026.1 governed nothing, and the
seeded row becomes 2026.2 in place.

Any other install keeps what it has published and receives 2026.2 as a draft, a "shipped update" based on the
published version, with its change note. It goes live only through the normal release: test cases, impact
preview, a second rules admin's sign-off, publishing. The shipped test cases come with it: a case new in 2026.2
is added with its outcomes under 2026.1, and each expected outcome 2026.2 changes is updated, with its reason, in
the case's history and in the audit trail of every draft (whose sign-off, if any, is withdrawn, as when an admin
updates an expectation). A case whose expectation the install's admins changed is left as they set it.

The files are read by version (the frozen copy in rules/ and test_cases/expectations/ once a later default
replaces 2026.2), so this migration keeps meaning 2026.2.
"""

import json
from pathlib import Path

from django.db import migrations
from django.utils import timezone

DATA = Path(__file__).resolve().parent.parent / "data"
CASES = DATA / "test_cases"
VERSION = "2026.2"
PREVIOUS = "2026.1"
SEED_NOTE = "Default rule set shipped with Candidacy (described in docs/rule-sets.md)."  # as migration 0002
CASE_NOTE = "Shipped case file (screening/data/test_cases), expected outcomes from expected.json."  # as 0005
SHIPPED_PREFIX = "Shipped case file ("  # the note of every shipped case, whichever release seeded it
NEW_CASES = ("nephritis-unbiopsied",)  # shipped first with 2026.2
CHANGE_NOTE = (
    "Shipped update: Default rules 2026.2, two corrections to 2026.1. "
    "(1) Active lupus nephritis whose class is unconfirmed (no biopsy class recorded, or the latest biopsy older "
    "than 365 days) reads as unknown and asks for a kidney biopsy, instead of a silent 'not met' "
    "(hsct.severe_activity.major_organ: ln_unconfirmed unknown). "
    "(2) A completed Euro-Lupus cyclophosphamide course, six fortnightly pulses 70 days first to last, counts as "
    "adequate (cyclophosphamide_iv minimum days 84 → 70); under 2026.1 it never could."
)
# Why each expected outcome of a shipped test case changes from 2026.1 to 2026.2: (case, pathway) → reason.
# Every change the expectation files show needs one (the migration fails without it; a test checks both ways).
REASONS = {
    ("nephritis-unbiopsied", "hsct"): (
        "Rule set 2026.2: the patient's lupus nephritis is active with no biopsy class recorded; its class is "
        "unconfirmed, so the major-organ criterion is unknown and asks for a kidney biopsy (ln_unconfirmed "
        "unknown) instead of reading as not met, and HSCT screening lacks that data"
    ),
}
OUTCOME_WORDS = {"flagged": "flagged", "not_flagged": "not flagged", "insufficient_data": "insufficient data"}


def _load(path):
    return json.loads(path.read_text(encoding="utf-8"))


def shipped_rules():
    """The 2026.2 rule-set file: its frozen copy once a later default replaced it, else the default."""
    frozen = DATA / "rules" / f"default-{VERSION}.json"
    content = _load(frozen if frozen.exists() else DATA / "default-rules.json")
    assert content["version"] == VERSION, f"the shipped {VERSION} rules are missing"
    return content


def expectations(version):
    """Case name → {pathway: outcome} shipped for a version (expected.json holds the current default's)."""
    frozen = CASES / "expectations" / f"{version}.json"
    data = _load(frozen if frozen.exists() or version != VERSION else CASES / "expected.json")
    return {name: {pathway: value["outcome"] for pathway, value in item.items()} for name, item in data.items()}


def expectation_changes():
    """(case, pathway) → (outcome under 2026.1, under 2026.2), for every outcome that differs."""
    before, after = expectations(PREVIOUS), expectations(VERSION)
    return {
        (name, pathway): (before.get(name, {}).get(pathway), outcome)
        for name, outcomes in sorted(after.items())
        for pathway, outcome in outcomes.items()
        if before.get(name, {}).get(pathway) != outcome
    }


def _history(apps, model_name, row, kind, reason, when):
    """The django-simple-history row a service would have written (migrations use models without its signals)."""
    historical = apps.get_model("screening", f"Historical{model_name}")
    values = {f.attname: getattr(row, f.attname) for f in row._meta.concrete_fields}
    historical.objects.create(
        **values, history_date=when, history_type=kind, history_change_reason=reason, history_user_id=None
    )


def _is_seed(rule_set, version, content):
    return (
        rule_set.version == version
        and rule_set.status == "published"
        and rule_set.created_by_id is None
        and rule_set.published_by_id is None
        and rule_set.revision == 0
        and rule_set.content == content
    )


def _untouched_install(apps, version, content):
    """The one rule set, if it is the installation's seed of ``version`` and nothing was recorded or screened."""
    models = [apps.get_model("patients", "Patient")] + [
        apps.get_model("screening", name) for name in ("ScreeningResult", "Job", "RuleSetEvent")
    ]
    if any(model.objects.exists() for model in models):
        return None
    rule_sets = list(apps.get_model("screening", "RuleSet").objects.all())
    if len(rule_sets) == 1 and _is_seed(rule_sets[0], version, content):
        return rule_sets[0]
    return None


def _free_version(RuleSet):
    version, n = VERSION, 1
    while RuleSet.objects.filter(version=version).exists():
        n += 1
        version = f"{VERSION}-shipped" if n == 2 else f"{VERSION}-shipped-{n - 1}"
    return version


def _draft(apps, content, now):
    """2026.2 as a draft beside what is published (none if the install already holds this content)."""
    RuleSet = apps.get_model("screening", "RuleSet")
    if any(r.content == content for r in RuleSet.objects.filter(version=VERSION)):
        return None
    published = RuleSet.objects.filter(status="published").first()
    version = _free_version(RuleSet)
    draft = RuleSet.objects.create(
        name=content["name"],
        version=version,
        status="draft",
        content={**content, "version": version},
        change_note=CHANGE_NOTE,
        based_on=published,
    )
    base = published.version if published else "none"
    stored = "" if version == VERSION else f" (stored as {version}: {VERSION} was taken)"
    summary = f"shipped update: {content['name']} {VERSION} delivered with Candidacy as a draft{stored}, based on {base}"
    _history(apps, "RuleSet", draft, "+", summary, now)
    apps.get_model("screening", "RuleSetEvent").objects.create(
        rule_set=draft, kind="shipped", summary=summary, reason=CHANGE_NOTE, at=now,
        data={"shipped": VERSION, "based_on": published.version if published else None},
    )
    return draft


def _ship_test_cases(apps, now, *, audit):
    """Add the cases new in 2026.2 and move untouched expectations to their 2026.2 outcomes (with reasons if audit)."""
    RuleCase = apps.get_model("screening", "RuleCase")
    RuleSet = apps.get_model("screening", "RuleSet")
    RuleSetEvent = apps.get_model("screening", "RuleSetEvent")
    before, after, changes = expectations(PREVIOUS), expectations(VERSION), expectation_changes()
    missing = sorted(key for key in changes if key not in REASONS)
    assert not missing, f"no reason given for the expectation changes of {missing}"
    for name, outcomes in sorted(after.items()):
        if not RuleCase.objects.filter(name=name).exists():
            first = before.get(name, outcomes) if audit else outcomes
            row = RuleCase.objects.create(name=name, case=_load(CASES / f"{name}.json"), note=CASE_NOTE, expected=first)
            if audit:
                _history(apps, "RuleCase", row, "+", f"shipped case file added with the {VERSION} update", now)
    for name in sorted({name for name, _ in changes}):
        row = RuleCase.objects.filter(name=name, note__startswith=SHIPPED_PREFIX).first()
        if row is None:
            continue  # a case of the install's own that happens to share the name
        # a pathway whose expectation the install's admins set is theirs to change
        changed = {p: new for (n, p), (old, new) in changes.items() if n == name and row.expected.get(p) == old}
        if not changed:
            continue
        words = ", ".join(
            f"{p} {OUTCOME_WORDS.get(row.expected.get(p), 'none')} → {OUTCOME_WORDS[o]}" for p, o in changed.items()
        )
        summary = f"test case {name}: expected {words}"
        reason = "; ".join(REASONS[(name, pathway)] for pathway in changed)
        row.expected = {**row.expected, **changed}
        row.save()
        if not audit:
            continue
        _history(apps, "RuleCase", row, "~", f"{summary} — {reason}", now)
        for draft in RuleSet.objects.filter(status="draft").select_related("reviewed_by").order_by("pk"):
            data = {"test_case": name, "expected": row.expected, "shipped": VERSION}
            if draft.reviewed_by_id is not None:
                reviewer = draft.reviewed_by
                # the reviewer as the services name them (str(user): full name, else username)
                data["sign_off_withdrawn"] = f"{reviewer.first_name} {reviewer.last_name}".strip() or reviewer.username
                draft.reviewed_by_id, draft.reviewed_at = None, None
                draft.save()
                _history(apps, "RuleSet", draft, "~", f"sign-off withdrawn: {summary}", now)
            RuleSetEvent.objects.create(
                rule_set=draft, kind="expectation", summary=summary, reason=reason, data=data, at=now
            )


def ship(apps, schema_editor):
    now = timezone.now()
    content = shipped_rules()
    seeded = _untouched_install(apps, PREVIOUS, _load(DATA / "rules" / f"default-{PREVIOUS}.json"))
    if seeded is not None:
        seeded.name, seeded.version, seeded.content, seeded.change_note = content["name"], VERSION, content, SEED_NOTE
        seeded.save()
        _ship_test_cases(apps, now, audit=False)
        return
    _draft(apps, content, now)
    _ship_test_cases(apps, now, audit=True)


def unship(apps, schema_editor):
    """Back to 2026.1: a fresh install's 2026.2 becomes the seeded 2026.1 again; an untouched shipped draft goes."""
    RuleSet = apps.get_model("screening", "RuleSet")
    RuleSetEvent = apps.get_model("screening", "RuleSetEvent")
    RuleCase = apps.get_model("screening", "RuleCase")
    previous = _load(DATA / "rules" / f"default-{PREVIOUS}.json")
    seeded = _untouched_install(apps, VERSION, shipped_rules())
    if seeded is not None:
        seeded.name, seeded.version, seeded.content = previous["name"], PREVIOUS, previous
        seeded.save()
    for draft in RuleSet.objects.filter(status="draft", events__kind="shipped").distinct():
        kinds = set(RuleSetEvent.objects.filter(rule_set=draft).values_list("kind", flat=True))
        if draft.revision == 0 and kinds <= {"shipped", "expectation"} and not draft.jobs.exists():
            RuleSetEvent.objects.filter(rule_set=draft).delete()
            apps.get_model("screening", "HistoricalRuleSet").objects.filter(id=draft.pk).delete()
            draft.delete()
    for (name, pathway), (old, new) in expectation_changes().items():
        row = RuleCase.objects.filter(name=name, note__startswith=SHIPPED_PREFIX).first()
        if row is not None and row.expected.get(pathway) == new and old is not None:
            row.expected = {**row.expected, pathway: old}
            row.save()
    for row in RuleCase.objects.filter(name__in=NEW_CASES, note__startswith=SHIPPED_PREFIX):
        apps.get_model("screening", "HistoricalRuleCase").objects.filter(id=row.pk).delete()
        row.delete()


class Migration(migrations.Migration):
    dependencies = [("screening", "0009_shipped_event_kind")]
    operations = [migrations.RunPython(ship, unship)]
