"""A task's story on one page, in words: created (by which answer, flag or unanswered check-in) → assigned →
each message with its channel and delivery status → viewed → acknowledged → warning → breach → reassigned (why) →
notes and call attempts → resolved, and what is still due (its pending SLA timers).

One selector, `task_timeline`, reads the facts that exist, in a fixed number of queries whatever the task's length:
the task's events (care_events' bus), its messages (NotificationLog, through the task's `notifications` relation, so
this app does not import notifications), the audit trail's views of its page, its notes and its timers."""

import dataclasses
import datetime as dt
from typing import Any

from django.contrib.auth import get_user_model

from care_events.choices import Channel, NotificationType
from care_events.models import InteractionResponse
from care_events.platform.audit.models import AuditAction, AuditEntry
from care_events.platform.bus.models import Event, Timer, TimerKind
from tasks_app.care_team import care_team_time
from tasks_app.models import ActionType, EscalationTask, HandOverReason, Nurse

TASK_EVENTS = (
    "task/assigned",
    "task/reassigned",
    "task/handed_back",
    "task/ack_escalated",
    "task/acknowledged",
    "task/sla_warning",
    "task/sla_breach",
    "task/resolved",
    "task/cancelled",
)
MESSAGE_STATUS = {
    "PENDING": "waiting to be sent",
    "SENT": "sent",
    "DELIVERED": "delivered",
    "READ": "read",
    "FAILED": "failed",
    "CANCELLED": "not sent",
}


@dataclasses.dataclass(frozen=True)
class TimelineEntry:
    at: dt.datetime
    kind: str  # created, assigned, reassigned, message, viewed, acknowledged, warning, breach, note, call, resolved...
    text: str  # what happened, in words
    detail: str = ""  # a note's or a resolution's own words, shown under it
    upcoming: bool = False  # not happened yet: a pending SLA timer


def task_timeline(*, task: EscalationTask) -> list[TimelineEntry]:
    """Everything that happened to `task`, oldest first, then what is still due."""
    events = list(Event.objects.filter(name__in=TASK_EVENTS, data__task_id=str(task.pk)).order_by("created_at", "pk"))
    messages = list(
        task.notifications.select_related("recipient_nurse__user").order_by("created_at")  # type: ignore[attr-defined]
    )
    views = list(
        AuditEntry.objects.filter(
            action=AuditAction.ADMIN_VIEW, object_type="tasks_app.escalationtask", object_ids__contains=[str(task.pk)]
        )
        .order_by("at")
        .values("at", "user_id")
    )
    notes = list(task.notes.select_related("author"))  # type: ignore[attr-defined]
    people = _people(events, views)

    entries = [TimelineEntry(at=task.created_at, kind="created", text=_created_words(task))]
    entries += [_event_entry(event, task, people) for event in events]
    entries += [_message_entry(message) for message in messages]
    entries += [
        TimelineEntry(at=message.read_at, kind="read", text=f"{_recipient(message)} read the {_channel(message)}")
        for message in messages
        if message.read_at is not None
    ]
    seen: set[int] = set()
    for view in views:  # the first time each person opened the task's page
        if view["user_id"] is not None and view["user_id"] not in seen:
            seen.add(view["user_id"])
            who = people.users.get(view["user_id"], "someone")
            entries.append(TimelineEntry(at=view["at"], kind="viewed", text=f"Viewed by {who}"))
    entries += [_note_entry(note) for note in notes]
    entries.sort(key=lambda entry: entry.at)
    return entries + _upcoming(task)


@dataclasses.dataclass
class _People:
    nurses: dict[int, str]
    users: dict[int, str]


def _people(events: list[Event], views: list[Any]) -> _People:
    keys = ("nurse_id", "from_nurse_id", "to_nurse_id")
    nurse_ids = {event.data[key] for event in events for key in keys if event.data.get(key)}
    nurses = {nurse.pk: str(nurse) for nurse in Nurse.objects.filter(pk__in=nurse_ids).select_related("user")}
    user_ids = {event.actor for event in events if event.actor is not None} | {view["user_id"] for view in views}
    users = {
        user.pk: user.get_full_name() or user.get_username()
        for user in get_user_model().objects.filter(pk__in=user_ids - {None})
    }
    return _People(nurses=nurses, users=users)


def _created_words(task: EscalationTask) -> str:
    """What made the task: the answer (quoted, with its severity), the agent's hand-off or flag, an unanswered
    check-in, or a patient's text."""
    key = task.source_key or ""
    if key.startswith("response:"):
        response = InteractionResponse.objects.filter(pk=key.removeprefix("response:")).first()
        if response is not None:
            return f"Created by the patient's answer “{response.text}” ({response.get_severity_display()})"
    if key.startswith("no-answer:"):
        return "Created because the patient did not answer the check-in"
    if key.startswith("reply:"):
        return "Created by a text from the patient that needs a nurse"
    if task.action_type == ActionType.URGENT_HANDOFF:
        return "Created by the agent's urgent hand-off"
    if task.interaction_id is not None:
        return "Created by the agent's flag during the conversation"
    return "Created"


def _by(event: Event, people: _People, *, system: str) -> str:
    return f"by {people.users.get(event.actor, 'someone')}" if event.actor is not None else system


