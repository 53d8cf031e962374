"""The "Acknowledge" button of a push alert (docs/handover.md#acknowledge-from-the-alert).

The service worker that shows the alert has no session and no API key, so the button posts the signed token the
alert carries (tasks_app.services.acknowledgement.ack_token_make): it names one task, one nurse and one assignment,
expires after ACK_TOKEN_MAX_AGE_SECONDS, and stops working once the task changes hands; its one effect, the
acknowledgement, happens once. A plain Django view outside /api/ (like Twilio's webhooks), trusted only through
the signature; it answers no task details either way.
"""

import json
import logging

from django.db import transaction
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from care_events.platform.rest.errors import error_body
from tasks_app.services.acknowledgement import AckTokenError, ack_token_use
from tasks_app.services.tasks import TaskStateError, task_acknowledge

logger = logging.getLogger(__name__)


def _token(request: HttpRequest) -> str:
    if request.content_type == "application/json":
        try:
            body = json.loads(request.body or b"{}")
        except ValueError:
            return ""
        return str(body.get("token", "")) if isinstance(body, dict) else ""
    return request.POST.get("token", "")


@csrf_exempt
@require_POST
def acknowledge_from_alert(request: HttpRequest) -> JsonResponse:
    token = _token(request).strip()
    if not token:
        fields = {"token": ["This field is required."]}
        return JsonResponse(error_body("invalid", "The request is invalid; see fields.", fields), status=400)
    try:
        with transaction.atomic():  # the task stays locked from the token's check to the acknowledgement
            task, nurse = ack_token_use(token=token)
            task_acknowledge(task=task, nurse=nurse, actor=nurse.user)
    except (AckTokenError, TaskStateError):
        logger.info("acknowledge from alert refused: the token is invalid, expired or no longer current")
        return JsonResponse(error_body("invalid_token", "This alert can no longer acknowledge its task."), status=403)
    logger.info("task %s acknowledged from a push alert by nurse %s", task.pk, nurse.pk)
    return JsonResponse({"status": "acknowledged"})
