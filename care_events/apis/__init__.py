"""The care domain's REST endpoints, one module per concern: patients and episodes, interactions, events."""
