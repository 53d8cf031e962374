from django.contrib.admin.apps import AdminConfig


class SequoraAdminConfig(AdminConfig):
    """Django's admin, with our site (config/admin.py: one-time passwords, the audit trail) as `admin.site`."""

    default_site = "config.admin.SequoraAdminSite"
