"""What every endpoint of the REST API shares, with no models of its own: the error format, the permission check,
parsing limits, throttles, pagination, strict serializers and the OpenAPI schema helpers. The endpoints live in each
app's `apis.py`; the API's stored state (hashed tokens, idempotency records) in `care_events/platform/api_clients/`."""
