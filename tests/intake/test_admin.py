"""The interface's log in admin: the list and its filters, a message's parsed view and effects, Re-apply, and the
correction of a message in error."""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from care_events.models import Episode
from intake.models import AdtMessage
from intake.services import hl7_receive
from tests.intake.messages import adt

pytestmark = pytest.mark.django_db


def test_the_log_lists_and_filters_the_messages(admin_client):
    hl7_receive(adt("A01", control_id="C1"))
    hl7_receive(adt("A01", control_id="C2", mrn=""))
    url = reverse("admin:intake_adtmessage_changelist")
    assert admin_client.get(url).status_code == 200
    for query, expected in (
        ({"status__exact": "ERROR"}, ["C2"]),
        ({"event": "A01"}, ["C2", "C1"]),
        ({"facility": "GENERAL"}, ["C1"]),
        ({"q": "C1"}, ["C1"]),
    ):
        page = admin_client.get(url, query)
        assert [row.control_id for row in page.context["cl"].result_list] == expected, query


def test_a_message_page_shows_its_parsed_fields_and_its_effects(admin_client):
    hl7_receive(adt("A01", last="O\\T\\Brien", control_id="C1"))
    row = AdtMessage.objects.get()
    page = admin_client.get(reverse("admin:intake_adtmessage_change", args=[row.pk])).content.decode()
    assert "visit number" in page and "V100" in page and "O&amp;Brien" in page
    assert f"episode {row.episode_id} admitted" in page
    assert 'name="_save"' not in page  # an applied message is a record


def test_reapply_after_the_facility_list_is_fixed(admin_client, settings):
    hl7_receive(adt("A01", facility="EAST", sender="EAST"))
    row = AdtMessage.objects.get()
    settings.CARE_FACILITIES = {**settings.CARE_FACILITIES, "EAST": "East Campus"}
    response = admin_client.post(
        reverse("admin:intake_adtmessage_changelist"), {"action": "reapply", "_selected_action": [row.pk]}
    )
    assert response.status_code == 302
    row.refresh_from_db()
    assert row.status == "APPLIED" and Episode.objects.get().facility == "EAST"


def test_an_operator_corrects_a_message_in_error_and_the_received_text_is_kept(admin_client):
    hl7_receive(adt("A01", admitted="2026-12-01"))
    row = AdtMessage.objects.get()
    assert row.status == "ERROR" and row.error_location == "PV1-44"
    page = admin_client.get(reverse("admin:intake_adtmessage_change", args=[row.pk])).content.decode()
    assert 'name="raw"' in page
    fixed = row.raw.replace("2026-12-01", "20261201083000")  # PV1-44 and EVN-6
    response = admin_client.post(reverse("admin:intake_adtmessage_change", args=[row.pk]), {"raw": fixed})
    assert response.status_code == 302
    row.refresh_from_db()
    assert row.status == "APPLIED", row.error
    assert "|2026-12-01" in row.received_raw and row.attempts == 2
    assert Episode.objects.count() == 1


def test_a_correction_may_not_change_which_message_it_is(admin_client):
    hl7_receive(adt("A01", mrn="", control_id="C1"))
    row = AdtMessage.objects.get()
    admin_client.post(reverse("admin:intake_adtmessage_change", args=[row.pk]), {"raw": row.raw.replace("C1", "C9")})
    row.refresh_from_db()
    assert row.status == "ERROR" and row.control_id == "C1" and not row.received_raw


def test_the_metrics_count_messages_by_event_and_outcome(client):
    hl7_receive(adt("A01", control_id="C1"))
    hl7_receive(adt("A03", control_id="C2", mrn=""))
    body = client.get("/metrics").content.decode()
    assert 'sequora_adt_messages{event="A01",source="HL7V2",status="APPLIED"} 1.0' in body
    assert 'sequora_adt_messages{event="A03",source="HL7V2",status="ERROR"} 1.0' in body
    assert 'sequora_adt_messages{event="A11",source="HL7V2",status="HELD"} 0.0' in body
    assert "sequora_adt_held_oldest_seconds 0.0" in body


def test_the_metrics_tell_how_long_a_discharge_has_waited_for_its_admission(client):
    with time_machine.travel(dt.datetime(2026, 12, 5, 20, tzinfo=dt.UTC), tick=False):
        hl7_receive(adt("A03", discharged="20261205143000"))  # its A01 has not come
    with time_machine.travel(dt.datetime(2026, 12, 5, 22, tzinfo=dt.UTC), tick=False):
        body = client.get("/metrics").content.decode()
        assert "sequora_adt_held_oldest_seconds 7200.0" in body
        hl7_receive(adt("A01"))  # the admission: the discharge is applied
        assert "sequora_adt_held_oldest_seconds 0.0" in client.get("/metrics").content.decode()


def test_an_administrator_reads_and_reapplies_and_a_charge_nurse_does_not_see_the_log(client):
    from tests.api.factories import AdministratorFactory, ChargeNurseFactory
    from tests.helpers import force_admin_login

    url = reverse("admin:intake_adtmessage_changelist")
    force_admin_login(client, AdministratorFactory())
    assert client.get(url).status_code == 200
    client.logout()
    force_admin_login(client, ChargeNurseFactory().user)
    assert client.get(url).status_code in (302, 403)  # no log for her: to the login, or refused
