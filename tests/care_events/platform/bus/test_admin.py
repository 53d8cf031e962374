import pytest
from django.urls import reverse
from django.utils import timezone

from care_events.platform.bus.models import HandlerRun, Timer
from tests.helpers import drain
from tests.tasks_app.factories import EscalationTaskFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("name", ["care_events_event", "care_events_handlerrun", "care_events_timer"])
def test_the_event_log_runs_and_timers_are_viewable(admin_client, name):
    EscalationTaskFactory()
    drain()
    page = admin_client.get(reverse(f"admin:{name}_changelist"))
    assert page.status_code == 200
    obj = page.context["cl"].result_list[0]
    assert admin_client.get(reverse(f"admin:{name}_change", args=[obj.pk])).status_code == 200


def test_a_failed_run_is_listed_and_redriven_from_admin(admin_client):
    EscalationTaskFactory()
    run = HandlerRun.objects.get(handler="assign-task")
    HandlerRun.objects.filter(pk=run.pk).update(status="FAILED", attempts=8, last_error="RuntimeError: boom")

    listed = admin_client.get(reverse("admin:care_events_handlerrun_changelist"), {"status__exact": "FAILED"})
    assert [r.pk for r in listed.context["cl"].result_list] == [run.pk]
    response = admin_client.post(
        reverse("admin:care_events_handlerrun_changelist"),
        {"action": "redrive", "_selected_action": [run.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert "1 failed run(s) queued again." in response.content.decode()
    run.refresh_from_db()
    assert (run.status, run.attempts) == ("PENDING", 0)


def test_a_failed_timer_is_listed_and_rearmed_from_admin(admin_client):
    task = EscalationTaskFactory()
    drain()
    timer = Timer.objects.get(subject_id=task.pk, kind="SLA_WARNING")
    Timer.objects.filter(pk=timer.pk).update(failed_at=timezone.now(), attempts=8, last_error="RuntimeError: boom")

    listed = admin_client.get(reverse("admin:care_events_timer_changelist"), {"failed_at__isnull": "False"})
    assert [t.pk for t in listed.context["cl"].result_list] == [timer.pk]
    response = admin_client.post(
        reverse("admin:care_events_timer_changelist"), {"action": "rearm", "_selected_action": [timer.pk]}, follow=True
    )
    assert "1 failed timer(s) re-armed." in response.content.decode()
    timer.refresh_from_db()
    assert (timer.failed_at, timer.attempts, timer.due_at <= timezone.now()) == (None, 0, True)


def test_records_are_read_only_in_admin_even_for_a_superuser(admin_client):
    EscalationTaskFactory()
    drain()
    timer = Timer.objects.first()
    page = admin_client.get(reverse("admin:care_events_timer_change", args=[timer.pk]))
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    response = admin_client.post(reverse("admin:care_events_timer_change", args=[timer.pk]), {"kind": "SLA_BREACH"})
    assert response.status_code == 403
