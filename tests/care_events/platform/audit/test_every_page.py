"""Every page of admin and every care team screen a signed-in user opens leaves an audit row, and a page that shows a
patient's data names the patient (docs/audit.md, "Every page of admin"; issue 19, row 4).

The pages are not listed by hand: they are read from the URL resolver (every ModelAdmin's changelist, add, change,
history and delete page, the screens under them, the admin site's own pages), so a page added later is walked too.
"""

import pytest
from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.views.generic import TemplateView

from care_events.models import Patient
from care_events.platform.audit.models import AuditEntry
from care_events.platform.audit.notes import patient_paths
from care_events.platform.audit.recording import UNRECORDED_ADMIN_ROUTES
from care_events.platform.audit.screens import AuditedScreen
from care_events.platform.roles import CHARGE_NURSE
from intake.models import AdtMessage
from notifications.models import InboundMessage, PushSubscription
from tests.care_events.factories import OutreachAttemptFactory
from tests.helpers import force_admin_login
from tests.notifications.factories import NotificationLogFactory
from tests.tasks_app.factories import assigned_task, nurse_with_login

pytestmark = pytest.mark.django_db

# Besides the pages of the models that hold a patient's data: the care team's screens that show one (the others:
# the roster shows nurses and shifts; the bulk page answers a GET with the board's address), and admin's search
# behind a form's patient field (the episode form's: QUERIES), which answers patients' names.
QUERIES = {"admin:autocomplete": {"app_label": "care_events", "model_name": "episode", "field_name": "patient"}}
OTHER_PAGES_WITH_PHI = {
    "admin:autocomplete",
    "admin:tasks_app_escalationtask_worklist",
    "admin:tasks_app_escalationtask_board",
    "admin:tasks_app_escalationtask_hand_over",
    "admin:tasks_app_escalationtask_acknowledge",
    "admin:tasks_app_escalationtask_resolve",
    "admin:tasks_app_escalationtask_reassign",
    "admin:tasks_app_escalationtask_cancel",
}
MODEL_PAGES_WITH_PHI = ("changelist", "change", "history", "delete")

# Every URL outside admin and the API (whose every request is recorded, tests/care_events/platform/audit/
# test_recording.py), and why it shows no patient's data. A new one fails the test until it is placed.
OUTSIDE_ADMIN_WITHOUT_PHI = {
    "healthz": "counts and ages only",
    "readyz": "counts and ages only",
    "metrics": "counts only",
    "care-team-home": "a redirect to the user's screen",
    "api-schema": "the API's description",
    "api-docs": "the Swagger UI's page; its calls are API requests",
    "flower-access": "the proxy's question for Flower: a status code, no data",
    "acknowledge-from-alert": "a signed token in, a status word out, no task details",
    "twilio-status": "Twilio's callback: answers nothing",
    "twilio-inbound": "Twilio's callback: answers nothing",
}


def _patterns(resolver: URLResolver, namespace: str = "", prefix: str = ""):
    """(view name, URL pattern, route so far) of every named URL under `resolver`."""
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _patterns(entry, inner, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern) and entry.name:
            yield f"{namespace}{entry.name}", entry, prefix + str(entry.pattern)


def _argument_names(pattern: URLPattern, route: str) -> list[str]:
    converters = getattr(pattern.pattern, "converters", None)
    if converters:
        return list(converters)
    return list(pattern.pattern.regex.groupindex)


@pytest.fixture
def world():
    """One row of every model admin shows that holds a patient's data, all of one patient; a nurse on shift who
    holds the task."""
    nurse = nurse_with_login()
    task = assigned_task(nurse)
    OutreachAttemptFactory(plan__episode=task.episode)
    NotificationLogFactory(task=task, recipient_nurse=nurse)
    InboundMessage.objects.create(
        provider_message_id="SM-walk", from_number=task.patient.phone, body="ok", kind="REPLY", patient=task.patient
    )
    PushSubscription.objects.create(nurse=nurse, endpoint="https://push.example/x", p256dh="p", auth="a")
    AdtMessage.objects.create(
        source="HL7V2", sending_facility="GENERAL", control_id="walk", message_type="ADT^A08", event="A08",
        raw="MSH|^~\\&|EPIC|GENERAL|||20261201||ADT^A08|walk|P|2.5.1", status="APPLIED", patient=task.patient,
    )  # fmt: skip
    return task


def _model_pages() -> dict[str, tuple[type, str]]:
    """admin:<app>_<model>_<page> → (model, page), for every registered ModelAdmin."""
    pages = {}
    for model in admin.site._registry:
        for page in ("changelist", "add", "change", "history", "delete"):
            pages[f"admin:{model._meta.app_label}_{model._meta.model_name}_{page}"] = (model, page)
    return pages


def _kwargs(name: str, names: list[str], model_pages: dict, task) -> dict | None:
    model = model_pages.get(name, (None, ""))[0]
    values = {
        "task_id": task.pk,
        "nurse_id": task.assigned_to_id,
        "app_label": "care_events",
        "content_type_id": ContentType.objects.get_for_model(Patient).pk,
    }
    row = model._default_manager.order_by("pk").first() if model is not None else None
    values["object_id"] = row.pk if row is not None else (task.patient.pk if "content_type_id" in names else None)
    kwargs = {key: values.get(key) for key in names}
    return None if None in kwargs.values() else kwargs


