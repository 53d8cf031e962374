"""The API's own exceptions, about the request itself (its size, its idempotency key, the event it sends); a
domain rule's refusal is an ApplicationError instead (care_events/platform/errors.py). care_events/platform/rest/
errors.py turns every exception into the one error format."""

from rest_framework import exceptions, status


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "payload_too_large"

    def __init__(self, limit: int) -> None:
        super().__init__(f"The body is larger than the limit of {limit} bytes.")


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
