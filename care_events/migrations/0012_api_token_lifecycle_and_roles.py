"""API tokens expire, carry a scope, record their last use, and rotate with an overlap; a nurse reads only her
tasks' patients unless she holds care_events.view_all_patients; the roles synced again (care_events/platform/roles.py)."""

import datetime as dt

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.utils import timezone

from care_events.platform.roles import AGENT, sync_roles


def _expiry_of_existing_keys() -> dt.datetime:
    # Keys made before expiry existed get a full lifetime from now, not from their creation: a deployment must not
    # log the agent out.
    return timezone.now() + dt.timedelta(days=settings.API_TOKEN_MAX_AGE_DAYS)


def forwards(apps, schema_editor):
    token_model = apps.get_model("care_events", "ApiToken")
    token_model.objects.filter(user__groups__name=AGENT).update(scope="agent")
    sync_roles(apps)


class Migration(migrations.Migration):

    dependencies = [
        ('care_events', '0011_interactionresponse_question'),
        ('notifications', '0006_roles'),
        ('tasks_app', '0003_role_permissions'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='apitoken',
            options={'ordering': ['-created_at'], 'verbose_name': 'API token'},
        ),
        migrations.AlterModelOptions(
            name='patient',
            options={'ordering': ['last_name', 'first_name'], 'permissions': [('view_all_patients', 'Can see every patient, episode and interaction')]},
        ),
        migrations.AddField(
            model_name='apitoken',
            name='expires_at',
            field=models.DateTimeField(default=_expiry_of_existing_keys, help_text='Refused from then on (401 token_expired).'),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name='apitoken',
            name='last_used_at',
            field=models.DateTimeField(blank=True, help_text='To the minute.', null=True),
        ),
        migrations.AddField(
            model_name='apitoken',
            name='revoked_at',
            field=models.DateTimeField(blank=True, help_text='Refused from then on (401 token_revoked).', null=True),
        ),
        migrations.AddField(
            model_name='apitoken',
            name='rotated_at',
            field=models.DateTimeField(blank=True, help_text='When a new key replaced it; it stays valid for the overlap (expires_at).', null=True),
        ),
        migrations.AddField(
            model_name='apitoken',
            name='scope',
            field=models.CharField(choices=[('agent', 'Agent'), ('nurse', 'Nurse'), ('read-only', 'Read-only')], default='nurse', max_length=10),
            preserve_default=False,
        ),
        migrations.AlterField(
            model_name='apitoken',
            name='user',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='api_tokens', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddConstraint(
            model_name='apitoken',
            constraint=models.UniqueConstraint(condition=models.Q(('revoked_at__isnull', True), ('rotated_at__isnull', True)), fields=('user',), name='api_token_one_current_per_user'),
        ),
        migrations.AddConstraint(
            model_name='apitoken',
            constraint=models.CheckConstraint(condition=models.Q(('scope__in', ['agent', 'nurse', 'read-only'])), name='api_token_scope_valid'),
        ),
        migrations.RunPython(forwards, migrations.RunPython.noop),
    ]
