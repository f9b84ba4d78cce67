"""Lean stored results (issue 13): facts once per distinct content, the trace compressed, a sameness
signature, and ``checked_on`` (the latest date a re-screen found the result unchanged).

Rows stored before keep reading: their plain JSON moves to the new storage here, batch by batch
(facts into ``ScreeningBlob`` keyed by the SHA-256 of their canonical JSON, the trace zlib-compressed
into ``trace_z``); the reader (``ScreeningResult.facts`` / ``.trace``) also takes the plain JSON of a
row the move did not reach. Backwards, the JSON is written back.
"""

from django.db import migrations, models
import django.db.models.deletion

BATCH = 500


def move_to_lean(apps, schema_editor):
    from screening.contract import content_hash, pack, signature

    Result = apps.get_model("screening", "ScreeningResult")
    Blob = apps.get_model("screening", "ScreeningBlob")
    rows = Result.objects.filter(models.Q(legacy_trace__isnull=False) | models.Q(legacy_facts__isnull=False))
    last = 0
    while True:
        batch = list(rows.filter(pk__gt=last).order_by("pk")[:BATCH])
        if not batch:
            break
        blobs = {}
        for row in batch:
            if row.legacy_facts is not None:
                sha = content_hash(row.legacy_facts)
                blobs.setdefault(sha, row.legacy_facts)
                row.facts_blob_id, row.legacy_facts = sha, None
            if row.legacy_trace is not None:
                row.trace_z, row.signature = pack(row.legacy_trace), signature(row.legacy_trace)
                row.legacy_trace = None
        Blob.objects.bulk_create(
            [Blob(sha256=sha, data=pack(data)) for sha, data in blobs.items()], ignore_conflicts=True
        )
        Result.objects.bulk_update(batch, ["facts_blob", "legacy_facts", "trace_z", "signature", "legacy_trace"])
        last = batch[-1].pk


def back_to_json(apps, schema_editor):
    from screening.contract import unpack

    Result = apps.get_model("screening", "ScreeningResult")
    Blob = apps.get_model("screening", "ScreeningBlob")
    last = 0
    while True:
        batch = list(Result.objects.filter(pk__gt=last).order_by("pk")[:BATCH])
        if not batch:
            break
        blobs = {b.sha256: b.data for b in Blob.objects.filter(pk__in={r.facts_blob_id for r in batch})}
        for row in batch:
            if row.legacy_facts is None:
                row.legacy_facts = unpack(blobs.get(row.facts_blob_id)) or {}
            if row.legacy_trace is None:
                row.legacy_trace = unpack(row.trace_z) or {}
        Result.objects.bulk_update(batch, ["legacy_facts", "legacy_trace"])
        last = batch[-1].pk


class Migration(migrations.Migration):
    dependencies = [("screening", "0010_ship_default_rules_2026_2")]

    operations = [
        migrations.CreateModel(
            name="ScreeningBlob",
            fields=[
                ("sha256", models.CharField(max_length=64, primary_key=True, serialize=False)),
                ("data", models.BinaryField()),
            ],
        ),
        migrations.RenameField(model_name="screeningresult", old_name="facts", new_name="legacy_facts"),
        migrations.RenameField(model_name="screeningresult", old_name="trace", new_name="legacy_trace"),
        migrations.AlterField(
            model_name="screeningresult",
            name="legacy_facts",
            field=models.JSONField(blank=True, help_text="Facts of a row stored as plain JSON.", null=True),
        ),
        migrations.AlterField(
            model_name="screeningresult",
            name="legacy_trace",
            field=models.JSONField(blank=True, help_text="Trace of a row stored as plain JSON.", null=True),
        ),
        migrations.AddField(
            model_name="screeningresult",
            name="facts_blob",
            field=models.ForeignKey(
                blank=True,
                db_column="facts_sha256",
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="screening.screeningblob",
            ),
        ),
        migrations.AddField(
            model_name="screeningresult",
            name="trace_z",
            field=models.BinaryField(blank=True, help_text="The trace, zlib-compressed canonical JSON.", null=True),
        ),
        migrations.AddField(
            model_name="screeningresult",
            name="signature",
            field=models.CharField(
                blank=True, default="", help_text="What must be equal for a re-screen to count as unchanged.", max_length=64
            ),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="screeningresult",
            name="checked_on",
            field=models.DateField(null=True),
        ),
        migrations.RunSQL(
            "UPDATE screening_screeningresult SET checked_on = as_of", reverse_sql=migrations.RunSQL.noop
        ),
        migrations.AlterField(
            model_name="screeningresult",
            name="checked_on",
            field=models.DateField(
                help_text="The latest as-of date a re-screen found this result unchanged (as_of when never re-checked)."
            ),
        ),
        migrations.RunPython(move_to_lean, back_to_json, elidable=False),
    ]
