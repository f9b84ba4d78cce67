"""Rules administration pages (/rules/manage/…): drafts, edits, test cases, impact previews, publishing.

Rules admins only (staff and specialists 403; anonymous users are sent to log
in by the middleware). Each view finds its object, validates a form, calls one
service of ``screening.rulesets`` or ``screening.testcases`` and redirects.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.db.models import Exists, OuterRef
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts.access import rules_admins
from screening import editing, engine, rulesets, testcases
from screening.access import get_job, get_rule_set, get_test_case
from screening.describe import describe_disabled, describe_rule_set
from screening.diff import diff_contents
from screening.errors import RuleSetRefused
from screening.forms import (
    CompareForm,
    CriterionForm,
    CriterionTypeForm,
    DraftForm,
    DrugThresholdForm,
    ExpectationForm,
    GroupOpForm,
    ImportForm,
    PublishForm,
    ReasonForm,
    RollbackForm,
    SeverityForm,
    SignOffForm,
    TestCaseForm,
)
from screening.impact import DIRECTIONS
from screening.models import (
    AUTHORING_EVENTS,
    EventKind,
    JobKind,
    JobStatus,
    RuleCase,
    RuleSet,
    RuleSetEvent,
    RuleSetStatus,
)
from screening.testcases import OUTCOMES


def _refused(form: Any, err: RuleSetRefused) -> None:
    form.add_error(err.field if err.field in form.fields else None, err.message)


def _form_page(
    request: HttpRequest,
    form: Any,
    *,
    title: str,
    rule_set: RuleSet | None = None,
    submit: str = "Save",
    intro: str = "",
    extra: dict[str, Any] | None = None,
    multipart: bool = False,
) -> HttpResponse:
    return render(
        request,
        "screening/manage/form.html",
        {
            "form": form,
            "title": title,
            "rule_set": rule_set,
            "submit": submit,
            "intro": intro,
            "multipart": multipart,
            **(extra or {}),
        },
    )


def _agents(content: dict[str, Any]) -> list[str]:
    return list(dict.fromkeys(d["agent"] for d in content["drugs"]))


@rules_admins
def admin_home(request: HttpRequest) -> HttpResponse:
    """The published rule set, the history of versions (who published each and why) and the drafts."""
    shipped = RuleSetEvent.objects.filter(rule_set=OuterRef("pk"), kind=EventKind.SHIPPED)
    rule_sets = list(
        RuleSet.objects.select_related("created_by", "published_by", "reviewed_by")
        .defer("content", "disabled_nodes")
        .annotate(shipped=Exists(shipped))
    )
    history = sorted((r for r in rule_sets if r.was_published), key=lambda r: r.published_at, reverse=True)
    return render(
        request,
        "screening/manage/home.html",
        {
            "published": next((r for r in rule_sets if r.status == RuleSetStatus.PUBLISHED), None),
            "history": history,
            "drafts": [r for r in rule_sets if r.status == RuleSetStatus.DRAFT],
        },
    )


@rules_admins
def ruleset_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One version: its tree with edit actions (drafts), cautions, drugs, jobs and audit trail."""
    rule_set = get_rule_set(pk)
    events = list(rule_set.events.all())
    jobs = list(rule_set.jobs.order_by("-pk")[:10])
    authors = {e.actor_id for e in events if e.kind in AUTHORING_EVENTS and e.actor_id} | {rule_set.created_by_id}
    preview = next(
        (
            j
            for j in jobs
            if j.kind == JobKind.IMPACT and j.status == JobStatus.DONE and j.revision == rule_set.revision
        ),
        None,
    )
    return render(
        request,
        "screening/manage/rule_set.html",
        {
            "rule_set": rule_set,
            "events": events,
            "jobs": jobs,
            "preview": preview,
            "described": describe_rule_set(rule_set.content),
            "disabled": describe_disabled(rule_set.disabled_nodes),
            "can_edit": rule_set.is_draft,
            "is_author": request.user.pk in authors,
            "can_roll_back": rule_set.status == RuleSetStatus.RETIRED and rule_set.was_published,
            "shipped": any(e.kind == EventKind.SHIPPED for e in events),
        },
    )


