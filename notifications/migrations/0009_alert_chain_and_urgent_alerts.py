"""Each row names its alert (the first row of its chain: `replaces` followed to its start), rows say whether they
went out late, and rows still in flight of a HIGH or CRITICAL assignment (and the always-urgent alert types) are
marked urgent, as new ones are at creation (notifications.services.create.alert_is_urgent)."""

import django.db.models.deletion
from django.db import migrations, models

BACKFILL = """
SET CONSTRAINTS ALL IMMEDIATE;
WITH RECURSIVE roots AS (
    SELECT id, id AS root FROM notifications_notificationlog WHERE replaces_id IS NULL
    UNION ALL
    SELECT row.id, roots.root FROM notifications_notificationlog row JOIN roots ON row.replaces_id = roots.id
)
UPDATE notifications_notificationlog SET alert_id = roots.root FROM roots
WHERE notifications_notificationlog.id = roots.id;
UPDATE notifications_notificationlog SET alert_id = id WHERE alert_id IS NULL;
UPDATE notifications_notificationlog log SET urgent = true
FROM tasks_app_escalationtask task
WHERE log.task_id = task.id AND log.recipient_nurse_id IS NOT NULL AND NOT log.urgent
  AND log.status IN ('PENDING', 'SENT')
  AND (log.type IN ('URGENT_HANDOFF', 'SLA_BREACH', 'TASK_UNASSIGNED', 'ACK_REMINDER', 'ACK_ESCALATED', 'NURSE_UNREACHABLE')
       OR (log.type IN ('TASK_ASSIGNED', 'TASK_REASSIGNED') AND task.severity IN ('HIGH', 'CRITICAL')));
SET CONSTRAINTS ALL DEFERRED;
"""


class Migration(migrations.Migration):

    dependencies = [
        ('notifications', '0008_nurse_unreachable_alerts'),
        ('tasks_app', '0005_task_ack_code'),
    ]

    operations = [
        migrations.AddField(
            model_name='notificationlog',
            name='alert',
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name='chain',
                to='notifications.notificationlog',
            ),
        ),
        migrations.AddField(
            model_name='notificationlog',
            name='sent_late',
            field=models.BooleanField(
                default=False,
                help_text='Sent over NOTIFICATION_FALLBACK_AFTER_SECONDS after its alert\'s first row; its body says so.',
            ),
        ),
        migrations.RunSQL(BACKFILL, migrations.RunSQL.noop),
        migrations.AlterField(
            model_name='notificationlog',
            name='alert',
            field=models.ForeignKey(
                help_text='The alert this row is an attempt of: the first row of its chain (itself for the first). A '
                'fallback copy and a re-send join the chain of the row they replace; the nurse sees the chain as one '
                'alert.',
                on_delete=django.db.models.deletion.PROTECT,
                related_name='chain',
                to='notifications.notificationlog',
            ),
        ),
    ]
