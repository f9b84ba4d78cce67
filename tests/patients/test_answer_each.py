"""Forms whose blank default would state a clinical fact start unanswered.

A new SLEDAI-2K saved untouched used to record a fully assessed score of 0 nobody observed; now every
descriptor must be answered present, absent or not assessed, and "Mark the rest absent" is an explicit
action. The same for the damage index items, a manifestation's activity and a work-up status.
"""

from __future__ import annotations

from datetime import date

import pytest
from django.urls import reverse

from clinical import vocab
from patients.forms import MARK_REST, AssessmentForm, ConditionForm, DamageForm, ManifestationForm
from patients.models import Assessment, DamageIndex, Manifestation
from tests.conftest import client_for
from tests.patients.factories import AssessmentFactory, DamageFactory
from tests.patients.test_record_views import sdi_post, sledai_post

DAY = "2026-10-01"
SLEDAI = [f"sledai_{c}" for c in vocab.SLEDAI_ITEMS]
SDI = [f"sdi_{c}" for c in vocab.SDI_ITEMS]


def add_url(patient, kind: str) -> str:
    return reverse("patients:record_add", kwargs={"pk": patient.pk, "kind": kind})


def checked(page: str, name: str, value: str) -> bool:
    """Whether the radio of ``name`` with ``value`` is checked in the page."""
    import re

    tag = re.search(rf'<input[^>]*name="{name}"[^>]*value="{value}"[^>]*>', page)
    assert tag, (name, value)
    return "checked" in tag.group(0)


# ---- the forms ---------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_new_assessment_starts_with_every_descriptor_unanswered(patient) -> None:
    form = AssessmentForm(patient=patient)
    assert [form[name].initial for name in SLEDAI] == [None] * len(SLEDAI)
    html = str(form["sledai_seizure"])
    assert "checked" not in html


@pytest.mark.django_db
def test_an_untouched_assessment_is_refused_with_every_descriptor_named(patient) -> None:
    form = AssessmentForm({"date": DAY, "window_days": "10"}, patient=patient)
    assert not form.is_valid()
    message = " ".join(form.non_field_errors())
    assert "Nothing was saved: 24 SLEDAI-2K descriptors are not answered" in message
    for item in vocab.SLEDAI_ITEMS.values():
        assert item.label in message
    assert "Mark the rest absent" in message
    assert form.errors["sledai_seizure"] == ["Answer present, absent or not assessed."]


@pytest.mark.django_db
def test_one_unanswered_descriptor_is_named_alone(patient) -> None:
    data = sledai_post(DAY, present=["arthritis"])
    data.pop("sledai_fever")
    form = AssessmentForm(data, patient=patient)
    assert not form.is_valid()
    assert form.unanswered() == ["sledai_fever"]
    message = " ".join(form.non_field_errors())
    assert "1 SLEDAI-2K descriptor is not answered (Fever)" in message
    assert sorted(form.errors) == ["__all__", "sledai_fever"]


@pytest.mark.django_db
def test_an_assessment_with_every_descriptor_answered_is_valid(patient) -> None:
    form = AssessmentForm(sledai_post(DAY, present=["arthritis"], not_assessed=["low_complement"]), patient=patient)
    assert form.is_valid(), form.errors
    record = form.save(commit=False)
    assert record.sledai_present == ["arthritis"] and record.sledai_not_assessed == ["low_complement"]


@pytest.mark.django_db
def test_mark_the_rest_absent_keeps_the_answers_given(patient) -> None:
    data = {"date": DAY, "window_days": "10", "sledai_arthritis": "present", "sledai_fever": "not_assessed"}
    form = AssessmentForm({**data, MARK_REST: "1"}, patient=patient)
    values = form.with_rest_answered()
    assert values["sledai_arthritis"] == "present" and values["sledai_fever"] == "not_assessed"
    assert all(values[name] == "absent" for name in SLEDAI if name not in ("sledai_arthritis", "sledai_fever"))
    assert MARK_REST not in values and values["date"] == DAY
    again = AssessmentForm(initial=values, patient=patient)
    assert again["sledai_arthritis"].value() == "present" and again["sledai_seizure"].value() == "absent"


