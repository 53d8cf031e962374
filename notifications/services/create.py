"""The log row of a message, written before any provider is called: its recipient, channel, words and lifetime.

`notification_row_create` is the one constructor of a row, for a first send (`notification_create`, from a
`notification/send` event) and for the copies that replace a failed one (notifications.services.fallback) alike.
"""

import datetime as dt
import logging
import uuid
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, cast

from django.conf import settings
from django.db import models
from django.db.models import QuerySet
from django.utils import timezone

from care_events.choices import Channel, NotificationType, Severity
from care_events.models import Episode, Patient
from care_events.platform.bus.catalogue import DELIVERY, PUSH
from care_events.platform.bus.insert import insert_once
from care_events.platform.bus.publish import publish
from notifications.messages import render_for_nurse, render_for_patient
from notifications.models import NotificationLog, NotificationStatus
from notifications.services.channels import nurse_first_channel
from tasks_app.models import EscalationTask, Nurse

logger = logging.getLogger(__name__)

M = TypeVar("M", bound=models.Model)

# Alerts a nurse must not miss: a hand-off, an SLA breach, a task nobody on shift could take, an acknowledgement
# chased, a task whose nurse could not be reached; and the assignment of a HIGH or CRITICAL task.
ALWAYS_URGENT = (
    NotificationType.URGENT_HANDOFF,
    NotificationType.SLA_BREACH,
    NotificationType.TASK_UNASSIGNED,
    NotificationType.ACK_REMINDER,
    NotificationType.ACK_ESCALATED,
    NotificationType.NURSE_UNREACHABLE,
)
URGENT_IF_SEVERE = (NotificationType.TASK_ASSIGNED, NotificationType.TASK_REASSIGNED)
_SEVERE = (Severity.HIGH, Severity.CRITICAL)


def alert_is_urgent(notification_type: str, task: EscalationTask | None) -> bool:
    """The one definition of an urgent nurse alert, written on its row (`urgent`) when it is created: the row then
    takes the urgent share of the send rate (notifications.throttle) and falls back to the nurse's next channel
    (notifications.services.fallback)."""
    if notification_type in ALWAYS_URGENT:
        return True
    return notification_type in URGENT_IF_SEVERE and task is not None and task.severity in _SEVERE


def notification_create(
    *,
    notification_type: NotificationType,
    dedupe_key: str,
    recipient_nurse_id: int | None = None,
    recipient_patient_id: uuid.UUID | None = None,
    task_id: uuid.UUID | None = None,
    episode_id: uuid.UUID | None = None,
    urgent: bool = False,
    rows: Mapping[str, Any] | None = None,
    deliver: Callable[[NotificationLog], Callable[[], None]] | None = None,
) -> NotificationLog:
    """The row of one message asked for by a `notification/send` payload (the `send-notification` handler): to a
    nurse on her preferred channel, to a patient by SMS (or WhatsApp, as they prefer). `rows`: the task and nurse
    the asking transaction holds, by payload field ("task_id", "recipient_nurse_id"), used instead of reading them
    again; `deliver`: as in `notification_row_create`."""
    known = rows or {}
    task = _known(known, "task_id", task_id, EscalationTask.objects.order_by())
    # The payload schema requires exactly one recipient. Nurse.Meta.ordering joins auth_user: dropped (.order_by()).
    nurse = _known(known, "recipient_nurse_id", recipient_nurse_id, Nurse.objects.order_by())
    patient = Patient.objects.filter(pk=recipient_patient_id).order_by().first() if recipient_patient_id else None
    if recipient_nurse_id and nurse is None:
        raise Nurse.DoesNotExist(f"nurse {recipient_nurse_id}")
    if recipient_patient_id and patient is None:
        raise Patient.DoesNotExist(f"patient {recipient_patient_id}")
    # The task's episode is the message's: not read, only its id is written.
    episode = None
    if episode_id and (task is None or task.episode_id != episode_id):
        episode = Episode.objects.filter(pk=episode_id).order_by().first()
    return notification_row_create(
        notification_type=notification_type,
        dedupe_key=dedupe_key,
        channel=nurse_first_channel(nurse, notification_type) if nurse is not None else Channel.SMS,
        recipient_nurse=nurse,
        recipient_patient=patient,
        task=task,
        episode=episode,
        # The caller may ask for more (a CRITICAL task's hand-off action), never for less.
        urgent=urgent or (nurse is not None and alert_is_urgent(notification_type, task)),
        deadline=message_deadline(notification_type, task),
        whatsapp=patient is not None and patient.prefers_whatsapp,
        deliver=deliver,
    )


def _known(rows: Mapping[str, Any], field: str, pk: object, queryset: QuerySet[M]) -> M | None:
    """The row the caller passed for `field` if it is the one the payload names, else read (None: no id)."""
    if not pk:
        return None
    row = rows.get(field)
    if row is not None and row.pk == pk:
        return cast(M, row)
    return queryset.filter(pk=pk).first()


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
    deliver: Callable[[NotificationLog], Callable[[], None]] | None = None,
) -> NotificationLog:
    """Write the row of one message (or find the one its `dedupe_key` names: the key is unique) and start its
    delivery, by default a message published after the commit. `deliver(row)` replaces that for a pending row: it is
    asked before the row is written, may write an in-process send's outcome onto it (so that the row is inserted as
    sent, in one statement), and returns what to do once the row is in, which a repeated request never reaches
    (notifications.services.delivery.notification_send). `words`
    (subject, body) are rendered for the recipient and channel unless given (a re-send keeps the failed row's). A
    patient who opted out gets a CANCELLED row, never a text."""
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
    # The alert's chain: a copy joins the one it replaces; a first row is its own alert (its id is known already).
    log.alert_id = replaces.alert_id if replaces is not None else log.pk
    if episode is None and task is not None:
        log.episode_id = task.episode_id  # not read: only its id is written
    if words is None:
        words = _render(log)
    log.subject, log.body = words
    if recipient_patient is not None and not recipient_patient.sms_consent:
        log.status, log.error_code = NotificationStatus.CANCELLED, "opted_out"
    pending = log.status == NotificationStatus.PENDING
    then = deliver(log) if pending and deliver is not None else None
    # One statement, no savepoint: a repeated request (or two at once) meets the first row at the unique key.
    if not insert_once(log, key=("dedupe_key",)):
        return NotificationLog.objects.order_by().get(dedupe_key=dedupe_key)
    if replaces is not None:
        logger.warning("notification %s replaced by %s on %s", replaces.pk, log.pk, channel)
    if then is not None:
        then()
    elif pending:
        delivery_publish(notification_id=log.pk, urgent=log.urgent, channel=log.channel)
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


def delivery_publish(*, notification_id: uuid.UUID, urgent: bool, channel: str, after_commit: bool = True) -> None:
    """The delivery's message (care_events.platform.bus.publish) on the DELIVERY queue, whose worker runs threads
    (an in-process backend sends in the asking transaction instead: notifications.services.delivery); a lost one is
    the relay's (notifications.services.delivery.notifications_relay). Urgent or not, one queue: the delivery
    worker's threads take messages as they come, so an urgent one never waits behind a slow provider's call
    (`urgent` is kept for the callers' sake). A PUSH message goes to the PUSH queue instead: a push endpoint is a URL
    a browser chose, and its worker's processes are stopped by Celery's time limits (CELERY_TASK_ANNOTATIONS)."""
    from notifications.tasks import notification_deliver_task

    publish(
        notification_deliver_task,
        args=[str(notification_id)],
        queue=PUSH if channel == Channel.PUSH else DELIVERY,
        after_commit=after_commit,
    )
