"""The API's own exceptions; care_events/platform/rest/errors.py turns every exception into the one error format."""

import uuid

from rest_framework import exceptions, status


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "payload_too_large"

    def __init__(self, limit: int) -> None:
        super().__init__(f"The body is larger than the limit of {limit} bytes.")


class Conflict(exceptions.APIException):
    """The object cannot make this move from its current state (e.g. resolving a resolved task), or it exists
    already: then `existing_id` names it, and the error body carries it (`error.existing_id`). `code` names the
    state more precisely than `conflict` where a client acts on it (e.g. `interaction_completed`)."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "The object's current state does not allow this."
    default_code = "conflict"

    def __init__(
        self, detail: str | None = None, *, existing_id: uuid.UUID | None = None, code: str | None = None
    ) -> None:
        super().__init__(detail, code)
        self.existing_id = existing_id


class IdempotencyKeyReused(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "This Idempotency-Key was already used with another request; use a new key."
    default_code = "idempotency_key_reused"


class EventIdReused(IdempotencyKeyReused):
    default_detail = "You already sent an event with this id and another name or data; use a new id."
    default_code = "event_id_reused"


class EventNotAllowed(exceptions.PermissionDenied):
    default_detail = "This event is emitted by the system only; it cannot be sent through the API."
    default_code = "event_not_allowed"