def test_every_admin_page_and_screen_leaves_a_row_and_names_the_patient_it_shows(client, admin_user, world):
    force_admin_login(client, admin_user)
    model_pages = _model_pages()
    phi_models = {model for model in admin.site._registry if patient_paths(model) is not None}
    walked, skipped, failures = set(), [], []

    for name, pattern, route in _patterns(get_resolver()):
        if not name.startswith("admin:"):
            continue
        kwargs = _kwargs(name, _argument_names(pattern, route), model_pages, world)
        if kwargs is None:
            skipped.append(name)
            continue
        last = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0
        response = client.get(reverse(name, kwargs=kwargs), QUERIES.get(name, {}))
        rows = list(AuditEntry.objects.filter(id__gt=last).exclude(action__in=["login", "logout"]))
        walked.add(name)
        expected_rows = 0 if name in UNRECORDED_ADMIN_ROUTES else 1
        if len(rows) != expected_rows or any(row.route != name for row in rows):
            failures.append(f"{name} ({response.status_code}): {[(row.route, row.action) for row in rows]}")
            continue
        model, page = model_pages.get(name, (None, ""))
        shows_phi = name in OTHER_PAGES_WITH_PHI or (model in phi_models and page in MODEL_PAGES_WITH_PHI)
        if shows_phi and world.patient_id not in rows[0].patient_ids:
            failures.append(f"{name} ({response.status_code}) does not name the patient: {rows[0].patient_ids}")

    assert not failures, "\n".join(failures)
    # Every page of a model with a patient's data and every screen was walked (none skipped for want of a row).
    for model in phi_models:
        for page in MODEL_PAGES_WITH_PHI:
            assert f"admin:{model._meta.app_label}_{model._meta.model_name}_{page}" in walked, (model, page, skipped)
    assert walked >= OTHER_PAGES_WITH_PHI


def test_every_url_outside_admin_and_the_api_is_known_to_show_no_patient_data():
    outside = {
        name
        for name, _, route in _patterns(get_resolver())
        # The FHIR intake's requests are recorded as the API's are (tests/intake/test_fhir.py).
        if not name.startswith("admin:") and not route.startswith(("api/v1/", "fhir/"))
    }
    assert outside == set(OUTSIDE_ADMIN_WITHOUT_PHI), outside ^ set(OUTSIDE_ADMIN_WITHOUT_PHI)


def test_a_nurse_opening_her_worklist_and_acknowledging_leaves_rows_naming_the_patient(client):
    nurse = nurse_with_login()
    task = assigned_task(nurse)
    force_admin_login(client, nurse.user)

    assert client.get(reverse("admin:tasks_app_escalationtask_worklist")).status_code == 200
    url = reverse("admin:tasks_app_escalationtask_acknowledge", args=[task.pk])
    assert client.get(url).status_code == 200
    assert client.post(url).status_code == 302

    rows = list(AuditEntry.objects.filter(user_id=nurse.user.pk).exclude(action="login").order_by("id"))
    assert [(row.action, row.route) for row in rows] == [
        ("admin.list", "admin:tasks_app_escalationtask_worklist"),
        ("admin.view", "admin:tasks_app_escalationtask_acknowledge"),
        ("admin.change", "admin:tasks_app_escalationtask_acknowledge"),
    ]
    for row in rows:
        assert row.patient_ids == [task.patient_id]
        assert row.object_type == "tasks_app.escalationtask"
        assert row.object_ids == [str(task.pk)]


def test_a_charge_nurse_board_names_every_patient_shown_and_a_bulk_move_names_the_tasks_moved(client):
    charge = nurse_with_login(role=CHARGE_NURSE)
    nurse = nurse_with_login()
    first, second = assigned_task(nurse), assigned_task(None, first_name="Bo", last_name="Lind")
    force_admin_login(client, charge.user)

    assert client.get(reverse("admin:tasks_app_escalationtask_board")).status_code == 200
    response = client.post(
        reverse("admin:tasks_app_escalationtask_bulk"),
        {"action": "assign", "task": [str(second.pk)], "nurse": str(nurse.pk)},
    )
    assert response.status_code == 302

    board, move = AuditEntry.objects.filter(user_id=charge.user.pk).exclude(action="login").order_by("id")
    assert (board.action, sorted(board.patient_ids)) == ("admin.list", sorted([first.patient_id, second.patient_id]))
    assert (move.action, move.object_ids, move.patient_ids) == ("admin.change", [str(second.pk)], [second.patient_id])


def test_an_admin_page_whose_view_noted_nothing_is_still_recorded_by_the_middleware(client, admin_user):
    force_admin_login(client, admin_user)

    response = client.get(reverse("admin:password_change"))

    assert response.status_code == 200
    row = AuditEntry.objects.get(route="admin:password_change")
    assert (row.action, row.user_id, row.status_code, row.auth_method) == (
        "admin.view",
        admin_user.pk,
        200,
        "session+otp",
    )


def test_a_screen_that_does_not_say_what_it_shows_does_not_render(rf):
    class Forgetful(AuditedScreen, TemplateView):
        template_name = "admin/base.html"

    with pytest.raises(NotImplementedError, match="Forgetful must say which rows it shows"):
        Forgetful.as_view()(rf.get("/"))
