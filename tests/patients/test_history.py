"""The history page says what changed in words: criteria added and removed, the ANA titre as 1:N, labels not codes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse

from patients import services
from patients.history import patient_history
from patients.models import Assessment, DamageIndex, Patient
from tests.clock import TODAY

DAY = TODAY - timedelta(days=30)


def diagnosis(client, patient: Patient, reason: str, *, titre: str, criteria: list[str] | None, attested=False):
    data = {"ana_titre": titre, "reason": reason, "version": Patient.objects.get(pk=patient.pk).version}
    if criteria is not None:
        data.update(criteria_assessed="on", criteria=criteria)
    if attested:
        data["sle_attested"] = "on"
    response = client.post(reverse("patients:classification", kwargs={"pk": patient.pk}), data)
    assert response.status_code == 302, response.context["form"].errors


@pytest.fixture
def basis(site_a) -> Patient:
    return Patient.objects.create(
        site=site_a, identifier="DX-1", ana_titre=80, eular_criteria=["joint_involvement", "fever"]
    )


@pytest.mark.django_db
def test_a_diagnosis_basis_edit_lists_criteria_added_removed_and_the_titre(spec_client, basis) -> None:
    diagnosis(
        spec_client,
        basis,
        "biopsy report and repeat ANA",
        titre="640",
        criteria=["joint_involvement", "ln_class_iii_or_iv"],
        attested=True,
    )
    entry = patient_history(basis)[0]
    assert (entry.action, entry.who, entry.reason) == ("changed", "spec_a", "biopsy report and repeat ANA")
    assert entry.summary == (
        "SLE diagnosis attested by a specialist: no → yes; "
        "ANA titre: 1:80 → 1:640; "
        "2019 EULAR/ACR criteria present: added: Renal biopsy class III or IV lupus nephritis; "
        "removed: Fever > 38.3 °C"
    )
    page = spec_client.get(reverse("patients:history", kwargs={"pk": basis.pk})).content.decode()
    for text in (
        "added: Renal biopsy class III or IV lupus nephritis",
        "removed: Fever &gt; 38.3 °C",
        "1:80 → 1:640",
        "biopsy report and repeat ANA",
    ):
        assert text in page, text


@pytest.mark.django_db
def test_criteria_not_assessed_and_assessed_read_as_such(spec_client, basis) -> None:
    diagnosis(spec_client, basis, "criteria to be reviewed", titre="0", criteria=None)
    diagnosis(spec_client, basis, "reviewed: none present", titre="0", criteria=[])
    diagnosis(spec_client, basis, "anti-dsDNA positive", titre="0", criteria=["anti_dsdna_or_anti_sm"])
    latest, middle, first = patient_history(basis)[:3]
    assert first.summary == (
        "ANA titre: 1:80 → negative; "
        "2019 EULAR/ACR criteria present: marked not assessed (were: Joint involvement, Fever > 38.3 °C)"
    )
    assert middle.summary == "2019 EULAR/ACR criteria present: assessed: none present"
    assert latest.summary == "2019 EULAR/ACR criteria present: added: Anti-dsDNA or anti-Sm antibodies"


@pytest.mark.django_db
def test_a_new_patient_reads_in_words(spec_client, basis) -> None:
    created = patient_history(basis)[-1]
    assert created.action == "created"
    assert "ANA titre: 1:80" in created.summary
    assert "2019 EULAR/ACR criteria present: Joint involvement, Fever > 38.3 °C" in created.summary


@pytest.mark.django_db
def test_record_changes_read_in_words(specialist, patient) -> None:
    assessment = services.save_record(
        actor=specialist,
        record=Assessment(patient=patient, date=DAY, sledai_present=["arthritis"], bilag={"renal": "B"}),
    )
    assessment.sledai_present = ["arthritis", "rash"]
    assessment.bilag = {"renal": "A", "musculoskeletal": "C"}
    services.save_record(actor=specialist, record=assessment, seen_version=1, reason="re-scored")
    damage = services.save_record(actor=specialist, record=DamageIndex(patient=patient, date=DAY, items={"cva": 1}))
    damage.items = {"cva": 2, "cataract": 1}
    services.save_record(actor=specialist, record=damage, seen_version=1, reason="second stroke")
    summaries = {e.reason: e.summary for e in patient_history(patient)}
    assert "SLEDAI-2K items present: added: Rash" in summaries["re-scored"]
    assert "BILAG-2004 grades: renal A" not in summaries["re-scored"]
    assert "renal B → A; added: musculoskeletal: C" in summaries["re-scored"]
    assert summaries["second stroke"] == (
        "SLICC/ACR damage items: Cerebrovascular accident ever 1 → 2; added: Cataract ever: 1; Score: 1 → 3"
    )
