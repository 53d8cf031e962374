"""What a text that reached our number does: a keyword changes the patient's consent, anything else from a patient
is her reply, and every text is recorded once per provider message id."""

import logging

from django.db import transaction

from care_events.models import Patient
from care_events.selectors import patients_by_phone
from care_events.services.interactions import patient_reply_record
from care_events.services.patients import patient_sms_consent_set
from notifications.models import InboundKind, InboundMessage
from tasks_app.models import Nurse
from tasks_app.selectors import nurses_by_phone
from tasks_app.services.acknowledgement import is_ack_reply, task_for_ack_reply
from tasks_app.services.tasks import TaskStateError, task_acknowledge

logger = logging.getLogger(__name__)

# The whole trimmed body, case-insensitive, as Twilio's own opt-out filtering reads it. REVOKE and OPTOUT are
# opt-outs in Twilio's default list too: Twilio stops our texts to that number, so taking them for a reply would
# mark the check-in answered and cancel the nurse's call for a patient we can no longer text.
OPT_OUT_KEYWORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"})
OPT_IN_KEYWORDS = frozenset({"START", "YES", "UNSTOP"})
HELP_KEYWORDS = frozenset({"HELP", "INFO"})  # INFO: Twilio's other help keyword


def inbound_kind(body: str, patients: list[Patient]) -> InboundKind:
    if not patients:
        return InboundKind.UNKNOWN_SENDER
    word = body.strip().upper()
    if word in OPT_OUT_KEYWORDS:
        return InboundKind.STOP
    # A bare "Yes" from a patient who can be texted answers a question; from one who opted out it opts back in.
    if word in OPT_IN_KEYWORDS and not (word == "YES" and all(patient.sms_consent for patient in patients)):
        return InboundKind.START
    if word in HELP_KEYWORDS:
        return InboundKind.HELP
    return InboundKind.REPLY


@transaction.atomic
def inbound_message_receive(*, provider_message_id: str, from_number: str, body: str) -> InboundMessage:
    """Record a text that reached our number and do what it asks, once per provider message id.

    STOP-like keywords turn SMS consent off for every patient with that number (family members can share a phone),
    START-like ones turn it on again; any other text from a known number is the patient's reply
    (care_events.services.interactions.patient_reply_record); a number no patient has is only recorded. A retried
    webhook finds the row and changes nothing.

    A nurse's number is heard first when the text is an acknowledgement ("ACK 4821", "1") or no patient has the
    number: `nurse_reply_receive`."""
    patients: list[Patient] = list(patients_by_phone(phone=from_number))
    nurses = nurses_by_phone(phone=from_number)
    if nurses and (is_ack_reply(body) or not patients):
        return nurse_reply_receive(
            provider_message_id=provider_message_id, from_number=from_number, body=body, nurses=nurses
        )
    kind = inbound_kind(body, patients)
    # The unique provider id serializes a retry that races the first delivery: its insert waits for the first
    # transaction, then finds the row (created=False) and does nothing.
    inbound, created = InboundMessage.objects.get_or_create(
        provider_message_id=provider_message_id,
        defaults={
            "from_number": from_number[:40],
            "body": body,
            "kind": kind,
            "patient": patients[0] if patients else None,
        },
    )
    if not created:
        logger.info(
            "inbound message %s (%s) again: already recorded as %s", inbound.pk, provider_message_id, inbound.kind
        )
        return inbound
    if kind in (InboundKind.STOP, InboundKind.START):
        for patient in patients:
            patient_sms_consent_set(patient_id=patient.pk, consent=kind == InboundKind.START)
    elif kind == InboundKind.REPLY:
        patient_reply_record(patient_id=patients[0].pk, text=body, provider_message_id=provider_message_id)
    logger.info("inbound message %s (%s) kind=%s patient=%s", inbound.pk, provider_message_id, kind, inbound.patient_id)
    return inbound


def nurse_reply_receive(
    *, provider_message_id: str, from_number: str, body: str, nurses: list[Nurse]
) -> InboundMessage:
    """A nurse answered her alert: "ACK <code>" acknowledges the task of hers with that code, "1" her only task
    waiting for it, as her (the event's actor is her login). Recorded NURSE_ACK when it acknowledged a task,
    NURSE_OTHER otherwise; once per provider message id."""
    inbound, created = InboundMessage.objects.get_or_create(
        provider_message_id=provider_message_id,
        defaults={"from_number": from_number[:40], "body": body, "kind": InboundKind.NURSE_OTHER},
    )
    if not created:
        return inbound
    task = task_for_ack_reply(nurses=nurses, text=body)
    if task is not None and task.assigned_to is not None:
        nurse = task.assigned_to
        try:
            task_acknowledge(task=task, nurse=nurse, actor=nurse.user)
        except TaskStateError:
            task = None
    if task is not None:
        inbound.kind = InboundKind.NURSE_ACK
        inbound.save(update_fields=["kind"])
    logger.info(
        "inbound message %s (%s) from a nurse: kind=%s task=%s",
        inbound.pk,
        provider_message_id,
        inbound.kind,
        task.pk if task else None,
    )
    return inbound
