"""What the interaction agent may cause, through the API (docs/api.md#what-the-agent-may-cause): flags and hand-offs
refused late, capped and coalesced, with the product's SLA; a rate of their own; responses capped and paged; event
ids scoped to their sender; the patient's consent out of the agent's reach; facilities from the vetted list."""

import datetime as dt
from concurrent.futures import ThreadPoolExecutor

import pytest
import time_machine
from django.db import connection

from care_events.models import Episode, InteractionResponse, Patient
from care_events.platform.bus.models import Event, Timer
from notifications.models import NotificationLog
from tasks_app.models import EscalationTask
from tasks_app.services.tasks import task_resolve
from tests.api.conftest import client_for
from tests.api.factories import AgentUserFactory
from tests.care_events.factories import AgentInteractionFactory, EpisodeFactory, InteractionResponseFactory
from tests.helpers import drain
from tests.tasks_app.factories import NurseShiftFactory

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 12, 1, 15, 0, tzinfo=dt.UTC)


def flag_url(interaction) -> str:
    return f"/api/v1/interactions/{interaction.pk}/raise-flag/"


def handoff_url(interaction) -> str:
    return f"/api/v1/interactions/{interaction.pk}/handoff/"


def flag(n: int = 0, **changes) -> dict:
    """A flag with its own reason code (`n`), so that it is not a repeat of another."""
    return {"severity": "HIGH", "reason_codes": [f"HF_FINDING_{n}"], "action_type": "NURSE_CALLBACK_2H", **changes}


def error(response) -> dict:
    return response.json()["error"]


# --- 1. Finished interactions ------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [flag_url, handoff_url])
def test_a_flag_on_a_completed_interaction_is_taken_within_the_grace_period_then_refused(agent_client, url, settings):
    settings.AGENT_LATE_FLAG_GRACE_MINUTES = 10
    interaction = AgentInteractionFactory()
    body = flag() if url is flag_url else {"reason": "PATIENT_REQUEST"}
    with time_machine.travel(T0, tick=False):
        agent_client.post(f"/api/v1/interactions/{interaction.pk}/complete/", {"outcome": "PATIENT_OK"}, format="json")
    with time_machine.travel(T0 + dt.timedelta(minutes=10), tick=False):
        in_time = agent_client.post(url(interaction), body, format="json")
    with time_machine.travel(T0 + dt.timedelta(minutes=10, seconds=1), tick=False):
        late = agent_client.post(url(interaction), body, format="json")

    assert in_time.status_code == 201
    assert late.status_code == 409
    assert error(late)["code"] == "interaction_completed"
    assert "start a new interaction" in error(late)["message"]
    assert EscalationTask.objects.count() == 1


def test_a_flag_on_an_abandoned_interaction_is_refused_naming_that_state(agent_client):
    with time_machine.travel(T0, tick=False):
        interaction = AgentInteractionFactory(status="ABANDONED")
    with time_machine.travel(T0 + dt.timedelta(hours=1), tick=False):
        response = agent_client.post(flag_url(interaction), flag(), format="json")

    assert (response.status_code, error(response)["code"]) == (409, "interaction_abandoned")
    assert not EscalationTask.objects.exists()


# --- 2. Caps and coalescing --------------------------------------------------------------------------------------


def test_25_rapid_flags_create_at_most_the_cap_and_nurses_get_at_most_that_many_calls(agent_client, settings):
    settings.AGENT_OPEN_TASKS_PER_INTERACTION = 3
    NurseShiftFactory(), NurseShiftFactory()
    interaction = AgentInteractionFactory()

    responses = [
        agent_client.post(flag_url(interaction), flag(n, severity="CRITICAL"), format="json") for n in range(25)
    ]
    drain()

    assert [r.status_code for r in responses] == [201] * 3 + [409] * 22
    assert {error(r)["code"] for r in responses[3:]} == {"interaction_task_limit"}
    assert EscalationTask.objects.count() == 3
    assert NotificationLog.objects.filter(type="TASK_ASSIGNED").count() == 3


def test_the_issues_25_urgent_handoffs_in_a_row_are_one_task_and_one_urgent_call(agent_client):
    NurseShiftFactory()
    interaction = AgentInteractionFactory()

    responses = [
        agent_client.post(handoff_url(interaction), {"reason": "PATIENT_REQUEST"}, format="json") for _ in range(25)
    ]
    drain()

    assert [r.status_code for r in responses] == [201] + [200] * 24
    assert {r.json()["id"] for r in responses} == {str(EscalationTask.objects.get().pk)}
    assert NotificationLog.objects.filter(type="URGENT_HANDOFF").count() == 1


