"""The roles (care_events/platform/roles.py) as groups; the old agent group renamed; nurses put in the Nurse group."""

from django.db import migrations

from care_events.platform.roles import AGENT, NURSE, sync_roles


def forwards(apps, schema_editor):
    group_model = apps.get_model("auth", "Group")
    group_model.objects.filter(name="interaction-agent").update(name=AGENT)
    sync_roles(apps)
    nurse_group = group_model.objects.get(name=NURSE)
    for nurse in apps.get_model("tasks_app", "Nurse").objects.select_related("user"):
        nurse.user.groups.add(nurse_group)


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("care_events", "0008_role_permissions"),
        ("notifications", "0005_notification_loop"),
        ("tasks_app", "0003_role_permissions"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
