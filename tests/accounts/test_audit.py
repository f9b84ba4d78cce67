"""The audit trail names people as they were when they acted: a later rename does not rewrite the past."""

from __future__ import annotations

import importlib
from datetime import timedelta
from decimal import Decimal

import pytest
from django.apps import apps
from django.urls import reverse

from accounts.audit import SYSTEM, NamedActor, NamedHistory
from accounts.locking import Conflict
from accounts.models import Role
from patients import services
from patients.models import Observation
from referrals.models import ReferralEvent
from referrals.models import ReferralState as S
from referrals.services import add_note
from screening import rulesets
from screening.models import RuleSet, RuleSetEvent, ScreeningResult, Trigger
from tests.clock import TODAY
from tests.conftest import client_for, make_user
from tests.patients.factories import ObservationFactory
from tests.referrals.factories import make_referral

DAY = TODAY - timedelta(days=20)


def rename(user, first: str, last: str, username: str | None = None) -> None:
    user.first_name, user.last_name = first, last
    if username:
        user.username = username
    user.save()


@pytest.fixture
def named(site_a):
    """A specialist with a full name (Dr Ada Lovelace, username ada)."""
    user = make_user("ada", Role.SPECIALIST, site_a)
    rename(user, "Ada", "Lovelace")
    return user


def test_every_history_model_keeps_the_actors_name() -> None:
    ours = {"accounts", "patients", "screening", "referrals", "clinic"}
    history = [m for m in apps.get_models() if m._meta.app_label in ours and m.__name__.startswith("Historical")]
    assert len(history) == 10  # the patient, six record kinds, referrals, rule sets, test cases
    assert [m.__name__ for m in history if not issubclass(m, NamedHistory)] == []


def test_every_event_and_result_table_keeps_the_actors_name() -> None:
    for model in (ReferralEvent, RuleSetEvent, ScreeningResult):
        assert issubclass(model, NamedActor), model


@pytest.mark.django_db
def test_a_history_row_keeps_the_name_as_it_was(named, patient) -> None:
    obs = services.save_record(actor=named, record=Observation(patient=patient, code="c3", date=DAY, value=60))
    rename(named, "Ada", "King", username="ada.king")
    obs.value = Decimal("55")
    services.save_record(actor=named, record=obs, seen_version=obs.version, reason="typo")
    rows = list(Observation.history.filter(id=obs.pk).order_by("history_id"))
    assert [(r.history_user_name, r.history_username) for r in rows] == [
        ("Ada Lovelace", "ada"),
        ("Ada King", "ada.king"),
    ]
    assert all(r.history_user_id == named.pk for r in rows)
    page = client_for(named).get(reverse("patients:history", kwargs={"pk": patient.pk})).content.decode()
    assert "Ada Lovelace" in page and "Ada King" in page


@pytest.mark.django_db
def test_a_deactivated_users_past_is_kept(named, patient, specialist) -> None:
    services.save_record(actor=named, record=Observation(patient=patient, code="c3", date=DAY, value=60))
    named.is_active = False
    rename(named, "", "", username="left-2026")
    page = client_for(specialist).get(reverse("patients:history", kwargs={"pk": patient.pk})).content.decode()
    assert "Ada Lovelace" in page and "left-2026" not in page


@pytest.mark.django_db
def test_the_system_is_named_as_such(patient, specialist) -> None:
    services.save_record(actor=None, record=Observation(patient=patient, code="c3", date=DAY, value=60))
    row = Observation.history.get(patient_id=patient.pk)
    assert (row.history_user_name, row.history_username, row.actor_display()) == ("", "", SYSTEM)


@pytest.mark.django_db
def test_a_conflict_names_who_changed_it_as_they_were(named, patient, specialist) -> None:
    obs = ObservationFactory(patient=patient, code="egfr", date=DAY, value=80)
    theirs, mine = Observation.objects.get(pk=obs.pk), Observation.objects.get(pk=obs.pk)
    theirs.value = Decimal("70")
    services.save_record(actor=named, record=theirs, seen_version=1, reason="corrected")
    rename(named, "Ada", "King")
    mine.value = Decimal("75")
    with pytest.raises(Conflict) as err:
        services.save_record(actor=specialist, record=mine, seen_version=1, reason="mine")
    assert [c.who for c in err.value.changes] == ["Ada Lovelace"]