@pytest.mark.django_db(transaction=True)
def test_25_flags_sent_at_once_create_at_most_the_cap(agent, settings):
    """Concurrent requests, each in its own connection and transaction: the episode's lock makes them count
    committed rows, so the cap holds when they race."""
    settings.AGENT_OPEN_TASKS_PER_INTERACTION = 3
    interaction = AgentInteractionFactory()
    client_for(agent)  # the key, made once, before the threads share it

    def send(n: int) -> int:
        try:
            return client_for(agent).post(flag_url(interaction), flag(n), format="json").status_code
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = sorted(pool.map(send, range(25)))

    assert statuses == [201] * 3 + [409] * 22
    assert EscalationTask.objects.filter(interaction=interaction).count() == 3


def test_the_episode_cap_counts_the_flags_of_all_its_interactions(agent_client, settings):
    settings.AGENT_OPEN_TASKS_PER_INTERACTION = 3
    settings.AGENT_OPEN_TASKS_PER_EPISODE = 5
    first = AgentInteractionFactory()
    second = AgentInteractionFactory(episode=first.episode)
    for n in range(3):
        assert agent_client.post(flag_url(first), flag(n), format="json").status_code == 201
    for n in range(3, 5):
        assert agent_client.post(flag_url(second), flag(n), format="json").status_code == 201

    refused = agent_client.post(flag_url(second), flag(5), format="json")
    other_episode = agent_client.post(flag_url(AgentInteractionFactory()), flag(5), format="json")

    assert (refused.status_code, error(refused)["code"]) == (409, "episode_task_limit")
    assert other_episode.status_code == 201


def test_a_resolved_flag_frees_its_place_and_response_tasks_do_not_count(agent_client, settings):
    settings.AGENT_OPEN_TASKS_PER_INTERACTION = 1
    interaction = AgentInteractionFactory()
    # A worrying answer escalates to its own task: not a flag, not counted.
    InteractionResponseFactory(interaction=interaction, severity="HIGH")
    drain()
    first = agent_client.post(flag_url(interaction), flag(1), format="json")
    refused = agent_client.post(flag_url(interaction), flag(2), format="json")
    task_resolve(task=EscalationTask.objects.get(pk=first.json()["id"]), resolution="Called.")

    again = agent_client.post(flag_url(interaction), flag(2), format="json")

    assert (first.status_code, refused.status_code, again.status_code) == (201, 409, 201)
    assert EscalationTask.objects.count() == 3


def test_a_repeat_within_the_window_returns_the_open_task_and_after_it_makes_a_new_one(agent_client, settings):
    settings.AGENT_FLAG_COALESCE_MINUTES = 30
    interaction = AgentInteractionFactory()
    body = flag(reason_codes=["HF_SWELLING", "HF_WEIGHT_GAIN"])
    with time_machine.travel(T0, tick=False):
        first = agent_client.post(flag_url(interaction), body, format="json")
    with time_machine.travel(T0 + dt.timedelta(minutes=29), tick=False):
        # The same reasons in another order, from another interaction of the episode: the same finding.
        other = AgentInteractionFactory(episode=interaction.episode)
        repeat = agent_client.post(flag_url(other), {**body, "reason_codes": body["reason_codes"][::-1]}, format="json")
        other_action = agent_client.post(
            flag_url(interaction), {**body, "action_type": "MEDICATION_REVIEW"}, format="json"
        )
    with time_machine.travel(T0 + dt.timedelta(minutes=31), tick=False):
        later = agent_client.post(flag_url(interaction), body, format="json")

    assert (first.status_code, repeat.status_code) == (201, 200)
    assert repeat.json() == first.json()
    assert other_action.status_code == 201
    assert later.status_code == 201 and later.json()["id"] != first.json()["id"]


def test_a_repeat_graded_more_severe_is_news_and_gets_its_own_task(agent_client):
    interaction = AgentInteractionFactory()
    first = agent_client.post(flag_url(interaction), flag(1, severity="MODERATE"), format="json")
    same_or_lower = agent_client.post(flag_url(interaction), flag(1, severity="LOW"), format="json")
    worse = agent_client.post(flag_url(interaction), flag(1, severity="CRITICAL"), format="json")

    assert (first.status_code, same_or_lower.status_code, worse.status_code) == (201, 200, 201)
    assert same_or_lower.json()["id"] == first.json()["id"]
    assert worse.json()["severity"] == "CRITICAL" and worse.json()["sla_minutes"] == 30


