from django.contrib.admin.apps import AdminConfig


class SequoraAdminConfig(AdminConfig):
    """Django's admin, with our site (care_events/platform/admin.py: one-time passwords, the audit trail) as
    `admin.site`."""

    default_site = "care_events.platform.admin.SequoraAdminSite"
