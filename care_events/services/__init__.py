"""Writes of the care domain, one module per concern: `patients`, `episodes` (and the discharge), `checkin` (its
timer, the SMS, the no-answer follow-up) and `interactions` (the agent's conversations, the patient's texts)."""
