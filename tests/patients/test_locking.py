"""Two people editing the same clinical record: the second is told what changed; nothing is overwritten.

Every record kind, the patient's details and the diagnosis basis are claimed
by the service at the version the form was opened at (accounts.locking).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection, connections
from django.test import Client
from django.urls import reverse

from accounts.locking import Conflict
from accounts.models import Role
from patients import services
from patients.models import (
    Assessment,
    Condition,
    DamageIndex,
    Manifestation,
    Observation,
    Patient,
    TreatmentCourse,
)
from tests.clock import TODAY
from tests.conftest import client_for, make_user
from tests.patients.factories import (
    AssessmentFactory,
    ConditionFactory,
    DamageFactory,
    ManifestationFactory,
    ObservationFactory,
    TreatmentFactory,
)
from tests.patients.test_record_views import sdi_post, sledai_post

DAY = TODAY - timedelta(days=40)


@dataclass(frozen=True)
class Subject:
    """One editable thing: how to make it, change it in memory, read it back and post a change to it."""

    model: Any
    make: Any
    apply: Any
    read: Any
    post: Any
    theirs: Any
    mine: Any
    url: str = "patients:record_edit"


def _set(**names: Any) -> Any:
    def apply(row: Any, value: Any) -> None:
        for name, pick in names.items():
            setattr(row, name, pick(value))

    return apply


SUBJECTS: dict[str, Subject] = {
    "assessments": Subject(
        Assessment,
        lambda p: AssessmentFactory(patient=p, date=DAY, sledai_present=["arthritis"]),
        _set(sledai_present=list),
        lambda r: sorted(r.sledai_present),
        lambda r, v: sledai_post(DAY.isoformat(), present=v, reason="re-read the notes"),
        ["arthritis", "rash"],
        ["fever", "alopecia", "pleurisy"],
    ),
    "damage": Subject(
        DamageIndex,
        lambda p: DamageFactory(patient=p, date=DAY),
        _set(items=lambda v: dict.fromkeys(v, 1)),
        lambda r: sorted(r.items),
        lambda r, v: {"date": DAY.isoformat(), "reason": "re-read the notes", **sdi_post(present=v)},
        ["cataract", "cva"],
        ["cataract", "neuropathy"],
    ),
    "manifestations": Subject(
        Manifestation,
        lambda p: ManifestationFactory(patient=p, date=DAY, active=True),
        _set(active=lambda v: v[0], biopsy_class=lambda v: v[1]),
        lambda r: [r.active, r.biopsy_class],
        lambda r, v: {
            "code": "lupus_nephritis",
            "date": DAY.isoformat(),
            "biopsy_class": v[1] or "",
            "reason": "biopsy report",
            "active": str(bool(v[0])),
        },
        [False, None],
        [True, "IV"],
    ),
    "observations": Subject(
        Observation,
        lambda p: ObservationFactory(patient=p, code="egfr", date=DAY, value=80),
        _set(value=Decimal),
        lambda r: r.value.normalize(),
        lambda r, v: {"code": "egfr", "date": DAY.isoformat(), "value": v, "unit": "mL/min/1.73m²", "reason": "typo"},
        "72",
        "55",
    ),
    "treatments": Subject(
        TreatmentCourse,
        lambda p: TreatmentFactory(patient=p, drug="azathioprine", dose=100, dose_unit="mg/day", start=DAY),
        _set(dose=Decimal),
        lambda r: r.dose.normalize(),
        lambda r, v: {
            "drug": "azathioprine",
            "start": DAY.isoformat(),
            "dose": v,
            "dose_unit": "mg/day",
            "reason": "dose changed",
        },
        "125",
        "150",
    ),
    "conditions": Subject(
        Condition,
        lambda p: ConditionFactory(patient=p, code="hiv", status="absent", date=DAY),
        _set(status=lambda v: v[0], date=lambda v: DAY - timedelta(days=v[1])),
        lambda r: [r.status, (DAY - r.date).days],
        lambda r, v: {
            "code": "hiv",
            "status": v[0],
            "date": (DAY - timedelta(days=v[1])).isoformat(),
            "reason": "lab result",
        },
        ["present", 0],
        ["absent", 3],
    ),
    "details": Subject(
        Patient,
        lambda p: p,
        _set(weight_kg=Decimal),
        lambda r: r.weight_kg.normalize(),
        lambda r, v: {
            "identifier": r.identifier,
            "birth_date": r.birth_date.isoformat(),
            "sex": r.sex,
            "weight_kg": v,
            "why-reason": "weighed",
        },
        "70",
        "75",
        url="patients:edit",
    ),
    "diagnosis": Subject(
        Patient,
        lambda p: p,
        _set(ana_titre=lambda v: v[0], eular_criteria=lambda v: v[1]),
        lambda r: [r.ana_titre, r.eular_criteria],
        lambda r, v: {
            "ana_titre": str(v[0]),
            "reason": "letter from the referring clinic",
            **({"criteria_assessed": "on", "criteria": v[1]} if v[1] is not None else {}),
        },
        [320, ["joint_involvement", "low_c3_or_low_c4"]],
        [1280, None],
        url="patients:classification",
    ),
}
KINDS = list(SUBJECTS)
RECORD_KINDS = [k for k in KINDS if SUBJECTS[k].model is not Patient]


def save(kind: str, row: Any, actor: Any, seen: int | None, reason: str = "corrected") -> Any:
    if SUBJECTS[kind].model is Patient:
        return services.save_patient(actor=actor, patient=row, seen_version=seen, reason=reason)
    return services.save_record(actor=actor, record=row, seen_version=seen, reason=reason)


def fresh(kind: str, row: Any) -> Any:
    return SUBJECTS[kind].model.objects.get(pk=row.pk)


def history_rows(kind: str, row: Any) -> list[tuple[str, int]]:
    rows = SUBJECTS[kind].model.history.filter(id=row.pk).order_by("history_date", "history_id")
    return list(rows.values_list("history_type", "version"))


def edit_url(kind: str, row: Any) -> str:
    subject = SUBJECTS[kind]
    if subject.model is Patient:
        return reverse(subject.url, kwargs={"pk": row.pk})
    return reverse(subject.url, kwargs={"pk": row.patient_id, "kind": kind, "rid": row.pk})


def hidden_version(page: str) -> str:
    found = re.search(r'<input type="hidden" name="version" value="(\d*)"', page)
    assert found, "no hidden version field on the page"
    return found.group(1)


@pytest.fixture
def colleague(site_a):
    return make_user("spec_other", Role.SPECIALIST, site_a)


# --- the services ---------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("kind", KINDS)
def test_a_save_at_the_version_seen_bumps_it_and_is_audited(kind, patient, specialist) -> None:
    s = SUBJECTS[kind]
    row = s.make(patient)
    mine = fresh(kind, row)
    s.apply(mine, s.mine)
    save(kind, mine, specialist, seen=1, reason="my change")
    now = fresh(kind, row)
    assert now.version == 2 and s.read(now) == s.read(mine)
    latest = s.model.history.filter(id=row.pk).latest("history_id")
    assert (latest.history_type, latest.version, latest.history_user, latest.history_change_reason) == (
        "~",
        2,
        specialist,
        "my change",
    )


@pytest.mark.django_db
@pytest.mark.parametrize("kind", KINDS)
def test_a_stale_version_is_a_conflict_and_writes_nothing(kind, patient, specialist, colleague) -> None:
    s = SUBJECTS[kind]
    row = s.make(patient)
    theirs, mine = fresh(kind, row), fresh(kind, row)  # both opened version 1
    s.apply(theirs, s.theirs)
    save(kind, theirs, colleague, seen=1, reason="their change")
    audit = history_rows(kind, row)
    s.apply(mine, s.mine)
    with pytest.raises(Conflict) as err:
        save(kind, mine, specialist, seen=1, reason="my change")
    assert not err.value.missing and err.value.version_now == 2
    assert [(c.who, c.action, c.reason) for c in err.value.changes] == [("spec_other", "changed", "their change")]
    assert err.value.changes[0].fields and err.value.current
    now = fresh(kind, row)
    assert now.version == 2 and s.read(now) == s.read(theirs)  # their update is not lost
    assert history_rows(kind, row) == audit  # the audit trail holds their change, nothing of mine


@pytest.mark.django_db
@pytest.mark.parametrize("kind", KINDS)
def test_a_missing_version_is_refused_and_writes_nothing(kind, patient, specialist) -> None:
    s = SUBJECTS[kind]
    row = s.make(patient)
    before, audit = s.read(fresh(kind, row)), history_rows(kind, row)
    mine = fresh(kind, row)
    s.apply(mine, s.mine)
    with pytest.raises(Conflict) as err:
        save(kind, mine, specialist, seen=None)
    assert err.value.missing and err.value.version_now == 1 and err.value.current
    now = fresh(kind, row)
    assert now.version == 1 and s.read(now) == before and history_rows(kind, row) == audit


@pytest.mark.django_db
@pytest.mark.parametrize("kind", RECORD_KINDS)
def test_a_delete_claims_the_version_too(kind, patient, specialist, colleague) -> None:
    s = SUBJECTS[kind]
    row = s.make(patient)
    theirs = fresh(kind, row)
    s.apply(theirs, s.theirs)
    save(kind, theirs, colleague, seen=1)
    for seen in (None, 1):
        with pytest.raises(Conflict):
            services.delete_record(actor=specialist, record=fresh(kind, row), seen_version=seen, reason="mine")
        assert s.model.objects.filter(pk=row.pk).exists()
    services.delete_record(actor=specialist, record=fresh(kind, row), seen_version=2, reason="entered twice")
    assert not s.model.objects.filter(pk=row.pk).exists()
    assert history_rows(kind, row)[-1] == ("-", 3)
    with pytest.raises(Conflict) as err:  # and an edit opened before the delete is told so
        save(kind, theirs, colleague, seen=2)
    assert err.value.deleted and [c.action for c in err.value.changes] == ["deleted"]


@pytest.mark.django_db
def test_a_new_record_needs_no_version(patient, specialist) -> None:
    obs = services.save_record(
        actor=specialist, record=Observation(patient=patient, code="c3", date=DAY, value=Decimal("60"))
    )
    assert obs.version == 1


@pytest.mark.django_db
def test_the_egfr_computed_from_a_creatinine_claims_that_days_egfr(patient, specialist) -> None:
    egfr = ObservationFactory(patient=patient, code="egfr", date=DAY, value=80)
    creatinine = Observation(patient=patient, code="creatinine", date=DAY, value=Decimal("1.0"))
    services.record_observation(actor=specialist, observation=creatinine, add_egfr=True)
    egfr.refresh_from_db()
    assert egfr.version == 2 and egfr.value != 80


@pytest.mark.django_db
def test_a_case_import_over_a_patient_bumps_what_it_replaces(site_a, specialist) -> None:
    patient = Patient.objects.create(site=site_a, identifier="IMP-1")
    obs = ObservationFactory(patient=patient, code="egfr", date=DAY, value=80)
    case = {"case_id": "IMP-1", "patient": {"sex": "female"}}
    services.replace_patient_record(actor=specialist, site=site_a, case=case, reason="import")
    patient.refresh_from_db()
    assert patient.version == 2 and patient.sex == "female"
    assert history_rows("observations", obs)[-1] == ("-", 2)
    with pytest.raises(Conflict) as err:
        save("observations", obs, specialist, seen=1)
    assert err.value.deleted


# --- the pages ------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("kind", KINDS)
def test_the_second_person_gets_409_with_what_changed_and_their_input_kept(
    kind, patient, specialist, colleague
) -> None:
    s = SUBJECTS[kind]
    row = s.make(patient)
    url = edit_url(kind, row)
    first, second = client_for(colleague), client_for(specialist)
    opened = hidden_version(second.get(url).content.decode())
    assert opened == "1" == hidden_version(first.get(url).content.decode())
    r = first.post(url, {**s.post(row, s.theirs), "version": opened})
    assert r.status_code == 302, r.context["form"].errors if r.context else r
    audit = history_rows(kind, row)
    r = second.post(url, {**s.post(row, s.mine), "version": opened})
    assert r.status_code == 409
    page = r.content.decode()
    assert "changed since you opened it" in page and "spec_other" in page and "Saved now" in page
    assert hidden_version(page) == "2"  # saving again is a deliberate choice, made after seeing this
    for name, value in s.post(row, s.mine).items():  # what they typed is what the form is bound to
        assert r.context["form"].data.getlist(name) == (value if isinstance(value, list) else [value]), name
    if kind in ("observations", "treatments", "details"):
        assert f'value="{s.mine}"' in page  # and shows
    now = fresh(kind, row)
    assert now.version == 2 and s.read(now) == s.read(_applied(kind, row, s.theirs))
    assert history_rows(kind, row) == audit
    again = second.post(url, {**s.post(row, s.mine), "version": hidden_version(page)})
    assert again.status_code == 302
    assert s.read(fresh(kind, row)) == s.read(_applied(kind, row, s.mine))


def _applied(kind: str, row: Any, value: Any) -> Any:
    copy = fresh(kind, row)
    SUBJECTS[kind].apply(copy, value)
    return copy


@pytest.mark.django_db
@pytest.mark.parametrize("kind", KINDS)
def test_a_post_without_the_version_is_refused_and_says_so(kind, patient, spec_client) -> None:
    s = SUBJECTS[kind]
    row = s.make(patient)
    before = s.read(fresh(kind, row))
    r = spec_client.post(edit_url(kind, row), s.post(row, s.mine))
    assert r.status_code == 409
    page = r.content.decode()
    assert "did not say which version" in page and hidden_version(page) == "1"
    assert s.read(fresh(kind, row)) == before and fresh(kind, row).version == 1


@pytest.mark.django_db
def test_the_assessment_page_carries_the_version(spec_client, patient) -> None:
    """The SLEDAI-2K page lays its fields out by hand: the version must be among them."""
    row = AssessmentFactory(patient=patient, date=DAY)
    for kind, rid in (("assessments", row.pk), ("damage", DamageFactory(patient=patient, date=DAY).pk)):
        url = reverse("patients:record_edit", kwargs={"pk": patient.pk, "kind": kind, "rid": rid})
        assert hidden_version(spec_client.get(url).content.decode()) == "1"


@pytest.mark.django_db
def test_a_stale_delete_answers_409_and_keeps_the_record(patient, specialist, colleague) -> None:
    obs = ObservationFactory(patient=patient, code="egfr", date=DAY, value=80)
    url = reverse("patients:record_delete", kwargs={"pk": patient.pk, "kind": "observations", "rid": obs.pk})
    second = client_for(specialist)
    opened = hidden_version(second.get(url).content.decode())
    theirs = fresh("observations", obs)
    theirs.value = Decimal("66")
    save("observations", theirs, colleague, seen=1, reason="corrected")
    r = second.post(url, {"reason": "duplicate", "version": opened})
    assert r.status_code == 409
    page = r.content.decode()
    assert "corrected" in page and "80 → 66" in page and 'value="duplicate"' in page and hidden_version(page) == "2"
    assert Observation.objects.filter(pk=obs.pk).exists()
    r = second.post(url, {"reason": "duplicate"})
    assert r.status_code == 409 and "did not say which version" in r.content.decode()
    assert second.post(url, {"reason": "duplicate", "version": "2"}).status_code == 302
    assert not Observation.objects.filter(pk=obs.pk).exists()


# --- PostgreSQL: two connections at once ----------------------------------------------------------


def _race(posts: list[tuple[Client, str, dict[str, Any]]]) -> list[int]:
    """POST each form from its own thread (its own database connection), all at the same moment."""
    barrier = threading.Barrier(len(posts))
    statuses: list[int] = [0] * len(posts)

    def post(i: int, client: Client, url: str, data: dict[str, Any]) -> None:
        try:
            barrier.wait(timeout=10)
            statuses[i] = client.post(url, data).status_code
        except Exception as err:  # noqa: BLE001 - the test reports whatever went wrong
            statuses[i] = -1
            raise err
        finally:
            connections.close_all()

    threads = [threading.Thread(target=post, args=(i, *p)) for i, p in enumerate(posts)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return statuses


@pytest.mark.postgres
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="row locks between two connections: PostgreSQL only (CI runs the suite on it)",
)
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("kind", ["observations", "assessments", "details", "diagnosis"])
def test_two_saves_at_once_one_wins_the_other_is_told_none_is_lost(kind, site_a, specialist, colleague) -> None:
    from tests.conftest import ensure_published_rules

    ensure_published_rules()
    s = SUBJECTS[kind]
    patient = Patient.objects.create(
        site=site_a,
        identifier=f"RACE-{kind}",
        birth_date=TODAY.replace(year=TODAY.year - 35),
        sex="female",
        weight_kg=64,
        ana_titre=640,
        eular_criteria=["joint_involvement"],
    )
    row = s.make(patient)
    url = edit_url(kind, row)
    a, b = client_for(colleague), client_for(specialist)
    opened = hidden_version(a.get(url).content.decode())
    assert hidden_version(b.get(url).content.decode()) == opened == "1"
    statuses = _race(
        [(a, url, {**s.post(row, s.theirs), "version": opened}), (b, url, {**s.post(row, s.mine), "version": opened})]
    )
    assert sorted(statuses) == [302, 409], statuses
    winner = s.theirs if statuses[0] == 302 else s.mine
    now = fresh(kind, row)
    assert now.version == 2 and s.read(now) == s.read(_applied(kind, row, winner))
    changes = [h for h in history_rows(kind, row) if h[0] == "~"]
    assert changes == [("~", 2)]  # exactly one change saved, and it is the one the database holds