@pytest.mark.django_db
def test_an_edit_shows_the_recorded_answers(patient) -> None:
    row = AssessmentFactory(patient=patient, sledai_present=["rash"], sledai_not_assessed=["low_complement"])
    form = AssessmentForm(instance=row, patient=patient)
    assert form["sledai_rash"].initial == "present"
    assert form["sledai_low_complement"].initial == "not_assessed"
    assert form["sledai_seizure"].initial == "absent"


@pytest.mark.django_db
def test_a_new_damage_index_starts_unanswered_and_is_refused_untouched(patient) -> None:
    form = DamageForm(patient=patient)
    assert all(form[name].initial == "" for name in SDI)
    assert 'value="" selected' in str(form["sdi_cataract"])
    bound = DamageForm({"date": DAY}, patient=patient)
    assert not bound.is_valid()
    assert "41 damage items are not answered" in " ".join(bound.non_field_errors())
    assert "Cataract ever" in " ".join(bound.non_field_errors())
    answered = DamageForm({"date": DAY, **sdi_post(present=["cataract"])}, patient=patient)
    assert answered.is_valid(), answered.errors
    assert answered.save(commit=False).items == {"cataract": 1}


@pytest.mark.django_db
def test_an_edited_damage_index_shows_its_items(patient) -> None:
    row = DamageFactory(patient=patient, items={"cataract": 1})
    form = DamageForm(instance=row, patient=patient)
    assert form["sdi_cataract"].initial == 1 and form["sdi_cva"].initial == 0


@pytest.mark.django_db
def test_a_manifestation_must_say_whether_it_was_active(patient) -> None:
    form = ManifestationForm(patient=patient)
    assert form["active"].value() is None and "checked" not in str(form["active"])
    bound = ManifestationForm({"code": "lupus_nephritis", "date": DAY}, patient=patient)
    assert not bound.is_valid()
    assert bound.errors["active"] == ["Say whether the manifestation was active on this date."]
    inactive = ManifestationForm({"code": "lupus_nephritis", "date": DAY, "active": "False"}, patient=patient)
    assert inactive.is_valid(), inactive.errors
    assert inactive.save(commit=False).active is False


@pytest.mark.django_db
def test_a_work_up_status_offers_present_or_absent_and_neither_chosen(patient) -> None:
    form = ConditionForm(patient=patient)
    assert list(form.fields["status"].choices) == [("present", "Present"), ("absent", "Absent")]
    assert "checked" not in str(form["status"])
    bound = ConditionForm({"code": "hiv", "date": DAY}, patient=patient)
    assert not bound.is_valid() and bound.errors["status"] == ["Choose present or absent."]


# ---- the views ---------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_saving_an_untouched_assessment_writes_nothing_and_names_the_descriptors(spec_client, patient) -> None:
    r = spec_client.post(add_url(patient, "assessments"), {"date": DAY, "window_days": "10"})
    assert r.status_code == 200
    assert not Assessment.objects.filter(patient=patient).exists()
    page = r.content.decode()
    assert "Nothing was saved: 24 SLEDAI-2K descriptors are not answered" in page
    assert "Seizure; Psychosis" in page


@pytest.mark.django_db
def test_the_new_assessment_page_has_no_answer_ticked_and_the_mark_rest_button(spec_client, patient) -> None:
    page = spec_client.get(add_url(patient, "assessments")).content.decode()
    assert not any(checked(page, name, value) for name in SLEDAI for value in ("absent", "present", "not_assessed"))
    assert f'name="{MARK_REST}"' in page and "Mark the rest absent" in page
    assert 'id="sledai-score">—<' in page  # no score before any answer


@pytest.mark.django_db
def test_mark_the_rest_absent_without_javascript_shows_the_form_again_unsaved(spec_client, patient) -> None:
    data = {"date": DAY, "window_days": "10", "pga": "1.5", "sledai_arthritis": "present", MARK_REST: "1"}
    r = spec_client.post(add_url(patient, "assessments"), data)
    assert r.status_code == 200
    assert not Assessment.objects.filter(patient=patient).exists()
    page = r.content.decode()
    assert "23 unanswered descriptors set to absent" in page
    assert checked(page, "sledai_arthritis", "present") and not checked(page, "sledai_arthritis", "absent")
    assert checked(page, "sledai_seizure", "absent") and checked(page, "sledai_fever", "absent")
    assert 'value="2026-10-01"' in page and not r.context["form"].is_bound
    # saved as shown: arthritis present, the rest absent
    saved = spec_client.post(add_url(patient, "assessments"), sledai_post(DAY, present=["arthritis"]))
    assert saved.status_code == 302
    row = Assessment.objects.get(patient=patient)
    assert row.sledai_present == ["arthritis"] and row.sledai_not_assessed == []


