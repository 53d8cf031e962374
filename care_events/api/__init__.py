"""What every endpoint of the REST API shares: the error format, idempotency, roles, parsing limits, throttles,
pagination and the OpenAPI schema helpers. The endpoints themselves live in each app's `apis.py`."""
