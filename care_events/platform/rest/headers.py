"""The API's own HTTP headers: part of the protocol clients see, documented by the schema (rest/schema.py) and
implemented by care_events/platform/api_clients/ (idempotency, token expiry)."""

# Makes a POST safe to retry (api_clients/idempotency.py); its keys, as the schema documents them.
IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"
IDEMPOTENCY_KEY_PATTERN = r"^[A-Za-z0-9._:\-]{1,255}$"
# On a response replayed from an earlier request with the same Idempotency-Key.
IDEMPOTENT_REPLAYED_HEADER = "Idempotent-Replayed"
# Tells a client its API key expires soon (ISO 8601, UTC; api_clients/tokens.py).
KEY_EXPIRY_HEADER = "Sequora-Token-Expires"
