"""Forms of rules administration: they validate and normalise, never act.

The parameter form of each criterion type is generated from the engine's
catalogue (``CRITERION_TYPES``: each parameter's label, kind, unit, range,
vocabulary and the value offered, declared once on the type's params class),
so a new type needs no new form. Every error names its field in plain words
("Oldest age (max_years): must be at most 150 years.").
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from crispy_forms.bootstrap import AppendedText
from crispy_forms.helper import FormHelper
from crispy_forms.layout import Layout
from django import forms

from clinical import limits, vocab
from clinical.safejson import JsonRefused, load_json
from screening.editing import DRUG_THRESHOLDS
from screening.engine import CRITERION_TYPES, CriterionType, ParamSpec
from screening.engine.criterion_types import AGENT_VOCABULARY, UNSET, VOCABULARIES
from screening.testcases import OUTCOMES

SHORT_UNIT = 20  # longer units go in the help text rather than beside the input
OP_CHOICES = [("all", "all of these hold"), ("any", "at least one of these holds")]
SEVERITY_CHOICES = [("contraindication", "contraindication"), ("caution", "caution"), ("", "not applicable")]
OUTCOME_CHOICES = list(OUTCOMES.items())


def _vocabulary(spec: ParamSpec, agents: list[str]) -> list[tuple[str, str]]:
    if spec.vocabulary == AGENT_VOCABULARY:
        return [(a, a.replace("_", " ")) for a in agents]
    if spec.vocabulary == "observation":
        return [(code, f"{o.label} ({o.unit})") for code, o in vocab.OBSERVATIONS.items()]
    return list(VOCABULARIES[spec.vocabulary or ""].labels.items())


def field_label(spec: ParamSpec) -> str:
    return f"{spec.label} ({spec.name})"


def name_errors(field: forms.Field, label: str, unit: str | None = None) -> forms.Field:
    """Error messages that start with the field's name, so each one says where it belongs."""
    unit_text = f" {unit}" if unit and len(unit) <= SHORT_UNIT else ""
    field.error_messages.update(
        {
            "required": f"{label}: enter a value.",
            "invalid": f"{label}: enter a number."
            if isinstance(field, (forms.IntegerField, forms.DecimalField))
            else f"{label}: this value is not valid.",
            "min_value": f"{label}: must be at least %(limit_value)s{unit_text}.",
            "max_value": f"{label}: must be at most %(limit_value)s{unit_text}.",
            "invalid_choice": f"{label}: %(value)s is not one of the choices.",
            "invalid_list": f"{label}: choose from the list.",
            "max_digits": f"{label}: use at most %(max)s digits.",
            "max_decimal_places": f"{label}: use at most %(max)s decimal places.",
            "max_whole_digits": f"{label}: use at most %(max)s digits before the decimal point.",
        }
    )
    if isinstance(field, forms.IntegerField) and not isinstance(field, forms.DecimalField):
        field.error_messages["invalid"] = f"{label}: enter a whole number."
    return field


def param_field(spec: ParamSpec, agents: list[str]) -> forms.Field:
    """The form field of one parameter: its kind, range, vocabulary, unit and help from the catalogue."""
    label = field_label(spec)
    help_text = spec.help[0].upper() + spec.help[1:] + "."
    if spec.unit and len(spec.unit) > SHORT_UNIT:
        help_text += f" Unit: {spec.unit}."
    if spec.nullable and spec.null_means and spec.kind in ("integer", "number"):
        help_text += f" Leave empty for {spec.null_means}."
    required = not spec.nullable
    field: forms.Field
    if spec.kind == "integer":
        field = forms.IntegerField(min_value=spec.minimum, max_value=spec.maximum, required=required)
    elif spec.kind == "number":
        field = forms.DecimalField(
            min_value=spec.minimum, max_value=spec.maximum, required=required, max_digits=12, decimal_places=4
        )
    elif spec.kind == "boolean":
        field = forms.BooleanField(required=False)
    elif spec.kind == "choice":
        choices = [(c, c) for c in spec.choices]
        if spec.nullable:
            choices.insert(0, ("", spec.null_means or "none"))
        field = forms.ChoiceField(choices=choices, required=required)
    elif spec.kind == "code":
        field = forms.ChoiceField(choices=_vocabulary(spec, agents))
    else:
        field = forms.MultipleChoiceField(
            choices=_vocabulary(spec, agents), widget=forms.CheckboxSelectMultiple, required=not spec.allow_empty
        )
        if not spec.allow_empty:
            field.error_messages["required"] = f"{label}: choose at least one."
    field.label, field.help_text = label, help_text
    return name_errors(field, label, spec.unit) if spec.kind != "codes" else _codes_errors(field, label)


