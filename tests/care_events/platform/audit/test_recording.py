"""Every API request and every admin page of PHI leaves one audit row: who, from where, what, which patients, the
outcome."""

import uuid

import pytest
from django.db import connection
from django.urls import reverse

from care_events.platform.audit.anonymous import AnonymousApiTraffic
from care_events.platform.audit.models import AuditEntry
from care_events.platform.bus.models import Event
from tests.api.conftest import client_for, key_for
from tests.care_events.factories import EpisodeFactory, PatientFactory
from tests.tasks_app.factories import EscalationTaskFactory, UserFactory

pytestmark = pytest.mark.django_db


def only_entry(**filters) -> AuditEntry:
    entries = list(AuditEntry.objects.filter(**filters))
    assert len(entries) == 1, entries
    return entries[0]


def test_an_api_read_of_a_patient_names_the_user_the_key_and_the_patient(agent):
    patient = PatientFactory()

    response = client_for(agent).get(f"/api/v1/patients/{patient.pk}/?fields=all", HTTP_X_REQUEST_ID="req-42")

    assert response.status_code == 200
    entry = only_entry(action="api.read")
    assert (entry.user_id, entry.username, entry.roles) == (agent.pk, agent.username, ["Agent"])
    assert (entry.auth_method, entry.token_prefix) == ("token", key_for(agent)[:8])
    assert (entry.client_address, entry.request_id) == ("127.0.0.1", "req-42")
    assert (entry.method, entry.route, entry.path) == ("GET", "patient-detail", f"/api/v1/patients/{patient.pk}/")
    assert (entry.object_type, entry.object_ids, entry.patient_ids) == (
        "care_events.patient",
        [str(patient.pk)],
        [patient.pk],
    )
    assert entry.status_code == 200


def test_a_list_names_the_patient_of_every_row(staff):
    tasks = EscalationTaskFactory.create_batch(3)

    response = client_for(staff).get("/api/v1/tasks/")

    assert response.status_code == 200
    entry = only_entry(action="api.list")
    assert entry.object_type == "tasks_app.escalationtask"
    assert sorted(entry.object_ids) == sorted(str(task.pk) for task in tasks)
    assert sorted(entry.patient_ids) == sorted(task.patient_id for task in tasks)


def test_a_list_of_a_patients_episodes_names_the_patient_once(agent):
    episode = EpisodeFactory()
    EpisodeFactory.create_batch(2, patient=episode.patient)

    response = client_for(agent).get(f"/api/v1/patients/{episode.patient_id}/episodes/")

    assert response.status_code == 200
    entry = only_entry(action="api.list")
    assert len(entry.object_ids) == 3
    assert entry.patient_ids == [episode.patient_id]


def test_a_write_names_what_it_changed_and_a_refusal_is_recorded_too(agent):
    episode = EpisodeFactory(discharged_at=None)
    no_role = UserFactory()

    client_for(agent).post(f"/api/v1/episodes/{episode.pk}/discharge/")
    client_for(no_role).get(f"/api/v1/patients/{episode.patient_id}/")
    client_for(None).get(f"/api/v1/patients/{episode.patient_id}/")

    write, refused = AuditEntry.objects.filter(action__startswith="api.").order_by("id")
    assert (write.action, write.status_code, write.object_type) == ("api.write", 202, "care_events.episode")
    assert write.patient_ids == [episode.patient_id]
    assert (refused.action, refused.status_code, refused.user_id) == ("api.read", 403, no_role.pk)
    # The anonymous 401 is counted (test_anonymous.py), not a row of its own.
    assert AnonymousApiTraffic.objects.get().requests == 1
    # The id in a refused request's path is kept, but no patient is named: nothing was shown.
    assert refused.patient_ids == []
    assert str(episode.patient_id) in refused.path


def test_an_admin_view_of_a_patient_names_the_user_and_the_patient(admin_client, admin_user):
    patient = PatientFactory()

    response = admin_client.get(reverse("admin:care_events_patient_change", args=[patient.pk]))

    assert response.status_code == 200
    entry = only_entry(action="admin.view")
    assert (entry.user_id, entry.username, entry.auth_method) == (admin_user.pk, "admin", "session+otp")
    assert "superuser" in entry.roles
    assert (entry.object_type, entry.patient_ids, entry.status_code) == ("care_events.patient", [patient.pk], 200)
    assert entry.route == "admin:care_events_patient_change"


def test_an_admin_list_names_the_patient_of_every_row_shown(admin_client):
    episodes = EpisodeFactory.create_batch(3)

    admin_client.get(reverse("admin:care_events_episode_changelist"))

    entry = only_entry(action="admin.list")
    assert sorted(entry.object_ids) == sorted(str(e.pk) for e in episodes)
    assert sorted(entry.patient_ids) == sorted(e.patient_id for e in episodes)


