"""Forms of the clinical record: they validate and normalise, never act.

Every error names the field in plain words. Cross-field checks live in
``clean()``; the database constraints back them up. What a plausible value is
(dates, ranges) comes from ``clinical.plausibility``, the rules case-file
import obeys too. Edit forms carry the version of the row they were opened
at; the services check it.
"""

from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal
from typing import Any

from django import forms
from django.utils import timezone

from accounts import dates
from accounts.locking import VersionField
from clinical import limits, plausibility, scoring, vocab
from patients.models import (
    Assessment,
    Condition,
    DamageIndex,
    Manifestation,
    Observation,
    Patient,
    TreatmentCourse,
)

IDENTIFIER_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
SLEDAI_STATES = [("absent", "Absent"), ("present", "Present"), ("not_assessed", "Not assessed")]
MARK_REST = "mark_rest_absent"  # the submit button that answers every unanswered item with the form's rest value


def today() -> date:
    return timezone.localdate()


def plausible(problem: str | None, subject: str) -> None:
    """Raise the plausibility rule's problem as the field's error ("The date must not be before ...")."""
    if problem:
        raise forms.ValidationError(f"{subject} {problem}.")


def not_in_future(value: date | None, what: str = "The date", *, born: date | None = None) -> None:
    """A record's date: not after today, not before the patient's birth, not before 1900."""
    if value is not None:
        plausible(plausibility.record_date(value, born=born, today=today()), what)


def earliest_record(patient: Patient) -> date | None:
    """The date of the patient's oldest record of any kind (a birth date may not come after it)."""
    days = [
        model.objects.filter(patient=patient).order_by(field).values_list(field, flat=True).first()
        for model, field in (
            (Assessment, "date"),
            (DamageIndex, "date"),
            (Manifestation, "date"),
            (Observation, "date"),
            (TreatmentCourse, "start"),
            (Condition, "date"),
        )
    ]
    return min((d for d in days if d is not None), default=None)