def _codes_errors(field: forms.Field, label: str) -> forms.Field:
    field.error_messages.update(
        {
            "invalid_choice": f"{label}: %(value)s is not one of the choices.",
            "invalid_list": f"{label}: choose from the list.",
        }
    )
    return field


def to_file_value(spec: ParamSpec, value: Any) -> Any:
    """A cleaned form value as the rule-set file holds it."""
    if value is None or value == "":
        return None if spec.nullable or spec.kind != "codes" else []
    if spec.kind == "number":
        number = Decimal(value).normalize()
        return int(number) if number == number.to_integral_value() else float(number)
    if spec.kind == "codes":
        return list(value)
    return value


def to_form_value(spec: ParamSpec, value: Any) -> Any:
    if value is None:
        return ""
    return value


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label="Why",
        max_length=limits.REASON,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Why you make this change (the evidence, a source key, a request). Kept in the audit trail.",
        error_messages={"required": "Why: say why you make this change."},
    )


class CriterionForm(ReasonForm):
    """Parameters of one criterion, generated from its type's catalogue entry."""

    source = forms.CharField(
        label="Source",
        required=False,
        max_length=limits.SOURCE,
        help_text="Source keys from the clinical reference, e.g. S30.",
    )

    def __init__(
        self,
        *args: Any,
        ctype: CriterionType,
        agents: list[str],
        params: dict[str, Any] | None = None,
        new: bool = False,
        **kwargs: Any,
    ) -> None:
        initial = kwargs.setdefault("initial", {})
        for spec in ctype.params:
            if params is not None:
                # a parameter the file leaves out (ln_unconfirmed before 2026.2) shows what the file reads
                absent = None if spec.if_absent is UNSET else spec.if_absent
                initial.setdefault(spec.name, to_form_value(spec, params.get(spec.name, absent)))
            elif spec.has_default:
                initial.setdefault(spec.name, to_form_value(spec, spec.default))
        super().__init__(*args, **kwargs)
        self.ctype = ctype
        fields: dict[str, forms.Field] = {}
        if new:
            fields["node_id"] = name_errors(
                forms.CharField(
                    label="Criterion id",
                    max_length=limits.NODE_ID,
                    help_text="Unique in the rule set; results name the criterion by it, e.g. hsct.recent_activity.",
                ),
                "Criterion id",
            )
        for spec in ctype.params:
            fields[spec.name] = param_field(spec, agents)
        self.fields = {**fields, "source": self.fields["source"], "reason": self.fields["reason"]}
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True  # the page's own <form> carries the token
        units = {
            s.name: s.unit
            for s in ctype.params
            if s.unit and len(s.unit) <= SHORT_UNIT and s.kind in ("integer", "number")
        }
        self.helper.layout = Layout(*[AppendedText(n, units[n]) if n in units else n for n in self.fields])

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        for spec in self.ctype.params:
            if spec.at_least is None:
                continue
            low, high = data.get(spec.at_least), data.get(spec.name)
            if low is not None and high is not None and high < low:
                lower = next(s for s in self.ctype.params if s.name == spec.at_least)
                self.add_error(spec.name, f"{field_label(spec)}: must be at least the {lower.label.lower()} ({low}).")
        return data

    @property
    def params(self) -> dict[str, Any]:
        return {spec.name: to_file_value(spec, self.cleaned_data.get(spec.name)) for spec in self.ctype.params}