@pytest.mark.django_db
def test_referral_events_keep_the_name(named, staff, site_a, patient) -> None:
    referral = make_referral(patient, named, state=S.IN_REVIEW)
    add_note(referral=referral, actor=named, text="Discussed at the MDT")
    rename(named, "Ada", "King", username="ada.king")
    event = referral.events.get(kind="note")
    assert (event.actor_name, event.actor_username, event.who) == ("Ada Lovelace", "ada", "Ada Lovelace")
    assert referral.events.get(kind="opened").who == SYSTEM
    page = client_for(staff).get(referral.get_absolute_url()).content.decode()
    assert "<td>Ada Lovelace</td>" in page and "<td>Ada King</td>" not in page  # (the assignee list is of today)
    history = referral.history.filter(history_user=named)
    assert history.exists() and {h.history_user_name for h in history} == {"Ada Lovelace"}


@pytest.mark.django_db
def test_rule_set_events_keep_the_name(site_a) -> None:
    admin = make_user("rules", Role.RULES_ADMIN, site_a)
    rename(admin, "Grace", "Hopper")
    draft = rulesets.create_draft(
        actor=admin, source=RuleSet.objects.published(), version="2026.9", reason="trying a change"
    )
    rename(admin, "Grace", "Murray")
    event = draft.events.get()
    assert (event.actor_name, event.actor_username) == ("Grace Hopper", "rules")
    assert draft.history.get().history_user_name == "Grace Hopper"
    page = client_for(admin).get(reverse("screening:ruleset_detail", kwargs={"pk": draft.pk})).content.decode()
    assert "Grace Hopper" in page


@pytest.mark.django_db
def test_a_screening_result_keeps_who_caused_it(named, spec_client, patient) -> None:
    from tests.conftest import ensure_published_rules

    ensure_published_rules()
    from clinic.services import screen_and_apply

    result = screen_and_apply(patient=patient, trigger=Trigger.MANUAL, actor=named)
    rename(named, "Ada", "King")
    result = ScreeningResult.objects.get(pk=result.pk)
    assert (result.actor_name, result.actor_username, result.who) == ("Ada Lovelace", "ada", "Ada Lovelace")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "migration",
    [
        "patients.migrations.0004_actor_names_and_access_log",
        "referrals.migrations.0002_actor_names",
        "screening.migrations.0008_actor_names",
    ],
)
def test_the_migration_fills_the_names_of_rows_written_before(named, patient, migration) -> None:
    """Rows from before the names were kept get the user's name as it is when migrating; the system's stay blank."""
    from clinic.services import screen_and_apply

    services.save_record(actor=named, record=Observation(patient=patient, code="c3", date=DAY, value=60))
    make_referral(patient, named, state=S.IN_REVIEW)
    screen_and_apply(patient=patient, trigger=Trigger.MANUAL, actor=named)
    rulesets.create_draft(actor=named, source=RuleSet.objects.published(), version="2026.9", reason="x")
    module = importlib.import_module(migration)
    for model_name, _fk, name, username in module.TABLES:
        apps.get_model(module.APP, model_name).objects.update(**{name: "", username: ""})
    module.fill_names(apps, None)
    filled = 0
    for model_name, fk, name, username in module.TABLES:
        rows = apps.get_model(module.APP, model_name).objects.all()
        by_someone = set(rows.filter(**{f"{fk}__isnull": False}).values_list(name, username))
        assert by_someone <= {("Ada Lovelace", "ada")}, model_name
        assert set(rows.filter(**{f"{fk}__isnull": True}).values_list(name, username)) <= {("", "")}, model_name
        filled += bool(by_someone)
    # her rows: the lab's history; the referral's history and events; the draft's history and event, the result
    assert filled == {"patients": 1, "referrals": 2, "screening": 3}[module.APP]


@pytest.mark.django_db
def test_the_referral_decision_names_who_decided_as_they_were(named, staff, patient) -> None:
    referral = make_referral(patient, named, state=S.REFERRED)
    rename(named, "Ada", "King")
    page = client_for(staff).get(referral.get_absolute_url()).content.decode()
    assert "by Ada Lovelace</dd>" in page
