"""Referrals: list, detail and the workflow's actions (assign, note, transition), through the referral
page's forms and ``referrals.services`` (events, audit, optimistic locking). A referral's detail and
every action log the opening of the patient's record (``AccessKind.API``)."""

from typing import Any

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import Path, Query, Router, Status

from api import schemas as s
from api.auth import ACTOR_AUTH, READERS, REFERRAL_ACTORS, need
from api.errors import ApiError, ConflictOut, ErrorOut, form_invalid
from patients.access_log import log_access
from patients.models import AccessKind
from referrals.forms import AssignForm, NoteForm, TransitionForm
from referrals.models import OPEN_STATES, Referral
from referrals.services import ReferralError, add_note, assign_referral, transition_referral

router = Router(tags=["referrals"])
READ = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}
WRITE = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ConflictOut, 422: ErrorOut}
ReferralId = Path(..., ge=1, le=s.MAX_ID, description="The referral's id.")
StateFilter = s._enum("StateFilter", ["open", "all", *(str(v.value) for v in s.RefState)])  # type: ignore[attr-defined]


def _rows(request: HttpRequest) -> Any:
    return Referral.objects.visible_to(request.user).select_related("patient__site", "assigned_to")


def _out(r: Referral) -> dict[str, Any]:
    return {
        "id": r.pk,
        "patient_id": r.patient_id,
        "patient_identifier": r.patient.identifier,
        "site": r.patient.site.code,
        "pathway": r.pathway,
        "pathway_label": r.pathway_label,
        "state": r.state,
        "version": r.version,
        "flagged_at": r.flagged_at,
        "opened_at": r.opened_at,
        "updated_at": r.updated_at,
        "assigned_to": r.assigned_to.username if r.assigned_to else None,
        "flag_withdrawn": r.flag_withdrawn,
        "withdrawn_reason": r.withdrawn_reason,
        "reasons": [str(x) for x in r.reasons or []],
        "cautions": list(r.cautions or []),
        "has_contraindication": r.has_contraindication,
        "lapses_on": r.lapses_on,
        "centre": r.centre,
        "referred_on": r.referred_on,
        "not_referred_reason": r.not_referred_reason,
        "review_on": r.review_on,
        "data_needed": r.data_needed,
        "decided_at": r.decided_at,
    }


def _detail(r: Referral) -> dict[str, Any]:
    events = [
        {
            "version": e.version,
            "kind": e.kind,
            "at": e.at,
            "who": e.who,
            "from_state": e.from_state,
            "to_state": e.to_state,
            "reason": e.reason,
        }
        for e in r.events.order_by("version")
    ]
    return {**_out(r), "events": events}


def _found(request: HttpRequest, pk: int) -> Referral:
    referral = get_object_or_404(_rows(request), pk=pk)
    log_access(request=request, patient_id=referral.patient_id, what=AccessKind.API)
    return referral


def _refused(err: ReferralError) -> ApiError:
    if err.is_conflict:
        changes = [
            {"at": e.at, "who": e.who, "what": e.get_kind_display(), "reason": e.reason, "fields": []}
            for e in err.changes
        ]
        return ApiError(409, err.message, [("version", err.message)], changes=changes)
    return ApiError(422, f"{err.field}: {err.message}", [(err.field, err.message)])


@router.get("/referrals", response={200: s.ReferralPage, **READ}, url_name="referrals", operation_id="list_referrals")
def list_referrals(
    request: HttpRequest,
    state: StateFilter = Query("open", description="open (default), all, or one state."),  # type: ignore[valid-type]
    pathway: str | None = Query(None, max_length=32),
    site: str | None = Query(None, max_length=32, description="A site's code."),
    limit: int = Query(50, ge=1, le=200),
    offset: int = Query(0, ge=0, le=s.MAX_ID),
) -> Any:
    """Referrals of your sites' patients, oldest flag first (the queue's order)."""
    need(request, READERS)
    rows = _rows(request).order_by("flagged_at", "id")
    chosen = getattr(state, "value", state)
    if chosen == "open":
        rows = rows.filter(state__in=OPEN_STATES)
    elif chosen != "all":
        rows = rows.filter(state=chosen)
    if pathway:
        rows = rows.filter(pathway=pathway)
    if site:
        rows = rows.filter(patient__site__code=site)
    items = [_out(r) for r in rows[offset : offset + limit]]
    return {"count": rows.count(), "limit": limit, "offset": offset, "items": items}


@router.get(
    "/referrals/{pk}", response={200: s.ReferralDetail, **READ}, url_name="referral", operation_id="get_referral"
)
def get_referral(request: HttpRequest, pk: int = ReferralId) -> Any:
    """A referral with its whole trail of events."""
    need(request, READERS)
    return _detail(_found(request, pk))


@router.post(
    "/referrals/{pk}/transition",
    response={200: s.ReferralDetail, **WRITE},
    url_name="referral_transition",
    auth=ACTOR_AUTH,
    operation_id="transition_referral",
)
def transition(request: HttpRequest, payload: s.TransitionIn, pk: int = ReferralId) -> Any:
    """Move the referral to its next state (the workflow decides what is allowed), at the version read."""
    user = need(request, REFERRAL_ACTORS)
    referral = _found(request, pk)
    today = timezone.localdate()
    target = payload.to_state.value
    data = {k: ("" if v is None else getattr(v, "value", v)) for k, v in payload.dict().items()}
    data = {k: (v.isoformat() if hasattr(v, "isoformat") else str(v)) for k, v in data.items()}
    form = TransitionForm(data, target=target, today=today, opened=referral.opened_on, prefix=None)
    if not form.is_valid():
        raise form_invalid(form, general="to_state")
    try:
        done = transition_referral(referral=referral, actor=user, today=today, **form.decision())
    except ReferralError as err:
        raise _refused(err) from err
    return _detail(done)


@router.post(
    "/referrals/{pk}/assign",
    response={200: s.ReferralDetail, **WRITE},
    url_name="referral_assign",
    auth=ACTOR_AUTH,
    operation_id="assign_referral",
)
def assign(request: HttpRequest, payload: s.AssignIn, pk: int = ReferralId) -> Any:
    """Give the referral to a specialist or staff member of the patient's site (null: nobody)."""
    user = need(request, REFERRAL_ACTORS)
    referral = _found(request, pk)
    data = {"version": str(payload.version), "assignee": "" if payload.assignee is None else str(payload.assignee)}
    form = AssignForm(data, site_id=referral.patient.site_id)
    if not form.is_valid():
        raise form_invalid(form, general="assignee")
    try:
        done = assign_referral(
            referral=referral, actor=user, seen_version=payload.version, assignee=form.cleaned_data["assignee"]
        )
    except ReferralError as err:
        raise _refused(err) from err
    return _detail(done)


@router.post(
    "/referrals/{pk}/notes",
    response={201: s.ReferralDetail, **WRITE},
    url_name="referral_notes",
    auth=ACTOR_AUTH,
    operation_id="add_referral_note",
)
def note(request: HttpRequest, payload: s.NoteIn, pk: int = ReferralId) -> Any:
    """Add a note to the referral's trail (notes never conflict: they overwrite nothing)."""
    user = need(request, REFERRAL_ACTORS)
    referral = _found(request, pk)
    form = NoteForm({"text": payload.text})
    if not form.is_valid():
        raise form_invalid(form, general="text")
    try:
        add_note(referral=referral, actor=user, text=form.cleaned_data["text"])
    except ReferralError as err:
        raise _refused(err) from err
    return Status(201, _detail(get_object_or_404(_rows(request), pk=pk)))