@pytest.mark.django_db
def test_the_edit_page_shows_the_recorded_answers(spec_client, patient) -> None:
    row = AssessmentFactory(patient=patient, date=date(2026, 9, 1), sledai_present=["rash"])
    url = reverse("patients:record_edit", kwargs={"pk": patient.pk, "kind": "assessments", "rid": row.pk})
    page = spec_client.get(url).content.decode()
    assert checked(page, "sledai_rash", "present") and checked(page, "sledai_seizure", "absent")


@pytest.mark.django_db
def test_saving_an_untouched_damage_index_writes_nothing(spec_client, patient) -> None:
    r = spec_client.post(add_url(patient, "damage"), {"date": DAY})
    assert r.status_code == 200 and not DamageIndex.objects.exists()
    assert "41 damage items are not answered" in r.content.decode()
    marked = spec_client.post(add_url(patient, "damage"), {"date": DAY, "sdi_cataract": "1", MARK_REST: "1"})
    assert marked.status_code == 200 and not DamageIndex.objects.exists()
    assert "40 unanswered items set to No" in marked.content.decode()
    form = marked.context["form"]
    assert form["sdi_cataract"].value() == "1" and form["sdi_cva"].value() == "0"


@pytest.mark.django_db
def test_a_manifestation_saved_without_its_activity_writes_nothing(spec_client, patient) -> None:
    r = spec_client.post(add_url(patient, "manifestations"), {"code": "lupus_nephritis", "date": DAY})
    assert r.status_code == 200 and not Manifestation.objects.exists()
    assert "Say whether the manifestation was active on this date." in r.content.decode()


@pytest.mark.django_db
def test_the_preview_counts_unanswered_descriptors_in_the_range(spec_client) -> None:
    r = spec_client.post(reverse("patients:sledai_preview"), {"sledai_arthritis": "present"})
    data = r.json()
    assert data["low"] == 4 and data["high"] > 4 and data["unanswered"] == 23 and data["not_assessed"] == 0
    every = {name: "absent" for name in SLEDAI} | {"sledai_arthritis": "present"}
    data = spec_client.post(reverse("patients:sledai_preview"), every).json()
    assert (data["low"], data["high"], data["unanswered"]) == (4, 4, 0)


# --- the lab form: no unit chosen for the reader ----------------------------------------------


def test_a_new_lab_starts_with_no_unit_and_offers_each_tests_units(site_a, specialist) -> None:
    import json

    from tests.patients.factories import PatientFactory

    patient = PatientFactory(site=site_a)
    page = client_for(specialist).get(reverse("patients:record_add", kwargs={"pk": patient.pk, "kind": "observations"}))
    form = page.context["form"]
    assert form["unit"].value() in (None, "") and form.fields["unit"].choices[0] == ("", "Choose the unit…")
    units = json.loads(form.fields["code"].widget.attrs["data-units"])
    assert units["egfr"] == ["mL/min/1.73m²"] and units["creatinine"][0] == "mg/dL" and len(units["creatinine"]) > 1
    assert "js/observation.js" in page.content.decode()


def test_a_unit_of_another_test_is_refused_in_words_and_nothing_is_written(site_a, specialist) -> None:
    from patients.models import Observation
    from tests.patients.factories import PatientFactory

    patient = PatientFactory(site=site_a)
    response = client_for(specialist).post(
        reverse("patients:record_add", kwargs={"pk": patient.pk, "kind": "observations"}),
        {"code": "c3", "date": "2026-10-01", "value": "0.9", "unit": "mL/min/1.73m²"},
    )
    assert response.status_code == 200
    errors = response.context["form"].errors["unit"]
    assert errors[0].startswith("mL/min/1.73m² is not a unit of ") and ": use " in errors[0]
    assert not Observation.objects.filter(patient=patient).exists()
