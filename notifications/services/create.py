"""The log row of a message, written before any provider is called: its recipient, channel, words and lifetime."""

import datetime as dt
import logging
import uuid

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from care_events.choices import Channel, NotificationType
from care_events.models import Episode, Patient
from care_events.platform.bus.catalogue import DEFAULT, URGENT
from notifications.messages import render_for_nurse, render_for_patient
from notifications.models import NotificationLog, NotificationStatus
from tasks_app.models import EscalationTask, Nurse

logger = logging.getLogger(__name__)


def notification_create(
    *,
    notification_type: NotificationType,
    dedupe_key: str,
    recipient_nurse_id: int | None = None,
    recipient_patient_id: uuid.UUID | None = None,
    task_id: uuid.UUID | None = None,
    episode_id: uuid.UUID | None = None,
    urgent: bool = False,
) -> NotificationLog:
    """Write the log row of one message (found again if asked twice: `dedupe_key` is unique) and publish its
    delivery. The `send-notification` handler calls it with a `notification/send` payload."""
    existing = NotificationLog.objects.filter(dedupe_key=dedupe_key).first()
    if existing is not None:
        return existing
    task = EscalationTask.objects.filter(pk=task_id).first() if task_id else None
    episode = Episode.objects.filter(pk=episode_id).first() if episode_id else None
    log = NotificationLog(
        type=notification_type,
        dedupe_key=dedupe_key,
        task=task,
        episode=episode or (task.episode if task else None),
        patient_id=(task.patient_id if task else episode.patient_id if episode else None),
        urgent=urgent,
        deadline=message_deadline(notification_type, task),
    )
    if recipient_nurse_id:
        nurse = Nurse.objects.get(pk=recipient_nurse_id)
        log.recipient_nurse, log.channel = nurse, nurse.preferred_channel
        log.subject, log.body = render_for_nurse(log.type, log.channel, task, nurse)
    else:
        assert recipient_patient_id is not None  # the payload schema requires exactly one recipient
        patient = Patient.objects.get(pk=recipient_patient_id)
        log.recipient_patient, log.channel, log.whatsapp = patient, Channel.SMS, patient.prefers_whatsapp
        log.subject, log.body = render_for_patient(log.type, episode, patient.preferred_language)
        if not patient.sms_consent:
            log.status, log.error_code = NotificationStatus.CANCELLED, "opted_out"
    log.save()
    if log.status == NotificationStatus.PENDING:
        publish_delivery_on_commit(log)
    return log


def message_deadline(notification_type: str, task: EscalationTask | None) -> dt.datetime | None:
    """Until when a message is worth retrying. An SLA warning is pointless once its breach is due; a check-in once
    its response window is over; an assignment, hand-off or breach alert (deadline None) matters as long as its
    task is open (checked at each retry)."""
    if notification_type == NotificationType.SLA_WARNING and task is not None:
        return task.sla_breach_at
    if notification_type == NotificationType.CHECKIN:
        return timezone.now() + dt.timedelta(seconds=settings.CHECKIN_RESPONSE_WINDOW)
    return None


def publish_delivery_on_commit(log: NotificationLog) -> None:
    notification_id, urgent = log.pk, log.urgent
    transaction.on_commit(lambda: publish_delivery(notification_id, urgent=urgent))


def publish_delivery(notification_id: uuid.UUID, *, urgent: bool) -> None:
    from notifications.tasks import notification_deliver_task

    try:
        notification_deliver_task.apply_async(args=[str(notification_id)], queue=URGENT if urgent else DEFAULT)
    except Exception:
        logger.warning("could not publish delivery of %s; the relay will", notification_id, exc_info=True)
