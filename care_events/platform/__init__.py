"""The platform: how work is recorded, queued, retried, served and audited, apart from what it means.

It imports no domain app (care_events' care domain, tasks_app, notifications) and no wiring (config); the shared
words (`care_events.choices`) are the only thing below it. import-linter holds this (pyproject.toml).
"""