@rules_admins
def draft_create(request: HttpRequest, pk: int) -> HttpResponse:
    source = get_rule_set(pk)
    form = DraftForm(request.POST or None, initial={"version": rulesets.suggest_version(source), "name": source.name})
    if request.method == "POST" and form.is_valid():
        try:
            draft = rulesets.create_draft(actor=request.user, source=source, **form.cleaned_data)
        except RuleSetRefused as err:
            _refused(form, err)
        else:
            messages.success(request, f"Draft {draft.version} created from {source.version}.")
            return redirect("screening:ruleset_detail", pk=draft.pk)
    return _form_page(
        request, form, title=f"New draft from version {source.version}", rule_set=source, submit="Create draft"
    )


# --------------------------------------------------------------------------
# Draft edits: one URL per action, the same steps for all. Each action says what it edits (its
# form, the one service call that applies it, the page's words); ``draft_edit`` makes its view.


@dataclass(frozen=True)
class DraftEdit:
    """One edit of a draft: its form, the service call that applies it once the form is valid, its page's words."""

    form: Any
    apply: Callable[[], RuleSetEvent]
    title: str
    intro: str = ""
    submit: str = "Save"


EditAction = Callable[[HttpRequest, RuleSet, str], DraftEdit | HttpResponse]


def draft_edit(action: EditAction) -> Callable[..., HttpResponse]:
    """The view of a draft edit: find the draft, let the action build its edit (or send elsewhere), validate, apply.

    POST/redirect/GET: a saved edit says what changed and goes back to the draft; a refused one
    shows the form again with the service's message on the field at fault.
    """

    def view(request: HttpRequest, pk: int, **target: str) -> HttpResponse:
        draft = get_rule_set(pk, draft=True)
        [key] = target.values()  # the node, caution or drug the URL names
        edit = action(request, draft, key)
        if isinstance(edit, HttpResponse):
            return edit
        if request.method == "POST" and edit.form.is_valid():
            try:
                event = edit.apply()
            except RuleSetRefused as err:
                _refused(edit.form, err)
            else:
                messages.success(request, f"Saved: {event.summary}")
                return redirect("screening:ruleset_detail", pk=pk)
        return _form_page(request, edit.form, title=edit.title, rule_set=draft, intro=edit.intro, submit=edit.submit)

    view.__name__ = view.__qualname__ = action.__name__
    view.__doc__ = action.__doc__
    return rules_admins(view)


def _node(rule_set: RuleSet, node_id: str) -> editing.Located:
    loc = editing.locate(rule_set.content, node_id)
    if loc is None:
        raise Http404("No such criterion")
    return loc


@draft_edit
def node_edit(request: HttpRequest, draft: RuleSet, node_id: str) -> DraftEdit | HttpResponse:
    """A criterion's parameters, through the form made for its type."""
    node = _node(draft, node_id).node
    if editing.is_group(node):
        return redirect("screening:group_op", pk=draft.pk, node_id=node_id)
    ctype = engine.CRITERION_TYPES[node["type"]]
    form = CriterionForm(
        request.POST or None,
        ctype=ctype,
        agents=_agents(draft.content),
        params=node["params"],
        initial={"source": node.get("source", "")},
    )
    return DraftEdit(
        form=form,
        apply=lambda: rulesets.set_criterion_params(
            rule_set=draft,
            actor=request.user,
            node_id=node_id,
            params=form.params,
            source=form.cleaned_data["source"],
            reason=form.cleaned_data["reason"],
        ),
        title=f"{node_id}: {ctype.label}",
        intro=ctype.met_when,
    )


