"""Nurses, shifts and escalation tasks in Django admin; the care team's screens hang under their ModelAdmins' URLs.

Importing the modules registers their ModelAdmins (admin's autodiscover imports this package)."""

from django.contrib import admin

from tasks_app.admin import nurses, shifts, tasks  # noqa: F401 - each registers its ModelAdmin

# Admin's home leads with the care team's screens (the board, the worklist, the roster), then the apps.
admin.site.index_template = "admin/tasks_app/index.html"
# "View site" opens the care team's home: the board for a charge nurse, the worklist for a nurse.
admin.site.site_url = "/"
