"""CDS Hooks 2.0: discovery, the ``patient-view`` service and its feedback (docs/cds-hooks.md).

The service screens the prefetched FHIR data with the published rules and stores nothing of it: the
prefetch is mapped to a case file (``interop.fhir_in``), checked like one, turned into facts and
screened. Cards say what the screening says (flagged for an evaluation referral, or data missing),
never a decision. Requests carry a JWT signed by the calling record system (``CdsClient``), checked
against the key set an admin stored: signature, ``iss`` known, ``aud`` this service's URL, ``exp``,
and ``jti`` used once.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import jwt
from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from accounts.security import two_factor_exempt
from clinical.casefile import CaseFileError, validate_case
from interop import fhir_in
from interop.models import CdsCard, CdsClient, CdsFeedback, CdsTokenUse, FeedbackOutcome
from patients.models import Patient
from screening import engine
from screening.contract import PathwayView, ResultView, short_label, view_of
from screening.models import RuleSet
from screening.services import parsed_rules

SERVICE_ID = "candidacy-screening"
ALGORITHMS = ["RS384", "ES384", "RS256", "ES256", "RS512", "ES512", "PS384", "PS256"]
PREFETCH = {
    "patient": "Patient/{{context.patientId}}",
    "conditions": "Condition?patient={{context.patientId}}",
    "observations": "Observation?patient={{context.patientId}}",
    "medicationStatements": "MedicationStatement?patient={{context.patientId}}",
    "medicationRequests": "MedicationRequest?patient={{context.patientId}}",
    "procedures": "Procedure?patient={{context.patientId}}",
}
SERVICE = {
    "hook": "patient-view",
    "id": SERVICE_ID,
    "title": "Candidacy: lupus screening for an MSC / HSCT evaluation referral",
    "description": (
        "Screens the patient's record with Candidacy's published rules and shows whether the patient is flagged "
        "for an evaluation referral, or which data is missing. A prompt for clinicians to look; it decides nothing."
    ),
    "prefetch": PREFETCH,
    "usageRequirements": "Register the record system (issuer and public key set) with Candidacy's administrators.",
}


class Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _error(status: int, message: str) -> JsonResponse:
    response = JsonResponse({"error": message}, status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    return response


def service_url(request: HttpRequest, service_id: str) -> str:
    """The URL the client calls, which its JWT must name as ``aud`` (CDS_HOOKS_BASE_URL when set, e.g. behind a proxy)."""
    path = reverse("cds:service", kwargs={"service_id": service_id})
    base = getattr(settings, "CDS_HOOKS_BASE_URL", "")
    return base.rstrip("/") + path if base else request.build_absolute_uri(path)


def authenticate(request: HttpRequest, audience: str) -> CdsClient:
    """The client whose signed JWT this request carries, or Refused (401)."""
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        raise Refused(401, "a signed JWT is required (Authorization: Bearer ...)")
    token = header.removeprefix("Bearer ").strip()
    try:
        unverified = jwt.decode(token, options={"verify_signature": False})
        head = jwt.get_unverified_header(token)
    except jwt.PyJWTError as err:
        raise Refused(401, f"the token cannot be read ({err})") from err
    client = CdsClient.objects.filter(issuer=unverified.get("iss") or "", active=True).first()
    if client is None:
        raise Refused(401, "unknown issuer: the record system is not registered")
    try:
        keys = jwt.PyJWKSet.from_dict(client.jwks).keys
    except jwt.PyJWTError as err:
        raise Refused(401, f"the registered key set cannot be used ({err})") from err
    kid = head.get("kid")
    candidates = [k for k in keys if kid is None or k.key_id == kid]
    if not candidates:
        raise Refused(401, "the token's key is not in the registered key set")
    claims: dict[str, Any] | None = None
    for key in candidates:
        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=ALGORITHMS,
                audience=audience,
                issuer=client.issuer,
                options={"require": ["iss", "aud", "exp", "iat", "jti"]},
            )
            break
        except jwt.InvalidSignatureError:
            continue
        except jwt.PyJWTError as err:
            raise Refused(401, f"the token is refused ({err})") from err
    if claims is None:
        raise Refused(401, "the token's signature does not match the registered key set")
    try:
        with transaction.atomic():
            CdsTokenUse.objects.filter(expires_at__lt=timezone.now()).delete()
            CdsTokenUse.objects.create(
                client=client, jti=str(claims["jti"])[:200], expires_at=datetime.fromtimestamp(claims["exp"], tz=UTC)
            )
    except IntegrityError as err:
        raise Refused(401, "the token was already used (jti)") from err
    return client


@login_not_required
@two_factor_exempt
@require_GET
def discovery(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"services": [SERVICE]})


def _prefetch_bundle(prefetch: dict[str, Any]) -> str:
    """The prefetched resources as one Bundle of the patient (searchset bundles unpacked)."""
    patient = prefetch.get("patient")
    if not isinstance(patient, dict) or patient.get("resourceType") != "Patient":
        raise Refused(412, "prefetch.patient (a Patient resource) is required")
    entries = [{"resource": patient}]
    for key in PREFETCH:
        if key == "patient" or prefetch.get(key) is None:
            continue
        found = prefetch[key]
        if not isinstance(found, dict) or found.get("resourceType") != "Bundle":
            raise Refused(400, f"prefetch.{key} must be a Bundle")
        entries += [
            {"resource": e["resource"]} for e in found.get("entry") or [] if isinstance(e, dict) and "resource" in e
        ]
    return json.dumps({"resourceType": "Bundle", "id": "prefetch", "type": "collection", "entry": entries})


def _match(client: CdsClient, patient: dict[str, Any]) -> Patient | None:
    values = [i.get("value") for i in patient.get("identifier") or [] if isinstance(i, dict) and i.get("value")]
    found = list(Patient.objects.filter(site__in=client.sites.all(), identifier__in=values).select_related("site")[:2])
    return found[0] if len(found) == 1 else None


def _detail(pathway: PathwayView, unmapped: list[str]) -> str:
    lines = [pathway.sentence, ""]
    for crit in pathway.met_criteria:
        lines.append(f"- {crit.explanation}")
    if pathway.missing:
        lines += ["", "**Data missing**"] + [f"- {item.line}" for item in pathway.missing]
    shown = pathway.shown_cautions
    if shown:
        lines += ["", "**Cautions**"]
        lines += [f"- {c.label} ({c.severity}, {c.status.value}): {c.explanation}" for c in shown]
    if unmapped:
        lines += ["", f"{len(unmapped)} entries of the record could not be read and were left out."]
    lines += ["", "A prompt for clinicians to look: people decide."]
    return "\n".join(lines)


def cards_for(view: ResultView, *, unmapped: list[str], link: str | None) -> list[dict[str, Any]]:
    """One card per pathway that is flagged or lacks data; none for a pathway not flagged."""
    cards = []
    for pathway in view.pathways:
        if pathway.flagged:
            contraindicated = any(c.is_contraindication and c.present for c in pathway.cautions)
            indicator = "warning" if contraindicated else "info"
            summary = f"{short_label(pathway.id)}: flagged for an evaluation referral"
            if contraindicated:
                summary += " (contraindication present)"
        elif pathway.insufficient_data:
            indicator = "info"
            summary = f"{short_label(pathway.id)}: data missing to screen for an evaluation referral"
        else:
            continue
        card: dict[str, Any] = {
            "uuid": str(uuid.uuid4()),
            "summary": summary[:140],
            "detail": _detail(pathway, unmapped),
            "indicator": indicator,
            "source": {
                "label": f"Candidacy screening, {view.rule_set_name} version {view.rule_set_version}",
                "topic": {"system": "urn:candidacy:codesystem:pathway", "code": pathway.id, "display": pathway.label},
            },
            "selectionBehavior": "any",
        }
        if link:
            card["links"] = [{"label": "Open the patient in Candidacy", "url": link, "type": "absolute"}]
        cards.append(card)
    return cards


def _not_screened(message: str) -> dict[str, Any]:
    return {
        "uuid": str(uuid.uuid4()),
        "summary": "Candidacy could not screen this record",
        "detail": f"{message}\n\nNothing was screened; the record system's data needs a look.",
        "indicator": "info",
        "source": {"label": "Candidacy screening"},
    }


@login_not_required
@two_factor_exempt
@csrf_exempt
@require_POST
def service(request: HttpRequest, service_id: str) -> HttpResponse:
    if service_id != SERVICE_ID:
        return _error(404, f"no CDS service {service_id!r}")
    try:
        client = authenticate(request, service_url(request, service_id))
        try:
            body = json.loads(request.body)
        except (ValueError, UnicodeDecodeError) as err:
            raise Refused(400, f"the request is not JSON ({err})") from err
        if not isinstance(body, dict) or body.get("hook") != "patient-view":
            raise Refused(400, "hook: must be patient-view")
        prefetch = body.get("prefetch")
        if not isinstance(prefetch, dict):
            raise Refused(412, "prefetch is required: this service does not query the record system")
        text = _prefetch_bundle(prefetch)
    except Refused as err:
        return _error(err.status, err.message)
    rule_set = RuleSet.objects.published()
    rules = parsed_rules(rule_set)
    drugs = {d.drug: d.dose_unit for d in rules.drugs}
    today = timezone.localdate()
    try:
        mapped = fhir_in.bundle_to_case(fhir_in.parse_bundle(text), drugs=drugs)
        try:
            case = validate_case(mapped.case, drugs=drugs, today=today)
        except CaseFileError as err:
            raise CaseFileError(mapped.where(err.field), err.message) from err
        result = engine.screen(engine.facts_from_case(case), rules, today)
    except (CaseFileError, engine.EngineError) as err:
        return JsonResponse({"cards": [_not_screened(str(err))]})
    view = view_of(result, case_id=case["case_id"])
    known = _match(client, prefetch["patient"])
    link = request.build_absolute_uri(reverse("patients:detail", kwargs={"pk": known.pk})) if known else None
    cards = cards_for(view, unmapped=mapped.unmapped, link=link)
    CdsCard.objects.bulk_create(
        CdsCard(
            uuid=card["uuid"],
            client=client,
            service=service_id,
            rule_set_version=view.rule_set_version,
            pathway=card["source"]["topic"]["code"],
            outcome=next(p.outcome.value for p in view.pathways if p.id == card["source"]["topic"]["code"]),
            site=known.site if known else None,
        )
        for card in cards
    )
    return JsonResponse({"cards": cards})


@login_not_required
@two_factor_exempt
@csrf_exempt
@require_POST
def feedback(request: HttpRequest, service_id: str) -> HttpResponse:
    if service_id != SERVICE_ID:
        return _error(404, f"no CDS service {service_id!r}")
    try:
        client = authenticate(request, service_url(request, service_id) + "/feedback")
        try:
            body = json.loads(request.body)
        except (ValueError, UnicodeDecodeError) as err:
            raise Refused(400, f"the request is not JSON ({err})") from err
        items = body.get("feedback") if isinstance(body, dict) else None
        if not isinstance(items, list):
            raise Refused(400, "feedback: must be a list")
        rows = []
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                raise Refused(400, f"feedback[{i}]: must be an object")
            card = CdsCard.objects.filter(uuid=_uuid(item.get("card"), i), client=client).first()
            if card is None:
                raise Refused(400, f"feedback[{i}].card: not a card this service sent to this client")
            if item.get("outcome") not in FeedbackOutcome.values:
                raise Refused(400, f"feedback[{i}].outcome: must be accepted or overridden")
            when = _timestamp(item.get("outcomeTimestamp"), i)
            reasons = [r for r in item.get("overrideReasons") or [] if isinstance(r, dict)]
            text = "; ".join(str((r.get("reason") or {}).get("display") or r.get("userComment") or "") for r in reasons)
            rows.append(CdsFeedback(card=card, outcome=item["outcome"], reason=text[:500], outcome_at=when))
    except Refused as err:
        return _error(err.status, err.message)
    CdsFeedback.objects.bulk_create(rows)
    return HttpResponse(status=200)


def _uuid(value: Any, i: int) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError as err:
        raise Refused(400, f"feedback[{i}].card: not a card id") from err


def _timestamp(value: Any, i: int) -> datetime:
    try:
        when = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as err:
        raise Refused(400, f"feedback[{i}].outcomeTimestamp: not a date and time") from err
    return when if when.tzinfo else timezone.make_aware(when)


def feedback_counts(outcome: str) -> Any:
    """For the dashboard: feedback of one outcome per rule set version (cards of the given sites; None: all)."""

    def count(sites: Any) -> dict[str, int]:
        rows = CdsFeedback.objects.filter(outcome=outcome)
        if sites is not None:
            rows = rows.filter(card__site__in=sites)
        from django.db.models import Count

        return {
            r["card__rule_set_version"]: r["n"]
            for r in rows.order_by().values("card__rule_set_version").annotate(n=Count("id"))
        }

    return count
