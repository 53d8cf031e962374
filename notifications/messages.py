"""What each notification says. Nurse messages carry no PHI (SMS and push are not private): the task's
severity, action and id, never the patient's name or answers; the nurse opens the task to see more."""

from care_events.choices import NotificationType
from care_events.models import Episode
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
}

PATIENT_TEMPLATES: dict[str, dict[str, str]] = {
    NotificationType.CHECKIN: {
        "en": "Hello from your care team at {facility}. How are you feeling since you got home? "
        "Reply to this message to tell us. Reply STOP to opt out.",
        "es": "Hola, le saluda su equipo de atención de {facility}. ¿Cómo se siente desde que volvió a casa? "
        "Responda a este mensaje para contarnos. Responda STOP para no recibir más mensajes.",
    },
}


def render_for_nurse(notification_type: str, task: EscalationTask | None) -> tuple[str, str]:
    subject, body = NURSE_TEMPLATES[notification_type]
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
    templates = PATIENT_TEMPLATES[notification_type]
    template = templates.get(language.split("-")[0].lower(), templates["en"])
    return "", template.format(facility=episode.facility if episode else "the hospital")
