"""The audit trail: who saw or changed which patient's data, every login and every API key change (docs/audit.md).

Views tell the trail what they returned with `note(request, objects=...)`; the middleware writes one row per
audited request once the response is known. Models holding PHI name the path to their patient with
`register_phi(Model, patient="episode__patient_id")` (in their app's `ready()`), so a row lists the patients.
"""

from care_events.platform.audit.notes import note, register_phi

__all__ = ["note", "register_phi"]