# --- 3. The product's SLA and priority ---------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["sla_minutes", "priority"])
def test_the_agent_cannot_choose_the_sla_or_the_priority(agent_client, field):
    interaction = AgentInteractionFactory()
    value = {"sla_minutes": 1, "priority": "URGENT"}[field]

    flagged = agent_client.post(flag_url(interaction), flag(**{field: value}), format="json")
    handed_off = agent_client.post(handoff_url(interaction), {"reason": "PATIENT_REQUEST", field: value}, format="json")

    for response in (flagged, handed_off):
        assert response.status_code == 400
        assert error(response)["fields"] == {
            field: ["Set by the product from the severity and the action; the agent cannot choose it."]
        }
    assert not EscalationTask.objects.exists()


def test_an_urgent_handoff_flag_keeps_its_urgency_but_not_a_one_minute_sla(agent_client):
    interaction = AgentInteractionFactory()
    body = {"severity": "CRITICAL", "reason_codes": ["AMI_CHEST_PAIN"], "action_type": "URGENT_HANDOFF"}

    response = agent_client.post(flag_url(interaction), body, format="json")

    assert response.status_code == 201
    assert (response.json()["priority"], response.json()["sla_minutes"]) == ("URGENT", 30)


# --- 4. The escalation rate ---------------------------------------------------------------------------------------


def test_flags_and_handoffs_share_a_rate_of_their_own(agent_client, settings):
    settings.AGENT_ESCALATION_RATE_LIMIT = "3/minute"
    settings.AGENT_OPEN_TASKS_PER_INTERACTION = 10
    settings.AGENT_OPEN_TASKS_PER_EPISODE = 10
    interaction = AgentInteractionFactory()
    sent = [agent_client.post(flag_url(interaction), flag(n), format="json") for n in range(2)]
    sent.append(agent_client.post(handoff_url(interaction), {"reason": "PATIENT_REQUEST"}, format="json"))

    over = agent_client.post(flag_url(interaction), flag(9), format="json")
    read = agent_client.get(f"/api/v1/interactions/{interaction.pk}/")

    assert [r.status_code for r in sent] == [201, 201, 201]
    assert (over.status_code, error(over)["code"]) == (429, "throttled")
    assert 1 <= int(over.headers["Retry-After"]) <= 60
    assert read.status_code == 200  # the rest of the API is not held back
    assert EscalationTask.objects.count() == 3


# --- 5. Responses -------------------------------------------------------------------------------------------------


def test_responses_past_the_cap_are_refused(agent_client, settings):
    settings.AGENT_RESPONSES_PER_INTERACTION = 3
    interaction = AgentInteractionFactory()
    url = f"/api/v1/interactions/{interaction.pk}/responses/"
    statuses = [
        agent_client.post(url, {"text": f"Answer {n}", "severity": "LOW"}, format="json").status_code for n in range(4)
    ]
    refused = agent_client.post(url, {"text": "Once more", "severity": "CRITICAL"}, format="json")

    assert statuses == [201, 201, 201, 409]
    assert (refused.status_code, error(refused)["code"]) == (409, "interaction_response_limit")
    assert InteractionResponse.objects.filter(interaction=interaction).count() == 3


def test_an_interactions_responses_are_listed_oldest_first_in_pages(agent_client, charge_nurse_client):
    interaction = AgentInteractionFactory()
    url = f"/api/v1/interactions/{interaction.pk}/responses/"
    with time_machine.travel(T0, tick=True):
        for n in range(3):
            agent_client.post(url, {"text": f"Answer {n}", "severity": "LOW"}, format="json")

    first_page = agent_client.get(url, {"page_size": 2})
    second_page = charge_nurse_client.get(url, {"page_size": 2, "page": 2})

    assert first_page.status_code == second_page.status_code == 200
    assert first_page.json()["count"] == 3 and first_page.json()["next"] is not None
    texts = [r["text"] for r in first_page.json()["results"] + second_page.json()["results"]]
    assert texts == ["Answer 0", "Answer 1", "Answer 2"]
    assert agent_client.get("/api/v1/interactions/00000000-0000-0000-0000-000000000000/responses/").status_code == 404


# --- 6. Event ids -------------------------------------------------------------------------------------------------


def discharge_event(episode, event_id: str = "ADT-A03-1") -> dict:
    return {"name": "patient/discharged", "data": {"episode_id": str(episode.pk)}, "id": event_id}


def test_another_callers_event_with_the_same_id_is_its_own_and_schedules_its_checkin(agent_client):
    first_episode, second_episode = EpisodeFactory(discharged_at=None), EpisodeFactory(discharged_at=None)
    other_caller = client_for(AgentUserFactory())

    first = agent_client.post("/api/v1/events/", discharge_event(first_episode), format="json")
    second = other_caller.post("/api/v1/events/", discharge_event(second_episode), format="json")
    drain()

    assert (first.status_code, second.status_code) == (202, 202)
    assert first.json()["id"] != second.json()["id"]
    assert Episode.objects.get(pk=second_episode.pk).discharged_at is not None
    assert Timer.objects.filter(kind="CHECKIN_DUE", subject_id=second_episode.pk).exists()


