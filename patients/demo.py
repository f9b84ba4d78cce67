"""Synthetic demo patients, generated as case files (no real person's data).

``demo_cases(today)`` gives a dozen varied histories that exercise every part
of the screening rules; ``synthetic_cases(today, n, seed)`` gives any number of
random ones for benchmarks and large-cohort tests. Dates are relative to
``today`` so the demo stays current.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from clinical import vocab

FULL_WORKUP = ("pregnancy", "hiv", "hbv", "hcv", "tuberculosis", "active_infection", "malignancy")


def _d(today: date, days_ago: int) -> str:
    return (today - timedelta(days=days_ago)).isoformat()


def _labs(today: date, rng: random.Random, *, ago: int = 14, **overrides: Any) -> list[dict[str, Any]]:
    values = {
        "egfr": rng.randint(60, 110),
        "upcr": round(rng.uniform(0.1, 0.4), 2),
        "c3": rng.randint(80, 130),
        "c4": rng.randint(12, 30),
        "hemoglobin": round(rng.uniform(11.5, 14.0), 1),
        "wbc": round(rng.uniform(4.0, 8.0), 1),
        "platelets": rng.randint(160, 320),
    }
    values.update({k: v for k, v in overrides.items() if k in values or k in vocab.OBSERVATIONS})
    obs: list[dict[str, Any]] = [{"code": c, "date": _d(today, ago), "value": v} for c, v in values.items()]
    obs += [
        {"code": "alt", "date": _d(today, ago), "value": rng.randint(15, 35), "uln": 35},
        {"code": "ast", "date": _d(today, ago), "value": rng.randint(15, 35), "uln": 35},
        {"code": "bilirubin", "date": _d(today, ago), "value": round(rng.uniform(0.3, 1.0), 1), "uln": 1.2},
        {"code": "lvef", "date": _d(today, 60), "value": overrides.get("lvef", rng.randint(55, 68))},
        {"code": "dlco", "date": _d(today, 60), "value": rng.randint(70, 95)},
        {"code": "fev1", "date": _d(today, 60), "value": rng.randint(75, 100)},
        {"code": "ecog", "date": _d(today, ago), "value": 1},
    ]
    return obs


def _workup(today: date, *, present: tuple[str, ...] = (), skip: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    return [
        {"code": c, "status": "present" if c in present else "absent", "date": _d(today, 20)}
        for c in FULL_WORKUP
        if c not in skip
    ]


def _case(
    case_id: str, today: date, birth_years: int, sex: str = "female", weight: float | None = 64, **parts: Any
) -> dict[str, Any]:
    case: dict[str, Any] = {
        "format": vocab.CASE_FORMAT,
        "case_id": case_id,
        "patient": {
            "birth_date": date(today.year - birth_years, 3, 12).isoformat(),
            "sex": sex,
            "weight_kg": weight,
            "sle_attested": parts.pop("attested", False),
        },
        "classification": parts.pop(
            "classification",
            {
                "ana_titre": 640,
                "criteria": ["joint_involvement", "ln_class_iii_or_iv", "anti_dsdna_or_anti_sm", "low_c3_and_low_c4"],
            },
        ),
    }
    case.update(
        {k: [] for k in ("assessments", "damage", "manifestations", "observations", "treatments", "conditions")}
    )
    case.update(parts)
    return case


def _assess(
    today: date, ago: int, present: list[str], not_assessed: list[str] | None = None, pga: float = 1.5
) -> dict[str, Any]:
    return {
        "date": _d(today, ago),
        "window_days": 10,
        "sledai2k": {"present": present, "not_assessed": not_assessed or []},
        "pga": pga,
    }


def _course(
    drug: str, start: str, end: str | None, dose: float | None, unit: str, reason: str | None = None
) -> dict[str, Any]:
    course: dict[str, Any] = {"drug": drug, "start": start}
    if end:
        course["end"] = end
    course.update({"dose": dose, "dose_unit": unit})
    if reason:
        course["stop_reason"] = reason
    return course


def demo_cases(today: date, seed: int = 2026) -> list[dict[str, Any]]:
    """Twelve varied demo patients covering flagged, not flagged and incomplete records."""
    rng = random.Random(seed)
    t = today
    hcq = _course("hydroxychloroquine", _d(t, 2000), None, 400, "mg/day")
    renal = ["proteinuria", "urinary_casts", "hematuria", "low_complement", "increased_dna_binding"]
    return [
        _case(
            "DEMO-001",
            t,
            31,
            assessments=[
                _assess(t, 180, ["proteinuria", "low_complement"]),
                _assess(t, 12, renal + ["arthritis"], pga=2.2),
            ],
            manifestations=[{"code": "lupus_nephritis", "date": _d(t, 200), "active": True, "biopsy_class": "IV"}],
            observations=_labs(t, rng, egfr=58, upcr=2.6, c3=55, c4=7),
            treatments=[
                hcq,
                _course("prednisone", _d(t, 600), None, 15, "mg/day"),
                _course("mycophenolate_mofetil", _d(t, 600), _d(t, 330), 3000, "mg/day", "inadequate_response"),
                _course("cyclophosphamide_iv", _d(t, 320), _d(t, 230), 500, "mg/pulse", "inadequate_response"),
                _course("belimumab", _d(t, 220), None, 800, "mg/dose"),
            ],
            conditions=_workup(t),
            damage=[{"date": _d(t, 150), "items": {"cataract": 1}}],
        ),
        _case(
            "DEMO-002",
            t,
            40,
            weight=72,
            assessments=[_assess(t, 9, ["arthritis", "rash", "alopecia", "low_complement"], pga=1.8)],
            observations=_labs(t, rng),
            treatments=[
                hcq,
                _course("prednisone", _d(t, 400), None, 12.5, "mg/day"),
                _course("azathioprine", _d(t, 500), _d(t, 300), 150, "mg/day", "inadequate_response"),
                _course("methotrexate", _d(t, 290), None, 20, "mg/week"),
            ],
            conditions=_workup(t),
        ),
        _case(
            "DEMO-003",
            t,
            27,
            assessments=[_assess(t, 20, ["rash"], pga=0.5)],
            observations=_labs(t, rng),
            treatments=[hcq],
            conditions=_workup(t),
        ),
        _case(
            "DEMO-004",
            t,
            63,
            sex="male",
            weight=81,
            assessments=[_assess(t, 5, ["arthritis", "myositis", "low_complement"], pga=2.0)],
            observations=_labs(t, rng),
            treatments=[
                hcq,
                _course("mycophenolate_mofetil", _d(t, 700), None, 2000, "mg/day"),
                _course("rituximab", _d(t, 150), _d(t, 136), 1000, "mg/dose", "inadequate_response"),
            ],
            conditions=_workup(t),
        ),
        _case(
            "DEMO-005",
            t,
            35,
            assessments=[_assess(t, 7, renal + ["vasculitis"], pga=2.5)],
            manifestations=[{"code": "lupus_nephritis", "date": _d(t, 120), "active": True, "biopsy_class": "III+V"}],
            observations=[o for o in _labs(t, rng, upcr=3.1) if o["code"] not in ("lvef", "ecog")],
            treatments=[
                hcq,
                _course("mycophenolate_mofetil", _d(t, 500), _d(t, 250), 3000, "mg/day", "inadequate_response"),
                _course("tacrolimus", _d(t, 240), _d(t, 100), 4, "mg/day", "intolerance"),
            ],
            conditions=[{"code": "pregnancy", "status": "absent", "date": _d(t, 10)}],
        ),
        _case(
            "DEMO-006",
            t,
            33,
            assessments=[_assess(t, 15, ["arthritis", "rash"], ["low_complement", "increased_dna_binding"])],
            observations=_labs(t, rng),
            treatments=[
                hcq,
                _course("mycophenolate_mofetil", _d(t, 400), _d(t, 150), 3000, "mg/day", "inadequate_response"),
                _course("azathioprine", _d(t, 140), None, 150, "mg/day"),
            ],
            conditions=_workup(t),
        ),
        _case(
            "DEMO-007",
            t,
            45,
            assessments=[_assess(t, 120, renal, pga=2.0)],
            observations=_labs(t, rng, ago=100),
            treatments=[hcq, _course("mycophenolate_mofetil", _d(t, 500), None, 2500, "mg/day")],
            conditions=_workup(t),
        ),
        _case(
            "DEMO-008",
            t,
            29,
            classification={"ana_titre": 0, "criteria": ["joint_involvement"]},
            assessments=[_assess(t, 10, ["arthritis"], pga=1.0)],
            observations=_labs(t, rng),
            conditions=_workup(t),
        ),
        _case(
            "DEMO-009",
            t,
            38,
            assessments=[_assess(t, 6, renal + ["pleurisy"], pga=2.4)],
            manifestations=[{"code": "lupus_nephritis", "date": _d(t, 90), "active": True, "biopsy_class": "IV"}],
            observations=_labs(t, rng, lvef=30),
            treatments=[
                hcq,
                _course("mycophenolate_mofetil", _d(t, 600), _d(t, 300), 3000, "mg/day", "inadequate_response"),
                _course("rituximab", _d(t, 280), _d(t, 266), 1000, "mg/dose", "inadequate_response"),
            ],
            conditions=_workup(t, present=("hbv",)),
        ),
        _case(
            "DEMO-010",
            t,
            24,
            assessments=[_assess(t, 4, ["seizure", "lupus_headache", "low_complement"], pga=2.8)],
            manifestations=[{"code": "neuropsychiatric", "date": _d(t, 30), "active": True}],
            observations=_labs(t, rng),
            treatments=[
                hcq,
                _course("cyclophosphamide_iv", _d(t, 300), _d(t, 200), 750, "mg/pulse", "inadequate_response"),
                _course("mycophenolate_mofetil", _d(t, 190), None, 3000, "mg/day"),
            ],
            conditions=_workup(t),
        ),
        _case(
            "DEMO-011",
            t,
            22,
            weight=None,
            classification={"ana_titre": 320},
            assessments=[_assess(t, 3, ["arthritis", "rash", "mucosal_ulcers"], pga=1.2)],
            observations=_labs(t, rng),
            treatments=[_course("hydroxychloroquine", _d(t, 60), None, 300, "mg/day")],
            conditions=[],
        ),
        _case(
            "DEMO-012",
            t,
            50,
            weight=58,
            attested=True,
            assessments=[_assess(t, 11, ["arthritis", "myositis", "fever"], pga=1.9)],
            observations=_labs(t, rng),
            treatments=[
                hcq,
                _course("azathioprine", _d(t, 700), _d(t, 500), None, "mg/day", "inadequate_response"),
                _course("methotrexate", _d(t, 480), _d(t, 300), 20, "mg/week", "intolerance"),
                _course("belimumab", _d(t, 280), None, 700, "mg/dose"),
            ],
            conditions=_workup(t),
            damage=[{"date": _d(t, 100), "items": {"osteoporosis_fracture": 1, "diabetes": 1, "cataract": 1}}],
        ),
    ]


def synthetic_cases(today: date, n: int, seed: int = 1) -> list[dict[str, Any]]:
    """``n`` random patients built from the demo profiles (identifiers SYN-000001…)."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        base = demo_cases(today - timedelta(days=rng.randint(0, 60)), seed=seed + i)[rng.randrange(12)]
        base["case_id"] = f"SYN-{i + 1:06d}"
        out.append(base)
    return out