@draft_edit
def node_add(request: HttpRequest, draft: RuleSet, node_id: str) -> DraftEdit | HttpResponse:
    """Add a criterion of a catalogued type to a group: pick the type, then its parameters."""
    if not editing.is_group(_node(draft, node_id).node):
        return redirect("screening:ruleset_detail", pk=draft.pk)
    chooser = CriterionTypeForm(request.GET or None)
    if not chooser.is_valid():
        return render(
            request, "screening/manage/choose_type.html", {"form": chooser, "rule_set": draft, "group_id": node_id}
        )
    ctype = engine.CRITERION_TYPES[chooser.cleaned_data["type"]]
    form = CriterionForm(
        request.POST or None,
        ctype=ctype,
        agents=_agents(draft.content),
        new=True,
        initial={"node_id": f"{node_id}.{ctype.name}"},
    )
    return DraftEdit(
        form=form,
        apply=lambda: rulesets.add_criterion(
            rule_set=draft,
            actor=request.user,
            group_id=node_id,
            node_id=form.cleaned_data["node_id"],
            type_name=ctype.name,
            params=form.params,
            source=form.cleaned_data["source"],
            reason=form.cleaned_data["reason"],
        ),
        title=f"Add a {ctype.label} criterion to {node_id}",
        intro=ctype.met_when,
        submit="Add criterion",
    )


def _switch(request: HttpRequest, draft: RuleSet, node_id: str, *, on: bool) -> DraftEdit | HttpResponse:
    there = node_id in draft.disabled_nodes if on else editing.locate(draft.content, node_id) is not None
    if not there:
        return redirect("screening:ruleset_detail", pk=draft.pk)
    form = ReasonForm(request.POST or None)
    verb = "Switch on" if on else "Switch off"
    return DraftEdit(
        form=form,
        apply=lambda: rulesets.switch_node(
            rule_set=draft, actor=request.user, node_id=node_id, on=on, reason=form.cleaned_data["reason"]
        ),
        title=f"{verb} {node_id}",
        intro="It goes back where it was in its group."
        if on
        else "It is taken out of the rules and kept aside, so it can be switched back on.",
        submit=verb,
    )


@draft_edit
def node_off(request: HttpRequest, draft: RuleSet, node_id: str) -> DraftEdit | HttpResponse:
    """Take a criterion (or sub-group) out of the rules, kept aside."""
    return _switch(request, draft, node_id, on=False)


@draft_edit
def node_on(request: HttpRequest, draft: RuleSet, node_id: str) -> DraftEdit | HttpResponse:
    """Put a switched-off criterion back where it was."""
    return _switch(request, draft, node_id, on=True)


@draft_edit
def group_op(request: HttpRequest, draft: RuleSet, node_id: str) -> DraftEdit | HttpResponse:
    """Whether a group needs all of its children or any one."""
    node = _node(draft, node_id).node
    if not editing.is_group(node):
        return redirect("screening:node_edit", pk=draft.pk, node_id=node_id)
    form = GroupOpForm(request.POST or None, initial={"op": editing.op_of(node)})
    return DraftEdit(
        form=form,
        apply=lambda: rulesets.set_group_op(
            rule_set=draft,
            actor=request.user,
            group_id=node_id,
            op=form.cleaned_data["op"],
            reason=form.cleaned_data["reason"],
        ),
        title=f"Group {node_id}",
    )


@draft_edit
def caution_edit(request: HttpRequest, draft: RuleSet, caution_id: str) -> DraftEdit | HttpResponse:
    """A caution's severity per pathway (its criteria are edited like any other)."""
    caution = next((c for c in draft.content["cautions"] if c["id"] == caution_id), None)
    if caution is None:
        return redirect("screening:ruleset_detail", pk=draft.pk)
    initial = {f"severity_{p}": s or "" for p, s in caution["severity"].items()}
    form = SeverityForm(request.POST or None, pathways=draft.content["pathways"], initial=initial)
    return DraftEdit(
        form=form,
        apply=lambda: rulesets.set_caution_severity(
            rule_set=draft,
            actor=request.user,
            caution_id=caution_id,
            severity=form.severity,
            reason=form.cleaned_data["reason"],
        ),
        title=f"Caution {caution_id}: severity per pathway",
    )


@draft_edit
def drug_edit(request: HttpRequest, draft: RuleSet, drug: str) -> DraftEdit | HttpResponse:
    """A drug's adequacy thresholds in the draft's catalogue."""
    entry = draft.drugs.get(drug)
    if entry is None:
        return redirect("screening:ruleset_detail", pk=draft.pk)
    form = DrugThresholdForm(request.POST or None, drug=entry)
    return DraftEdit(
        form=form,
        apply=lambda: rulesets.set_drug_thresholds(
            rule_set=draft, actor=request.user, drug=drug, values=form.values, reason=form.cleaned_data["reason"]
        ),
        title=f"Adequate trial of {drug} ({entry['agent']}, {entry['class']})",
    )


