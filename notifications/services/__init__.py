"""Writes of the notifications app, one module per concern:

- `create`: the log row of a message (who, which channel, what it says, until when it may be retried);
- `delivery`: claiming a row (asking first whether it is still worth sending), calling the backend, retrying, the
  relay;
- `status`: the one forward-only path every report on a message takes (the worker's result, a provider's status
  callback, reconciliation, the nurse marking it read), what a failure starts, and giving up an alert's other rows
  once one reached the nurse;
- `fallback`: the next channel for an urgent alert that failed, and re-sending from admin.

Why this never loses a message nor sends one twice: docs/architecture.md#durability (point 5).
"""
