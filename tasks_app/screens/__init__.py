"""The care team's screens inside Django admin (docs/screens.md): a nurse's worklist (worklist.py), the task actions
(task_actions.py), the charge nurse's board (board.py) and its moves on many tasks and hand-over (bulk.py), the
shift roster (roster.py, its arithmetic in tasks_app.selectors.roster_week), and the site's root that leads each
role to its screen (home.py).

Every screen asks `request.user.has_perm(...)` for a role's permission (care_events/platform/roles.py), never
`is_staff` (which only lets a person into admin); which tasks a user reaches is `tasks_visible_in_admin`'s job, so
another nurse's task is a 404. Every action goes through the task services (tasks_app/services/tasks.py, bulk.py), which
record the events, cancel or keep the SLA timers and notify, and is written to admin's log (LogEntry) by the
ModelAdmin. The URLs are the ModelAdmins' (tasks_app/admin/).
"""
