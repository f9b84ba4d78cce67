"""Rendered pieces of pages kept in the ``fragments`` cache under a digest of their content (docs/scaling.md).

The queue's rows (``referrals.queue_rows``) and the patient page's pathway panels and charts
(``screening.pathway_fragments``, ``screening.chart_fragments``) are each rendered once per distinct content.
Their key is a digest of everything their HTML is made of: the content itself, the reader's display
settings (language, date format, time zone) and the sources of the templates and modules that draw it.
A changed content has another key, so a kept piece can never be out of date and nothing is invalidated.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Callable
from functools import cache
from pathlib import Path
from types import ModuleType

from django.conf import settings
from django.core.cache import caches
from django.template.loader import get_template
from django.utils import timezone, translation
from django.utils.safestring import SafeString, mark_safe

CACHE_ALIAS = "fragments"


def fragment_key(kind: str, sources: str, content: object, raw: bytes = b"") -> str:
    """A piece's cache key: a digest of its content (its ``repr``, and ``raw`` bytes), of the sources that
    draw it (``sources_digest``) and of the reader's language, date format and time zone."""
    shape = (
        sources,
        translation.get_language(),
        settings.CLINIC_DATE_FORMAT,
        timezone.get_current_timezone_name(),
        content,
    )
    digest = hashlib.blake2b(repr(shape).encode(), digest_size=20)
    digest.update(raw)
    return f"{kind}:{digest.hexdigest()}"


@cache
def sources_digest(templates: tuple[str, ...], modules: tuple[ModuleType, ...] = ()) -> str:
    """The sources of the templates and modules that draw a piece, digested once per process: a deploy that
    changes either changes every key, so a shared cache never serves the old markup."""
    digest = hashlib.blake2b(digest_size=8)
    for name in templates:
        digest.update(get_template(name).template.source.encode())  # type: ignore[attr-defined]
        digest.update(b"\0")
    for module in modules:
        digest.update(Path(module.__file__ or "").read_bytes())
    return digest.hexdigest()


def cached_html(key: str, render: Callable[[], str], *, packed: bool = False) -> SafeString:
    """The piece kept under ``key``, or ``render()`` kept there; ``packed``: kept zlib-compressed (a large
    piece, so that the cache's entry limit bounds its memory)."""
    store = caches[CACHE_ALIAS]
    kept = store.get(key)
    if kept is not None:
        html = zlib.decompress(kept).decode() if packed else kept
    else:
        html = render()
        store.set(key, zlib.compress(html.encode(), 1) if packed else html)
    return mark_safe(html)  # noqa: S308 - rendered by our own autoescaping templates
