"""The referral screens: queue, CSV export, referral page and its actions, printable summary, dashboard.

The referral page (however it is rendered) and the printout log the opening of the patient's record
(``patients.access_log``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.access import readers, role_required
from accounts.models import Role, Site
from patients.access_log import log_access
from patients.models import AccessKind
from patients.summary import build_summary
from referrals import exports, summary, tasks
from referrals import queue as q
from referrals.access import get_referral
from referrals.dashboard import build_dashboard
from referrals.forms import TARGET_FIELDS, AssignForm, NoteForm, TransitionForm
from referrals.models import EventKind, ExportStatus, QueueExport, Referral, ReferralState
from referrals.printout import (
    citations,
    judge_treatments,
    lab_rows,
    met_criteria,
    missing_workup,
    observation_codes_read,
    reason_and_caution_sources,
    sledai_chart,
    source_keys,
)
from referrals.queue_rows import FIELDS as ROW_FIELDS
from referrals.queue_rows import QueueRow, render_rows
from referrals.services import ReferralError, add_note, assign_referral, transition_referral
from referrals.workflow import ACTION_LABELS, allowed_targets, can_act
from screening.contract import OUTCOME_LABEL, Outcome, outcome_of, read_outcomes, read_result
from screening.display import pathway_panel
from screening.models import ScreeningResult
from screening.services import parsed_rules


def _queue_rows(request: HttpRequest, f: q.QueueFilters) -> tuple[Any, Any]:
    """The filtered referrals before (base, for the counts) and after the state and pathway filters."""
    return q.matching(request.user, f, now=timezone.now())


@readers
def queue(request: HttpRequest) -> HttpResponse:
    """Open referrals of the user's sites: filters, counts per state, keyset pages."""
    f = q.QueueFilters.from_params(request.GET)
    base, rows = _queue_rows(request, f)
    sites = summary.sites_with_summaries(request.user.sites.all())  # type: ignore[union-attr]
    counts_as_of = None
    if q.counted_by_summary(f):
        merged = summary.merged([s for s in sites if not f.site or s.code == f.site])
        counts, counts_as_of = q.count_from_summary(merged, f), merged.computed_at
    else:
        counts = q.count(base, f, today=timezone.localdate())
    page = q.page(rows.values(*ROW_FIELDS), f, after=request.GET.get("after", ""), before=request.GET.get("before", ""))
    today = timezone.localdate()
    page.rows = [QueueRow.of(r, today=today) for r in page.rows]
    html_rows = render_rows(page.rows)
    return render(
        request,
        "referrals/queue.html",
        {
            "f": f,
            "page": page,
            "rows": html_rows,
            "counts": counts,
            "total": counts.for_view(f.state),
            "state_views": [
                (key, label, counts.for_view(key), f.query(state=key)) for key, label in q.STATE_VIEWS.items()
            ],
            "export_query": f.query(),
            "next_query": f.query(after=page.next_cursor) if page.next_cursor else "",
            "prev_query": f.query(before=page.prev_cursor) if page.prev_cursor else "",
            "sites": sites,
            "counts_as_of": counts_as_of,
            "ages": q.AGES,
            "lapse_soon_days": q.LAPSE_SOON_DAYS,
            "sorts": [(k, v[2]) for k, v in q.SORTS.items()],
            "page_sizes": q.PAGE_SIZES,
        },
    )


