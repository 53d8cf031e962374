"""The product's roles: Django groups and the permissions each holds (docs/permissions.md has the matrix).

Every API endpoint and admin screen asks `user.has_perm(...)` for one of these permissions, never `is_staff`;
`is_staff` only lets a person open admin at all. Which *rows* a permission reaches is the selectors' job: without
`tasks_app.view_all_tasks` a nurse sees the tasks assigned to her, and without `care_events.view_all_patients` the
patients (their episodes and interactions) of those tasks only. The agent reads the tasks its interactions caused
as part of the interaction (a summary: `tasks`), not through the task endpoints.

The groups are created by a migration (notifications/migrations/0006_roles.py) and kept equal to ROLES after every
`migrate` and every flush by a post_migrate receiver (`sync_roles_after_migrate`, connected in notifications'
AppConfig): a change here takes effect at the next `migrate`, and the test runner's flush of a transactional test
does not leave the later tests without their groups. Users are put in groups in admin, by
`manage.py create_agent_token` and `create_feed_token`, or by the nurse form (which puts a nurse in NURSE).
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # this module is imported by migrations and settings-free code: models are imported late
    from django.contrib.auth.models import Group

AGENT = "Agent"
HOSPITAL_FEED = "Hospital feed"
NURSE = "Nurse"
CHARGE_NURSE = "Charge nurse"
NURSE_MANAGER = "Nurse manager"
ADMINISTRATOR = "Administrator"

_NURSE = (
    "tasks_app.view_escalationtask",
    "tasks_app.acknowledge_task",
    "tasks_app.resolve_task",
    "tasks_app.view_nurseshift",
    "care_events.view_patient",
    "care_events.view_episode",
    "care_events.view_agentinteraction",
    "care_events.view_interactionresponse",
    "care_events.view_patientmessage",
    "notifications.view_notificationlog",
    "notifications.add_pushsubscription",
    "notifications.delete_pushsubscription",
)

ROLES: dict[str, tuple[str, ...]] = {
    # The interaction agent's service account.
    AGENT: (
        "care_events.add_patient",
        "care_events.view_patient",
        "care_events.view_all_patients",
        "care_events.add_episode",
        "care_events.view_episode",
        "care_events.discharge_episode",
        "care_events.view_outreachattempt",
        "care_events.record_interaction",
        "care_events.view_agentinteraction",
        "care_events.view_interactionresponse",
        "care_events.view_patientmessage",
        "care_events.add_event",
    ),
    # The hospital's interface engine posting its ADT feed as FHIR (intake/fhir/): patients, their stays and
    # discharges, nothing else (no interactions, no events, no reading).
    HOSPITAL_FEED: (
        "care_events.add_patient",
        "care_events.add_episode",
        "care_events.discharge_episode",
    ),
    # A nurse: her own tasks (read, acknowledge, resolve), what the patient said, her notifications.
    NURSE: _NURSE,
    # A supervisor: every task and every action on it, the board, nurses and the roster.
    CHARGE_NURSE: (
        *_NURSE,
        "care_events.view_all_patients",
        "tasks_app.view_all_tasks",
        "tasks_app.reassign_task",
        "tasks_app.cancel_task",
        "tasks_app.view_nurse",
        "tasks_app.add_nurse",
        "tasks_app.change_nurse",
        "tasks_app.add_nurseshift",
        "tasks_app.change_nurseshift",
        "tasks_app.delete_nurseshift",
        "tasks_app.view_reports",
    ),
    # The nurse manager: the care-quality reports (reports/), which name the patients who were not reached in time,
    # and read access to the tasks, patients, nurses and shifts behind the figures; no action on a task.
    NURSE_MANAGER: (
        "tasks_app.view_reports",
        "tasks_app.view_escalationtask",
        "tasks_app.view_all_tasks",
        "tasks_app.view_nurse",
        "tasks_app.view_nurseshift",
        "care_events.view_patient",
        "care_events.view_all_patients",
        "care_events.view_episode",
        "care_events.view_agentinteraction",
        "care_events.view_interactionresponse",
    ),
    # Runs the service: every permission of the product's apps and of user accounts.
    ADMINISTRATOR: ("care_events.*", "tasks_app.*", "notifications.*", "intake.*", "auth.*"),
}

# What an API token's scope lets through of its holder's permissions (care_events/platform/api_clients/models.py); a
# read-only token lets through any of them, for reading only.
TOKEN_SCOPE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    "agent": ROLES[AGENT],
    "feed": ROLES[HOSPITAL_FEED],
    "nurse": ROLES[CHARGE_NURSE],
}


def sync_roles_after_migrate(sender: Any, apps: Any = None, **kwargs: Any) -> None:
    """post_migrate's receiver. `migrate` passes its app registry; a flush passes none (the installed apps)."""
    from django.apps import apps as installed_apps

    sync_roles(apps or installed_apps)


def sync_roles(apps: Any) -> None:
    """Make each group hold exactly its ROLES permissions. `apps` is a migration's app registry.

    Permissions are created first (a fresh database has none until post_migrate), so this works inside a
    migration. A codename that does not exist is an error, not a silent gap in a role; except in an older
    migration, for a permission that a later migration adds (the code's models declare it): post_migrate syncs the
    roles again once every migration has run.
    """
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        # A migration's app configs have no models module, and create_permissions skips those: lend one.
        models_module = getattr(app_config, "models_module", None)
        app_config.models_module = models_module or True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = models_module

    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    for name in ROLES:
        group, _ = group_model.objects.get_or_create(name=name)
        group.permissions.set(_role_permissions(permission_model, name))


def role_group(name: str) -> "Group":
    """The role's group: made by the migration, kept by post_migrate (flushes included); missing, it is an error."""
    from django.contrib.auth.models import Group

    return Group.objects.get(name=name)


def _role_permissions(permission_model: Any, name: str) -> list[Any]:
    granted = []
    for perm in ROLES[name]:
        app_label, codename = perm.split(".")
        found = permission_model.objects.filter(content_type__app_label=app_label)
        if codename != "*":
            found = found.filter(codename=codename)
        if not found.exists():
            if _declared_by_the_models(app_label, codename):
                continue
            raise LookupError(f"Role {name!r}: no permission {perm!r}")
        granted.extend(found)
    return granted


def _declared_by_the_models(app_label: str, codename: str) -> bool:
    """Whether the code's models (not a migration's historical ones) declare this permission."""
    from django.apps import apps

    try:
        app_config = apps.get_app_config(app_label)
    except LookupError:
        return False
    if codename == "*":  # every permission of an app whose tables a later migration makes
        return any(True for _ in app_config.get_models())
    for model in app_config.get_models():
        opts = model._meta
        declared = [f"{action}_{opts.model_name}" for action in opts.default_permissions]
        if codename in declared + [code for code, _ in opts.permissions]:
            return True
    return False
