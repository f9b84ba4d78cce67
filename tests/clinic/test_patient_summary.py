"""The patient patient_page opens with a summary a clinician reads in ten seconds, in clinicians' words."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.urls import reverse

from clinical import vocab
from screening.contract import CautionStatus, CautionView, read_result
from screening.display import criterion_label, panel, plain, unrepeat
from screening.models import RuleSet
from tests.referrals.factories import import_case, screen

pytestmark = pytest.mark.django_db


@pytest.fixture
def patient_page(spec_client, site_a, cases_day) -> str:
    patient = import_case(site_a, "refractory-nephritis")
    screen(patient)
    return spec_client.get(reverse("patients:detail", kwargs={"pk": patient.pk})).content.decode()


def visible(html: str) -> str:
    """The patient_page's text as a reader sees it (no tags, attributes, scripts or styles)."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    text = re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))
    return re.sub(r" ([:;,.])", r"\1", text)


def summary_of(html: str, pathway: str) -> str:
    """One pathway's summary: its article up to the folded full criteria."""
    start = html.index(f'data-pathway="{pathway}"')
    return html[start : html.index('class="mt-2 full-trace"', start)]


def test_each_pathway_opens_with_outcome_deciding_facts_and_safety(patient_page) -> None:
    hsct = visible(summary_of(patient_page, "hsct"))
    assert "A referral for HSCT evaluation may be worth considering" in hsct
    assert "Flagged because" in hsct and "SLEDAI-2K at least: SLEDAI-2K 20" in hsct
    assert "Failed agents at least: 3 failed agents" in hsct
    assert "Contraindications:" in hsct
    facts = re.findall(r'<ul class="mb-2 facts-list">(.*?)</ul>', summary_of(patient_page, "hsct"), flags=re.S)[0]
    assert 2 <= facts.count("<li>") <= 3
    # the full criterion tree is one click away, folded
    assert patient_page.count('<details class="mt-2 full-trace">') == 2


def test_nothing_is_repeated(patient_page) -> None:
    # the courses behind "3 failed agents" were written out under both failed-agent criteria of HSCT
    hsct = patient_page[patient_page.index('data-pathway="hsct"') : patient_page.index('data-pathway="msc"')]
    courses = re.findall(r"courses: mycophenolate mofetil \S+", visible(hsct))
    assert len(courses) == 1, courses
    assert "courses: as above" in visible(hsct)


def test_codes_never_reach_the_page(patient_page) -> None:
    text = visible(patient_page)
    codes = [*vocab.SLEDAI_ITEMS, *vocab.CAUTION_LABELS, "mycophenolate_mofetil", "cyclophosphamide_iv"]
    for code in ["hsct.", "msc.", *(c for c in codes if "_" in c)]:
        assert code not in text, code
    assert "mycophenolate mofetil" in text and "Urinary casts" in text
    assert "SLEDAI-2K at least" in text  # criteria by their type's label


def test_criteria_keep_one_readable_size_at_every_depth() -> None:
    from django.conf import settings

    template = (settings.BASE_DIR / "templates/screening/includes/criteria.html").read_text()
    assert "small" not in template  # no class that shrinks again with each level
    css = (settings.BASE_DIR / "static/css/candidacy.css").read_text()
    assert ".criteria-tree .criteria-tree { font-size: 1em;" in css


def test_caution_labels_come_from_the_label_table_or_the_humanised_id() -> None:
    def caution(cid: str) -> CautionView:
        return CautionView(id=cid, severity="caution", status=CautionStatus.ABSENT, explanation="", source="")

    assert caution("active_cns_lupus").label == "Active CNS lupus"
    assert caution("cardiac_function").label == "Cardiac function"
    assert caution("some_new_check").label == "Some new check"
    published = RuleSet.objects.published().content
    assert {c["id"] for c in published["cautions"]} <= set(vocab.CAUTION_LABELS)


def test_ids_in_stored_texts_read_as_labels(site_a, cases_day) -> None:
    patient = import_case(site_a, "refractory-nephritis")
    result = screen(patient)
    hsct = next(p for p in panel(patient, result) if p.id == "hsct")
    view = read_result(result).pathway("hsct")
    assert view is not None and view.lapse_reason and view.lapse_reason.startswith("hsct.")
    assert hsct.lapse_reason is not None and not hsct.lapse_reason.startswith("hsct.")
    labels = {"hsct.a": "SLEDAI-2K at least", "hsct.a.b": "Failed agents at least"}
    assert plain("hsct.a.b: 2 failed; if it meets hsct.a)", labels) == (
        "Failed agents at least: 2 failed; if it meets SLEDAI-2K at least)"
    )
    assert plain("hsct.abc stays", labels) == "hsct.abc stays"  # only whole ids


def test_a_long_part_shown_once_per_pathway() -> None:
    seen: set[str] = set()
    long = "courses: " + "x" * 80
    assert unrepeat(f"3 failed, needs ≥ 2; {long}", seen) == f"3 failed, needs ≥ 2; {long}"
    assert unrepeat(f"3 failed, needs ≥ 1; {long}", seen) == "3 failed, needs ≥ 1; courses: as above"
    assert unrepeat("short; short", set()) == "short; short"


def test_groups_read_by_their_humanised_id() -> None:
    from screening.contract import CriterionView, Result

    group = CriterionView(id="hsct.severe_activity", result=Result.MET, explanation="")
    leaf = CriterionView(id="msc.activity", result=Result.MET, explanation="", type="sledai_at_least")
    assert criterion_label(group) == "Severe activity" and criterion_label(leaf) == "SLEDAI-2K at least"
