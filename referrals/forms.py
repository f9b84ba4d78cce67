"""Forms of the referral page: one per action. They validate and normalise; services act."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms

from accounts import dates
from accounts.locking import VersionField
from accounts.models import User
from clinical import plausibility
from referrals.models import NotReferredReason, ReferralState
from referrals.workflow import ACTING_ROLES

S = ReferralState

# The fields each target state asks for, besides the hidden version.
TARGET_FIELDS: dict[str, tuple[str, ...]] = {
    S.IN_REVIEW: ("reason",),
    S.REFERRED: ("centre", "referred_on", "reason"),
    S.NOT_REFERRED: ("not_referred_reason", "reason"),
    S.DEFERRED: ("review_on", "reason"),
    S.NEEDS_DATA: ("data_needed", "reason"),
}
REASON_LABELS: dict[str, tuple[str, bool]] = {
    S.IN_REVIEW: ("Note (optional)", False),
    S.REFERRED: ("Note (optional)", False),
    S.NOT_REFERRED: ("Note explaining the decision", True),
    S.DEFERRED: ("Why defer", True),
    S.NEEDS_DATA: ("Note (optional)", False),
}


class TransitionForm(forms.Form):
    """Move the referral to ``target``; only that target's fields are shown and required.

    Dates follow ``clinical.plausibility``: the day the referral was sent lies between the day it was
    opened (``opened``) and today; a review date lies after today and within five years.
    """

    version = VersionField()
    centre = forms.CharField(label="Evaluating centre", max_length=200)
    referred_on = forms.DateField(
        label="Date the referral was sent",
    )
    not_referred_reason = forms.ChoiceField(label="Reason", choices=[("", "Choose…"), *NotReferredReason.choices])
    review_on = forms.DateField(
        label="Review again on",
    )
    data_needed = forms.CharField(label="Data needed", widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=4000)

    def __init__(self, *args: Any, target: str, today: date, opened: date, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", target)
        super().__init__(*args, **kwargs)
        self.target = target
        self.today = today
        self.opened = opened
        keep = TARGET_FIELDS.get(target, ())
        for name in list(self.fields):
            if name != "version" and name not in keep:
                del self.fields[name]
        if "reason" in self.fields:
            label, required = REASON_LABELS[target]
            self.fields["reason"].label, self.fields["reason"].required = label, required
        if "referred_on" in self.fields:
            self.fields["referred_on"].initial = today
        dates.clinic_dates(self)

    def clean_referred_on(self) -> date:
        value = self.cleaned_data["referred_on"]
        problem = plausibility.referral_sent(value, opened=self.opened, today=self.today)
        if problem:
            raise forms.ValidationError(dates.in_text(f"The date the referral was sent {problem}."))
        return value

    def clean_review_on(self) -> date:
        value = self.cleaned_data["review_on"]
        problem = plausibility.review_date(value, today=self.today)
        if problem:
            raise forms.ValidationError(dates.in_text(f"The review date {problem}."))
        return value

    def decision(self) -> dict[str, Any]:
        """Keyword arguments for ``transition_referral``."""
        data = self.cleaned_data
        return {
            "to_state": self.target,
            "seen_version": data.get("version"),
            "reason": data.get("reason", ""),
            "centre": data.get("centre", ""),
            "referred_on": data.get("referred_on"),
            "not_referred_reason": data.get("not_referred_reason", ""),
            "review_on": data.get("review_on"),
            "data_needed": data.get("data_needed", ""),
        }


class AssignForm(forms.Form):
    version = VersionField()
    assignee = forms.ModelChoiceField(
        queryset=User.objects.none(), required=False, label="Assign to", empty_label="Nobody"
    )

    def __init__(self, *args: Any, site_id: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = User.objects.filter(
            sites=site_id, role__in=ACTING_ROLES, is_active=True
        ).order_by("username")


class NoteForm(forms.Form):
    text = forms.CharField(label="Note", widget=forms.Textarea(attrs={"rows": 3}), max_length=4000)
