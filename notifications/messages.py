"""What each message says, from the Django templates in notifications/templates/notifications/.

Nurse messages carry no PHI (SMS, push and voice are not private) but are actionable: the severity, the action, the
due time in the nurse's timezone and a link that opens the task; never the patient's name or answers. Templates:
`nurse/<TYPE>.txt` (or `nurse/<TYPE>.<CHANNEL>.txt`, or `nurse/default.<CHANNEL>.txt` for a channel that words every
type alike) and `nurse/<TYPE>.subject.txt` (email subject, push title). Patient messages: `patient/<TYPE>.<lang>.txt`
in the patient's preferred language, English when there is none in it; they name the facility by its vetted
display name (CARE_FACILITIES), never by free text.
"""

from zoneinfo import ZoneInfo

from django.conf import settings
from django.template.loader import render_to_string, select_template
from django.urls import reverse
from django.utils import timezone

from care_events.choices import NotificationType
from care_events.facilities import facility_display_name
from care_events.models import Episode
from notifications.models import NotificationLog
from tasks_app.models import EscalationTask, Nurse, TaskStatus
from tasks_app.selectors import unassigned_cause
from tasks_app.services.acknowledgement import ack_token_make

PATIENT_LANGUAGES = ("en", "es")


def task_link(task: EscalationTask) -> str:
    """Where a nurse opens the task (the link in her messages)."""
    return settings.PUBLIC_BASE_URL.rstrip("/") + reverse("admin:tasks_app_escalationtask_change", args=[task.pk])


def ack_code_for(task: EscalationTask | None, nurse: Nurse) -> str:
    """The code she may reply with to acknowledge (docs/handover.md), in her own alerts about a task of hers that
    waits for it; "" otherwise (a charge nurse's copy, an acknowledged task)."""
    if task is None or task.assigned_to_id != nurse.pk or task.status != TaskStatus.ASSIGNED:
        return ""
    return task.ack_code


def render_for_nurse(
    notification_type: str, channel: str, task: EscalationTask | None, nurse: Nurse
) -> tuple[str, str]:
    """(subject, body) of a nurse's message on `channel`."""
    due = task.sla_breach_at.astimezone(ZoneInfo(nurse.timezone)) if task is not None else None
    context = {
        "severity": task.severity if task else "",
        "action": task.get_action_type_display() if task else "",
        "due": f"{due:%H:%M %Z} ({due:%b %d})" if due else "",
        "link": task_link(task) if task else settings.PUBLIC_BASE_URL,
        "ref_spoken": " ".join(str(task.pk)[:4]) if task else "",
        "ack_code": ack_code_for(task, nurse),
    }
    if notification_type == NotificationType.TASK_UNASSIGNED and task is not None:
        # Why nobody took it, as it is when the message goes: the team's name and counts, no PHI.
        context["cause"] = unassigned_cause(care_team=task.care_team, now=timezone.now()).text
    subject = render_to_string(f"notifications/nurse/{notification_type}.subject.txt", context).strip()
    body = select_template(
        [
            f"notifications/nurse/{notification_type}.{channel}.txt",
            f"notifications/nurse/default.{channel}.txt",
            f"notifications/nurse/{notification_type}.txt",
        ]
    ).render({**context, "subject": subject})
    return f"Sequora: {subject}", body.strip()


def push_actions(log: NotificationLog) -> dict[str, object]:
    """What a nurse's push alert carries besides its words: an "Acknowledge" button, with the signed token its
    service worker posts to /alerts/acknowledge/ (docs/api.md#push-notifications-for-nurses), while the task
    waits for her acknowledgement. Computed at each send, so a token never outlives the assignment it names."""
    nurse, task = log.recipient_nurse, log.task
    if nurse is None or not ack_code_for(task, nurse):
        return {}
    assert task is not None  # ack_code_for
    return {
        "actions": [{"action": "acknowledge", "title": "Acknowledge"}],
        "data": {
            "acknowledge_url": settings.PUBLIC_BASE_URL.rstrip("/") + reverse("acknowledge-from-alert"),
            "token": ack_token_make(task=task, nurse=nurse),
            "url": task_link(task),
        },
    }


def render_for_patient(notification_type: str, episode: Episode | None, language: str) -> tuple[str, str]:
    """("", body) of a patient's text, in the patient's language."""
    return "", render_patient_text(notification_type, language, facility_code=episode.facility if episode else "")


def render_patient_text(name: str, language: str, *, facility_code: str = "") -> str:
    """A patient's text. It names the facility by its vetted display name (CARE_FACILITIES), never by what a caller
    typed: a code that is not listed reads "the hospital"."""
    lang = language.split("-")[0].lower()
    lang = lang if lang in PATIENT_LANGUAGES else "en"
    facility = facility_display_name(facility_code) if facility_code else None
    context = {"facility": facility or ("su hospital" if lang == "es" else "the hospital")}
    return render_to_string(f"notifications/patient/{name}.{lang}.txt", context).strip()