@rules_admins
def ruleset_export(request: HttpRequest, pk: int) -> HttpResponse:
    """The version as a rule-set file (the same file export_rules prints)."""
    rule_set = get_rule_set(pk)
    response = HttpResponse(
        json.dumps(rule_set.content, indent=2, ensure_ascii=False) + "\n",
        content_type="application/json; charset=utf-8",
    )
    # a version stored before versions were checked may hold anything: the file name keeps what is safe
    safe = re.sub(r"[^A-Za-z0-9._+-]", "_", rule_set.version)[:80]
    response["Content-Disposition"] = f'attachment; filename="rules-{safe}.json"'
    return response


@rules_admins
def ruleset_import(request: HttpRequest) -> HttpResponse:
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            content = rulesets.parse_rules_text(form.cleaned_data["file"].read())
            draft = rulesets.import_rule_set(actor=request.user, content=content, note=form.cleaned_data["note"])
        except RuleSetRefused as err:
            form.add_error("file", f"Rule-set file: {err.message}")
        else:
            messages.success(request, f"Stored {draft.name} {draft.version} as a draft.")
            return redirect("screening:ruleset_detail", pk=draft.pk)
    return _form_page(request, form, title="Import a rule-set file", submit="Import as a draft", multipart=True)


@rules_admins
def compare(request: HttpRequest) -> HttpResponse:
    """Side by side: what differs between any two versions."""
    versions = list(RuleSet.objects.order_by("created_at", "pk").values_list("version", flat=True))
    form = CompareForm(request.GET or None, versions=versions)
    changes, pair = [], None
    if form.is_valid():
        by_version = {
            r.version: r for r in RuleSet.objects.filter(version__in=[form.cleaned_data["a"], form.cleaned_data["b"]])
        }
        a, b = by_version[form.cleaned_data["a"]], by_version[form.cleaned_data["b"]]
        changes = diff_contents(a.content, b.content, old_disabled=a.disabled_nodes, new_disabled=b.disabled_nodes)
        pair = (a, b)
    return render(request, "screening/manage/compare.html", {"form": form, "changes": changes, "pair": pair})


@rules_admins
def ruleset_tests(request: HttpRequest, pk: int) -> HttpResponse:
    """Every test case run against this version, each passing or failing with its trace."""
    rule_set = get_rule_set(pk)
    try:
        runs = testcases.run_test_cases(rule_set.content)
    except engine.RuleSetError as err:  # stored before today's checks: explain, never crash
        messages.error(request, f"Version {rule_set.version} cannot be run: {err}.")
        return redirect("screening:ruleset_detail", pk=pk)
    return render(
        request,
        "screening/manage/tests.html",
        {
            "rule_set": rule_set,
            "runs": runs,
            "failing": testcases.failing(runs),
            "outcomes": OUTCOMES,
        },
    )


@rules_admins
@require_POST
def impact_start(request: HttpRequest, pk: int) -> HttpResponse:
    rule_set = get_rule_set(pk)
    try:
        job = rulesets.start_impact_preview(rule_set=rule_set, actor=request.user)
    except RuleSetRefused as err:
        messages.error(request, err.message)
        return redirect("screening:ruleset_detail", pk=pk)
    return redirect("screening:job_detail", pk=job.pk)


@rules_admins
def job_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A job's progress; when an impact preview is done, its figures and the patients that change."""
    job = get_job(pk)
    counts = job.result.get("counts", {}) if job.kind == JobKind.IMPACT else {}
    order = job.result.get("pathways", list(counts))  # the stored JSON's key order is the database's
    return render(
        request,
        "screening/manage/job.html",
        {
            "job": job,
            "directions": DIRECTIONS,
            "outcomes": OUTCOMES,
            "counts": [(pid, [(d, counts[pid].get(d, 0)) for d in DIRECTIONS]) for pid in order if pid in counts],
            "rows": _visible_rows(request, job.result.get("rows", [])),
        },
    )


