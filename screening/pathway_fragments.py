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

import hashlib
import zlib
from functools import cache
from pathlib import Path

from django.conf import settings
from django.core.cache import caches
from django.template.loader import get_template
from django.utils import timezone, translation
from django.utils.safestring import SafeString, mark_safe

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
CACHE_ALIAS = "fragments"


def render_pathways(patient: Patient, result: ScreeningResult, *, can_edit: bool) -> SafeString:
    """The pathway panels of ``result``: from the cache, or built, rendered and kept when not seen before."""
    store = caches[CACHE_ALIAS]
    key = pathways_key(patient.pk, result, can_edit=can_edit)
    packed = store.get(key)
    if packed is not None:
        html = zlib.decompress(packed).decode()
    else:
        html = get_template(PATHWAYS_TEMPLATE).render({"panels": display.panel(patient, result), "can_edit": can_edit})
        # kept compressed: a patient's panels are about 18 KB of HTML, 2-3 KB packed (a few µs to unpack), so
        # the cache's entry limit bounds its memory as it does for the queue's rows
        store.set(key, zlib.compress(html.encode(), 1))
    return mark_safe(html)  # noqa: S308 - rendered by our own autoescaping template


def pathways_key(patient_pk: int, result: ScreeningResult, *, can_edit: bool) -> str:
    """The panels' cache key: a digest of the trace as stored and of everything else that shapes their HTML."""
    shape = (
        _sources_digest(),
        patient_pk,
        can_edit,
        translation.get_language(),
        settings.CLINIC_DATE_FORMAT,
        timezone.get_current_timezone_name(),
    )
    digest = hashlib.blake2b(repr(shape).encode(), digest_size=20)
    digest.update(_stored_trace(result))
    return f"pathways:{digest.hexdigest()}"


def _stored_trace(result: ScreeningResult) -> bytes:
    """The trace's bytes as stored, read without unpacking them: the compressed canonical JSON, or the
    canonical JSON of a row stored as plain JSON (the same content always gives the same bytes)."""
    if result.legacy_trace is not None:
        return b"legacy:" + contract.canonical_json(result.legacy_trace)
    return b"packed:" + bytes(result.trace_z or b"")


@cache
def _sources_digest() -> str:
    """The panels' templates' and modules' sources, digested once per process."""
    digest = hashlib.blake2b(digest_size=8)
    for name in TEMPLATES:
        digest.update(get_template(name).template.source.encode())  # type: ignore[attr-defined]
    for module in MODULES:
        digest.update(Path(module.__file__ or "").read_bytes())
    return digest.hexdigest()
