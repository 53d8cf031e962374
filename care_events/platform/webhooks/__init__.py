"""Outbound webhooks: the product tells the agent what happened (docs/webhooks.md), signed as Standard Webhooks
sign, delivered from the outbox (one row per event and subscription) with the bus's claim, retry and relay."""
