"""The patient page's pathway panels as HTML, rendered once per distinct result and then served from a cache.

The panels (one per pathway: the outcome, the facts that decided it, what is missing, the safety checks and
the whole criterion tree, folded) are the heaviest part of the patient page: about 2 ms to build from the
stored trace and 5 ms to render (the criterion tree is one include per level), for a result that does not
change between two views. So the panels' HTML is kept in the ``fragments`` cache, as the queue's rows are
(``referrals.queue_rows``), under a digest of everything they are made of:

- the stored trace, as stored (its compressed bytes): the panels read nothing else of the result;
- the patient's id (the links to records and forms) and whether the reader may edit (the links are shown);
- the language, the date format and the time zone the dates are shown in;
- the sources of the templates that draw the panels, and of the modules that turn a trace into panels
  (their words, labels and badges), so a deploy that changes either never gets the old HTML.

The key *is* the content: a new result, another patient or another reader's rights make another key, so a
cached panel can never be out of date and nothing has to be invalidated. The template sees only the panels
(built from the keyed trace and patient id) and ``can_edit``, so nothing can be shown that the key does not hold.
"""

from __future__ import annotations

from django.template.loader import get_template
from django.utils.safestring import SafeString

from accounts.fragments import cached_html, fragment_key, sources_digest
from clinical import vocab
from patients.models import Patient
from screening import contract, display
from screening.engine import criterion_types
from screening.models import ScreeningResult

PATHWAYS_TEMPLATE = "screening/includes/pathways.html"
# every template the panels are drawn with: their sources are in the key
TEMPLATES = (PATHWAYS_TEMPLATE, "screening/includes/outlook.html", "screening/includes/criteria.html")
# the modules whose code words the panels (labels, sentences, badges, links): their sources are in the key
MODULES = (display, contract, vocab, criterion_types)


def render_pathways(patient: Patient, result: ScreeningResult, *, can_edit: bool) -> SafeString:
    """The pathway panels of ``result``: from the cache, or built, rendered and kept when not seen before
    (compressed: a patient's panels are about 18 KB of HTML, a few KB packed)."""
    return cached_html(
        pathways_key(patient.pk, result, can_edit=can_edit),
        lambda: get_template(PATHWAYS_TEMPLATE).render(
            {"panels": display.panel(patient, result), "can_edit": can_edit}
        ),
        packed=True,
    )


def pathways_key(patient_pk: int, result: ScreeningResult, *, can_edit: bool) -> str:
    """The panels' cache key: a digest of the trace as stored and of everything else that shapes their HTML."""
    return fragment_key("pathways", sources_digest(TEMPLATES, MODULES), (patient_pk, can_edit), _stored_trace(result))


def _stored_trace(result: ScreeningResult) -> bytes:
    """The trace's bytes as stored, read without unpacking them: the compressed canonical JSON, or the
    canonical JSON of a row stored as plain JSON (the same content always gives the same bytes)."""
    if result.legacy_trace is not None:
        return b"legacy:" + contract.canonical_json(result.legacy_trace)
    return b"packed:" + bytes(result.trace_z or b"")
