"""Bad input is refused, never a server error, never written (issue 10).

A corpus of bad inputs, sent as the roles that reach each form, upload and page:
forms (the clinical record, referrals, rules administration), case files, rule-set
and test-case files, and parameters (every GET parameter a view reads, a NUL in
any of them, ids that overflow). Each row must answer below 500, write nothing
(every table's row count is unchanged, history tables included) and, for a form
or file, name the field at fault (``tests/bad_input.py``). The sanity tests at the
end show each corpus's base input is accepted, so every refusal comes from the
one thing the row changes.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import pytest
from django.urls import reverse

from clinical import limits
from tests.bad_input import (
    ROLES,
    Bad,
    World,
    ahead,
    attempt,
    base_case,
    base_rules,
    day,
    deep,
    node_of,
    padded,
    rename_pathway,
    snapshot,
    upload,
    url,
)

pytestmark = pytest.mark.django_db
LONG = "x" * 10_000
NUL = "a\x00b"
SLEDAI_FIELDS = {f"sledai_{code}": "absent" for code in __import__("clinical.vocab").vocab.SLEDAI_ITEMS}
SDI_FIELDS = {f"sdi_{code}": "0" for code in __import__("clinical.vocab").vocab.SDI_ITEMS}


@pytest.fixture
def world(db: None) -> World:
    return World()


def pk(attr: str) -> Callable[[World], int]:
    return lambda w: getattr(w, attr).pk


def record(kind: str) -> Callable[[World], str]:
    def build(w: World) -> str:
        return reverse("patients:record_edit", kwargs={"pk": w.patient.pk, "kind": kind, "rid": w.records[kind].pk})

    return build


# --- Forms of the clinical record (a specialist) -------------------------------------------------


def new_patient(**changes: Any) -> Callable[[World], dict[str, Any]]:
    def data(w: World) -> dict[str, Any]:
        base = {
            "site": w.site.pk,
            "identifier": "NEW-1",
            "birth_date": "1990-02-03",
            "sex": "female",
            "weight_kg": "60",
        }
        return {**base, **changes}

    return data


def patient_edit(**changes: Any) -> Callable[[World], dict[str, Any]]:
    def data(w: World) -> dict[str, Any]:
        assert w.records  # the patient has records, the oldest 40 days old
        p = w.patient
        base = {
            "site": w.site.pk,
            "identifier": p.identifier,
            "birth_date": p.birth_date.isoformat(),
            "sex": p.sex,
            "weight_kg": "64",
            "version": p.version,
            "why-reason": "corpus: correcting the details",
        }
        return {**base, **changes}

    return data


def classification(**changes: Any) -> Callable[[World], dict[str, Any]]:
    def data(w: World) -> dict[str, Any]:
        return {
            "ana_titre": "640",
            "criteria_assessed": "on",
            "version": w.patient.version,
            "reason": "corpus: basis corrected",
            **changes,
        }

    return data


def assessment(**changes: Any) -> dict[str, Any]:
    return {"date": day(5), "window_days": "10", "pga": "1.0", **SLEDAI_FIELDS, **changes}


RECORD_BASE: dict[str, Callable[[], dict[str, Any]]] = {
    "assessments": lambda: assessment(),
    "damage": lambda: {"date": day(5), **SDI_FIELDS},
    "manifestations": lambda: {"code": "lupus_nephritis", "date": day(5), "active": "True", "biopsy_class": "IV"},
    "observations": lambda: {"code": "egfr", "date": day(5), "value": "80", "unit": "mL/min/1.73m²"},
    "treatments": lambda: {"drug": "azathioprine", "start": day(90), "dose": "100", "dose_unit": "mg/day"},
    "conditions": lambda: {"code": "hiv", "status": "absent", "date": day(5)},
}


def add_record(kind: str, **changes: Any) -> Bad:
    field = next(iter(k for k in changes if k not in ("unit",)), None)
    name = f"{kind}-" + "-".join(f"{k}={str(v)[:12]}" for k, v in changes.items())
    return Bad(
        name,
        "specialist",
        lambda w: reverse("patients:record_add", kwargs={"pk": w.patient.pk, "kind": kind}),
        lambda w: {**RECORD_BASE[kind](), **changes},
        field=field,
    )


def edit_record(kind: str, **changes: Any) -> Bad:
    field = next(iter(changes))
    return Bad(
        f"edit-{kind}-{field}",
        "specialist",
        record(kind),
        lambda w: {**RECORD_BASE[kind](), "version": w.records[kind].version, **changes},
        field=field,
    )


PATIENT_FORMS = [
    Bad(
        "sledai-preview-garbage",
        "specialist",
        url("patients:sledai_preview"),
        lambda w: {"sledai_seizure": LONG},
        statuses=(200,),
    ),
    Bad(
        "sledai-preview-nul",
        "specialist",
        url("patients:sledai_preview"),
        lambda w: {"sledai_seizure": NUL},
        statuses=(400,),
    ),
    Bad("patient-nul", "specialist", url("patients:create"), new_patient(identifier=NUL), statuses=(400,)),
    Bad("identifier-65", "specialist", url("patients:create"), new_patient(identifier="P" * 65), "identifier"),
    Bad("identifier-10000", "specialist", url("patients:create"), new_patient(identifier=LONG), "identifier"),
    Bad("identifier-newline", "specialist", url("patients:create"), new_patient(identifier="P-1\nP-2"), "identifier"),
    Bad("identifier-path", "specialist", url("patients:create"), new_patient(identifier="../etc"), "identifier"),
    Bad("birth-year-1", "specialist", url("patients:create"), new_patient(birth_date="0001-01-01"), "birth_date"),
    Bad("birth-year-9999", "specialist", url("patients:create"), new_patient(birth_date="9999-12-31"), "birth_date"),
    Bad("birth-1899", "specialist", url("patients:create"), new_patient(birth_date="1899-12-31"), "birth_date"),
    Bad("birth-tomorrow", "specialist", url("patients:create"), new_patient(birth_date=ahead(1)), "birth_date"),
    Bad(
        "birth-5-digit-year", "specialist", url("patients:create"), new_patient(birth_date="19990-01-01"), "birth_date"
    ),
    Bad("birth-30-feb", "specialist", url("patients:create"), new_patient(birth_date="2001-02-30"), "birth_date"),
    Bad("weight-huge", "specialist", url("patients:create"), new_patient(weight_kg="1e400"), "weight_kg"),
    Bad("weight-nan", "specialist", url("patients:create"), new_patient(weight_kg="NaN"), "weight_kg"),
    Bad("weight-negative", "specialist", url("patients:create"), new_patient(weight_kg="-60"), "weight_kg"),
    Bad("weight-301", "specialist", url("patients:create"), new_patient(weight_kg="301"), "weight_kg"),
    Bad("weight-digits", "specialist", url("patients:create"), new_patient(weight_kg="64.25"), "weight_kg"),
    Bad("sex-other", "specialist", url("patients:create"), new_patient(sex="x" * 100), "sex"),
    Bad("site-garbage", "specialist", url("patients:create"), new_patient(site="1 OR 1=1"), "site"),
    Bad("site-huge", "specialist", url("patients:create"), new_patient(site=str(10**30)), "site"),
    Bad(
        "birth-after-records",
        "specialist",
        url("patients:edit", pk=pk("patient")),
        patient_edit(birth_date=day(10)),
        "birth_date",
    ),
    Bad(
        "edit-birth-year-1",
        "specialist",
        url("patients:edit", pk=pk("patient")),
        patient_edit(birth_date="0001-01-01"),
        "birth_date",
    ),
    Bad(
        "edit-reason-long",
        "specialist",
        url("patients:edit", pk=pk("patient")),
        patient_edit(**{"why-reason": LONG}),
        "reason",
    ),
    Bad(
        "edit-version-garbage",
        "specialist",
        url("patients:edit", pk=pk("patient")),
        patient_edit(version="9" * 40, weight_kg="70"),
        statuses=(200, 409),
    ),
    Bad(
        "titre-huge",
        "specialist",
        url("patients:classification", pk=pk("patient")),
        classification(ana_titre=str(10**12)),
        "ana_titre",
    ),
    Bad(
        "titre-million",
        "specialist",
        url("patients:classification", pk=pk("patient")),
        classification(ana_titre="1000001"),
        "ana_titre",
    ),
    Bad(
        "titre-negative",
        "specialist",
        url("patients:classification", pk=pk("patient")),
        classification(ana_titre="-1"),
        "ana_titre",
    ),
    Bad(
        "titre-float",
        "specialist",
        url("patients:classification", pk=pk("patient")),
        classification(ana_titre="1e3"),
        "ana_titre",
    ),
    Bad(
        "criteria-unknown",
        "specialist",
        url("patients:classification", pk=pk("patient")),
        classification(criteria="nope"),
        "criteria",
    ),
    Bad(
        "delete-reason-long",
        "specialist",
        lambda w: reverse(
            "patients:record_delete",
            kwargs={"pk": w.patient.pk, "kind": "conditions", "rid": w.records["conditions"].pk},
        ),
        lambda w: {"version": w.records["conditions"].version, "reason": LONG},
        "reason",
    ),
]

RECORD_FORMS = [
    add_record("assessments", date="0001-01-01"),
    add_record("assessments", date="9999-12-31"),
    add_record("assessments", date="1899-06-01"),
    add_record("assessments", date="1970-01-01"),  # before the patient's birth
    add_record("assessments", date=ahead(1)),
    add_record("assessments", pga="NaN"),
    add_record("assessments", pga="1e400"),
    add_record("assessments", pga="3.5"),
    add_record("assessments", window_days="7"),
    add_record("assessments", sledai_seizure="maybe"),
    add_record("assessments", bilag_renal="Z"),
    add_record("assessments", reason=LONG),
    add_record("damage", date="0001-01-01"),
    add_record("damage", sdi_cataract="3"),
    add_record("manifestations", code="x" * 100),
    add_record("manifestations", date="1970-01-01"),
    add_record("manifestations", biopsy_class="VII"),
    add_record("observations", value="1e40"),
    add_record("observations", value="-1"),
    add_record("observations", value="NaN"),
    add_record("observations", value="250"),  # eGFR beyond its plausible range
    add_record("observations", code="cholesterol"),
    add_record("observations", unit="furlongs"),
    add_record("observations", uln="0"),
    add_record("observations", uln="1e9"),
    add_record("observations", date="1970-01-01"),
    add_record("observations", date="9999-12-31"),
    add_record("treatments", drug="x" * 100),
    add_record("treatments", start="0001-01-01"),
    add_record("treatments", start="1970-01-01"),
    add_record("treatments", end=day(200)),  # before the start
    add_record("treatments", end=ahead(30)),
    add_record("treatments", dose="1e40"),
    add_record("treatments", dose="100001"),
    add_record("treatments", dose_unit="x" * 50),
    add_record("treatments", stop_reason="remission"),  # with no end
    add_record("conditions", status="maybe"),
    add_record("conditions", code="x" * 40),
    add_record("conditions", date=ahead(365 * 10)),
    edit_record("assessments", date="0001-01-01"),
    edit_record("observations", value="1e40"),
    edit_record("treatments", start="9999-12-31"),
    edit_record("conditions", date="1970-01-01"),
]


# --- Referral actions (a staff member; the referral is in review) ----------------------------------


def transition(target: str, **fields: Any) -> Callable[[World], dict[str, Any]]:
    def data(w: World) -> dict[str, Any]:
        version = w.referral.version
        return {"to_state": target, f"{target}-version": version, **{f"{target}-{k}": v for k, v in fields.items()}}

    return data


REFERRAL = url("referrals:transition", pk=pk("referral"))
REFERRAL_FORMS = [
    Bad(
        "sent-before-opened",
        "staff",
        REFERRAL,
        transition("referred", centre="North", referred_on=day(10)),
        "referred_on",
    ),
    Bad(
        "sent-year-1",
        "staff",
        REFERRAL,
        transition("referred", centre="North", referred_on="0001-01-01"),
        "referred_on",
    ),
    Bad(
        "sent-year-9999",
        "staff",
        REFERRAL,
        transition("referred", centre="North", referred_on="9999-12-31"),
        "referred_on",
    ),
    Bad(
        "sent-tomorrow", "staff", REFERRAL, transition("referred", centre="North", referred_on=ahead(1)), "referred_on"
    ),
    Bad("centre-long", "staff", REFERRAL, transition("referred", centre="C" * 201, referred_on=day(0)), "centre"),
    Bad("review-year-9999", "staff", REFERRAL, transition("deferred", review_on="9999-12-31", reason="x"), "review_on"),
    Bad(
        "review-in-six-years",
        "staff",
        REFERRAL,
        transition("deferred", review_on=ahead(6 * 366), reason="x"),
        "review_on",
    ),
    Bad("review-past", "staff", REFERRAL, transition("deferred", review_on="2000-01-01", reason="x"), "review_on"),
    Bad("review-garbage", "staff", REFERRAL, transition("deferred", review_on="soon", reason="x"), "review_on"),
    Bad("data-needed-long", "staff", REFERRAL, transition("needs_data", data_needed=LONG), "data_needed"),
    Bad(
        "reason-long", "staff", REFERRAL, transition("not_referred", not_referred_reason="other", reason=LONG), "reason"
    ),
    Bad(
        "not-referred-reason-bogus",
        "staff",
        REFERRAL,
        transition("not_referred", not_referred_reason="bogus", reason="x"),
        "not_referred_reason",
    ),
    Bad(
        "to-state-bogus",
        "staff",
        REFERRAL,
        lambda w: {"to_state": "x" * 500, "x-version": 1},
        says="Choose a valid next state",
    ),
    Bad("to-state-nul", "staff", REFERRAL, lambda w: {"to_state": NUL}, statuses=(400,)),
    Bad(
        "assignee-garbage",
        "staff",
        url("referrals:assign", pk=pk("referral")),
        lambda w: {"version": w.referral.version, "assignee": "abc"},
        "assignee",
    ),
    Bad(
        "assignee-huge",
        "staff",
        url("referrals:assign", pk=pk("referral")),
        lambda w: {"version": w.referral.version, "assignee": str(10**30)},
        "assignee",
    ),
    Bad(
        "assignee-other-site",
        "staff",
        url("referrals:assign", pk=pk("referral")),
        lambda w: {"version": w.referral.version, "assignee": w.users["specialist_other_site"].pk},
        "assignee",
    ),
    Bad("note-long", "staff", url("referrals:note", pk=pk("referral")), lambda w: {"text": LONG}, "text"),
    Bad("note-empty", "staff", url("referrals:note", pk=pk("referral")), lambda w: {"text": "   "}, "text"),
    Bad("note-nul", "specialist", url("referrals:note", pk=pk("referral")), lambda w: {"text": NUL}, statuses=(400,)),
]


# --- Rules administration forms (a rules admin) -----------------------------------------------------


def draft_node(node_id: str) -> Callable[[World], str]:
    return lambda w: reverse("screening:node_edit", kwargs={"pk": w.draft.pk, "node_id": node_id})


def params_of(node_id: str, **changes: Any) -> Callable[[World], dict[str, Any]]:
    def data(w: World) -> dict[str, Any]:
        node = node_of(w.draft.content, node_id)
        values: dict[str, Any] = {}
        for key, value in node["params"].items():
            if isinstance(value, bool):
                if value:
                    values[key] = "on"
            elif value is not None:
                values[key] = value
        return {**values, "source": node.get("source", ""), "reason": "corpus", **changes}

    return data


def add_node(**changes: Any) -> Callable[[World], dict[str, Any]]:
    def data(w: World) -> dict[str, Any]:
        return {"node_id": "hsct.new", "min_score": "6", "max_age_days": "30", "source": "S1", "reason": "x", **changes}

    return data


def NODE_ADD(w: World) -> str:  # noqa: N802 (a URL, named like the others)
    return reverse("screening:node_add", kwargs={"pk": w.draft.pk, "node_id": "hsct"}) + "?type=sledai_at_least"


RULES_FORMS = [
    Bad(
        "version-newline",
        "rules_admin",
        url("screening:draft_create", pk=pk("published")),
        lambda w: {"version": "2026.9\nx", "reason": "x"},
        "version",
    ),
    Bad(
        "version-41",
        "rules_admin",
        url("screening:draft_create", pk=pk("published")),
        lambda w: {"version": "v" * 41, "reason": "x"},
        "version",
    ),
    Bad(
        "version-path",
        "rules_admin",
        url("screening:draft_create", pk=pk("published")),
        lambda w: {"version": "../x", "reason": "x"},
        "version",
    ),
    Bad(
        "version-space",
        "rules_admin",
        url("screening:draft_create", pk=pk("published")),
        lambda w: {"version": "2026 .9", "reason": "x"},
        "version",
    ),
    Bad(
        "draft-name-long",
        "rules_admin",
        url("screening:draft_create", pk=pk("published")),
        lambda w: {"version": "2026.9", "name": "N" * 201, "reason": "x"},
        "name",
    ),
    Bad(
        "draft-name-tab",
        "rules_admin",
        url("screening:draft_create", pk=pk("published")),
        lambda w: {"version": "2026.9", "name": "a\tb", "reason": "x"},
    ),
    Bad(
        "draft-reason-long",
        "rules_admin",
        url("screening:draft_create", pk=pk("published")),
        lambda w: {"version": "2026.9", "reason": LONG},
        "reason",
    ),
    Bad(
        "draft-reason-nul",
        "rules_admin",
        url("screening:draft_create", pk=pk("published")),
        lambda w: {"version": "2026.9", "reason": NUL},
        statuses=(400,),
    ),
    Bad(
        "rollback-version-newline",
        "rules_admin",
        url("screening:rollback", pk=pk("retired")),
        lambda w: {"version": "a\nb", "reason": "x"},
        "version",
    ),
    Bad("age-10e40", "rules_admin", draft_node("hsct.age"), params_of("hsct.age", max_years=str(10**40)), "max_years"),
    Bad("age-float", "rules_admin", draft_node("hsct.age"), params_of("hsct.age", min_years="1e3"), "min_years"),
    Bad(
        "window-10e40-days",
        "rules_admin",
        draft_node("hsct.severe_activity.sledai"),
        params_of("hsct.severe_activity.sledai", max_age_days=str(10**40)),
        "max_age_days",
    ),
    Bad(
        "window-36501-days",
        "rules_admin",
        draft_node("hsct.severe_activity.sledai"),
        params_of("hsct.severe_activity.sledai", max_age_days="36501"),
        "max_age_days",
    ),
    Bad(
        "steroid-days-10e40",
        "rules_admin",
        draft_node("hsct.refractory.steroid_dependent.glucocorticoids"),
        params_of("hsct.refractory.steroid_dependent.glucocorticoids", min_days=str(10**40)),
        "min_days",
    ),
    Bad(
        "steroid-dose-nan",
        "rules_admin",
        draft_node("hsct.refractory.steroid_dependent.glucocorticoids"),
        params_of("hsct.refractory.steroid_dependent.glucocorticoids", above_mg_per_day="NaN"),
        "above_mg_per_day",
    ),
    Bad(
        "threshold-1e40",
        "rules_admin",
        draft_node("cardiac_function"),
        params_of("cardiac_function", value="1e40"),
        "value",
    ),
    Bad(
        "threshold-decimals",
        "rules_admin",
        draft_node("cardiac_function"),
        params_of("cardiac_function", value="35.123456"),
        "value",
    ),
    Bad(
        "damage-score-48",
        "rules_admin",
        draft_node("organ_damage"),
        params_of("organ_damage", min_score="48"),
        "min_score",
    ),
    Bad(
        "codes-unknown",
        "rules_admin",
        draft_node("pregnancy.pregnant"),
        params_of("pregnancy.pregnant", codes="nope"),
        "codes",
    ),
    Bad("source-long", "rules_admin", draft_node("hsct.age"), params_of("hsct.age", source="S" * 201), "source"),
    Bad(
        "source-newline",
        "rules_admin",
        draft_node("hsct.age"),
        params_of("hsct.age", source="S1\nS2", min_years="19"),
        "source",
    ),
    Bad(
        "param-reason-missing",
        "rules_admin",
        draft_node("hsct.age"),
        params_of("hsct.age", min_years="19", reason=""),
        "reason",
    ),
    Bad("node-id-dotdot", "rules_admin", NODE_ADD, add_node(node_id=".."), "node_id"),
    Bad("node-id-inner-dotdot", "rules_admin", NODE_ADD, add_node(node_id="hsct..x"), "node_id"),
    Bad("node-id-101", "rules_admin", NODE_ADD, add_node(node_id="n" * 101), "node_id"),
    Bad("node-id-slash", "rules_admin", NODE_ADD, add_node(node_id="a/b"), "node_id"),
    Bad("node-id-newline", "rules_admin", NODE_ADD, add_node(node_id="a\nb"), "node_id"),
    Bad("node-id-taken", "rules_admin", NODE_ADD, add_node(node_id="hsct.age"), "node_id"),
    Bad("node-window-10e40", "rules_admin", NODE_ADD, add_node(max_age_days=str(10**40)), "max_age_days"),
    Bad(
        "group-op-bogus",
        "rules_admin",
        lambda w: reverse("screening:group_op", kwargs={"pk": w.draft.pk, "node_id": "hsct.refractory"}),
        lambda w: {"op": "none", "reason": "x"},
        "op",
    ),
    Bad(
        "severity-bogus",
        "rules_admin",
        lambda w: reverse("screening:caution_edit", kwargs={"pk": w.draft.pk, "caution_id": "pregnancy"}),
        lambda w: {"severity_hsct": "fatal", "severity_msc": "caution", "reason": "x"},
        "severity_hsct",
    ),
    Bad(
        "drug-days-10e40",
        "rules_admin",
        lambda w: reverse("screening:drug_edit", kwargs={"pk": w.draft.pk, "drug": "azathioprine"}),
        lambda w: {"min_days": str(10**40), "min_dose_per_kg": "2", "reason": "x"},
        "min_days",
    ),
    Bad(
        "drug-dose-1e12",
        "rules_admin",
        lambda w: reverse("screening:drug_edit", kwargs={"pk": w.draft.pk, "drug": "azathioprine"}),
        lambda w: {"min_days": "90", "min_dose": "1e12", "reason": "x"},
        "min_dose",
    ),
    Bad(
        "drug-per-kg-nan",
        "rules_admin",
        lambda w: reverse("screening:drug_edit", kwargs={"pk": w.draft.pk, "drug": "azathioprine"}),
        lambda w: {"min_days": "90", "min_dose_per_kg": "NaN", "reason": "x"},
        "min_dose_per_kg",
    ),
    Bad("sign-off-note-long", "admin_2", url("screening:sign_off", pk=pk("draft")), lambda w: {"note": LONG}, "note"),
    Bad(
        "publish-note-long",
        "admin_2",
        url("screening:publish", pk=pk("draft")),
        lambda w: {"change_note": LONG},
        "change_note",
    ),
    Bad(
        "publish-note-empty",
        "admin_2",
        url("screening:publish", pk=pk("draft")),
        lambda w: {"change_note": "  "},
        "change_note",
    ),
    Bad(
        "expected-bogus",
        "rules_admin",
        url("screening:testcase_expect", pk=pk("test_case")),
        lambda w: {"expected_hsct": "maybe", "expected_msc": "flagged", "reason": "x"},
        "expected_hsct",
    ),
    Bad(
        "expected-reason-long",
        "rules_admin",
        url("screening:testcase_expect", pk=pk("test_case")),
        lambda w: {"expected_hsct": "flagged", "expected_msc": "flagged", "reason": LONG},
        "reason",
    ),
]


# --- Case files (a specialist imports them) ---------------------------------------------------------


def case_with(change: Callable[[dict[str, Any]], Any]) -> bytes:
    case = base_case()
    change(case)
    return json.dumps(case).encode()


def set_path(*path: Any, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(case: dict[str, Any]) -> None:
        target = case
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return change


def import_case(name: str, *contents: bytes | str, says: str | None = None) -> Bad:
    return Bad(
        f"case-{name}",
        "specialist",
        url("patients:import"),
        lambda w: {"site": w.site.pk, "files": [upload(f"{name}-{i}.json", c) for i, c in enumerate(contents)]},
        field="files",
        says=says,
    )


GOOD_CASE = json.dumps(base_case())


def big_case(case_id: str) -> dict[str, Any]:
    """A case file within every per-file limit holding 8000 entries (2000 in each of four lists)."""
    n = limits.CASE_MAX_ENTRIES
    return {
        **base_case(),
        "case_id": case_id,
        "assessments": [{"date": day(i + 1), "sledai2k": {}} for i in range(n)],
        "damage": [{"date": day(i + 1), "items": {}} for i in range(n)],
        "observations": [{"code": "alt", "date": day(i + 1), "value": 30} for i in range(n)],
        "conditions": [{"code": "hiv", "status": "absent", "date": day(i + 1)} for i in range(n)],
    }


CASE_FILES = [
    import_case("nested-10000", '{"format": ' + deep(10_000) + "}", says="nested more than 64 levels"),
    import_case("nested-65", deep(65), says="nested more than 64 levels"),
    import_case("list", "[]", says="must be a JSON object holding one case, not a list"),
    import_case("null", "null", says="not null"),
    import_case("number", "12", says="not 12"),
    import_case("too-large", padded(GOOD_CASE, limits.CASE_FILE_BYTES + 1), says="too large"),
    import_case("not-utf8", b"\xff\xfe{}", says="not UTF-8"),
    import_case("not-json", "{format:", says="not valid JSON"),
    import_case("empty", "", says="empty"),
    import_case("nan", GOOD_CASE.replace('"weight_kg": 60', '"weight_kg": NaN'), says="NaN"),
    import_case("infinity", GOOD_CASE.replace('"weight_kg": 60', '"weight_kg": 1e999'), says="patient.weight_kg"),
    import_case(
        "huge-integer", GOOD_CASE.replace('"weight_kg": 60', '"weight_kg": ' + "9" * 5000), says="too many digits"
    ),
    import_case(
        "duplicate-key", GOOD_CASE.replace('"case_id": "BAD-1"', '"case_id": "BAD-1", "case_id": "BAD-2"'), says="twice"
    ),
    import_case("nul-in-text", case_with(set_path("case_id", value="BAD\x00")), says="case_id"),
    import_case("case-id-65", case_with(set_path("case_id", value="C" * 65)), says="case_id"),
    import_case("case-id-path", case_with(set_path("case_id", value="../../x")), says="case_id"),
    import_case("as-of-year-1", case_with(set_path("as_of", value="0001-01-01")), says="as_of"),
    import_case("as-of-year-9999", case_with(set_path("as_of", value="9999-12-31")), says="as_of"),
    import_case(
        "birth-year-1", case_with(set_path("patient", "birth_date", value="0001-01-01")), says="patient.birth_date"
    ),
    import_case(
        "birth-tomorrow", case_with(set_path("patient", "birth_date", value=ahead(1))), says="patient.birth_date"
    ),
    import_case(
        "record-year-1", case_with(set_path("assessments", 0, "date", value="0001-01-01")), says="assessments[0].date"
    ),
    import_case(
        "record-year-9999",
        case_with(set_path("assessments", 0, "date", value="9999-12-31")),
        says="assessments[0].date",
    ),
    import_case(
        "record-before-birth",
        case_with(set_path("observations", 0, "date", value="1975-01-01")),
        says="observations[0].date",
    ),
    import_case(
        "record-tomorrow", case_with(set_path("conditions", 0, "date", value=ahead(1))), says="conditions[0].date"
    ),
    import_case(
        "record-in-ten-years", case_with(set_path("damage", 0, "date", value=ahead(3650))), says="damage[0].date"
    ),
    import_case(
        "course-ends-next-year", case_with(set_path("treatments", 0, "end", value=ahead(365))), says="treatments[0].end"
    ),
    import_case(
        "course-before-birth",
        case_with(set_path("treatments", 0, "start", value="1979-01-01")),
        says="treatments[0].start",
    ),
    import_case(
        "lab-out-of-range", case_with(set_path("observations", 0, "value", value=123456)), says="plausible range"
    ),
    import_case("uln-zero", case_with(set_path("observations", 0, "uln", value=0)), says="observations[0].uln"),
    import_case("uln-huge", case_with(set_path("observations", 0, "uln", value=10**9)), says="observations[0].uln"),
    import_case(
        "titre-huge", case_with(set_path("classification", "ana_titre", value=10**12)), says="classification.ana_titre"
    ),
    import_case("dose-huge", case_with(set_path("treatments", 0, "dose", value=10**9)), says="treatments[0].dose"),
    import_case("weight-1000", case_with(set_path("patient", "weight_kg", value=1000)), says="patient.weight_kg"),
    import_case("pga-9", case_with(set_path("assessments", 0, "pga", value=9)), says="assessments[0].pga"),
    import_case(
        "drug-unknown", case_with(set_path("treatments", 0, "drug", value="x" * 100)), says="treatments[0].drug"
    ),
    import_case(
        "entries-2001",
        case_with(
            set_path(
                "observations",
                value=[
                    {"code": "alt", "date": day(i % 3000 + 1), "value": 30} for i in range(limits.CASE_MAX_ENTRIES + 1)
                ],
            )
        ),
        says="at most 2000",
    ),
    import_case(
        "16000-entries-in-one-import",
        *[json.dumps(big_case(f"BIG-{i}")) for i in range(2)],
        says="more than 15000 entries together",
    ),
    import_case(
        "good-then-bad",
        GOOD_CASE,
        case_with(set_path("assessments", 0, "date", value="0001-01-01")),
        says="assessments[0].date",
    ),
    import_case(
        "51-files",
        *[json.dumps({**base_case(), "case_id": f"F-{i}"}) for i in range(limits.CASE_FILES_PER_UPLOAD + 1)],
        says="at most 50",
    ),
]


# --- Rule-set files (a rules admin imports them) ------------------------------------------------------


def rules_with(change: Callable[[dict[str, Any]], Any]) -> str:
    content = base_rules()
    change(content)
    return json.dumps(content)


def set_param(node_id: str, **params: Any) -> Callable[[dict[str, Any]], None]:
    return lambda c: node_of(c, node_id)["params"].update(params)


def set_key(*path: Any, value: Any) -> Callable[[dict[str, Any]], None]:
    return set_path(*path, value=value)


def many_nodes(c: dict[str, Any]) -> None:
    group = node_of(c, "hsct.severe_activity")
    template = node_of(c, "hsct.severe_activity.sledai")
    group["any"] += [{**copy.deepcopy(template), "id": f"hsct.extra{i}"} for i in range(limits.RULES_MAX_NODES)]


def import_rules(name: str, text: str | bytes, says: str) -> Bad:
    return Bad(
        f"rules-{name}",
        "rules_admin",
        url("screening:ruleset_import"),
        lambda w: {"file": upload(f"{name}.json", text), "note": "corpus"},
        field="file",
        says=says,
    )


GOOD_RULES = json.dumps(base_rules())
LONG_PATHWAY = "h" * 36
RULE_FILES = [
    import_rules("nested-10000", '{"pathways": ' + deep(10_000) + "}", "nested more than 64 levels"),
    import_rules("list", "[]", "must be a JSON object"),
    import_rules("null", "null", "must be a JSON object"),
    import_rules("string", '"rules"', "must be a JSON object"),
    import_rules("too-large", padded(GOOD_RULES, limits.RULES_FILE_BYTES + 1), "too large"),
    import_rules("not-utf8", b"\xff\xfe{}", "not UTF-8"),
    import_rules("not-json", "{", "not valid JSON"),
    import_rules(
        "duplicate-key", GOOD_RULES.replace('"version": "bad-base.1"', '"version": "a", "version": "b"'), "twice"
    ),
    import_rules("nan", GOOD_RULES.replace('"min_years": 18', '"min_years": NaN', 1), "NaN"),
    import_rules(
        "window-10e40", rules_with(set_param("hsct.severe_activity.sledai", max_age_days=10**40)), "max_age_days"
    ),
    import_rules("window-36501", rules_with(set_param("msc.activity", max_age_days=36501)), "≤ 36500"),
    import_rules(
        "biopsy-window-10e40",
        rules_with(set_param("hsct.severe_activity.major_organ", biopsy_max_age_days=10**40)),
        "biopsy_max_age_days",
    ),
    import_rules(
        "steroid-days-10e40",
        rules_with(set_param("hsct.refractory.steroid_dependent.glucocorticoids", min_days=10**40)),
        "min_days",
    ),
    import_rules("exposure-days-10e40", rules_with(set_param("msc.immunosuppression", min_days=10**40)), "min_days"),
    import_rules("threshold-1e40", rules_with(set_param("cardiac_function", value=1e40)), "params.value"),
    import_rules("threshold-decimals", rules_with(set_param("cardiac_function", value=35.123456)), "decimal places"),
    import_rules("titre-10e12", rules_with(set_param("hsct.diagnosis", ana_min_titre=10**12)), "ana_min_titre"),
    import_rules(
        "score-52", rules_with(set_param("hsct.diagnosis", classification_min_score=52)), "classification_min_score"
    ),
    import_rules("agents-10e6", rules_with(set_param("hsct.refractory.failed_agents", min_count=10**6)), "min_count"),
    import_rules("damage-48", rules_with(set_param("organ_damage", min_score=48)), "min_score"),
    import_rules("pathway-id-36", rules_with(lambda c: rename_pathway(c, "hsct", LONG_PATHWAY)), f"{LONG_PATHWAY}: id"),
    import_rules("node-id-dotdot", rules_with(lambda c: node_of(c, "hsct.age").update(id="..")), "..: id"),
    import_rules(
        "node-id-trailing-dot", rules_with(lambda c: node_of(c, "hsct.age").update(id="hsct.age.")), "hsct.age.: id"
    ),
    import_rules(
        "node-id-101", rules_with(lambda c: node_of(c, "hsct.age").update(id="n" * 101)), "at most 100 characters"
    ),
    import_rules("version-newline", rules_with(set_key("version", value="2026.9\nx")), "version"),
    import_rules("version-41", rules_with(set_key("version", value="v" * 41)), "version"),
    import_rules("version-path", rules_with(set_key("version", value="../x")), "version"),
    import_rules("name-201", rules_with(set_key("name", value="N" * 201)), "name"),
    import_rules("name-nul", rules_with(set_key("name", value="N\x00")), "name"),
    import_rules("label-newline", rules_with(set_key("pathways", 0, "label", value="a\nb")), "label"),
    import_rules("label-201", rules_with(set_key("pathways", 0, "label", value="L" * 201)), "label"),
    import_rules("source-201", rules_with(lambda c: node_of(c, "hsct.age").update(source="S" * 201)), "source"),
    import_rules("caution-source-tab", rules_with(set_key("cautions", 0, "source", value="S1\tS2")), "source"),
    import_rules("dose-unit-17", rules_with(set_key("drugs", 0, "dose_unit", value="mg/day/m2/kg/dose")), "dose_unit"),
    import_rules("drug-code-65", rules_with(lambda c: c["drugs"].append({**c["drugs"][4], "drug": "d" * 65})), "drug"),
    import_rules("drug-days-10e40", rules_with(set_key("drugs", 0, "min_days", value=10**40)), "min_days"),
    import_rules("drug-dose-1e300", rules_with(set_key("drugs", 4, "min_dose", value=1e300)), "min_dose"),
    import_rules(
        "prednisone-factor-1e6", rules_with(set_key("drugs", 1, "prednisone_factor", value=1e6)), "prednisone_factor"
    ),
    import_rules("nodes-over-limit", rules_with(many_nodes), "at most 1000"),
]


# --- Test-case files (a rules admin adds them) --------------------------------------------------------


def rule_case_file(name: str, text: str | bytes, says: str) -> Bad:
    return Bad(
        f"test-case-{name}",
        "rules_admin",
        url("screening:testcase_add"),
        lambda w: {
            "file": upload(f"{name}.json", text),
            "expected_hsct": "flagged",
            "expected_msc": "flagged",
            "reason": "corpus",
        },
        field="file",
        says=says,
    )


def good_rule_case() -> dict[str, Any]:
    return {**base_case(), "case_id": "corpus-case", "as_of": day(0)}


def rule_case_with(change: Callable[[dict[str, Any]], Any]) -> str:
    case = good_rule_case()
    change(case)
    return json.dumps(case)


TEST_CASE_FILES = [
    rule_case_file("list", "[]", "not a list"),
    rule_case_file("null", "null", "not null"),
    rule_case_file("string", '"case"', "not a single value"),
    rule_case_file("nested-10000", deep(10_000), "nested more than 64 levels"),
    rule_case_file("too-large", padded(json.dumps(good_rule_case()), limits.CASE_FILE_BYTES + 1), "too large"),
    rule_case_file("not-json", "{", "not a JSON file"),
    rule_case_file("not-utf8", b"\xff", "not UTF-8"),
    rule_case_file("no-as-of", rule_case_with(lambda c: c.pop("as_of")), "as_of"),
    rule_case_file("as-of-year-1", rule_case_with(set_path("as_of", value="0001-01-01")), "as_of"),
    rule_case_file("as-of-year-9999", rule_case_with(set_path("as_of", value="9999-12-31")), "as_of"),
    rule_case_file(
        "record-year-1", rule_case_with(set_path("assessments", 0, "date", value="0001-01-01")), "assessments[0].date"
    ),
    rule_case_file(
        "entries-2001",
        rule_case_with(
            set_path("conditions", value=[{"code": "hiv", "status": "absent", "date": day(i)} for i in range(2001)])
        ),
        "at most 2000",
    ),
    rule_case_file("existing-name", rule_case_with(set_path("case_id", value="older-patient")), "already exists"),
]


# --- Parameters (every GET parameter a view reads; any role) --------------------------------------------


def get(name: str, query: dict[str, Any] | str = "", **kwargs: Any) -> Callable[[World], str]:
    base = url(name, **kwargs)
    encoded = query if isinstance(query, str) else urlencode(query)
    return lambda w: base(w) + (f"?{encoded}" if encoded else "")


PARAMS: list[tuple[str, Callable[[World], str]]] = [
    ("list-q-nul", get("patients:list", {"q": NUL})),
    ("list-q-long", get("patients:list", {"q": LONG})),
    ("list-site-nul", get("patients:list", {"site": NUL})),
    ("list-page-negative", get("patients:list", {"page": "-1"})),
    ("list-page-huge", get("patients:list", {"page": "9" * 40})),
    ("list-page-garbage", get("patients:list", {"page": "abc"})),
    ("list-per-page-huge", get("patients:list", {"per_page": "9" * 5000})),
    ("list-per-page-float", get("patients:list", {"per_page": "1e9"})),
    ("list-repeated", get("patients:list", "q=a&q=b&per_page=25&per_page=x")),
    ("queue-pathway-nul", get("referrals:queue", {"pathway": NUL})),
    ("queue-pathway-long", get("referrals:queue", {"pathway": LONG})),
    ("queue-state-nul", get("referrals:queue", {"state": NUL})),
    ("queue-state-bogus", get("referrals:queue", {"state": "bogus"})),
    ("queue-site-control", get("referrals:queue", {"site": "a\x01b"})),
    ("queue-age-bogus", get("referrals:queue", {"age": "-1"})),
    ("queue-sort-bogus", get("referrals:queue", {"sort": "id; drop table"})),
    ("queue-per-page-huge", get("referrals:queue", {"per_page": "9" * 5000})),
    ("queue-after-garbage", get("referrals:queue", {"after": "garbage"})),
    ("queue-after-naive", get("referrals:queue", {"after": "2026-01-01T00:00:00~1"})),
    ("queue-after-year-1", get("referrals:queue", {"after": "0001-01-01T00:00:00+00:00~1"})),
    ("queue-after-huge-id", get("referrals:queue", {"after": "2026-01-01T00:00:00+00:00~" + "9" * 30})),
    ("queue-after-nul", get("referrals:queue", {"after": "2026-01-01T00:00:00+00:00~1\x00"})),
    ("queue-before-garbage", get("referrals:queue", {"before": "~~~"})),
    ("export-pathway-nul", get("referrals:export", {"pathway": NUL})),
    ("export-site-nul", get("referrals:export", {"site": NUL})),
    ("export-state-bogus", get("referrals:export", {"state": "x" * 100, "sort": "x"})),
    ("rules-version-nul", get("screening:rules", {"version": NUL})),
    ("rules-version-long", get("screening:rules", {"version": LONG})),
    ("rules-version-path", get("screening:rules", {"version": "../../etc/passwd"})),
    ("compare-nul", get("screening:compare", {"a": NUL, "b": "2026.1"})),
    ("compare-bogus", get("screening:compare", {"a": "nope", "b": LONG})),
    (
        "node-add-type-bogus",
        lambda w: reverse("screening:node_add", kwargs={"pk": w.draft.pk, "node_id": "hsct"}) + "?type=nope",
    ),
    (
        "node-add-type-nul",
        lambda w: reverse("screening:node_add", kwargs={"pk": w.draft.pk, "node_id": "hsct"}) + "?type=%00",
    ),
    ("node-id-dotdot", lambda w: f"/rules/manage/{w.draft.pk}/nodes/../"),
    ("node-id-long", lambda w: reverse("screening:node_edit", kwargs={"pk": w.draft.pk, "node_id": "n" * 5000})),
    ("node-id-nul", lambda w: f"/rules/manage/{w.draft.pk}/nodes/a%00b/"),
    ("expect-draft-superscript", get("screening:testcase_expect", {"draft": "²"}, pk=pk("test_case"))),
    ("expect-draft-huge", get("screening:testcase_expect", {"draft": "9" * 40}, pk=pk("test_case"))),
    ("expect-draft-negative", get("screening:testcase_expect", {"draft": "-1"}, pk=pk("test_case"))),
    ("expect-draft-nul", get("screening:testcase_expect", {"draft": NUL}, pk=pk("test_case"))),
    ("patient-pk-huge", get("patients:detail", pk=10**30)),
    ("patient-kind-bogus", lambda w: f"/patients/{w.patient.pk}/bogus/add/"),
    ("record-rid-huge", get("patients:record_edit", pk=pk("patient"), kind="assessments", rid=10**30)),
    ("referral-pk-huge", get("referrals:detail", pk=10**30)),
    ("print-pk-huge", get("referrals:print", pk=10**30)),
    ("ruleset-pk-huge", get("screening:ruleset_detail", pk=10**30)),
    ("job-pk-huge", get("screening:job_detail", pk=10**30)),
    ("test-case-pk-huge", get("screening:testcase_detail", pk=10**30)),
    ("drug-bogus", lambda w: reverse("screening:drug_edit", kwargs={"pk": w.draft.pk, "drug": "x" * 500})),
    ("caution-bogus", lambda w: reverse("screening:caution_edit", kwargs={"pk": w.draft.pk, "caution_id": ".."})),
]


# --- The tests --------------------------------------------------------------------------------------------

FORMS = PATIENT_FORMS + RECORD_FORMS + REFERRAL_FORMS + RULES_FORMS
FILES = CASE_FILES + RULE_FILES + TEST_CASE_FILES


@pytest.mark.parametrize("bad", FORMS, ids=[b.name for b in FORMS])
def test_a_bad_form_entry_is_refused_naming_the_field_and_writes_nothing(world: World, bad: Bad) -> None:
    attempt(world, bad)


@pytest.mark.parametrize("bad", FILES, ids=[b.name for b in FILES])
def test_a_bad_file_is_refused_naming_the_field_and_writes_nothing(world: World, bad: Bad) -> None:
    attempt(world, bad)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name,address", PARAMS, ids=[name for name, _ in PARAMS])
def test_a_bad_parameter_never_fails_nor_writes(world: World, name: str, address: Any, role: str) -> None:
    attempt(world, Bad(name, role, address))


@pytest.mark.parametrize(
    "name,address",
    [row for row in PARAMS if "nul" in row[0]],
    ids=[name for name, _ in PARAMS if "nul" in name],
)
def test_a_nul_in_a_parameter_is_a_400(world: World, name: str, address: Any) -> None:
    for role in ("specialist", "staff", "rules_admin"):
        attempt(world, Bad(name, role, address, statuses=(400, 404) if "node-id" in name else (400,)))


def test_the_csv_export_with_a_nul_is_refused_not_truncated(world: World) -> None:
    from referrals.exports import write
    from referrals.models import QueueExport

    w = world
    assert w.referral  # one row to export
    client = w.client("staff")
    assert client.post(reverse("referrals:export")).status_code == 302
    job = QueueExport.objects.order_by("-pk").first()
    write(job.pk)
    full = client.get(reverse("referrals:export_download", kwargs={"pk": job.pk}))
    assert full.status_code == 200 and b"P-001" in b"".join(full.streaming_content)
    refused = client.post(reverse("referrals:export"), {"pathway": "hsct\x00"})
    assert refused.status_code == 400 and QueueExport.objects.count() == 1


def test_the_corpus_is_big_enough_and_counted() -> None:
    """The figures of the closing report: bad inputs per kind (parameters once per role)."""
    counts = {
        "forms": len(FORMS),
        "case files": len(CASE_FILES),
        "rule-set files": len(RULE_FILES),
        "test-case files": len(TEST_CASE_FILES),
        "parameters": len(PARAMS) * len(ROLES),
    }
    assert counts["forms"] >= 100 and counts["case files"] >= 30 and counts["rule-set files"] >= 30
    assert counts["parameters"] >= 200
    assert len({b.name for b in FORMS + FILES}) == len(FORMS + FILES)


# --- The bases are good: each refusal comes from the one thing the row changes ----------------------------


def test_the_base_case_file_imports(world: World) -> None:
    from patients.models import Patient

    response = world.client("specialist").post(
        reverse("patients:import"), {"site": world.site.pk, "files": [upload("good.json", GOOD_CASE)]}
    )
    assert response.status_code == 302, response.context["form"].errors
    assert Patient.objects.filter(identifier="BAD-1").exists()


def test_a_case_file_with_no_lists_imports(world: World) -> None:
    """Every list of a case file may be left out (manifestations and observations once raised a KeyError)."""
    bare = {"format": "sle-screening-case/1", "case_id": "BARE-1", "patient": {"birth_date": "1980-03-01"}}
    response = world.client("specialist").post(
        reverse("patients:import"), {"site": world.site.pk, "files": [upload("bare.json", json.dumps(bare))]}
    )
    assert response.status_code == 302


def test_the_base_rule_file_imports(world: World) -> None:
    from screening.models import RuleSet

    response = world.client("rules_admin").post(
        reverse("screening:ruleset_import"), {"file": upload("good.json", GOOD_RULES), "note": "good"}
    )
    assert response.status_code == 302 and RuleSet.objects.filter(version="bad-base.1").exists()


def test_the_base_test_case_is_added(world: World) -> None:
    from screening.models import RuleCase

    response = world.client("rules_admin").post(
        reverse("screening:testcase_add"),
        {
            "file": upload("good.json", json.dumps(good_rule_case())),
            "expected_hsct": "flagged",
            "expected_msc": "flagged",
            "reason": "good",
        },
    )
    assert response.status_code == 302 and RuleCase.objects.filter(name="corpus-case").exists()


@pytest.mark.parametrize(
    "kind,changes",
    [
        ("assessments", {}),
        ("damage", {}),
        ("manifestations", {}),
        ("observations", {}),
        ("treatments", {}),
        ("conditions", {}),
    ],
)
def test_the_base_record_forms_save(world: World, kind: str, changes: dict[str, Any]) -> None:
    before = snapshot()
    response = world.client("specialist").post(
        reverse("patients:record_add", kwargs={"pk": world.patient.pk, "kind": kind}), RECORD_BASE[kind]()
    )
    assert response.status_code == 302, response.context["form"].errors
    assert snapshot() != before


def test_the_base_patient_and_rules_forms_save(world: World) -> None:
    w = world
    assert w.client("specialist").post(reverse("patients:create"), new_patient()(w)).status_code == 302
    assert (
        w.client("specialist")
        .post(reverse("patients:edit", kwargs={"pk": w.patient.pk}), patient_edit()(w))
        .status_code
        == 302
    )
    w.patient.refresh_from_db()
    assert (
        w.client("specialist")
        .post(reverse("patients:classification", kwargs={"pk": w.patient.pk}), classification()(w))
        .status_code
        == 302
    )
    response = w.client("rules_admin").post(draft_node("hsct.age")(w), params_of("hsct.age", min_years="19")(w))
    assert response.status_code == 302
    response = w.client("rules_admin").post(NODE_ADD(w), add_node()(w))
    assert response.status_code == 302, response.context["form"].errors
    response = w.client("staff").post(REFERRAL(w), transition("referred", centre="North", referred_on=day(0))(w))
    assert response.status_code == 302
