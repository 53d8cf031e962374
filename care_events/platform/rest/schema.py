"""OpenAPI (drf-spectacular): the error responses, the Idempotency-Key header and strict request bodies are
documented once here rather than on every endpoint."""

from typing import Any

from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import Direction, OpenApiExample, OpenApiParameter, OpenApiResponse
from rest_framework import serializers
from rest_framework.request import Request

from care_events.platform.rest.headers import IDEMPOTENCY_KEY_HEADER, IDEMPOTENCY_KEY_PATTERN, KEY_EXPIRY_HEADER
from care_events.platform.rest.permissions import required_perms

EXAMPLE_ID = "3fa85f64-5717-4562-b3fc-2c963f66afa6"


def request_example(**value: Any) -> OpenApiExample:
    return OpenApiExample("Example", value=value, request_only=True)


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(
        help_text="Stable, machine-readable: invalid, malformed_json, unsupported_media_type, not_authenticated, "
        "authentication_failed, token_expired, token_rotated, token_revoked, account_inactive, permission_denied, "
        "insufficient_scope, event_not_allowed, not_found, method_not_allowed, conflict, "
        "interaction_completed, interaction_abandoned, interaction_task_limit, episode_task_limit, "
        "interaction_response_limit, payload_too_large, idempotency_key_reused, event_id_reused, throttled, "
        "service_unavailable, server_error."
    )
    message = serializers.CharField(help_text="For people; never quotes a submitted value.")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Only for invalid input (400): each bad field (dotted when nested) and its messages.",
    )
    existing_id = serializers.UUIDField(
        required=False,
        help_text="Only for a 409 `conflict` about an object that exists already (a patient with the same MRN and "
        "facility): its id.",
    )


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


_ERRORS = {
    "400": "Invalid input: malformed JSON, an unknown or read-only field, a bad value (see error.fields).",
    "401": "No credentials, or invalid ones (send Authorization: Token <key>): an unknown, expired, rotated or "
    "revoked key, or an inactive account (see error.code).",
    "403": "Your permissions, or your API token's scope, do not allow this (or this event).",
    "404": "No such object, or not one you may see.",
    "409": "The object's current state does not allow this move (error.code names it, e.g. interaction_completed, "
    "interaction_task_limit), or it exists already (see error.existing_id).",
    "413": "The body is larger than the limit (API_MAX_BODY_BYTES, 64 KiB by default).",
    "415": "The body is not JSON (send Content-Type: application/json).",
    "422": "This Idempotency-Key (or event id) was already used with a different request.",
    "429": "Over the per-client rate (API_RATE_LIMIT; for flags and hand-offs AGENT_ESCALATION_RATE_LIMIT too), or "
    "too many invalid API keys from this address (API_INVALID_TOKEN_RATE); retry after the Retry-After header's "
    "seconds.",
    "503": "The database is briefly unavailable (nothing was done); retry after the Retry-After header's seconds.",
}


def _error(code: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorSerializer, description=_ERRORS[code])


class ApiSchema(AutoSchema):
    """Every operation documents the errors it can answer with; every POST its Idempotency-Key header.

    A view may list more error codes in `extra_error_codes` (e.g. 409 on a task's state moves). Each operation's
    description ends with the permissions it needs (the view's `required_perms`).
    """

    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation = super().get_operation(*args, **kwargs)
        perms = required_perms(self.view, self.method)
        if operation is not None and perms:
            needs = "Permissions: " + ", ".join(f"`{perm}`" for perm in perms) + "."
            operation["description"] = f"{operation.get('description', '')}\n\n{needs}".strip()
        return operation

    def get_override_parameters(self) -> list[OpenApiParameter | serializers.Serializer | type[serializers.Serializer]]:
        parameters = super().get_override_parameters()
        if self.method == "POST":
            parameters.append(
                OpenApiParameter(
                    IDEMPOTENCY_KEY_HEADER,
                    str,
                    OpenApiParameter.HEADER,
                    required=False,
                    pattern=IDEMPOTENCY_KEY_PATTERN,
                    description="Makes the POST safe to retry: the same key with the same body gets the first "
                    "response again (header Idempotent-Replayed: true) and causes one side effect; the same key "
                    "with another body is 422. Scoped to the authenticated user; kept IDEMPOTENCY_KEY_TTL_HOURS (24).",
                )
            )
        return parameters

    def _error_codes(self) -> list[str]:
        codes = ["401", "403", "429", "503"]
        if self.method == "POST":
            codes += ["400", "413", "415", "422"]
        if "{" in self.path:
            codes.append("404")
        elif self.method == "GET":
            codes += ["400", "404"]  # a list: a bad filter or page parameter; a page past the end
        codes += [str(code) for code in getattr(self.view, "extra_error_codes", ())]
        return sorted(set(codes))

    def _get_response_bodies(self, direction: Direction = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        for code in self._error_codes():
            if code not in responses:
                responses[code] = self._get_response_for_code(_error(code), code, direction=direction)
        for code in ("429", "503"):
            if code in responses:
                responses[code].setdefault("headers", {})["Retry-After"] = {
                    "schema": {"type": "integer"},
                    "description": "Seconds to wait before the next request.",
                }
        for code, response in responses.items():
            if code != "401":
                response.setdefault("headers", {})[KEY_EXPIRY_HEADER] = {
                    "schema": {"type": "string", "format": "date-time"},
                    "description": "Only when the request's API key expires within API_TOKEN_EXPIRY_WARNING_DAYS "
                    "(14): its expiry, UTC. Rotate the key before then.",
                }
        return responses


def strict_request_bodies(result: dict, generator: SchemaGenerator, request: Request | None, public: bool) -> dict:
    """POSTPROCESSING_HOOK: request bodies refuse unknown properties (as the API does: 400 naming them)."""
    for name, component in result.get("components", {}).get("schemas", {}).items():
        if name.endswith("Request") and component.get("type") == "object":
            component["additionalProperties"] = False
    return result
