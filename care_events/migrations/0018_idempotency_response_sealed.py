"""Idempotency records keep their stored response encrypted (care_events/platform/api_clients/idempotency.py): the
ones written before are encrypted in place."""

from django.db import migrations, models


def seal_stored_responses(apps, schema_editor):
    from care_events.platform.api_clients.idempotency import seal

    records = apps.get_model("care_events", "IdempotencyRecord")
    for record in records.objects.exclude(response_body="").iterator():
        try:
            record.response_body.encode("ascii")
            sealed = record.response_body.startswith("gAAAAA")  # a Fernet token's version byte and timestamp
        except UnicodeEncodeError:
            sealed = False
        if not sealed:
            records.objects.filter(pk=record.pk).update(response_body=seal(record.response_body))


class Migration(migrations.Migration):
    dependencies = [("care_events", "0017_anonymous_api_traffic")]

    operations = [
        migrations.AlterField(
            model_name="idempotencyrecord",
            name="response_body",
            field=models.TextField(blank=True, help_text="The response's JSON, encrypted."),
        ),
        migrations.RunPython(seal_stored_responses, migrations.RunPython.noop),
    ]
