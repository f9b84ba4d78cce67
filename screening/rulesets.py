"""Writes to rule sets: drafts, their edits, sign-off, publishing and rollback.

Every service takes the acting rules admin, runs inside ``transaction.atomic``,
writes the rule set's history row (django-simple-history, with the reason) and
an append-only ``RuleSetEvent`` in the same transaction, and raises
``RuleSetRefused`` with a message fit for the admin. A change to which
patients are flagged is treated like a code release: a draft is tested against
the test cases, its impact on the cohort is previewed, a second rules admin
signs it off, and publishing re-screens every patient in the background.

What is stored must be something the app can store and apply: every rule-set
content written here passes ``engine.parse_rule_set`` and
``engine.check_storable`` (ids, labels and names within their columns, numbers
the forms can edit), and sign-off and publishing check it again, so a version
stored before these limits cannot be released either.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from clinical import limits
from clinical.safejson import JsonRefused, load_json
from screening import editing, engine
from screening.diff import Change, diff_contents
from screening.errors import RuleSetRefused
from screening.models import (
    AUTHORING_EVENTS,
    EventKind,
    Job,
    JobKind,
    JobStatus,
    RuleSet,
    RuleSetEvent,
    RuleSetStatus,
)

__all__ = [
    "RuleSetRefused",
    "add_criterion",
    "create_draft",
    "import_rule_set",
    "parse_rules_text",
    "publish_rule_set",
    "roll_back_to",
    "set_caution_severity",
    "set_criterion_params",
    "set_drug_thresholds",
    "set_group_op",
    "sign_off_rule_set",
    "start_impact_preview",
    "switch_node",
]


def parse_rules_text(text: str | bytes) -> dict[str, Any]:
    """Rule-set file text → validated content (the file's own shape), or RuleSetRefused.

    Read within limits.RULES_FILE_BYTES and limits.JSON_DEPTH; the content must also be storable."""
    try:
        data = load_json(text, max_bytes=limits.RULES_FILE_BYTES)
    except JsonRefused as err:
        raise RuleSetRefused(f"(top level): {err.message}") from err
    if not isinstance(data, dict):
        raise RuleSetRefused("(top level): must be a JSON object")
    try:
        parsed = engine.parse_rule_set(data)
        engine.check_storable(parsed)
    except engine.RuleSetError as err:
        raise RuleSetRefused(str(err)) from err
    return engine.rule_set_to_dict(parsed)


def _validated(content: dict[str, Any]) -> dict[str, Any]:
    """The content if the engine accepts it and the app can store it; RuleSetRefused naming node and
    parameter if not."""
    try:
        engine.check_storable(engine.parse_rule_set(content))
    except engine.RuleSetError as err:
        field = err.field.removeprefix("params.")
        raise RuleSetRefused(str(err), field=field) from err
    return content


def check_releasable(rule_set: RuleSet) -> engine.RuleSet:
    """The parsed rules if this version can be signed off and published; RuleSetRefused naming the node if not.

    A version stored before today's limits (a 36-character pathway id, say) parses and screens, but
    applying it would fail for every flagged patient: it is refused here, before anyone relies on it."""
    try:
        parsed = engine.parse_rule_set(rule_set.content)
        engine.check_storable(parsed)
    except engine.RuleSetError as err:
        raise RuleSetRefused(
            f"version {rule_set.version} cannot be released: {err}. Export it, correct the file and import it "
            "as a new draft"
        ) from err
    return parsed


def _save(rule_set: RuleSet, actor: User | None, reason: str) -> None:
    rule_set._history_user = actor  # type: ignore[attr-defined]
    rule_set._change_reason = reason  # type: ignore[attr-defined]
    rule_set.save()


def _event(
    rule_set: RuleSet, actor: User | None, kind: str, summary: str, reason: str = "", **data: Any
) -> RuleSetEvent:
    return RuleSetEvent.objects.create(
        rule_set=rule_set, actor=actor, kind=kind, summary=summary, reason=reason, data=data
    )


def _free_version(version: str) -> str:
    version = version.strip()
    if not version:
        raise RuleSetRefused("version: give the new version a name, e.g. 2026.2", field="version")
    if problem := engine.version_problem(version):
        raise RuleSetRefused(f"version: {problem}", field="version")
    if RuleSet.objects.filter(version=version).exists():
        raise RuleSetRefused(f"version: {version} already exists; give the new version another one", field="version")
    return version


def _reason(reason: str, what: str = "the change") -> str:
    reason = reason.strip()
    if not reason:
        raise RuleSetRefused(f"reason: say why you make {what} (it is kept in the audit trail)", field="reason")
    return reason


def suggest_version(rule_set: RuleSet) -> str:
    """A free version name after this one's (2026.1 → 2026.2)."""
    taken = set(RuleSet.objects.values_list("version", flat=True))
    return editing.next_version(rule_set.version, taken)


@transaction.atomic
def import_rule_set(*, actor: User | None, content: dict[str, Any], note: str = "") -> RuleSet:
    """Store a validated rule-set file as a new draft."""
    if RuleSet.objects.filter(version=content["version"]).exists():
        raise RuleSetRefused(
            f"version: {content['version']} already exists; give the draft a new version", field="file"
        )
    rule_set = RuleSet(
        name=content["name"],
        version=content["version"],
        status=RuleSetStatus.DRAFT,
        content=content,
        change_note=note,
        created_by=actor,
    )
    reason = note or "imported from a rule-set file"
    _save(rule_set, actor, reason)
    _event(rule_set, actor, EventKind.IMPORTED, f"draft {rule_set.version} imported from a rule-set file", reason)
    return rule_set


@transaction.atomic
def create_draft(*, actor: User, source: RuleSet, version: str, name: str = "", reason: str) -> RuleSet:
    """A new draft holding a copy of any version's content (and its switched-off criteria)."""
    version = _free_version(version)
    reason = _reason(reason, "this draft")
    name = name.strip() or source.name
    draft = RuleSet(
        name=name,
        version=version,
        status=RuleSetStatus.DRAFT,
        based_on=source,
        created_by=actor,
        content=_validated(editing.with_version(source.content, name=name, version=version)),
        disabled_nodes=dict(source.disabled_nodes),
    )
    _save(draft, actor, f"draft created from {source.version}: {reason}")
    _event(
        draft, actor, EventKind.CREATED, f"draft {version} created from {source.version}", reason, source=source.version
    )
    return draft


def _locked_draft(rule_set: RuleSet) -> RuleSet:
    locked = RuleSet.objects.select_for_update().get(pk=rule_set.pk)
    if locked.status != RuleSetStatus.DRAFT:
        raise RuleSetRefused(
            f"version {locked.version} is {locked.status}: only a draft can be changed; create a draft from it instead"
        )
    return locked


def _apply(
    *,
    rule_set: RuleSet,
    actor: User,
    kind: str,
    content: dict[str, Any],
    reason: str,
    disabled: dict[str, Any] | None = None,
) -> RuleSetEvent:
    """Store an edit of a draft: validate, raise the revision, clear any sign-off, audit the diff."""
    reason = _reason(reason)
    draft = _locked_draft(rule_set)
    disabled = draft.disabled_nodes if disabled is None else disabled
    changes: list[Change] = diff_contents(
        draft.content, _validated(content), new_disabled=disabled, old_disabled=draft.disabled_nodes
    )
    if not changes:
        raise RuleSetRefused("nothing changed: these are the values the draft already has")
    draft.content, draft.disabled_nodes = content, disabled
    draft.revision += 1
    cleared = draft.reviewed_by
    draft.reviewed_by, draft.reviewed_at = None, None
    summary = "\n".join(change.text for change in changes)
    _save(draft, actor, f"{summary} — {reason}")
    rule_set.refresh_from_db()
    data: dict[str, Any] = {"changes": [c.as_dict() for c in changes], "revision": draft.revision}
    if cleared is not None:
        data["sign_off_withdrawn"] = str(cleared)
    return _event(draft, actor, kind, summary, reason, **data)


def _locate(rule_set: RuleSet, node_id: str) -> editing.Located:
    loc = editing.locate(rule_set.content, node_id)
    if loc is None:
        raise RuleSetRefused(f"{node_id}: no such node in version {rule_set.version}")
    return loc


def _edit(fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except editing.EditError as err:
        raise RuleSetRefused(str(err), field=err.field) from err


@transaction.atomic
def set_criterion_params(
    *, rule_set: RuleSet, actor: User, node_id: str, params: dict[str, Any], source: str | None, reason: str
) -> RuleSetEvent:
    """Change a criterion's parameters (and source) in a draft."""
    content = _edit(editing.set_params, rule_set.content, node_id, params, source)
    return _apply(rule_set=rule_set, actor=actor, kind=EventKind.EDITED, content=content, reason=reason)


@transaction.atomic
def add_criterion(
    *,
    rule_set: RuleSet,
    actor: User,
    group_id: str,
    node_id: str,
    type_name: str,
    params: dict[str, Any],
    source: str | None,
    reason: str,
) -> RuleSetEvent:
    """Add a criterion of a catalogued type to a group of a draft."""
    if type_name not in engine.CRITERION_TYPES:
        raise RuleSetRefused(f"type: {type_name!r} is not a catalogued criterion type", field="type")
    node: dict[str, Any] = {"id": node_id.strip(), "type": type_name, "params": params}
    if source:
        node["source"] = source
    content = _edit(editing.add_criterion, rule_set.content, rule_set.disabled_nodes, group_id, node)
    return _apply(rule_set=rule_set, actor=actor, kind=EventKind.ADDED, content=content, reason=reason)


@transaction.atomic
def switch_node(*, rule_set: RuleSet, actor: User, node_id: str, on: bool, reason: str) -> RuleSetEvent:
    """Switch a criterion (or sub-group) of a draft off, keeping it aside, or back on where it was."""
    fn = editing.switch_on if on else editing.switch_off
    content, disabled = _edit(fn, rule_set.content, rule_set.disabled_nodes, node_id)
    kind = EventKind.SWITCHED_ON if on else EventKind.SWITCHED_OFF
    return _apply(rule_set=rule_set, actor=actor, kind=kind, content=content, disabled=disabled, reason=reason)


@transaction.atomic
def set_group_op(*, rule_set: RuleSet, actor: User, group_id: str, op: str, reason: str) -> RuleSetEvent:
    """Make a group of a draft need all of its children, or any one."""
    content = _edit(editing.set_op, rule_set.content, group_id, op)
    return _apply(rule_set=rule_set, actor=actor, kind=EventKind.EDITED, content=content, reason=reason)


@transaction.atomic
def set_caution_severity(
    *, rule_set: RuleSet, actor: User, caution_id: str, severity: dict[str, str | None], reason: str
) -> RuleSetEvent:
    """A caution's severity per pathway in a draft (contraindication, caution or not applicable)."""
    content = _edit(editing.set_severity, rule_set.content, caution_id, severity)
    return _apply(rule_set=rule_set, actor=actor, kind=EventKind.EDITED, content=content, reason=reason)


@transaction.atomic
def set_drug_thresholds(
    *, rule_set: RuleSet, actor: User, drug: str, values: dict[str, Any], reason: str
) -> RuleSetEvent:
    """A drug's adequacy thresholds in a draft's catalogue (minimum days, dose, dose per kg)."""
    content = _edit(editing.set_drug_thresholds, rule_set.content, drug, values)
    return _apply(rule_set=rule_set, actor=actor, kind=EventKind.EDITED, content=content, reason=reason)


def authors(rule_set: RuleSet) -> set[int]:
    """Ids of the users who created or shaped the draft (they cannot sign it off)."""
    ids = set(rule_set.events.filter(kind__in=AUTHORING_EVENTS, actor__isnull=False).values_list("actor_id", flat=True))
    if rule_set.created_by_id is not None:
        ids.add(rule_set.created_by_id)
    return ids


@transaction.atomic
def sign_off_rule_set(*, rule_set: RuleSet, actor: User, note: str = "") -> RuleSetEvent:
    """The second rules admin's sign-off (four eyes): never by the draft's author or an editor."""
    draft = _locked_draft(rule_set)
    check_releasable(draft)
    if actor.pk in authors(draft):
        raise RuleSetRefused("you created or edited this draft: a second rules admin must sign it off")
    if draft.reviewed_by_id is not None:
        raise RuleSetRefused(f"already signed off by {draft.reviewed_by}")
    draft.reviewed_by, draft.reviewed_at = actor, timezone.now()
    _save(draft, actor, f"signed off: {note.strip()}" if note.strip() else "signed off")
    rule_set.refresh_from_db()
    return _event(
        draft,
        actor,
        EventKind.SIGNED_OFF,
        f"draft {draft.version} (revision {draft.revision}) signed off",
        note.strip(),
        revision=draft.revision,
    )


def latest_preview(rule_set: RuleSet) -> Job | None:
    """The latest finished impact preview of the rule set's current revision."""
    return (
        Job.objects.filter(rule_set=rule_set, kind=JobKind.IMPACT, revision=rule_set.revision, status=JobStatus.DONE)
        .order_by("-pk")
        .first()
    )


def _queue(job: Job) -> None:
    from screening.tasks import run_job

    job_id = job.pk
    transaction.on_commit(lambda: run_job.enqueue(job_id))


@transaction.atomic
def start_impact_preview(*, rule_set: RuleSet, actor: User, as_of: date | None = None) -> Job:
    """Queue the evaluation of a version against every current patient, compared with the published rules."""
    if rule_set.status == RuleSetStatus.PUBLISHED:
        raise RuleSetRefused(f"version {rule_set.version} is the published one: there is nothing to compare")
    check_releasable(rule_set)  # a version that can never be published has no impact to preview
    as_of = as_of or timezone.localdate()
    job = Job.objects.create(
        kind=JobKind.IMPACT, rule_set=rule_set, revision=rule_set.revision, as_of=as_of, created_by=actor
    )
    _event(
        rule_set,
        actor,
        EventKind.PREVIEWED,
        f"impact preview of revision {rule_set.revision} as of {as_of}",
        job=job.pk,
    )
    _queue(job)
    return job


def _retire(current: RuleSet | None, actor: User, by_version: str) -> None:
    if current is None:
        return
    current.status = RuleSetStatus.RETIRED
    _save(current, actor, f"retired: replaced by {by_version}")
    _event(current, actor, EventKind.RETIRED, f"version {current.version} retired: replaced by {by_version}")


def _rescreen(rule_set: RuleSet, actor: User, as_of: date | None) -> Job:
    job = Job.objects.create(
        kind=JobKind.RESCREEN,
        rule_set=rule_set,
        revision=rule_set.revision,
        as_of=as_of or timezone.localdate(),
        created_by=actor,
    )
    _queue(job)
    return job


def _lock_release() -> RuleSet | None:
    """Serialise releases and return the version published now.

    Locking the published row alone does not serialise two publishes: the second waits on a row
    that is retired by the time it gets it. Every release first locks the oldest rule set (the
    seeded one, never deleted: rule sets are PROTECTed by their results), then reads what is
    published after the lock, so a second release retires the first one's version properly.
    """
    RuleSet.objects.select_for_update().order_by("pk").values_list("pk", flat=True).first()
    return RuleSet.objects.select_for_update().filter(status=RuleSetStatus.PUBLISHED).first()


@transaction.atomic
def publish_rule_set(*, rule_set: RuleSet, actor: User, change_note: str, as_of: date | None = None) -> Job:
    """Publish a signed-off, tested and previewed draft; retire the previous version; re-screen everyone.

    The re-screening runs in the background as of ``as_of`` (default: today)."""
    from screening.testcases import failing, run_test_cases

    draft = _locked_draft(rule_set)
    note = change_note.strip()
    if not note:
        raise RuleSetRefused(
            "change note: say what changes and why (it is shown with the version)", field="change_note"
        )
    check_releasable(draft)
    if draft.reviewed_by_id is None:
        raise RuleSetRefused("a second rules admin must sign this draft off before it is published")
    if draft.reviewed_by_id == actor.pk and not authors(draft):
        # a draft no one here wrote (a shipped update): the signer alone would be the only person releasing it
        raise RuleSetRefused(
            "you signed off this draft, which no one here wrote (it came with an update of Candidacy): "
            "another rules admin must publish it, so that two people release every version"
        )
    runs = run_test_cases(draft.content)
    bad = failing(runs)
    if bad:
        names = ", ".join(run.case.name for run in bad)
        raise RuleSetRefused(
            f"{len(bad)} test case(s) fail: {names}. Change the draft, or update the expected "
            "outcome of each with a reason"
        )
    preview = latest_preview(draft)
    if preview is None:
        failed = (
            Job.objects.filter(rule_set=draft, kind=JobKind.IMPACT, revision=draft.revision, status=JobStatus.FAILED)
            .order_by("-pk")
            .first()
        )
        if failed is not None:
            raise RuleSetRefused(
                f"the impact preview of this revision failed ({failed.error or 'no reason given'}): the draft "
                "cannot be evaluated for every patient. Change it and run the preview again"
            )
        raise RuleSetRefused("run the impact preview of this draft's latest revision before publishing it")
    current = _lock_release()
    _retire(current, actor, draft.version)
    draft.status, draft.published_by, draft.published_at = RuleSetStatus.PUBLISHED, actor, timezone.now()
    draft.change_note = note
    _save(draft, actor, f"published: {note}")
    rule_set.refresh_from_db()
    _event(
        draft,
        actor,
        EventKind.PUBLISHED,
        f"version {draft.version} published, replacing {current.version if current else 'none'}",
        note,
        reviewed_by=str(draft.reviewed_by),
        test_cases=len(runs),
        impact_job=preview.pk,
        replaced=current.version if current else None,
    )
    return _rescreen(draft, actor, as_of)


@transaction.atomic
def roll_back_to(
    *, source: RuleSet, actor: User, version: str, reason: str, as_of: date | None = None
) -> tuple[RuleSet, Job]:
    """Publish an earlier version's content again, in one action, as a new version."""
    if source.status != RuleSetStatus.RETIRED or source.published_at is None:
        raise RuleSetRefused(
            f"version {source.version} was never published and retired: only a retired version can be published again"
        )
    version = _free_version(version)
    reason = _reason(reason, "the rollback")
    current = _lock_release()
    _retire(current, actor, version)
    new = RuleSet(
        name=source.name,
        version=version,
        status=RuleSetStatus.PUBLISHED,
        based_on=source,
        created_by=actor,
        content=_validated(editing.with_version(source.content, name=source.name, version=version)),
        disabled_nodes=dict(source.disabled_nodes),
        published_by=actor,
        published_at=timezone.now(),
        change_note=f"Rollback to version {source.version}: {reason}",
    )
    _save(new, actor, f"published again: {new.change_note}")
    _event(
        new,
        actor,
        EventKind.ROLLED_BACK,
        f"version {source.version} published again as {version}, replacing {current.version if current else 'none'}",
        reason,
        source=source.version,
        replaced=current.version if current else None,
    )
    return new, _rescreen(new, actor, as_of)
