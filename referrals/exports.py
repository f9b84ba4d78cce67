"""The queue's CSV export as a background job: asked for on a page, written by the task worker, downloaded
when ready by the user who asked, for ``EXPORT_KEEP_HOURS``.

A large queue (a hundred thousand referrals is tens of megabytes) written inside a web request held a web
worker for seconds; three at once blocked every page. The task (``referrals.tasks.write_queue_export``)
writes the file with the user's filters and with the sites the user has when it runs (``visible_to``), in
chunks, compressed with gzip into the database so that any app server can hand it out; the download
streams it back, uncompressed. Cells are neutralised against spreadsheet formulas (``referrals.export``).
"""

from __future__ import annotations

import gzip
import io
import logging
from collections.abc import Iterator
from datetime import timedelta

from django.conf import settings
from django.db.models import F
from django.http import QueryDict
from django.utils import timezone

from referrals import queue as q
from referrals.export import csv_lines
from referrals.models import ExportStatus, QueueExport

log = logging.getLogger(__name__)
CHUNK = 2000  # rows read from the database at a time


def keep_for() -> timedelta:
    return timedelta(hours=float(getattr(settings, "EXPORT_KEEP_HOURS", 24)))


def filters_of(export: QueueExport) -> q.QueueFilters:
    return q.QueueFilters.from_params(QueryDict(export.query))


def purge_expired() -> int:
    """Delete the exports past their time (their files with them); returns how many."""
    deleted, _ = QueueExport.objects.filter(expires_at__lte=timezone.now()).delete()
    return deleted


def request_export(*, user: object, filters: q.QueueFilters) -> QueueExport:
    """Record the request (``referrals.tasks.send_export`` sends it to the worker)."""
    purge_expired()
    now = timezone.now()
    export = QueueExport.objects.create(
        created_by=user, query=filters.query(), created_at=now, expires_at=now + keep_for()
    )
    return export


def write(export_id: int) -> str:
    """Write the export once (claimed by one atomic update, so two workers never write the same one)."""
    now = timezone.now()
    claimed = QueueExport.objects.filter(pk=export_id, status=ExportStatus.QUEUED).update(
        status=ExportStatus.RUNNING, started_at=now, attempts=F("attempts") + 1
    )
    if not claimed:
        return "not queued"
    export = QueueExport.objects.select_related("created_by").get(pk=export_id)
    try:
        f = filters_of(export)
        _base, rows = q.matching(export.created_by, f, now=export.created_at)
        buffer = io.BytesIO()
        count = -1  # the header is not a row
        with gzip.GzipFile(fileobj=buffer, mode="wb", compresslevel=6) as out:
            for line in csv_lines(q.in_order(rows, f).iterator(chunk_size=CHUNK)):
                out.write(line.encode("utf-8"))
                count += 1
        name = f"referral-queue-{timezone.localdate(export.created_at).isoformat()}-{export.pk}.csv"
        QueueExport.objects.filter(pk=export.pk).update(
            status=ExportStatus.DONE,
            content=buffer.getvalue(),
            rows=count,
            filename=name,
            finished_at=timezone.now(),
        )
    except Exception as err:
        log.exception("queue export %s failed", export_id)
        QueueExport.objects.filter(pk=export.pk).update(
            status=ExportStatus.FAILED, error=f"{type(err).__name__}: {err}", finished_at=timezone.now()
        )
        raise
    return ExportStatus.DONE


def lines(export: QueueExport, chunk: int = 64 * 1024) -> Iterator[bytes]:
    """The CSV file, uncompressed a piece at a time (for a streaming response)."""
    with gzip.GzipFile(fileobj=io.BytesIO(bytes(export.content or b"")), mode="rb") as data:
        while piece := data.read(chunk):
            yield piece
