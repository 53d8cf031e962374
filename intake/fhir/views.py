"""FHIR R4 intake at /fhir/ (docs/integration.md#fhir-r4): `POST /fhir/Encounter`, `POST /fhir/` with a transaction
Bundle (Patient + Encounter), `GET /fhir/metadata`. The API's token authentication, permissions, throttles and
audit trail; every answer that is not a resource is an OperationOutcome, never the API's error shape, never a 5xx
for anything the client sent."""

from typing import Any

from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from care_events.models import Patient
from care_events.platform.audit.notes import note
from care_events.platform.rest.parsers import LimitedJSONParser
from intake.adt import AdtError
from intake.fhir.mapping import FhirInvalid
from intake.models import AdtMessage, AdtStatus
from intake.services import fhir_receive

FHIR_JSON = "application/fhir+json"
# HL7 table 0357's codes (AdtError.code) to FHIR's issue types.
ISSUE_TYPES = {101: "required", 102: "value", 103: "code-invalid", 204: "not-found"}
# An HTTP status of the API's own refusals to FHIR's issue types.
STATUS_ISSUES = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    406: "not-supported",
    413: "too-costly",
    415: "not-supported",
    429: "throttled",
    503: "transient",
}
# Permissions of the POSTs: the same as recording a patient, an episode and a discharge through the API.
WRITE_PERMS = ("care_events.add_patient", "care_events.add_episode", "care_events.discharge_episode")


class FhirJSONParser(LimitedJSONParser):
    media_type = FHIR_JSON


class FhirJSONRenderer(JSONRenderer):
    media_type = FHIR_JSON
    format = "fhir"


def operation_outcome(diagnostics: str, *, code: str = "processing", expression: str = "") -> dict[str, Any]:
    issue: dict[str, Any] = {"severity": "error", "code": code, "diagnostics": diagnostics}
    if expression:
        issue["expression"] = [expression]
    return {"resourceType": "OperationOutcome", "issue": [issue]}


class FhirView(APIView):
    # Not in the REST API's OpenAPI schema: FHIR's own description is the CapabilityStatement (GET /fhir/metadata).
    schema = None
    parser_classes = (FhirJSONParser, LimitedJSONParser)
    renderer_classes = (FhirJSONRenderer, JSONRenderer)

    def handle_exception(self, exc: Exception) -> Response:
        """The API's refusals (401, 403, 413, 415, 429 …), answered as an OperationOutcome."""
        response = super().handle_exception(exc)
        error = response.data.get("error", {}) if isinstance(response.data, dict) else {}
        words = error.get("message") or "The request was refused."
        response.data = operation_outcome(words, code=STATUS_ISSUES.get(response.status_code, "processing"))
        return response


def _outcome_of_error(exc: AdtError) -> dict[str, Any]:
    return operation_outcome(exc.message, code=ISSUE_TYPES.get(exc.code, "processing"), expression=exc.location)


def _answer(request: Request, row: AdtMessage, created: bool, payload: dict[str, Any]) -> Response:
    """The client's resource with our ids (Encounter.id: the episode; Patient.id: the patient), or, for a Bundle,
    a transaction-response; an ERROR row is 422 with why."""
    if row.patient_id:
        note(request, model=Patient, ids=[row.patient_id], patient_ids=[row.patient_id])
    if row.status == AdtStatus.ERROR:
        code = ISSUE_TYPES.get(row.error_code, "business-rule")
        return Response(operation_outcome(row.error, code=code, expression=row.error_location), status=422)
    status = 201 if created else 200
    if payload.get("resourceType") == "Bundle":
        entries = []
        for entry in payload.get("entry", []):
            kind = (entry.get("resource") or {}).get("resourceType")
            target = row.episode_id if kind == "Encounter" else row.patient_id
            entries.append({"response": {"status": f"{status} {'Created' if created else 'OK'}",
                                         "location": f"{kind}/{target}"}})  # fmt: skip
        return Response({"resourceType": "Bundle", "type": "transaction-response", "entry": entries}, status=status)
    body = {**payload, "id": str(row.episode_id)}
    headers = {"Location": request.build_absolute_uri(f"/fhir/Encounter/{row.episode_id}")}
    return Response(body, status=status, headers=headers)


class FhirReceiveView(FhirView):
    required_perms = {"POST": WRITE_PERMS}
    resource_type = ""

    def post(self, request: Request) -> Response:
        payload = request.data
        if isinstance(payload, dict) and payload.get("resourceType") != self.resource_type:
            return Response(
                operation_outcome(f"Expected a {self.resource_type} here.", code="invalid", expression="resourceType"),
                status=400,
            )
        try:
            row, created = fhir_receive(payload=payload, sender=request.user.get_username())
        except FhirInvalid as exc:
            return Response(_outcome_of_error(exc), status=400)
        return _answer(request, row, created, payload)


class FhirEncounterView(FhirReceiveView):
    resource_type = "Encounter"


class FhirTransactionView(FhirReceiveView):
    resource_type = "Bundle"


class FhirMetadataView(FhirView):
    """The CapabilityStatement: what this server takes. Anonymous, as FHIR clients read it before they log in; it
    names no patient."""

    authentication_classes = ()
    permission_classes = (AllowAny,)

    def get(self, request: Request) -> Response:
        return Response(capability_statement(request))


def capability_statement(request: Request) -> dict[str, Any]:
    base = request.build_absolute_uri("/fhir/")
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": timezone.now().date().isoformat(),
        "publisher": "Sequora",
        "kind": "instance",
        "software": {"name": "Sequora care events"},
        "implementation": {"description": "Sequora ADT intake", "url": base},
        "fhirVersion": "4.0.1",
        "format": [FHIR_JSON, "application/json"],
        "rest": [
            {
                "mode": "server",
                "security": {
                    "service": [{"text": "Token"}],
                    "description": "Authorization: Token <API key> (docs/integration.md#fhir-r4).",
                },
                "resource": [
                    {
                        "type": "Encounter",
                        "interaction": [{"code": "create"}],
                        "documentation": "status finished with period.end is a discharge; in-progress an admission; "
                        "cancelled or entered-in-error cancels an admission without a discharge.",
                    },
                    {"type": "Patient", "documentation": "Taken inside a transaction Bundle with its Encounter."},
                ],
                "interaction": [{"code": "transaction"}],
            }
        ],
    }


def fhir_not_found(request: HttpRequest, path: str = "") -> JsonResponse:
    body = operation_outcome("No such FHIR endpoint here.", code="not-supported")
    return JsonResponse(body, status=404, content_type=FHIR_JSON)
