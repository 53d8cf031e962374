"""Issue 19 row 15: run rows kept exception text (`HandlerRun.last_error`), which quotes row values. What a row keeps
now is the class and a code that holds no free text."""

import pytest
from django.db import IntegrityError, transaction

from care_events.platform.bus.retry import error_text
from notifications.backends import PermanentSendError
from tests.care_events.factories import PatientFactory

pytestmark = pytest.mark.django_db


def test_a_database_error_keeps_its_class_and_sqlstate_never_the_row_values_it_quotes():
    patient = PatientFactory(mrn="MRN4471", facility="MAIN")
    with pytest.raises(IntegrityError) as caught, transaction.atomic():
        PatientFactory(mrn=patient.mrn, facility="MAIN")  # a unique violation: PostgreSQL's message quotes the MRN
    assert "MRN4471" in str(caught.value)

    assert error_text(caught.value) == "IntegrityError: 23505"


def test_a_send_error_keeps_its_code_and_free_text_is_dropped():
    assert error_text(PermanentSendError("twilio:21211", "HTTP 400")) == "PermanentSendError: twilio:21211"
    assert error_text(RuntimeError("value +15551234567 refused")) == "RuntimeError"
    assert error_text(ValueError("code with spaces")) == "ValueError"


class _Coded(Exception):
    code = "Ada Moreno, born 1948-05-17"  # not a token: dropped


def test_a_code_that_is_not_a_short_token_is_dropped():
    assert error_text(_Coded()) == "_Coded"
