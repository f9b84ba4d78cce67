"""The patient page's charts as HTML, rendered once per distinct chart and then served from a cache.

A chart's template draws every point, tick, label and table row through the template engine: about 1.2 ms
for the SLEDAI-2K course and 1.5 ms for the treatment timeline of a demo patient, the same HTML at each view
until a record changes. So the HTML is kept in the ``fragments`` cache, as the queue's rows are
(``referrals.queue_rows``), under a digest of everything the template sees: the chart itself (plain values:
numbers, dates, words; never a model instance), with the language, the date format, the time zone, and the
sources of the template and of the modules that word a chart (a threshold's label). The key *is* the content:
a chart that changed has another key, so a cached chart can never be out of date and nothing has to be
invalidated. The template sees only the values in the key, so nothing can be shown that the key does not hold.
"""

from __future__ import annotations

from typing import Any

from django.template.loader import get_template
from django.utils.safestring import SafeString, mark_safe

from accounts.fragments import cached_html, fragment_key, sources_digest
from screening import charts, contract

SLEDAI_TEMPLATE = "patients/includes/sledai_course.html"
TIMELINE_TEMPLATE = "patients/includes/timeline.html"
# the modules whose code words what a chart shows (Threshold.label): their sources are in the key
MODULES = (charts, contract)


def sledai_html(chart: charts.SledaiCourse | None) -> SafeString:
    """The SLEDAI-2K course's HTML (empty without a chart)."""
    return render_chart(SLEDAI_TEMPLATE, {"chart": chart}) if chart else mark_safe("")


def timeline_html(chart: charts.TimelineChart | None, summary: Any) -> SafeString:
    """The treatment timeline's HTML, with the span of the summary's timeline (empty without a chart)."""
    context = {"chart": chart, "start": summary.timeline_start, "end": summary.timeline_end}
    return render_chart(TIMELINE_TEMPLATE, context) if chart else mark_safe("")


def render_chart(template_name: str, context: dict[str, Any]) -> SafeString:
    """``template_name`` rendered with ``context`` (plain values only): from the cache, or rendered and kept."""
    return cached_html(chart_key(template_name, context), lambda: get_template(template_name).render(context))


def chart_key(template_name: str, context: dict[str, Any]) -> str:
    """A chart's cache key: a digest of every value its template sees and of everything that shapes its HTML."""
    return fragment_key("chart", sources_digest((template_name,), MODULES), sorted(context.items()))