def _visible_rows(request: HttpRequest, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Counts cover every site; a patient's identifier is shown only to an admin of that patient's site."""
    from patients.models import Patient

    own = set(
        Patient.objects.filter(pk__in={r["patient"] for r in rows}, site__in=request.user.sites.all()).values_list(
            "pk", flat=True
        )
    )
    return [r if r["patient"] in own else {**r, "identifier": "(another site's patient)"} for r in rows]


@rules_admins
def sign_off(request: HttpRequest, pk: int) -> HttpResponse:
    """The second rules admin's sign-off: the changes since the base version, the tests, the preview."""
    draft = get_rule_set(pk, draft=True)
    if refused := _unreleasable(request, draft):
        return refused
    form = SignOffForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            rulesets.sign_off_rule_set(rule_set=draft, actor=request.user, note=form.cleaned_data["note"])
        except RuleSetRefused as err:
            _refused(form, err)
        else:
            messages.success(request, f"Draft {draft.version} signed off.")
            return redirect("screening:ruleset_detail", pk=pk)
    return _form_page(
        request,
        form,
        title=f"Sign off draft {draft.version}",
        rule_set=draft,
        submit="Sign off",
        extra=_release_checks(draft, request.user),
    )


def _unreleasable(request: HttpRequest, draft: RuleSet) -> HttpResponse | None:
    """Back to the draft, saying why, when it can never be released as it is (a pathway id longer than the
    referral column, say): its sign-off and publish pages are not offered, and nothing is written."""
    try:
        rulesets.check_releasable(draft)
    except RuleSetRefused as err:
        messages.error(request, err.message)
        return redirect("screening:ruleset_detail", pk=draft.pk)
    return None


def _release_checks(draft: RuleSet, user: Any) -> dict[str, Any]:
    # Compared with what is live now, not with what the draft started from: if another draft was
    # published meanwhile, publishing this one would undo it, and the reviewer must see that.
    base = RuleSet.objects.filter(status=RuleSetStatus.PUBLISHED).first()
    runs = testcases.run_test_cases(draft.content)
    return {
        "base": base,
        "changes": diff_contents(
            base.content, draft.content, old_disabled=base.disabled_nodes, new_disabled=draft.disabled_nodes
        )
        if base
        else [],
        "runs": runs,
        "failing": testcases.failing(runs),
        "preview": rulesets.latest_preview(draft),
        "is_author": user.pk in rulesets.authors(draft),
        "stale_base": draft.based_on if base and draft.based_on_id and draft.based_on_id != base.pk else None,
        "checks": True,
    }


@rules_admins
def publish(request: HttpRequest, pk: int) -> HttpResponse:
    draft = get_rule_set(pk, draft=True)
    if refused := _unreleasable(request, draft):
        return refused
    # offered: the draft's own change note (a shipped update comes with one), to be read and edited
    form = PublishForm(request.POST or None, initial={"change_note": draft.change_note})
    if request.method == "POST" and form.is_valid():
        try:
            job = rulesets.publish_rule_set(
                rule_set=draft, actor=request.user, change_note=form.cleaned_data["change_note"]
            )
        except RuleSetRefused as err:
            _refused(form, err)
        else:
            messages.success(request, f"Version {draft.version} published; every patient is being re-screened.")
            return redirect("screening:job_detail", pk=job.pk)
    return _form_page(
        request,
        form,
        title=f"Publish draft {draft.version}",
        rule_set=draft,
        submit="Publish",
        extra=_release_checks(draft, request.user),
    )


@rules_admins
def rollback(request: HttpRequest, pk: int) -> HttpResponse:
    """Publish a retired version's content again, as a new version, in one action."""
    source = get_rule_set(pk)
    if source.status != RuleSetStatus.RETIRED or not source.was_published:
        raise Http404("Only a retired version can be published again")
    current = RuleSet.objects.filter(status=RuleSetStatus.PUBLISHED).first()
    form = RollbackForm(request.POST or None, initial={"version": rulesets.suggest_version(current or source)})
    if request.method == "POST" and form.is_valid():
        try:
            new, job = rulesets.roll_back_to(source=source, actor=request.user, **form.cleaned_data)
        except RuleSetRefused as err:
            _refused(form, err)
        else:
            messages.success(
                request,
                f"Version {source.version} published again as {new.version}; every patient is being re-screened.",
            )
            return redirect("screening:job_detail", pk=job.pk)
    changes = diff_contents(current.content, source.content) if current else []
    return _form_page(
        request,
        form,
        title=f"Publish version {source.version} again",
        rule_set=source,
        submit="Publish again",
        extra={"changes": changes, "base": current},
        intro="The published version is retired and every patient is re-screened with this content.",
    )


@rules_admins
def testcase_list(request: HttpRequest) -> HttpResponse:
    cases = RuleCase.objects.select_related("created_by").order_by("name")
    return render(request, "screening/manage/test_cases.html", {"cases": cases, "outcomes": OUTCOMES})


def _pathway_ids(*contents: dict[str, Any]) -> list[str]:
    return list(dict.fromkeys(p["id"] for content in contents for p in content["pathways"]))


@rules_admins
def testcase_add(request: HttpRequest) -> HttpResponse:
    pathways = _pathway_ids(RuleSet.objects.published().content)
    form = TestCaseForm(request.POST or None, request.FILES or None, pathways=pathways)
    if request.method == "POST" and form.is_valid():
        try:
            case = testcases.add_test_case(
                actor=request.user,
                case=form.cleaned_data["file"],
                expected=form.expected,
                note=form.cleaned_data["reason"],
            )
        except RuleSetRefused as err:
            _refused(form, err)
        else:
            messages.success(request, f"Test case {case.name} added.")
            return redirect("screening:testcase_detail", pk=case.pk)
    return _form_page(request, form, title="Add a test case", submit="Add test case", multipart=True)


@rules_admins
def testcase_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A test case: its file's summary, what is expected, and every change of the expectation with why."""
    case = get_test_case(pk)
    history = list(case.history.order_by("-history_date", "-history_id"))
    return render(
        request,
        "screening/manage/test_case.html",
        {
            "case": case,
            "history": history,
            "outcomes": OUTCOMES,
            "case_json": json.dumps(case.case, indent=2, ensure_ascii=False),
        },
    )


@rules_admins
def testcase_expect(request: HttpRequest, pk: int) -> HttpResponse:
    """Update a test case's expected outcomes (offered: the draft's outcomes), with a reason."""
    case = get_test_case(pk)
    draft_pk = request.GET.get("draft", "")
    draft = get_object_or_404(RuleSet, pk=draft_pk) if draft_pk.isascii() and draft_pk.isdigit() else None
    rules = None
    if draft is not None:
        try:
            rules = engine.parse_rule_set(draft.content)
        except engine.RuleSetError:
            raise Http404("That version cannot be run") from None
    pathways = _pathway_ids(*([draft.content] if draft else []), RuleSet.objects.published().content)
    pathways += [p for p in case.expected if p not in pathways]
    initial = {**case.expected}
    if draft is not None and rules is not None:
        initial.update(testcases.run_case(case, rules, testcases.drug_units(draft.content)).actual)
    form = ExpectationForm(
        request.POST or None, pathways=pathways, initial={f"expected_{p}": v for p, v in initial.items()}
    )
    if request.method == "POST" and form.is_valid():
        try:
            testcases.update_expectation(
                test_case=case,
                actor=request.user,
                expected=form.expected,
                reason=form.cleaned_data["reason"],
                rule_set=draft,
            )
        except RuleSetRefused as err:
            _refused(form, err)
        else:
            messages.success(request, f"Expected outcome of {case.name} updated.")
            if draft is not None:
                return redirect("screening:ruleset_tests", pk=draft.pk)
            return redirect("screening:testcase_detail", pk=case.pk)
    intro = (
        f"Offered: the outcomes of draft {draft.version}. " if draft else ""
    ) + "The change and its reason are kept in the test case's history and the draft's audit trail."
    return _form_page(
        request,
        form,
        title=f"Expected outcome of test case {case.name}",
        submit="Update expectation",
        intro=intro,
        extra={"case": case, "action_query": request.GET.urlencode()},
    )
