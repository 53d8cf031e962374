import pytest


@pytest.fixture(autouse=True)
def _facilities(settings):
    settings.CARE_FACILITIES = {"GENERAL": "General Hospital", "STMARY": "St Mary Medical Center"}
    settings.ADT_DEFAULT_TIMEZONE = "America/New_York"  # PV1 times without an offset, new patients