def test_the_same_callers_id_with_another_payload_is_refused_and_changes_nothing(agent_client):
    first_episode, second_episode = EpisodeFactory(discharged_at=None), EpisodeFactory(discharged_at=None)
    agent_client.post("/api/v1/events/", discharge_event(first_episode), format="json")

    reused = agent_client.post("/api/v1/events/", discharge_event(second_episode), format="json")

    assert (reused.status_code, error(reused)["code"]) == (422, "event_id_reused")
    assert Episode.objects.get(pk=second_episode.pk).discharged_at is None
    assert Event.objects.filter(name="patient/discharged").count() == 1


def test_the_same_callers_id_with_the_same_payload_is_an_idempotent_replay(agent_client):
    episode = EpisodeFactory(discharged_at=None)

    first = agent_client.post("/api/v1/events/", discharge_event(episode), format="json")
    again = agent_client.post("/api/v1/events/", discharge_event(episode), format="json")
    # Another id for the same fact: recognised by the fact (one discharge per episode), as before.
    other_id = agent_client.post("/api/v1/events/", discharge_event(episode, "ADT-A03-2"), format="json")

    assert first.status_code == again.status_code == other_id.status_code == 202
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    assert other_id.json()["id"] == first.json()["id"]
    assert Event.objects.filter(name="patient/discharged").count() == 1


# --- 7. Consent ---------------------------------------------------------------------------------------------------


PATIENT = {"first_name": "Ada", "last_name": "Moreno", "date_of_birth": "1948-05-17", "phone": "+12025550143"}


@pytest.mark.parametrize(
    ("field", "value"), [("sms_consent", False), ("sms_consent", True), ("prefers_whatsapp", True)]
)
def test_the_agent_cannot_set_a_patients_consent(agent_client, field, value):
    response = agent_client.post("/api/v1/patients/", {**PATIENT, field: value}, format="json")

    assert response.status_code == 400
    assert error(response)["fields"] == {
        field: ["The patient's consent; changed only by the patient's own STOP or START texts, or by staff in admin."]
    }
    assert not Patient.objects.exists()


def test_a_new_patient_may_be_texted_until_they_say_stop(agent_client):
    response = agent_client.post("/api/v1/patients/", PATIENT, format="json")

    assert response.status_code == 201
    assert response.json()["sms_consent"] is True
    assert Patient.objects.get().sms_consent is True


# --- 8. Facilities ------------------------------------------------------------------------------------------------


@pytest.fixture
def facilities(settings):
    settings.CARE_FACILITIES = {"STMARY": "St Mary Cardiology", "GENERAL": "General Hospital"}


@pytest.mark.parametrize("facility", ["St Mary Cardiology", "Reply YES to win $500 at evil.example", "stmary", ""])
def test_an_episode_names_a_listed_facility_code_or_is_400_listing_them(agent_client, facilities, facility):
    patient_id = agent_client.post("/api/v1/patients/", PATIENT, format="json").json()["id"]
    body = {"patient_id": patient_id, "admitted_at": "2026-11-20T08:00:00Z", "condition": "HF", "facility": facility}

    refused = agent_client.post("/api/v1/episodes/", body, format="json")
    accepted = agent_client.post("/api/v1/episodes/", {**body, "facility": "STMARY"}, format="json")

    assert refused.status_code == 400
    fields = error(refused)["fields"]
    assert list(fields) == ["facility"]
    if facility:
        assert fields["facility"] == ["Unknown facility. Allowed codes: STMARY, GENERAL."]
    assert accepted.status_code == 201 and accepted.json()["facility"] == "STMARY"
    assert list(Episode.objects.values_list("facility", flat=True)) == ["STMARY"]


def test_a_patients_mrn_facility_is_a_listed_code_too(agent_client, facilities):
    refused = agent_client.post("/api/v1/patients/", {**PATIENT, "mrn": "MRN-1", "facility": "St Mary"}, format="json")
    lookup = agent_client.get("/api/v1/patients/", {"mrn": "MRN-1", "facility": "St Mary"})
    accepted = agent_client.post("/api/v1/patients/", {**PATIENT, "mrn": "MRN-1", "facility": "GENERAL"}, format="json")

    assert refused.status_code == lookup.status_code == 400
    assert (
        error(refused)["fields"]
        == error(lookup)["fields"]
        == {"facility": ["Unknown facility. Allowed codes: STMARY, GENERAL."]}
    )
    assert accepted.status_code == 201
