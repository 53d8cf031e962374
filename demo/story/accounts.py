"""The demo's people: two nurses and a supervisor on shift now, its own agent service account, fresh API keys.

Made with ORM writes in this process: the demo runs on the server's database."""

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from care_events.platform.api_clients.models import TokenScope
from care_events.platform.api_clients.tokens import api_token_create, service_account_ensure
from tasks_app.models import Nurse, NurseShift
from tasks_app.services.nurses import nurse_user_save

# Its own service account: rotating the key of the real agent's account (interaction-agent) would lock it out.
DEMO_AGENT_USERNAME = "demo-interaction-agent"


@dataclass(frozen=True)
class DemoNurse:
    email: str
    first_name: str
    last_name: str
    phone: str
    supervisor: bool


# Made-up staff with numbers of the 555-01xx range, which is reserved for fiction and reaches nobody.
DEMO_NURSES = (
    DemoNurse("demo-nurse-1@sequora-demo.invalid", "Nora", "Demo", "+14155550191", supervisor=False),
    DemoNurse("demo-nurse-2@sequora-demo.invalid", "Iris", "Demo", "+14155550192", supervisor=False),
    DemoNurse("demo-supervisor@sequora-demo.invalid", "Sam", "Demo", "+14155550193", supervisor=True),
)
SHIFT_LENGTH = dt.timedelta(hours=12)
# Room for the tasks of interrupted runs, which stay open: a full nurse is passed over by the round-robin.
DEMO_MAX_OPEN_TASKS = 100


@dataclass(frozen=True)
class DemoAccounts:
    agent_token: str
    nurse_tokens: dict[int, str]  # demo nurse id → her API key (to resolve her task as she would)
    supervisor_id: int
    shift_ends_at: dt.datetime


@transaction.atomic
def demo_accounts_ensure(*, now: dt.datetime | None = None) -> DemoAccounts:
    """The demo's nurses on shift now (two nurses and a supervisor), the agent's service account, and fresh API
    keys for them all. Idempotent: a second run finds the nurses and their shift and only replaces the keys."""
    now = now or timezone.now()
    nurse_tokens: dict[int, str] = {}
    supervisor_id = 0
    shift_ends: list[dt.datetime] = []
    for spec in DEMO_NURSES:
        nurse = _demo_nurse_ensure(spec)
        shift_ends.append(_shift_covering(nurse=nurse, now=now).ends_at)
        nurse_tokens[nurse.pk] = api_token_create(user=nurse.user, scope=TokenScope.NURSE)
        if spec.supervisor:
            supervisor_id = nurse.pk
    agent = service_account_ensure(username=DEMO_AGENT_USERNAME)
    return DemoAccounts(
        agent_token=api_token_create(user=agent, scope=TokenScope.AGENT),
        nurse_tokens=nurse_tokens,
        supervisor_id=supervisor_id,
        shift_ends_at=min(shift_ends),
    )


def _demo_nurse_ensure(spec: DemoNurse) -> Nurse:
    # The login a nurse is created with in admin: username = email, no usable password (the demo uses API keys).
    user = nurse_user_save(
        nurse=Nurse.objects.filter(user__username=spec.email.lower()).first(),
        first_name=spec.first_name,
        last_name=spec.last_name,
        email=spec.email,
    )
    nurse, _ = Nurse.objects.update_or_create(
        user=user,
        defaults={
            "phone": spec.phone,
            "email": spec.email,
            "is_active": True,
            "is_supervisor": spec.supervisor,
            "max_open_tasks": DEMO_MAX_OPEN_TASKS,
        },
    )
    return nurse


def _shift_covering(*, nurse: Nurse, now: dt.datetime) -> NurseShift:
    """Her shift running now, or a new one from an hour ago for SHIFT_LENGTH. Shifts of one nurse must not
    overlap (a database constraint): the new one starts after any that ended in that hour and ends before any
    that starts within it."""
    current = nurse.shifts.filter(starts_at__lte=now, ends_at__gt=now).first()
    if current is not None:
        return current
    starts_at, ends_at = now - dt.timedelta(hours=1), now + SHIFT_LENGTH
    for shift in nurse.shifts.filter(starts_at__lt=ends_at, ends_at__gt=starts_at):
        if shift.ends_at <= now:
            starts_at = max(starts_at, shift.ends_at)
        else:
            ends_at = min(ends_at, shift.starts_at)
    return NurseShift.objects.create(nurse=nurse, starts_at=starts_at, ends_at=ends_at)
