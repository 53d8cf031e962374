"""`notification/send` payloads now carry their dedupe key. Events recorded before (whose runs may still be pending
at deploy time) get the key the old code derived from them, their idempotency key, so that their handler reads a
valid payload and writes the very row it would have written."""

from django.db import migrations


def add_dedupe_key(apps, schema_editor):
    Event = apps.get_model("care_events", "Event")
    old = Event.objects.filter(name="notification/send").exclude(data__has_key="dedupe_key")
    for event in old.only("pk", "data", "idempotency_key").iterator():
        event.data["dedupe_key"] = event.idempotency_key or f"event:{event.pk}"
        event.save(update_fields=["data"])


class Migration(migrations.Migration):
    dependencies = [("care_events", "0004_timer_failed_at_drop_plan_max_attempts")]

    operations = [migrations.RunPython(add_dedupe_key, migrations.RunPython.noop)]
