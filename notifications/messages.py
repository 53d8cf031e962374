"""What each notification says. Nurse messages carry no PHI (SMS and push are not private): the task's
severity, action and id, never the patient's name or answers; the nurse opens the task to see more."""

from care_events.models import Episode
from notifications.choices import NotificationType
from tasks_app.models import EscalationTask

NURSE_TEMPLATES: dict[str, tuple[str, str]] = {
    NotificationType.TASK_ASSIGNED: (
        "New task assigned",
        "New {severity} task for you: {action}. Act within {sla} min. Task {ref}.",
    ),
    NotificationType.TASK_REASSIGNED: (
        "Task reassigned to you",
        "A {severity} task was reassigned to you: {action}. Task {ref}.",
    ),
    NotificationType.URGENT_HANDOFF: (
        "URGENT hand-off",
        "URGENT hand-off: a patient needs a nurse now. Task {ref}.",
    ),
    NotificationType.TASK_UNASSIGNED: (
        "Task waiting: nobody on shift",
        "A {severity} task is waiting: no nurse on shift has room. Task {ref}.",
    ),
    NotificationType.SLA_WARNING: (
        "SLA warning",
        "75% of the SLA has passed on {severity} task {ref}. Due {breach}.",
    ),
    NotificationType.SLA_BREACH: (
        "URGENT: SLA breached",
        "URGENT: the SLA of {severity} task {ref} is breached.",
    ),
    NotificationType.TASK_RESOLVED: ("Task resolved", "Task {ref} was resolved."),
    NotificationType.CHECKIN_NO_ANSWER: (
        "Check-in not answered",
        "A patient did not answer the check-in. Task {ref}.",
    ),
    NotificationType.SYSTEM_ALERT: ("Sequora alert", "Sequora needs attention. Task {ref}."),
}

PATIENT_TEMPLATES: dict[str, dict[str, str]] = {
    NotificationType.CHECKIN: {
        "en": "Hello from your care team at {facility}. How are you feeling since you got home? "
        "Reply to this message to tell us. Reply STOP to opt out.",
        "es": "Hola, le saluda su equipo de atención de {facility}. ¿Cómo se siente desde que volvió a casa? "
        "Responda a este mensaje para contarnos. Responda STOP para no recibir más mensajes.",
    },
    NotificationType.CHECKIN_REMINDER: {
        "en": "Your care team at {facility} is checking in again: how are you feeling? Reply STOP to opt out.",
        "es": "Su equipo de atención de {facility} le pregunta de nuevo: ¿cómo se siente? Responda STOP para salir.",
    },
}


def render_for_nurse(notification_type: str, task: EscalationTask | None) -> tuple[str, str]:
    subject, body = NURSE_TEMPLATES.get(notification_type, NURSE_TEMPLATES[NotificationType.SYSTEM_ALERT])
    if task is None:
        return subject, body.replace(" Task {ref}.", "")
    context = {
        "severity": task.severity,
        "action": task.get_action_type_display(),
        "sla": task.sla_minutes,
        "ref": str(task.pk)[:8],
        "breach": f"{task.sla_breach_at:%H:%M} UTC",
    }
    return f"Sequora: {subject}", "Sequora: " + body.format(**context)


def render_for_patient(notification_type: str, episode: Episode | None, language: str) -> tuple[str, str]:
    templates = PATIENT_TEMPLATES.get(notification_type, PATIENT_TEMPLATES[NotificationType.CHECKIN])
    template = templates.get(language.split("-")[0].lower(), templates["en"])
    return "", template.format(facility=episode.facility if episode else "the hospital")
