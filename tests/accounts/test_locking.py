"""The optimistic-locking helper (accounts.locking) on its own."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django import forms
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext

from accounts.locking import Conflict, VersionField, bump, claim, history_changes, keep_input, show
from patients.models import Observation, Patient
from tests.patients.factories import ObservationFactory


def saved(observation: Observation, user, value: str, reason: str) -> None:
    """A change as the services make it: new version, audit user and reason, one history row."""
    observation.version += 1
    observation.value = Decimal(value)
    observation._history_user = user
    observation._change_reason = reason
    observation.save()


@pytest.mark.django_db
def test_a_claim_at_the_version_seen_bumps_it_in_one_update(patient) -> None:
    obs = ObservationFactory(patient=patient, code="c3", value=80)
    with CaptureQueriesContext(connection) as ctx:
        assert claim(Observation, pk=obs.pk, seen=1) == 2
    assert len(ctx.captured_queries) == 1
    sql = ctx.captured_queries[0]["sql"].upper()
    assert sql.startswith("UPDATE") and "WHERE" in sql and '"VERSION" = 1' in sql.split("WHERE")[1]
    assert Observation.objects.get(pk=obs.pk).version == 2
    assert claim(Observation.objects.filter(patient=patient), pk=obs.pk, seen=2) == 3  # a queryset works too


@pytest.mark.django_db
def test_a_claim_also_sets_the_given_columns(patient) -> None:
    claim(Patient, pk=patient.pk, seen=1, weight_kg=Decimal("70"))
    patient.refresh_from_db()
    assert (patient.version, patient.weight_kg) == (2, Decimal("70"))


@pytest.mark.django_db
def test_a_stale_version_is_a_conflict_listing_who_when_which_fields_and_the_values_now(patient, specialist) -> None:
    obs = ObservationFactory(patient=patient, code="c3", value=80)
    saved(obs, specialist, "72", "repeat sample")
    saved(obs, None, "70", "")
    with pytest.raises(Conflict) as err:
        claim(Observation, pk=obs.pk, seen=1)
    conflict = err.value
    assert not conflict.missing and not conflict.deleted and conflict.version_now == 3
    assert conflict.message == "Someone else changed this observation after you opened it; nothing was saved."
    assert conflict.title == "This observation changed since you opened it"
    assert [(c.who, c.action, c.reason) for c in conflict.changes] == [
        ("spec_a", "changed", "repeat sample"),
        ("Candidacy (automatic)", "changed", ""),
    ]
    assert [(f.label, f.before, f.after) for f in conflict.changes[0].fields] == [("Value", "80", "72")]
    assert conflict.changes[0].at <= conflict.changes[1].at
    assert conflict.current == [("Value", "70")]
    assert Observation.objects.get(pk=obs.pk).version == 3  # the refused claim changed nothing


@pytest.mark.django_db
def test_a_missing_version_is_refused_never_skipped(patient) -> None:
    obs = ObservationFactory(patient=patient, code="c3", value=80, date=date(2026, 1, 2))
    with pytest.raises(Conflict) as err:
        claim(Observation, pk=obs.pk, seen=None)
    conflict = err.value
    assert conflict.missing and conflict.version_now == 1 and conflict.changes == []
    assert "did not say which version" in conflict.message
    assert ("Value", "80") in conflict.current and ("Date", "02 Jan 2026") in conflict.current  # every field now
    assert Observation.objects.get(pk=obs.pk).version == 1


@pytest.mark.django_db
def test_a_row_deleted_since_is_a_conflict_saying_so(patient, specialist) -> None:
    obs = ObservationFactory(patient=patient, code="c3", value=80)
    pk, obs.version = obs.pk, 2
    obs._history_user = specialist
    obs._change_reason = "wrong patient"
    obs.delete()
    with pytest.raises(Conflict) as err:
        claim(Observation, pk=pk, seen=1)
    assert err.value.deleted and err.value.version_now is None and err.value.current == []
    assert [(c.who, c.action, c.reason) for c in err.value.changes] == [("spec_a", "deleted", "wrong patient")]
    assert "deleted" in err.value.message and "was deleted" in err.value.title


@pytest.mark.django_db
def test_an_event_table_can_list_the_changes_instead_of_the_history(patient) -> None:
    obs = ObservationFactory(patient=patient)
    bump(Observation, pk=obs.pk)
    asked = []

    def events(pk, since):
        asked.append((pk, since))
        return ["event after 1"]

    with pytest.raises(Conflict) as err:
        claim(Observation, pk=obs.pk, seen=1, what="lab", events=events)
    assert asked == [(obs.pk, 1)] and err.value.changes == ["event after 1"] and err.value.current == []
    assert err.value.message.startswith("Someone else changed this lab")


@pytest.mark.django_db
def test_bump_needs_no_version_and_says_whether_the_row_exists(patient) -> None:
    obs = ObservationFactory(patient=patient)
    assert bump(Observation, pk=obs.pk) and Observation.objects.get(pk=obs.pk).version == 2
    assert not bump(Observation, pk=obs.pk + 1000)


@pytest.mark.django_db
def test_history_changes_of_a_row_never_changed_are_empty(patient) -> None:
    obs = ObservationFactory(patient=patient)
    assert history_changes(Observation, obs.pk, since=1) == ([], [])


def test_values_are_shown_in_words() -> None:
    field = Observation._meta.get_field("code")
    assert show(field, "c3") == "Complement C3"
    assert show(Patient._meta.get_field("sle_attested"), True) == "yes"
    assert show(Patient._meta.get_field("eular_criteria"), []) == "none"
    assert show(Patient._meta.get_field("eular_criteria"), None) == "—"
    assert show(Patient._meta.get_field("eular_criteria"), ["joint_involvement"]) == "Joint involvement"  # labelled
    assert show(Observation._meta.get_field("value"), Decimal("1.5000")) == "1.5"


class Versioned(forms.Form):
    version = VersionField()
    note = forms.CharField()


@pytest.mark.parametrize(
    "posted,cleaned",
    [({"version": "3"}, 3), ({}, None), ({"version": ""}, None), ({"version": "x"}, None), ({"version": "0"}, None)],
)
def test_the_version_field_never_fails_a_form_it_hands_none_to_the_service(posted, cleaned) -> None:
    form = Versioned({"note": "n", **posted})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["version"] == cleaned
    assert 'type="hidden"' in str(form["version"])


def test_keep_input_keeps_what_was_typed_with_the_version_now() -> None:
    form = Versioned(QueryDict("p-note=typed&p-version=2"), prefix="p")
    assert form.is_valid()
    conflict = Conflict("changed", what="x", seen=2, version_now=5)
    assert keep_input(form, conflict) is conflict
    assert 'value="5"' in str(form["version"]) and 'value="typed"' in str(form["note"])
    gone = Versioned(QueryDict("p-note=typed&p-version=2"), prefix="p")
    keep_input(gone, Conflict("deleted", what="x", seen=2, version_now=None))
    assert gone.data["p-version"] == ""