def _event_entry(event: Event, task: EscalationTask, people: _People) -> TimelineEntry:
    data, name = event.data, event.name.removeprefix("task/")
    nurse = people.nurses.get(data.get("to_nurse_id") or data.get("nurse_id") or 0, "a nurse")
    reason = HandOverReason(data["reason"]).label.lower() if data.get("reason") in HandOverReason.values else ""
    words = {
        "assigned": f"Assigned to {nurse} {_by(event, people, system='by round-robin')}",
        "reassigned": f"Reassigned from {people.nurses.get(data.get('from_nurse_id') or 0, 'nobody')} to {nurse} "
        f"{_by(event, people, system='by round-robin')}" + (f" (why: {reason})" if reason else ""),
        "handed_back": f"Handed back: nobody on shift could take it from "
        f"{people.nurses.get(data.get('from_nurse_id') or 0, 'its nurse')}" + (f" (why: {reason})" if reason else ""),
        "ack_escalated": f"Not acknowledged in time by {nurse}: handed on, charge nurses alerted",
        "acknowledged": f"Acknowledged for {nurse} {_by(event, people, system='')}".rstrip(),
        "sla_warning": "Warning: 75 % of the SLA passed while open",
        "sla_breach": "Breach: the SLA ran out while open",
        "resolved": f"Resolved {_by(event, people, system='')}".rstrip()
        + (f": {task.resolution_outcome}" if task.resolution_outcome_id else ""),
        "cancelled": f"Cancelled {_by(event, people, system='')}".rstrip(),
    }[name]
    detail = task.resolution if name in ("resolved", "cancelled") else ""
    kind = {"sla_warning": "warning", "sla_breach": "breach"}.get(name, name)
    return TimelineEntry(at=event.created_at, kind=kind, text=words, detail=detail)


def _recipient(message: Any) -> str:
    return str(message.recipient_nurse) if message.recipient_nurse_id else "The patient"


def _channel(message: Any) -> str:
    return "WhatsApp message" if message.whatsapp else Channel(message.channel).label


def _message_entry(message: Any) -> TimelineEntry:
    status = MESSAGE_STATUS.get(message.status, message.status.lower())
    to = str(message.recipient_nurse) if message.recipient_nurse_id else "the patient"
    what = NotificationType(message.type).label if message.type in NotificationType.values else message.type
    text = f"{_channel(message)} to {to} ({what}): {status}"
    if message.status == "FAILED" and message.error_code:
        text += f" ({message.error_code})"
    return TimelineEntry(at=message.created_at, kind="message", text=text)


def _note_entry(note: Any) -> TimelineEntry:
    author = note.author.get_full_name() or note.author.get_username()
    if not note.call_outcome:
        return TimelineEntry(at=note.created_at, kind="note", text=f"Note by {author}", detail=note.text)
    text = f"Call by {author}: {note.get_call_outcome_display().lower()}"
    if note.retry_at is not None:
        text += f", retry at {care_team_time(note.retry_at):%H:%M}"
    return TimelineEntry(at=note.created_at, kind="call", text=text, detail=note.text)


def _upcoming(task: EscalationTask) -> list[TimelineEntry]:
    if not task.is_open:
        return []
    words: dict[str, str] = {
        TimerKind.SLA_WARNING: "Warning due (75 % of the SLA)",
        TimerKind.SLA_BREACH: "Breach due (the SLA ends)",
    }
    timers = Timer.objects.filter(
        subject_id=task.pk, kind__in=list(words), fired_at=None, cancelled_at=None, failed_at=None
    ).order_by("due_at")
    return [TimelineEntry(at=timer.due_at, kind="due", text=words[timer.kind], upcoming=True) for timer in timers]


def _when(at: dt.datetime, now: dt.datetime) -> str:
    local = care_team_time(at)
    return f"{local:%H:%M}" if local.date() == care_team_time(now).date() else f"{local:%a %-d %b at %H:%M}"


def task_stale_words(*, task: EscalationTask, user: Any, now: dt.datetime) -> str:
    """Why a link to `task` no longer leads to a task `user` can act on, in words and without PHI: "This task was
    reassigned to Grace Liu at 19:52.", "This task was resolved by Grace Liu at 19:52.", or whose it is now."""
    closed = {"RESOLVED": "task/resolved", "CANCELLED": "task/cancelled"}.get(task.status)
    if closed is not None:
        event = Event.objects.filter(name=closed, data__task_id=str(task.pk)).first()
        at = event.created_at if event else (task.resolved_at or task.cancelled_at or now)
        actor = get_user_model().objects.filter(pk=event.actor).first() if event and event.actor else None
        by = f" by {actor.get_full_name() or actor.get_username()}" if actor else ""
        return f"This task was {task.get_status_display().lower()}{by} at {_when(at, now)}."
    holder = str(task.assigned_to) if task.assigned_to_id else None
    mine = getattr(user, "nurse", None)
    if mine is not None and mine.pk != task.assigned_to_id:
        moved = (
            Event.objects.filter(
                name__in=("task/reassigned", "task/handed_back"),
                data__task_id=str(task.pk),
                data__from_nurse_id=mine.pk,
            )
            .order_by("-created_at")
            .first()
        )
        if moved is not None:
            to = f"reassigned to {holder}" if holder else "handed back to wait for a nurse on shift"
            return f"This task was {to} at {_when(moved.created_at, now)}. It is no longer yours."
    if holder:
        return f"This task is held by {holder}; it is not one of yours."
    return "This task is waiting for a nurse on shift; it is not one of yours."
