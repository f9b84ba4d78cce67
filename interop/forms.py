from __future__ import annotations

from typing import Any

from django import forms

from clinical import limits
from interop.fhir_in import BUNDLE_BYTES


class BundleUploadForm(forms.Form):
    site = forms.ModelChoiceField(
        queryset=None, empty_label=None, help_text="The patient is created or updated in this site."
    )
    file = forms.FileField(
        label="FHIR R4 Bundle (.json)",
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": ".json,application/json,application/fhir+json"}),
        help_text="One patient's Bundle. You will see what would change before anything is imported.",
    )
    # the confirm step: the same bundle again (checked against the preview's digest), and the acknowledgement
    bundle = forms.CharField(required=False, widget=forms.HiddenInput, max_length=BUNDLE_BYTES)
    digest = forms.CharField(required=False, widget=forms.HiddenInput, max_length=64)
    accept_unmapped = forms.BooleanField(
        required=False, label="Import without the entries listed as not imported", widget=forms.CheckboxInput
    )

    def __init__(self, *args: Any, sites: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["site"].queryset = sites

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        upload = data.get("file")
        if upload is None and not data.get("bundle"):
            self.add_error("file", "Choose a FHIR Bundle file.")
        if upload is not None and upload.size > BUNDLE_BYTES:
            self.add_error(
                "file",
                f"{upload.name} is too large ({limits.megabytes(upload.size)}); at most {limits.megabytes(BUNDLE_BYTES)}.",
            )
        return data
