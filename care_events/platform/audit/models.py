"""The audit trail (HIPAA §164.312(b)): one row per access to PHI, per login and per API key change.

The table is append-only at the database: a trigger refuses UPDATE, DELETE and TRUNCATE (the migration that
creates it), so neither the application nor an injected statement through its connection can rewrite the past.
docs/audit.md says what each field holds and how to read them. A row holds ids, never a name or a phone number.
"""

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.utils import timezone


class AuditAction(models.TextChoices):
    API_READ = "api.read", "API read"
    API_LIST = "api.list", "API list"
    API_WRITE = "api.write", "API write"
    ADMIN_VIEW = "admin.view", "Admin view"
    ADMIN_LIST = "admin.list", "Admin list"
    ADMIN_ADD = "admin.add", "Admin add"
    ADMIN_CHANGE = "admin.change", "Admin change"
    ADMIN_DELETE = "admin.delete", "Admin delete"
    LOGIN = "login", "Login"
    LOGIN_FAILED = "login.failed", "Login failed"
    LOGOUT = "logout", "Logout"
    TOKEN_CREATE = "token.create", "API key created"
    TOKEN_ROTATE = "token.rotate", "API key rotated"
    TOKEN_REVOKE = "token.revoke", "API key revoked"


class AuthMethod(models.TextChoices):
    NONE = "", "Anonymous"
    SESSION = "session", "Session"
    SESSION_OTP = "session+otp", "Session, verified by a one-time password"
    TOKEN = "token", "API key"


class AuditEntry(models.Model):
    id = models.BigAutoField(primary_key=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)

    # Who. The user's id and name are copied, not a foreign key: the row outlives the account.
    user_id = models.IntegerField(null=True, blank=True, db_index=True)
    username = models.CharField(
        max_length=150, blank=True, help_text="The account's name; on a failed login, the name that was tried."
    )
    roles = ArrayField(models.CharField(max_length=150), default=list, blank=True, help_text="Groups, and superuser.")
    auth_method = models.CharField(max_length=16, choices=AuthMethod.choices, blank=True)
    token_prefix = models.CharField(max_length=16, blank=True, help_text="The first characters of the API key used.")

    # From where.
    client_address = models.GenericIPAddressField(null=True, blank=True)
    request_id = models.CharField(max_length=64, blank=True)

    # What, and the outcome.
    action = models.CharField(max_length=16, choices=AuditAction.choices, db_index=True)
    method = models.CharField(max_length=8, blank=True)
    route = models.CharField(max_length=200, blank=True, help_text="The URL's name, e.g. patient-detail.")
    path = models.CharField(max_length=500, blank=True, help_text="Without the query string.")
    object_type = models.CharField(max_length=100, blank=True, help_text="app_label.model of the objects.")
    object_ids = ArrayField(models.CharField(max_length=64), default=list, blank=True)
    patient_ids = ArrayField(models.UUIDField(), default=list, blank=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    detail = models.JSONField(default=dict, blank=True, help_text="Ids and codes only, e.g. why a login failed.")

    class Meta:
        ordering = ["-at"]
        verbose_name_plural = "audit entries"
        indexes = [GinIndex(fields=["patient_ids"], name="auditentry_patient_ids_gin")]

    def __str__(self) -> str:
        return f"Audit entry {self.pk}"
