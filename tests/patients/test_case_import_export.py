"""Case files through the database: every shipped case imports and exports back;
bad files are refused naming the file and field, and nothing is written."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from clinical.casefile import dump_case, validate_case
from patients.models import Assessment, Patient, TreatmentCourse
from screening.catalogue import drug_units
from tests.shipped import CASES, case_paths

CASE_FILES = case_paths()


def run(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command(*args, stdout=out, stderr=err)
    except CommandError as error:
        return error.returncode, out.getvalue(), str(error) + "\n"
    return 0, out.getvalue(), err.getvalue()


def without_as_of(case: dict) -> dict:
    return {k: v for k, v in case.items() if k != "as_of"}


@pytest.mark.django_db
@pytest.mark.parametrize("path", CASE_FILES, ids=lambda p: p.stem)
def test_round_trip_of_every_shipped_case(path: Path, site_a, capsys) -> None:
    code, out, err = run("import_cases", "--site", site_a.code, str(path))
    assert code == 0, err
    original = validate_case(json.loads(path.read_text()), drugs=drug_units())
    code, text, err = run("export_case", "--site", site_a.code, original["case_id"])
    assert code == 0, err
    exported = json.loads(text)
    assert exported == without_as_of(original)
    # importing the export into an empty site and exporting again gives the same file
    from accounts.models import Site

    other = Site.objects.create(code="empty", name="Empty")
    tmp = path.parent.parent.parent / "tmp-export.json"
    try:
        _, text2, _ = run("export_case", "--site", site_a.code, original["case_id"])
        Path(tmp).write_text(text2)
        assert run("import_cases", "--site", other.code, str(tmp))[0] == 0
        assert run("export_case", "--site", other.code, original["case_id"])[1] == text2
    finally:
        Path(tmp).unlink(missing_ok=True)


@pytest.mark.django_db
def test_import_updates_an_existing_patient_instead_of_duplicating(site_a) -> None:
    path = CASES / "refractory-nephritis.json"
    run("import_cases", "--site", site_a.code, str(path))
    run("import_cases", "--site", site_a.code, str(path))
    assert Patient.objects.filter(site=site_a).count() == 1
    assert Assessment.objects.count() == 2


@pytest.mark.django_db
def test_bad_file_among_good_writes_nothing(site_a, tmp_path) -> None:
    good = CASES / "mild-disease.json"
    data = json.loads((CASES / "refractory-nephritis.json").read_text())
    data["treatments"][2]["end"] = "2024-01-01"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    code, out, err = run("import_cases", "--site", site_a.code, str(good), str(bad))
    assert code == 2
    assert err.strip() == f"{bad}: treatments[2].end: before start" or (str(bad) in err and "treatments[2].end" in err)
    assert err.count("\n") == 1
    assert not Patient.objects.exists() and not TreatmentCourse.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "args,needle",
    [
        (["--site", "nowhere", str(CASES / "mild-disease.json")], "--site"),
        (["--site", "site-a", "/no/such/file.json"], "/no/such/file.json"),
    ],
)
def test_import_command_bad_input(site_a, args, needle) -> None:
    code, _, err = run("import_cases", *args)
    assert code == 2 and needle in err and not Patient.objects.exists()


@pytest.mark.django_db
def test_not_json_and_unknown_drug_are_refused(site_a, tmp_path) -> None:
    notjson = tmp_path / "x.json"
    notjson.write_text("{not json")
    code, _, err = run("import_cases", "--site", "site-a", str(notjson))
    assert code == 2 and "not valid JSON" in err
    data = json.loads((CASES / "mild-disease.json").read_text())
    data["treatments"][0]["drug"] = "aspirin"
    unknown = tmp_path / "y.json"
    unknown.write_text(json.dumps(data))
    code, _, err = run("import_cases", "--site", "site-a", str(unknown))
    assert code == 2 and "treatments[0].drug" in err and "not a known drug" in err


@pytest.mark.django_db
def test_export_unknown_patient(site_a) -> None:
    code, _, err = run("export_case", "--site", "site-a", "nobody")
    assert code == 2 and "case_id" in err


@pytest.mark.django_db
def test_upload_and_download_in_the_ui(spec_client, site_a) -> None:
    files = [SimpleUploadedFile(p.name, p.read_bytes(), content_type="application/json") for p in CASE_FILES]
    r = spec_client.post(reverse("patients:import"), {"site": site_a.pk, "files": files})
    assert r.status_code == 302
    assert Patient.objects.filter(site=site_a).count() == len(CASE_FILES)
    patient = Patient.objects.get(identifier="steroid-dependent")
    r = spec_client.get(reverse("patients:export", kwargs={"pk": patient.pk}))
    assert r["Content-Disposition"] == 'attachment; filename="steroid-dependent.json"'
    original = validate_case(json.loads((CASES / "steroid-dependent.json").read_text()), drugs=drug_units())
    assert r.content.decode() == dump_case(without_as_of(original)) or json.loads(r.content) == without_as_of(original)


@pytest.mark.django_db
def test_ui_upload_of_a_bad_file_names_file_and_field(spec_client, site_a) -> None:
    data = json.loads((CASES / "mild-disease.json").read_text())
    data["patient"]["weight_kg"] = 500
    r = spec_client.post(
        reverse("patients:import"),
        {
            "site": site_a.pk,
            "files": [SimpleUploadedFile("mild.json", json.dumps(data).encode())],
        },
    )
    assert r.status_code == 200
    message = " ".join(r.context["form"].errors["files"])
    assert "Nothing was imported" in message and "mild.json" in message and "patient.weight_kg" in message
    assert not Patient.objects.exists()


@pytest.mark.django_db
def test_seed_demo_is_safe_to_run_twice() -> None:
    assert run("seed_demo")[0] == 0
    assert run("seed_demo")[0] == 0
    assert Patient.objects.filter(site__code="demo").count() == 12
    from accounts.models import User

    assert sorted(User.objects.values_list("role", flat=True)) == [
        "privacy_officer",
        "rules_admin",
        "rules_admin",
        "specialist",
        "staff",
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "mutate,field,words",
    [
        (lambda c: c["observations"][0].update(value=-5), "observations[0].value", "at least 0"),
        # beyond the column, and far beyond the code's plausible range (checked first, as the form does)
        (lambda c: c["observations"][0].update(value=123456789), "observations[0].value", "plausible range"),
        (lambda c: c["observations"][0].update(value=29.99996), "observations[0].value", "decimal places"),
        (lambda c: c["treatments"][0].update(dose=123456789), "treatments[0].dose", "between 0 and 100000"),
        (lambda c: c["patient"].update(weight_kg=64.25), "patient.weight_kg", "decimal place"),
        (lambda c: c["assessments"][0].update(pga=1.25), "assessments[0].pga", "decimal place"),
        (
            lambda c: (c.update(as_of="2099-01-01"), c["patient"].update(birth_date="2098-06-01")),
            "patient.birth_date",
            "after today",
        ),
    ],
)
def test_values_the_record_cannot_hold_are_refused_not_rounded(site_a, tmp_path, mutate, field, words) -> None:
    data = json.loads((CASES / "refractory-nephritis.json").read_text())
    mutate(data)
    path = tmp_path / "case.json"
    path.write_text(json.dumps(data))
    code, _, err = run("import_cases", "--site", site_a.code, str(path))
    assert code == 2 and f"{path}: {field}:" in err and words in err, err
    assert not Patient.objects.exists()


@pytest.mark.django_db
def test_a_database_refusal_is_reported_and_writes_nothing(site_a, monkeypatch) -> None:
    from django.db import IntegrityError

    from patients import casefiles

    def refuse(**kwargs):
        Patient.objects.create(site=site_a, identifier="half-written")
        raise IntegrityError("check constraint failed")

    monkeypatch.setattr(casefiles, "replace_patient_record", refuse)
    case = validate_case(json.loads((CASES / "mild-disease.json").read_text()), drugs=drug_units())
    with pytest.raises(casefiles.CaseFileError) as err:
        casefiles.import_cases(actor=None, site=site_a, cases=[case])
    assert "nothing was written" in str(err.value) and not Patient.objects.exists()