def test_an_admin_action_names_the_rows_it_changed_and_the_event_names_who_acted(admin_client, admin_user):
    task = EscalationTaskFactory()

    response = admin_client.post(
        reverse("admin:tasks_app_escalationtask_changelist"), {"action": "cancel", "_selected_action": [task.pk]}
    )

    assert response.status_code == 302
    change = only_entry(action="admin.change")
    assert (change.method, change.object_ids, change.patient_ids) == ("POST", [str(task.pk)], [task.patient_id])
    assert Event.objects.get(name="task/cancelled").actor == admin_user.pk


def test_an_admin_page_for_an_id_that_is_not_one_is_recorded_without_failing(admin_client):
    response = admin_client.get(reverse("admin:care_events_patient_change", args=["not-a-uuid"]))

    assert response.status_code == 302  # admin's "no such patient" redirect
    entry = only_entry(action="admin.view")
    assert (entry.object_ids, entry.patient_ids) == (["not-a-uuid"], [])


def test_no_phi_is_copied_into_the_trail(agent):
    patient = PatientFactory(first_name="Zebulon", phone="+12025550199")

    client_for(agent).get(f"/api/v1/patients/{patient.pk}/")

    with connection.cursor() as cursor:
        cursor.execute("SELECT row_to_json(e)::text FROM care_events_auditentry e")
        (row,) = cursor.fetchone()
    assert "Zebulon" not in row
    assert "2025550199" not in row


def test_when_the_row_cannot_be_written_the_response_is_withheld(agent):
    patient, client = PatientFactory(), client_for(agent)
    with connection.cursor() as cursor:  # the audit table refuses every new row (rolled back with the test)
        cursor.execute("ALTER TABLE care_events_auditentry ADD CONSTRAINT refuse_all CHECK (false) NOT VALID")

    response = client.get(f"/api/v1/patients/{patient.pk}/")

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "audit_unavailable"
    assert patient.last_name not in response.content.decode()


def test_behind_a_trusted_proxy_the_address_is_the_one_the_proxy_saw(agent, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    patient = PatientFactory()

    client_for(agent).get(
        f"/api/v1/patients/{patient.pk}/", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.7", REMOTE_ADDR="10.0.0.2"
    )
    settings.TRUSTED_PROXY_COUNT = 0
    client_for(agent).get(f"/api/v1/patients/{patient.pk}/", HTTP_X_FORWARDED_FOR="203.0.113.7")

    proxied, direct = AuditEntry.objects.filter(action="api.read").order_by("id")
    assert proxied.client_address == "203.0.113.7"  # not the forged left-most entry
    assert direct.client_address == "127.0.0.1"  # no trusted proxy: the header is ignored


def test_superusers_read_the_trail_filtered_by_patient_and_user(admin_client, admin_user, agent):
    seen, other = PatientFactory(), PatientFactory()
    for patient in (seen, other):
        client_for(agent).get(f"/api/v1/patients/{patient.pk}/")
    url = reverse("admin:care_events_auditentry_changelist")

    by_patient = admin_client.get(url, {"patient": str(seen.pk)}).context["cl"].result_list
    by_user = admin_client.get(url, {"user": str(agent.pk)}).context["cl"].result_list
    by_search = admin_client.get(url, {"q": str(other.pk)}).context["cl"].result_list

    assert [e.patient_ids for e in by_patient] == [[seen.pk]]
    assert {e.user_id for e in by_user} == {agent.pk} and len(by_user) == 2
    assert [e.patient_ids for e in by_search] == [[other.pk]]
    assert admin_client.get(url, {"patient": str(uuid.uuid4())}).context["cl"].result_list.count() == 0
    entry = AuditEntry.objects.filter(user_id=agent.pk).first()
    assert admin_client.get(reverse("admin:care_events_auditentry_change", args=[entry.pk])).status_code == 200
    assert admin_client.get(reverse("admin:care_events_auditentry_add")).status_code == 403
    assert admin_client.post(reverse("admin:care_events_auditentry_delete", args=[entry.pk])).status_code == 403


def test_nobody_but_a_superuser_reads_the_trail(client, staff):
    from django.contrib.auth.models import Permission

    from tests.helpers import admin_login

    staff.user_permissions.add(*Permission.objects.filter(codename__endswith="auditentry"))
    admin_login(client, staff, password="correct-horse-battery")

    assert client.get(reverse("admin:care_events_auditentry_changelist")).status_code == 403
