"""Nurses: the login a nurse is created with, their care teams, and who the supervisors (charge nurses) are."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User

from care_events.platform.bus.catalogue import BACKSTOP
from care_events.platform.bus.dispatch import Actor, actor_id
from care_events.platform.bus.publish import publish
from care_events.platform.roles import NURSE, role_group
from tasks_app.models import DEFAULT_CARE_TEAM, Nurse


def nurse_user_save(
    *,
    nurse: Nurse | None,
    first_name: str,
    last_name: str,
    email: str,
    password: str | None = None,
    can_log_in: bool | None = None,
    is_active: bool = True,
    actor: Actor = None,
) -> User:
    """Create or update the user a nurse logs in with (username = email); a new one is put in the Nurse group.

    `password`: set it (None keeps the one she has; a new user without one cannot log in until it is set).
    `can_log_in`: the staff flag, which lets her into admin (None keeps it). What she may do there is her groups'.
    `is_active`: the nurse's is her login's: a nurse deactivated in admin loses admin, session and API-token access
    at once, since Django and the API refuse an inactive user. Made inactive, her open tasks are handed over at
    once (`nurse_hand_over_publish`; `actor`: who did it, named on the hand-over's events).
    """
    user = nurse.user if nurse is not None and nurse.user_id else get_user_model()()
    created = user.pk is None
    deactivated = not created and user.is_active and not is_active
    if password:
        user.set_password(password)
    elif created:
        user.set_unusable_password()
    if can_log_in is not None:
        user.is_staff = can_log_in
    user.username, user.email = email.lower(), email
    user.first_name, user.last_name = first_name, last_name
    user.is_active = is_active
    user.full_clean(exclude=["password"])
    user.save()
    # the group is created by a migration (care_events/platform/roles.py); missing, it is a deployment error
    if created:
        user.groups.add(role_group(NURSE))
    if deactivated and nurse is not None and nurse.pk is not None:
        nurse_hand_over_publish(nurse_id=nurse.pk, actor_user_id=actor_id(actor))
    return user


def nurse_hand_over_publish(*, nurse_id: int, actor_user_id: int | None = None) -> None:
    """Her open tasks move at once (docs/handover.md): the hand-over sweep for her alone, published after the
    commit. Lost, the Beat sweep moves them within SWEEP_INTERVAL_SECONDS all the same."""
    from tasks_app.tasks import hand_over_sweep_task  # tasks.py imports the services; resolved at call time

    publish(hand_over_sweep_task, args=[nurse_id, actor_user_id], queue=BACKSTOP)


def care_team_for(facility: str) -> str:
    """The care team that looks after an episode of this facility (CARE_TEAM_BY_FACILITY; unlisted: the default)."""
    return settings.CARE_TEAM_BY_FACILITY.get(facility, DEFAULT_CARE_TEAM)


def supervisors(care_team: str) -> list[Nurse]:
    """Active charge nurses of the team, alerted at every SLA breach of its tasks and when one finds nobody on
    shift; a team without its own charge nurse falls back to every charge nurse, so an alert always has someone."""
    chiefs = Nurse.objects.filter(is_active=True, is_supervisor=True).order_by("pk")
    return list(chiefs.filter(care_team=care_team)) or list(chiefs)
