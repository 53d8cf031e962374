"""The log row of a message, written before any provider is called: its recipient, channel, words and lifetime.

`notification_row_create` is the one constructor of a row, for a first send (`notification_create`, from a
`notification/send` event) and for the copies that replace a failed one (notifications.services.fallback) alike.
"""

import datetime as dt
import logging
import uuid

from django.conf import settings
from django.utils import timezone

from care_events.choices import Channel, NotificationType
from care_events.models import Episode, Patient
from care_events.platform.bus.catalogue import DEFAULT, URGENT
from care_events.platform.bus.publish import publish
from notifications.messages import render_for_nurse, render_for_patient
from notifications.models import NotificationLog, NotificationStatus
from notifications.services.channels import nurse_first_channel
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
    """The row of one message asked for by a `notification/send` payload (the `send-notification` handler): to a
    nurse on her preferred channel, to a patient by SMS (or WhatsApp, as they prefer)."""
    existing = NotificationLog.objects.filter(dedupe_key=dedupe_key).first()
    if existing is not None:  # a repeated event: found before anything else is looked up
        return existing
    task = EscalationTask.objects.filter(pk=task_id).first() if task_id else None
    # The payload schema requires exactly one recipient.
    nurse = Nurse.objects.get(pk=recipient_nurse_id) if recipient_nurse_id else None
    patient = Patient.objects.get(pk=recipient_patient_id) if recipient_patient_id else None
    return notification_row_create(
        notification_type=notification_type,
        dedupe_key=dedupe_key,
        channel=nurse_first_channel(nurse, notification_type) if nurse is not None else Channel.SMS,
        recipient_nurse=nurse,
        recipient_patient=patient,
        task=task,
        episode=Episode.objects.filter(pk=episode_id).first() if episode_id else None,
        urgent=urgent,
        deadline=message_deadline(notification_type, task),
        whatsapp=patient is not None and patient.prefers_whatsapp,
    )


def notification_row_create(
    *,
    notification_type: str,
    dedupe_key: str,
    channel: str,
    recipient_nurse: Nurse | None,
    recipient_patient: Patient | None,
    task: EscalationTask | None,
    episode: Episode | None,
    urgent: bool,
    deadline: dt.datetime | None,
    whatsapp: bool = False,
    replaces: NotificationLog | None = None,
    words: tuple[str, str] | None = None,
) -> NotificationLog:
    """Write the row of one message (or find the one its `dedupe_key` names: the key is unique) and publish its
    delivery after the commit. `words` (subject, body) are rendered for the recipient and channel unless given (a
    re-send keeps the failed row's). A patient who opted out gets a CANCELLED row, never a text."""
    existing = NotificationLog.objects.filter(dedupe_key=dedupe_key).first()
    if existing is not None:
        return existing
    episode = episode or (task.episode if task else None)
    log = NotificationLog(
        type=notification_type,
        dedupe_key=dedupe_key,
        channel=channel,
        recipient_nurse=recipient_nurse,
        recipient_patient=recipient_patient,
        task=task,
        episode=episode,
        patient_id=(task.patient_id if task else episode.patient_id if episode else None),
        whatsapp=whatsapp,
        urgent=urgent,
        deadline=deadline,
        replaces=replaces,
    )
    if words is None:
        words = _render(log)
    log.subject, log.body = words
    if recipient_patient is not None and not recipient_patient.sms_consent:
        log.status, log.error_code = NotificationStatus.CANCELLED, "opted_out"
    log.save()
    if replaces is not None:
        logger.warning("notification %s replaced by %s on %s", replaces.pk, log.pk, channel)
    if log.status == NotificationStatus.PENDING:
        delivery_publish(notification_id=log.pk, urgent=log.urgent)
    return log


def _render(log: NotificationLog) -> tuple[str, str]:
    if log.recipient_nurse is not None:
        return render_for_nurse(log.type, log.channel, log.task, log.recipient_nurse)
    assert log.recipient_patient is not None  # the notif_exactly_one_recipient constraint
    return render_for_patient(log.type, log.episode, log.recipient_patient.preferred_language)


def message_deadline(notification_type: str, task: EscalationTask | None) -> dt.datetime | None:
    """Until when a message is worth retrying. An SLA warning is pointless once its breach is due; a check-in once
    its response window is over; an assignment, hand-off or breach alert (deadline None) matters as long as its
    task is open (checked at each retry)."""
    if notification_type == NotificationType.SLA_WARNING and task is not None:
        return task.sla_breach_at
    if notification_type == NotificationType.CHECKIN:
        return timezone.now() + dt.timedelta(seconds=settings.CHECKIN_RESPONSE_WINDOW)
    return None


def delivery_publish(*, notification_id: uuid.UUID, urgent: bool, after_commit: bool = True) -> None:
    """The delivery's message (care_events.platform.bus.publish): a lost one is the relay's
    (notifications.services.delivery.notifications_relay)."""
    from notifications.tasks import notification_deliver_task

    queue = URGENT if urgent else DEFAULT
    publish(notification_deliver_task, args=[str(notification_id)], queue=queue, after_commit=after_commit)
