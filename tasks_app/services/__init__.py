"""Writes of tasks_app, one module per concern:

- `nurses`: a nurse's login, the supervisors;
- `tasks`: a task's life (create, acknowledge, resolve, cancel, reassign);
- `bulk`: a charge nurse's moves on many tasks (assign, acknowledge, hand over all of a nurse's), one by one;
- `assignment`: round-robin assignment and the sweep for tasks nobody could take;
- `sla`: the SLA timers and what their firing does;
- `escalation`: what creates a task (a worrying answer, a flag, a hand-off, an unanswered check-in);
- `replies`: a patient's text nobody acted on, or with a red flag, becomes a nurse's review task.
"""
