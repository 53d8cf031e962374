from django.urls import path, re_path

from intake.fhir.views import FhirEncounterView, FhirMetadataView, FhirTransactionView, fhir_not_found

urlpatterns = [
    path("metadata", FhirMetadataView.as_view(), name="fhir-metadata"),
    path("Encounter", FhirEncounterView.as_view(), name="fhir-encounter"),
    path("", FhirTransactionView.as_view(), name="fhir-transaction"),
    re_path(r"^(?P<path>.*)$", fhir_not_found, name="fhir-not-found"),
]