@readers
def queue_export(request: HttpRequest) -> HttpResponse:
    """The user's CSV exports of the queue. GET: the list, and the filters of the query string ready to be
    written; POST: ask for an export with those filters (written by the task worker, then downloaded)."""
    if request.method == "POST":
        f = q.QueueFilters.from_params(request.POST)
        tasks.send_export(exports.request_export(user=request.user, filters=f).pk)
        messages.success(
            request, "Your export is being written. This page shows it with a download link when it is ready."
        )
        return redirect(reverse("referrals:export") + "?" + f.query())
    f = q.QueueFilters.from_params(request.GET)
    mine = list(
        QueueExport.objects.filter(created_by=request.user, expires_at__gt=timezone.now())  # type: ignore[misc]
        .defer("content")
        .order_by("-pk")[:20]
    )
    return render(
        request,
        "referrals/exports.html",
        {
            "f": f,
            "filters": _described(f),
            "exports": mine,
            "pending": any(e.status in (ExportStatus.QUEUED, ExportStatus.RUNNING) for e in mine),
            "keep_hours": int(exports.keep_for().total_seconds() // 3600),
            "queue_query": f.query(),
            "hidden": parse_qsl(f.query()),
        },
    )


def _described(f: q.QueueFilters) -> list[str]:
    words = [q.STATE_VIEWS[f.state]]
    if f.pathway:
        words.append(f"pathway {f.pathway.upper()}")
    if f.site:
        words.append(f"site {f.site}")
    for flag, text in (
        (f.mine, "assigned to me"),
        (f.contraindication, "has a contraindication"),
        (f.withdrawn, "flag withdrawn"),
        (f.lapsing, f"lapses within {q.LAPSE_SOON_DAYS} days"),
    ):
        if flag:
            words.append(text)
    if f.age:
        words.append(q.AGES[f.age])
    words.append(q.SORTS[f.sort][2].lower())
    return words


@readers
def queue_export_download(request: HttpRequest, pk: int) -> HttpResponse:
    """One export's file, for the user who asked for it only (another user's is 404), while it is kept."""
    export = QueueExport.objects.filter(pk=pk, created_by=request.user).first()  # type: ignore[misc]
    if export is None:
        raise Http404("No such export")
    if export.is_expired():
        return HttpResponse(
            "This export has expired and was deleted. Ask for a new one from the referral queue.",
            status=410,
            content_type="text/plain; charset=utf-8",
        )
    if export.status != ExportStatus.DONE:
        messages.info(request, "That export is not ready yet.")
        return redirect("referrals:export")
    response = StreamingHttpResponse(exports.lines(export), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
    return response


# the later results' columns on the referral page (who caused each, named as they were then)
LATER_COLUMNS = ("pk", "computed_at", "as_of", "outcomes", "change_cause", "trigger", "actor_name", "rule_set__version")


def _pathway_panel(referral: Referral, result: ScreeningResult | None) -> Any:
    view = read_result(result).pathway(referral.pathway) if result is not None else None
    return pathway_panel(referral.patient, view) if view is not None else None


def _render_detail(
    request: HttpRequest,
    referral: Referral,
    *,
    bound: dict[str, Any] | None = None,
    conflict: ReferralError | None = None,
    status: int = 200,
) -> HttpResponse:
    log_access(request=request, patient_id=referral.patient_id, what=AccessKind.REFERRAL_PAGE)
    today = timezone.localdate()
    bound = bound or {}
    summary = build_summary(referral.patient, today)
    latest = ScreeningResult.objects.latest_for(referral.patient_id)
    later = list(
        ScreeningResult.objects.filter(patient_id=referral.patient_id, pk__gt=referral.raised_on_id)
        .order_by("-pk")
        .values(*LATER_COLUMNS)[:20]
    )
    for row in later:
        outcome = read_outcomes(row["outcomes"]).get(referral.pathway)
        row["outcome"] = OUTCOME_LABEL[outcome] if outcome is not None else "not screened"
    events = list(referral.events.order_by("-version"))
    acting = can_act(request.user) and referral.is_open
    actions = [
        (
            target,
            ACTION_LABELS[target],
            bound.get(target)
            or TransitionForm(
                target=target, today=today, opened=referral.opened_on, initial={"version": referral.version}
            ),
        )
        for target in allowed_targets(referral.state, request.user)
    ]
    shown = {target for target, _label, _form in actions} | {"assign", "note"}
    refused = [str(m) for key, form in bound.items() if key not in shown for ms in form.errors.values() for m in ms]
    return render(
        request,
        "referrals/referral_detail.html",
        {
            "referral": referral,
            "patient": referral.patient,
            "s": summary,
            "chart": sledai_chart(summary),
            "raised_panel": _pathway_panel(referral, referral.raised_on),
            "latest": latest if latest and latest.pk != referral.raised_on_id else None,
            "latest_panel": _pathway_panel(referral, latest) if latest and latest.pk != referral.raised_on_id else None,
            "later": later,
            "events": events,
            "decided_by": _decided_by(referral, events),
            "actions": actions,
            "can_act": can_act(request.user),
            "due": referral.is_due(today),
            "assign_form": bound.get("assign")
            or (
                AssignForm(
                    site_id=referral.patient.site_id,
                    initial={"version": referral.version, "assignee": referral.assigned_to_id},
                )
                if acting
                else None
            ),
            "note_form": bound.get("note") or NoteForm(),
            "conflict": conflict,
            "today": today,
            "refused": refused,
        },
        status=status,
    )


def _decided_by(referral: Referral, events: list[Any]) -> str:
    """Who recorded the decision, named as they were then (the latest transition to the state it is in)."""
    if referral.decided_at is None:
        return ""
    for event in events:  # newest first
        if event.kind == EventKind.TRANSITION and event.to_state == referral.state:
            return str(event.who)
    return str(referral.decided_by or "—")


@readers
def referral_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _render_detail(request, get_referral(request, pk))


def _refused(
    request: HttpRequest,
    pk: int,
    err: ReferralError,
    *,
    key: str,
    form: Any,
    rebuild: Callable[[Any], Any] | None = None,
) -> HttpResponse:
    """Show a refusal on the referral page; a conflict (stale or missing version) answers 409, shows what
    changed and keeps the user's entries when the action still applies."""
    referral = get_referral(request, pk)  # reloaded: the page shows the referral as it is now
    if not err.is_conflict:
        form.add_error(err.field if err.field in form.fields else None, err.message)
        return _render_detail(request, referral, bound={key: form})
    bound = {}
    if rebuild is not None and (
        key in allowed_targets(referral.state, request.user) or (key == "assign" and referral.is_open)
    ):
        data = request.POST.copy()
        data[form.add_prefix("version")] = str(referral.version)
        bound[key] = rebuild(data)
    return _render_detail(request, referral, bound=bound, conflict=err, status=409)


@readers
@require_POST
def referral_transition(request: HttpRequest, pk: int) -> HttpResponse:
    """Move the referral to the state named in the form (one URL; the workflow decides what is allowed)."""
    referral = get_referral(request, pk)
    today = timezone.localdate()
    target = request.POST.get("to_state", "")
    form = TransitionForm(request.POST, target=target, today=today, opened=referral.opened_on)
    if target not in TARGET_FIELDS:
        form.add_error(None, "Choose a valid next state.")
    if not form.is_valid():
        return _render_detail(request, referral, bound={target: form})
    try:
        transition_referral(referral=referral, actor=request.user, today=today, **form.decision())  # type: ignore[arg-type]
    except ReferralError as err:
        return _refused(
            request,
            pk,
            err,
            key=target,
            form=form,
            rebuild=lambda data: TransitionForm(data, target=target, today=today, opened=referral.opened_on),
        )
    messages.success(request, f"Referral is now {ReferralState(target).label.lower()}.")
    return redirect(referral)


@readers
@require_POST
def referral_assign(request: HttpRequest, pk: int) -> HttpResponse:
    referral = get_referral(request, pk)
    form = AssignForm(request.POST, site_id=referral.patient.site_id)
    if not form.is_valid():
        return _render_detail(request, referral, bound={"assign": form})
    try:
        assign_referral(
            referral=referral,
            actor=request.user,
            seen_version=form.cleaned_data["version"],  # type: ignore[arg-type]
            assignee=form.cleaned_data["assignee"],
        )
    except ReferralError as err:
        return _refused(
            request,
            pk,
            err,
            key="assign",
            form=form,
            rebuild=lambda data: AssignForm(data, site_id=referral.patient.site_id),
        )
    messages.success(request, "Assignment saved.")
    return redirect(referral)


@readers
@require_POST
def referral_note(request: HttpRequest, pk: int) -> HttpResponse:
    referral = get_referral(request, pk)
    form = NoteForm(request.POST)
    if not form.is_valid():
        return _render_detail(request, referral, bound={"note": form})
    try:
        add_note(referral=referral, actor=request.user, text=form.cleaned_data["text"])  # type: ignore[arg-type]
    except ReferralError as err:
        return _refused(request, pk, err, key="note", form=form)
    messages.success(request, "Note added.")
    return redirect(referral.get_absolute_url() + "#history")


@readers
def referral_print(request: HttpRequest, pk: int) -> HttpResponse:
    """One page for the evaluating centre: diagnosis, activity, failed treatments, labs, reasons, cautions."""
    referral = get_referral(request, pk)
    log_access(request=request, patient_id=referral.patient_id, what=AccessKind.REFERRAL_PRINTOUT)
    today = timezone.localdate()
    summary = build_summary(referral.patient, today)
    latest = ScreeningResult.objects.latest_for(referral.patient_id)
    # the flag's current reasons if it still stands; otherwise the reasons it was raised on
    still = outcome_of(latest, referral.pathway) is Outcome.FLAGGED
    result = latest if still and latest is not None else referral.raised_on
    pathway = read_result(result).pathway(referral.pathway)
    reasons = met_criteria(pathway)
    cautions = pathway.shown_cautions if pathway is not None else ()
    keys = source_keys(reason_and_caution_sources(reasons, cautions))
    # the rule set the result was screened with reads the labs and judges the courses (from the records read
    # above), as of the result's date: the verdicts agree with the reasons printed beside them
    rules = parsed_rules(result.rule_set)
    return render(
        request,
        "referrals/print.html",
        {
            "referral": referral,
            "patient": referral.patient,
            "s": summary,
            "chart": sledai_chart(summary),
            "result": result,
            "pathway": pathway,
            "reasons": reasons,
            "cautions": cautions,
            "absent_count": len(pathway.absent_cautions) if pathway is not None else 0,
            "courses": judge_treatments(summary, rules, result.as_of),
            "missing": missing_workup(summary, pathway),
            "sources": [(k, citations().get(k, "not in the source list")) for k in keys],
            "labs": lab_rows(summary, observation_codes_read(rules)),
            "today": today,
        },
    )


@role_required(Role.SPECIALIST, Role.STAFF, Role.RULES_ADMIN)
def dashboard(request: HttpRequest) -> HttpResponse:
    """Aggregates only: staff and specialists see their sites; rules admins see every site."""
    user = request.user
    sites = Site.objects.all() if user.is_rules_admin else user.sites.all()  # type: ignore[union-attr]
    return render(
        request,
        "referrals/dashboard.html",
        {
            "d": build_dashboard(
                summary.merged(summary.sites_with_summaries(sites)),
                None if user.is_rules_admin else sites,  # type: ignore[union-attr]
            ),
            "all_sites": user.is_rules_admin,  # type: ignore[union-attr]
            "max_age": int(summary.max_age().total_seconds()),
        },
    )