class CriterionTypeForm(forms.Form):
    type = forms.ChoiceField(
        label="Criterion type",
        choices=[(t.name, f"{t.label}: {t.met_when}") for t in CRITERION_TYPES.values()],
        widget=forms.RadioSelect,
        error_messages={"required": "Criterion type: choose one."},
    )


class GroupOpForm(ReasonForm):
    op = forms.ChoiceField(
        label="The group holds when",
        choices=OP_CHOICES,
        widget=forms.RadioSelect,
        error_messages={"required": "The group holds when: choose all or any."},
    )
    field_order = ["op", "reason"]


class SeverityForm(ReasonForm):
    def __init__(self, *args: Any, pathways: list[dict[str, Any]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for pathway in pathways:
            label = f"Severity for {pathway['id'].upper()}"
            self.fields[f"severity_{pathway['id']}"] = name_errors(
                forms.ChoiceField(
                    label=label,
                    choices=SEVERITY_CHOICES,
                    required=False,
                    help_text=f"Shown beside the {pathway['label']} result; not applicable = not listed for it.",
                ),
                label,
            )
        self.order_fields([f for f in self.fields if f != "reason"] + ["reason"])
        self.pathway_ids = [p["id"] for p in pathways]

    @property
    def severity(self) -> dict[str, str | None]:
        return {pid: self.cleaned_data.get(f"severity_{pid}") or None for pid in self.pathway_ids}


class DrugThresholdForm(ReasonForm):
    min_days = forms.IntegerField(
        label="Minimum days",
        min_value=0,
        max_value=limits.MAX_WINDOW_DAYS,
        required=False,
        help_text="Days the course must cover to be an adequate trial; empty = 0.",
    )
    min_dose = forms.DecimalField(
        label="Minimum dose",
        min_value=0,
        max_value=limits.DOSE_MAX,
        required=False,
        max_digits=12,
        decimal_places=4,
    )
    min_dose_per_kg = forms.DecimalField(
        label="Minimum dose per kg",
        min_value=0,
        max_value=1000,
        required=False,
        max_digits=12,
        decimal_places=4,
        help_text="Needs the patient's weight; empty = none.",
    )
    field_order = [*DRUG_THRESHOLDS, "reason"]

    def __init__(self, *args: Any, drug: dict[str, Any], **kwargs: Any) -> None:
        kwargs.setdefault("initial", {k: drug[k] for k in DRUG_THRESHOLDS})
        super().__init__(*args, **kwargs)
        units = {"min_days": "days", "min_dose": drug["dose_unit"], "min_dose_per_kg": "mg/kg/day"}
        for name, unit in units.items():
            name_errors(self.fields[name], f"{self.fields[name].label} ({name})", unit)
            self.fields[name].label = f"{self.fields[name].label} ({name})"
        self.fields["min_dose"].help_text = f"In the drug's unit, {drug['dose_unit']}; empty = none."
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True  # the page's own <form> carries the token
        self.helper.layout = Layout(*[AppendedText(n, u) for n, u in units.items()], "reason")

    @property
    def values(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key in DRUG_THRESHOLDS:
            value = self.cleaned_data.get(key)
            if isinstance(value, Decimal):
                value = value.normalize()
                value = int(value) if value == value.to_integral_value() else float(value)
            out[key] = value
        return out


class DraftForm(ReasonForm):
    version = forms.CharField(
        label="Version of the new draft",
        max_length=limits.RULE_SET_VERSION,
        error_messages={"required": "Version: give the draft a version, e.g. 2026.2."},
    )
    name = forms.CharField(
        label="Name", max_length=limits.RULE_SET_NAME, required=False, help_text="Leave empty to keep the name."
    )
    field_order = ["version", "name", "reason"]


class RollbackForm(ReasonForm):
    version = forms.CharField(
        label="Version to publish it as",
        max_length=limits.RULE_SET_VERSION,
        error_messages={"required": "Version: give the new version a name."},
    )
    field_order = ["version", "reason"]


class SignOffForm(forms.Form):
    note = forms.CharField(
        label="Review note",
        required=False,
        max_length=limits.REASON,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="What you checked (the changes, the test cases, the impact preview).",
    )


class PublishForm(forms.Form):
    change_note = forms.CharField(
        label="Change note",
        max_length=limits.REASON,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What changes and why; shown with the version to everyone who reads the rules.",
        error_messages={"required": "Change note: say what changes and why."},
    )


def _json_file(upload: Any, label: str, max_bytes: int) -> Any:
    """An uploaded JSON file, read within its size and nesting limits (checked before reading it whole)."""
    if upload.size > max_bytes:
        raise forms.ValidationError(
            f"{label}: the file is too large ({limits.megabytes(upload.size)}; at most {limits.megabytes(max_bytes)})."
        )
    try:
        return load_json(upload.read(), max_bytes=max_bytes)
    except JsonRefused as err:
        raise forms.ValidationError(f"{label}: not a JSON file this app can read: it {err.message}.") from err


class ImportForm(forms.Form):
    file = forms.FileField(
        label="Rule-set file",
        help_text="A sle-screening-rules/1 JSON file; stored as a draft.",
        error_messages={"required": "Rule-set file: choose a file."},
    )
    note = forms.CharField(
        label="Why",
        max_length=limits.REASON,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "Why: say where the file comes from and why."},
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > limits.RULES_FILE_BYTES:
            raise forms.ValidationError(
                f"Rule-set file: the file is too large ({limits.megabytes(upload.size)}; "
                f"at most {limits.megabytes(limits.RULES_FILE_BYTES)})."
            )
        return upload


class ExpectationForm(ReasonForm):
    """Expected outcome per pathway of a test case."""

    def __init__(self, *args: Any, pathways: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for pid in pathways:
            label = f"Expected for {pid.upper()}"
            self.fields[f"expected_{pid}"] = name_errors(forms.ChoiceField(label=label, choices=OUTCOME_CHOICES), label)
        self.order_fields([f for f in self.fields if f != "reason"] + ["reason"])
        self.pathway_ids = pathways

    @property
    def expected(self) -> dict[str, str]:
        return {pid: self.cleaned_data[f"expected_{pid}"] for pid in self.pathway_ids}


class TestCaseForm(ExpectationForm):
    __test__ = False  # not a pytest class

    file = forms.FileField(
        label="Case file",
        help_text="A sle-screening-case/1 JSON file with a fixed as_of date.",
        error_messages={"required": "Case file: choose a file."},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reason"].label = "What the case is for"
        self.fields["reason"].help_text = "e.g. the age limit of HSCT; kept with the case."
        self.fields["reason"].error_messages["required"] = "What the case is for: describe the case."
        self.order_fields(["file"])

    def clean_file(self) -> dict[str, Any]:
        data = _json_file(self.cleaned_data["file"], "Case file", limits.CASE_FILE_BYTES)
        if not isinstance(data, dict):
            kind = "a list" if isinstance(data, list) else "null" if data is None else "a single value"
            raise forms.ValidationError(f"Case file: must be a JSON object holding one case, not {kind}.")
        return data


class CompareForm(forms.Form):
    a = forms.ChoiceField(label="Version A")
    b = forms.ChoiceField(label="Version B")

    def __init__(self, *args: Any, versions: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("a", "b"):
            self.fields[name].choices = [(v, v) for v in versions]
            name_errors(self.fields[name], self.fields[name].label)