class ReasonForm(forms.Form):
    """Why: required for a change to an existing row (on its own, this form goes with an edit), optional for a
    new record (kept as "recorded"); the service refuses a blank reason for a change too."""

    reason = forms.CharField(
        label="Reason for the change",
        required=False,
        max_length=500,
        help_text="Optional for new records; kept in the patient's history.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        instance = getattr(self, "instance", None)
        if instance is None or instance.pk is not None:
            self.fields["reason"].required = True
            self.fields["reason"].help_text = "Required: kept in the patient's history with your name."


class VersionedForm(forms.ModelForm):
    """Carries the version of the row the user opened; the service claims it (``accounts.locking``)."""

    version = VersionField()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        dates.clinic_dates(self)
        if self.instance.pk:
            self.fields["version"].initial = self.instance.version


class PatientForm(VersionedForm):
    class Meta:
        model = Patient
        fields = ["site", "identifier", "birth_date", "sex", "weight_kg"]  # attestation: diagnosis page

    def __init__(self, *args: Any, sites: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["site"].queryset = sites
        self.fields["site"].empty_label = None
        self.fields["identifier"].widget.attrs["autofocus"] = True
        self.fields["weight_kg"].widget.attrs.update(min=20, max=300, step="0.1")
        if self.instance.pk:
            self.fields["site"].disabled = True

    def clean_identifier(self) -> str:
        value = self.cleaned_data["identifier"].strip()
        if not IDENTIFIER_RE.match(value):
            raise forms.ValidationError("Use 1–64 letters, digits, dots, underscores or hyphens.")
        return value

    def clean_birth_date(self) -> date | None:
        value = self.cleaned_data.get("birth_date")
        if value is None:
            return value
        plausible(plausibility.birth_date(value, today=today()), "The birth date")
        if self.instance.pk and value != self.instance.birth_date:
            first = earliest_record(self.instance)
            if first is not None and first < value:
                raise forms.ValidationError(
                    f"The birth date cannot be after the patient's oldest record ({dates.show_date(first)}); "
                    "correct that record first."
                )
        return value

    def clean_weight_kg(self) -> Decimal | None:
        value = self.cleaned_data.get("weight_kg")
        if value is not None:
            plausible(plausibility.weight(value), "Weight (kg)")
        return value


class ClassificationForm(ReasonForm, VersionedForm):
    criteria_assessed = forms.BooleanField(
        label="The 2019 EULAR/ACR criteria have been assessed",
        required=False,
        help_text="Leave unticked if nobody has gone through the criteria yet: "
        "“not assessed” and “none present” screen differently.",
    )
    criteria = forms.MultipleChoiceField(
        label="Criteria ever present",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        choices=[
            (
                code,
                f"{c.label} ({c.weight}; {'clinical' if c.clinical else 'immunologic'}, {c.domain.replace('_', ' ')})",
            )
            for code, c in vocab.EULAR_CRITERIA.items()
        ],
    )

    class Meta:
        model = Patient
        fields = ["sle_attested", "ana_titre"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        criteria = self.instance.eular_criteria
        self.fields["criteria_assessed"].initial = criteria is not None
        self.fields["criteria"].initial = criteria or []
        self.order_fields([f for f in self.fields if f != "reason"] + ["reason"])

    def clean_ana_titre(self) -> int | None:
        value = self.cleaned_data.get("ana_titre")
        if value is not None:
            plausible(plausibility.ana_titre(value), "The ANA titre")
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("criteria") and not data.get("criteria_assessed"):
            self.add_error("criteria_assessed", "Tick this box when you record criteria as present.")
        return data

    def save(self, commit: bool = True) -> Patient:
        patient = super().save(commit=False)
        if self.cleaned_data.get("criteria_assessed"):
            chosen = set(self.cleaned_data.get("criteria") or [])
            patient.eular_criteria = [c for c in vocab.EULAR_CRITERIA if c in chosen]
        else:
            patient.eular_criteria = None
        if commit:
            patient.save()
        return patient


class RecordForm(ReasonForm, VersionedForm):
    """A dated record; refuses future dates and a second record on the same key."""

    unique_together: tuple[str, ...] = ("date",)
    duplicate_message = "There is already a record on this date."

    def __init__(self, *args: Any, patient: Patient, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.patient = patient
        self.instance.patient = patient
        if self.instance.pk is None and self.initial.get("date") is None:
            self.initial["date"] = today()  # a new record is most often of today (the visit); shown, changeable
        first = next(iter(self.fields))
        self.fields[first].widget.attrs.setdefault("autofocus", True)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        values = {f: data.get(f) for f in self.unique_together}
        if all(v is not None for v in values.values()):
            clash = type(self.instance).objects.filter(patient=self.patient, **values)
            if self.instance.pk:
                clash = clash.exclude(pk=self.instance.pk)
            if clash.exists():
                self.add_error("date", self.duplicate_message)
        return data

    def clean_date(self) -> date:
        value = self.cleaned_data["date"]
        not_in_future(value, born=self.patient.birth_date)
        return value


def sledai_field_name(code: str) -> str:
    return f"sledai_{code}"


class AnswerEachForm(RecordForm):
    """A form of items each of which must be answered: none starts answered on a new record (a blank default
    would record a finding nobody observed), so saving untouched is refused with the unanswered items named.
    ``with_rest_answered`` gives the data with every unanswered item set to ``rest_value`` (the explicit
    "mark the rest" action); the view re-renders the form with it, unsaved."""

    rest_value: str = ""
    item_noun = "item"
    answer_hint = ""
    rest_action = ""

    def item_names(self) -> list[str]:
        raise NotImplementedError

    def item_label(self, name: str) -> str:
        return str(self.fields[name].label)

    def unanswered(self) -> list[str]:
        """The items left unanswered in the submitted data (bound forms only)."""
        return [name for name in self.item_names() if self.data.get(self.add_prefix(name), "") == ""]

    def with_rest_answered(self) -> dict[str, Any]:
        """The submitted values (bound forms only), every unanswered item set to the rest value: the initial
        data of the form shown again, unsaved."""
        values = {key: self.data.get(key) for key in self.data if key not in ("csrfmiddlewaretoken", MARK_REST)}
        for name in self.unanswered():
            values[self.add_prefix(name)] = self.rest_value
        return values

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        missing = self.unanswered()
        if missing:
            labels = "; ".join(self.item_label(n) for n in missing)
            plural = f"{len(missing)} {self.item_noun}s are" if len(missing) > 1 else f"1 {self.item_noun} is"
            self.add_error(
                None,
                f"Nothing was saved: {plural} not answered ({labels}). Answer each {self.answer_hint}, "
                f"or use “{self.rest_action}”.",
            )
        return data


class AssessmentForm(AnswerEachForm):
    duplicate_message = "There is already an assessment on this date; edit that one instead."
    rest_value = "absent"
    item_noun = "SLEDAI-2K descriptor"
    answer_hint = "present, absent or not assessed"
    rest_action = "Mark the rest absent"

    class Meta:
        model = Assessment
        fields = ["date", "window_days", "pga"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        present = set(self.instance.sledai_present or [])
        not_assessed = set(self.instance.sledai_not_assessed or [])
        recorded = self.instance.pk is not None
        for code, item in vocab.SLEDAI_ITEMS.items():
            # a new assessment starts with every descriptor unanswered; an edit shows the recorded answers
            initial = None
            if recorded:
                initial = "present" if code in present else "not_assessed" if code in not_assessed else "absent"
            self.fields[sledai_field_name(code)] = forms.ChoiceField(
                label=f"{item.label} ({item.weight})",
                choices=SLEDAI_STATES,
                initial=initial,
                widget=forms.RadioSelect,
                help_text=item.definition,
                error_messages={"required": "Answer present, absent or not assessed."},
            )
        bilag = self.instance.bilag or {}
        for system in vocab.BILAG_SYSTEMS:
            self.fields[f"bilag_{system}"] = forms.ChoiceField(
                label=system.capitalize(),
                required=False,
                initial=bilag.get(system, ""),
                choices=[("", "—")] + [(g, g) for g in vocab.BILAG_GRADES],
            )
        self.fields["pga"].widget.attrs.update(min=0, max=3, step="0.1")
        # Reorder so the reason comes last.
        self.order_fields([f for f in self.fields if f != "reason"] + ["reason"])

    def item_names(self) -> list[str]:
        return [sledai_field_name(code) for code in vocab.SLEDAI_ITEMS]

    def item_label(self, name: str) -> str:
        return vocab.SLEDAI_ITEMS[name.removeprefix("sledai_")].label

    def clean_pga(self) -> Decimal | None:
        value = self.cleaned_data.get("pga")
        if value is not None:
            plausible(plausibility.pga(value), "PGA")
        return value

    def sledai_states(self) -> dict[str, str]:
        """Each descriptor's answer (only called on a valid form: every descriptor is answered)."""
        return {code: self.cleaned_data[sledai_field_name(code)] for code in vocab.SLEDAI_ITEMS}

    def save(self, commit: bool = True) -> Assessment:
        record = super().save(commit=False)
        states = self.sledai_states()
        record.sledai_present = [c for c, s in states.items() if s == "present"]
        record.sledai_not_assessed = [c for c, s in states.items() if s == "not_assessed"]
        record.bilag = {
            s: self.cleaned_data[f"bilag_{s}"] for s in vocab.BILAG_SYSTEMS if self.cleaned_data.get(f"bilag_{s}")
        }
        if commit:
            record.save()
        return record

    def sledai_rows(self) -> list[tuple[str, Any]]:
        return [(code, self[sledai_field_name(code)]) for code in vocab.SLEDAI_ITEMS]

    def bilag_fields(self) -> list[Any]:
        return [self[f"bilag_{s}"] for s in vocab.BILAG_SYSTEMS]


class DamageForm(AnswerEachForm):
    duplicate_message = "There is already a damage index on this date; edit that one instead."
    rest_value = "0"
    item_noun = "damage item"
    answer_hint = "(No, or how often it occurred)"
    rest_action = "Mark the rest No"

    class Meta:
        model = DamageIndex
        fields = ["date"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        items = self.instance.items or {}
        recorded = self.instance.pk is not None
        for code, item in vocab.SDI_ITEMS.items():
            choices = [(0, "No"), (1, "Yes")] if item.max_count == 1 else [(0, "No"), (1, "Once"), (2, "Twice or more")]
            # a new damage index starts with every item unanswered ("No" is a finding too); an edit shows the record
            self.fields[f"sdi_{code}"] = forms.TypedChoiceField(
                label=f"{item.label} ({item.points})",
                choices=[("", "— answer —"), *choices],
                coerce=int,
                initial=items.get(code, 0) if recorded else "",
                error_messages={"required": "Answer No or Yes."},
            )
        self.order_fields([f for f in self.fields if f != "reason"] + ["reason"])

    def item_names(self) -> list[str]:
        return [f"sdi_{c}" for c in vocab.SDI_ITEMS]

    def item_label(self, name: str) -> str:
        return vocab.SDI_ITEMS[name.removeprefix("sdi_")].label

    def save(self, commit: bool = True) -> DamageIndex:
        record = super().save(commit=False)
        record.items = {c: n for c in vocab.SDI_ITEMS if (n := self.cleaned_data.get(f"sdi_{c}") or 0)}
        if commit:
            record.save()
        return record

    def item_fields(self) -> list[Any]:
        return [self[f"sdi_{c}"] for c in vocab.SDI_ITEMS]


class ManifestationForm(RecordForm):
    unique_together = ("code", "date")
    duplicate_message = "This manifestation is already recorded on this date."
    # not a tick box: an unticked box would record "not active" for a manifestation nobody judged
    active = forms.TypedChoiceField(
        label="Active on this date",
        choices=[("True", "Active"), ("False", "Not active")],
        coerce=lambda value: value == "True",
        widget=forms.RadioSelect,
        error_messages={"required": "Say whether the manifestation was active on this date."},
    )

    class Meta:
        model = Manifestation
        fields = ["code", "date", "active", "biopsy_class"]
        labels = {"code": "Manifestation"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is None:
            self.initial.pop("active", None)  # the model's default is not an answer

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("biopsy_class") and data.get("code") != "lupus_nephritis":
            self.add_error("biopsy_class", "A biopsy class is only recorded for lupus nephritis.")
        return data


def units_of(code: str) -> list[str]:
    """The units a lab or test may be entered in: its own unit first, then those converted to it."""
    obs = vocab.OBSERVATIONS.get(code)
    return [] if obs is None else [obs.unit, *scoring.ALTERNATIVE_UNITS.get(code, {})]


class ObservationForm(RecordForm):
    unique_together = ("code", "date")
    duplicate_message = "This lab is already recorded on this date; edit that result instead."
    unit = forms.ChoiceField(label="Unit of the value entered", choices=())
    add_egfr = forms.BooleanField(
        label="Also record the eGFR computed from this creatinine (CKD-EPI 2021)",
        required=False,
    )

    class Meta:
        model = Observation
        fields = ["code", "date", "value", "unit", "uln"]
        labels = {"code": "Lab or test", "uln": "Upper limit of normal (same unit)"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # No unit is offered as a default: a unit picked for the reader would state how the value was measured.
        units: list[tuple[str, str]] = [("", "Choose the unit…")]
        for code in vocab.OBSERVATIONS:
            for unit in units_of(code):
                if (unit, unit) not in units:
                    units.append((unit, unit))
        self.fields["unit"].choices = units
        # the units each test accepts, for the page to offer only those (the server checks again)
        self.fields["code"].widget.attrs["data-units"] = json.dumps(
            {code: units_of(code) for code in vocab.OBSERVATIONS}
        )
        if self.instance.pk:
            self.fields["unit"].initial = self.instance.unit
        self.fields["value"].widget.attrs["step"] = "any"
        self.fields["uln"].widget.attrs["step"] = "any"
        self.order_fields(["code", "date", "value", "unit", "uln", "add_egfr", "reason"])

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        code, value, unit = data.get("code"), data.get("value"), data.get("unit")
        if code is None or value is None or unit is None:
            return data
        try:
            canonical = scoring.to_canonical(code, value, unit)
            uln = data.get("uln")
            if uln is not None:
                data["uln"] = scoring.to_canonical(code, uln, unit)
        except ValueError:
            label = vocab.OBSERVATIONS[code].label if code in vocab.OBSERVATIONS else code
            self.add_error("unit", f"{unit} is not a unit of {label}: use {' or '.join(units_of(code))}.")
            return data
        if problem := plausibility.observation_value(code, canonical):
            self.add_error("value", f"{problem}.")
        if data.get("uln") is not None and (problem := plausibility.observation_uln(code, data["uln"])):
            self.add_error("uln", f"The upper limit of normal {problem}.")
        data["value"] = canonical
        if data.get("add_egfr") and code != "creatinine":
            self.add_error("add_egfr", "eGFR can only be computed from a creatinine result.")
        elif data.get("add_egfr") and (self.patient.birth_date is None or self.patient.sex is None):
            self.add_error("add_egfr", "Record the patient's birth date and sex first: CKD-EPI 2021 needs age and sex.")
        return data

    def save(self, commit: bool = True) -> Observation:
        record = super().save(commit=False)
        record.value = self.cleaned_data["value"]
        record.uln = self.cleaned_data.get("uln")
        if commit:
            record.save()
        return record


class TreatmentForm(ReasonForm, VersionedForm):
    class Meta:
        model = TreatmentCourse
        fields = ["drug", "start", "end", "dose", "dose_unit", "stop_reason"]
        labels = {"stop_reason": "Why it stopped", "dose": "Dose", "dose_unit": "Dose unit"}

    def __init__(self, *args: Any, patient: Patient, drugs: dict[str, dict[str, Any]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.patient = patient
        self.instance.patient = patient
        if self.instance.pk and self.instance.drug not in drugs:
            # a drug taken out of the catalogue since: its courses can still be corrected or ended
            drugs = {
                **drugs,
                self.instance.drug: {"class": "no longer in the catalogue", "dose_unit": self.instance.dose_unit},
            }
        self.drugs = drugs
        self.fields["drug"] = forms.ChoiceField(
            label="Drug",
            choices=[("", "— choose —")]
            + [(code, f"{code.replace('_', ' ')} ({d['class']}, {d['dose_unit']})") for code, d in drugs.items()],
            widget=forms.Select(
                attrs={
                    "autofocus": True,
                    # lets static/js/treatment.js pick the drug's unit; the server still checks it
                    "data-units": json.dumps({code: d["dose_unit"] for code, d in drugs.items()}),
                }
            ),
        )
        units = sorted({d["dose_unit"] for d in drugs.values()})
        self.fields["dose_unit"] = forms.ChoiceField(label="Dose unit", choices=[(u, u) for u in units])
        self.fields["dose"].widget.attrs.update(step="any", min=0)
        self.fields["stop_reason"].help_text = "Only for a course that has ended."

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        drug, start, end = data.get("drug"), data.get("start"), data.get("end")
        not_in_future_field(self, "start", start, "The start date", born=self.patient.birth_date)
        not_in_future_field(self, "end", end, "The end date", born=self.patient.birth_date)
        if start and end and end < start:
            self.add_error(
                "end",
                f"The course cannot end ({dates.show_date(end)}) before it starts ({dates.show_date(start)}).",
            )
        if data.get("stop_reason") and not end:
            self.add_error("stop_reason", "A stop reason needs an end date; leave it empty for an ongoing course.")
        if data.get("dose") is not None and data["dose"] < 0:
            self.add_error("dose", "The dose cannot be negative.")
        elif data.get("dose") is not None and (problem := plausibility.dose(data["dose"])):
            self.add_error("dose", f"The dose {problem} (in the drug's unit).")
        if drug and drug in self.drugs and data.get("dose_unit") and data["dose_unit"] != self.drugs[drug]["dose_unit"]:
            self.add_error(
                "dose_unit",
                f"{drug.replace('_', ' ').capitalize()} is dosed in {self.drugs[drug]['dose_unit']}, "
                f"not {data['dose_unit']}; convert the dose to {self.drugs[drug]['dose_unit']}.",
            )
        if drug and start:
            clash = TreatmentCourse.objects.filter(patient=self.patient, drug=drug, start=start)
            if self.instance.pk:
                clash = clash.exclude(pk=self.instance.pk)
            if clash.exists():
                self.add_error("start", "A course of this drug starting on this date is already recorded.")
        return data


def not_in_future_field(form: forms.Form, field: str, value: date | None, what: str, *, born: date | None) -> None:
    try:
        not_in_future(value, what, born=born)
    except forms.ValidationError as err:
        form.add_error(field, err)


class ConditionForm(RecordForm):
    unique_together = ("code", "date")
    duplicate_message = "This status is already recorded for this date; edit that entry instead."

    class Meta:
        model = Condition
        fields = ["code", "status", "date"]
        widgets = {"status": forms.RadioSelect}
        labels = {"code": "Work-up item", "date": "Date observed (for an event: its date)"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # present or absent, none chosen on a new entry (no "---------" radio that reads as an answer)
        self.fields["status"].choices = [("present", "Present"), ("absent", "Absent")]
        self.fields["status"].error_messages["required"] = "Choose present or absent."


class DeleteForm(forms.Form):
    version = VersionField()
    reason = forms.CharField(
        label="Why is this record being deleted?",
        max_length=500,
        widget=forms.TextInput(attrs={"autofocus": True}),
        help_text="Required: kept in the patient's history with your name.",
    )


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        files = data if isinstance(data, (list, tuple)) else [data]
        return [super(MultipleFileField, self).clean(f, initial) for f in files]


class CaseUploadForm(forms.Form):
    site = forms.ModelChoiceField(
        queryset=None, empty_label=None, help_text="Patients are created or updated in this site."
    )
    files = MultipleFileField(
        label="Case files (.json)",
        widget=MultipleFileInput(attrs={"accept": ".json,application/json"}),
        help_text="All files are checked first; if any is wrong, nothing is imported.",
    )

    def __init__(self, *args: Any, sites: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["site"].queryset = sites

    def clean_files(self) -> list[Any]:
        """At most limits.CASE_FILES_PER_UPLOAD files, each at most limits.CASE_FILE_BYTES (checked before reading)."""
        files = self.cleaned_data["files"]
        if len(files) > limits.CASE_FILES_PER_UPLOAD:
            raise forms.ValidationError(
                f"{len(files)} files at once; import at most {limits.CASE_FILES_PER_UPLOAD} at a time."
            )
        for upload in files:
            if upload.size > limits.CASE_FILE_BYTES:
                raise forms.ValidationError(
                    f"{upload.name} is too large ({limits.megabytes(upload.size)}); "
                    f"a case file is at most {limits.megabytes(limits.CASE_FILE_BYTES)}."
                )
        return files
