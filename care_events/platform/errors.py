"""The one kind of error a domain rule raises when it refuses what a caller asked: `ApplicationError`.

A service raises a subclass (TaskStateError, PatientExistsError, the bus's UnknownEventError...), and knows nothing
of HTTP beyond the status it means; the REST layer answers every one of them in one place, in the API's one error
format (care_events/platform/rest/errors.py). Other callers (admin screens, management commands, workers) catch the
subclass they expect and show `message` their own way.

`message` is shown to people and must never quote a submitted or stored value (values are PHI). `fields`, when
given, names the bad input: `{"field": ["message", ...]}`, nested for nested input (`{"data": {"episode_id":
[...]}}`); such an error is a 400 `invalid` naming them, as a serializer's would be.
"""

import uuid
from collections.abc import Mapping
from typing import Any


class ApplicationError(Exception):
    """Subclasses set `status` (the HTTP status it means) and `code` (stable, machine-readable), and may pass
    another `code` per instance where a client acts on the precise reason (EscalationRefusedError)."""

    status: int = 400
    code: str = "invalid"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        fields: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.fields = fields


class ConflictError(ApplicationError):
    """The object's current state does not allow this move (409 `conflict`, or a more precise code)."""

    status = 409
    code = "conflict"


class ObjectExistsError(ConflictError):
    """The object to create exists already: the error body names it (`error.existing_id`)."""

    def __init__(self, message: str, *, existing_id: uuid.UUID) -> None:
        super().__init__(message)
        self.existing_id = existing_id
