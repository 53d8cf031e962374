"""Twilio's two webhooks: the status callback of every message and call we send, and the texts patients send us.

Both are plain Django views (Twilio posts a form, not JSON, and answers TwiML), exempt from CSRF and trusted only
through Twilio's signature (`twilio_signed`). The signed URL is rebuilt from PUBLIC_BASE_URL, never from the Host or
X-Forwarded-* headers: behind a TLS-terminating proxy the request reaches us as http://internal-host/..., Twilio
signed https://public-host/..., and headers a caller sends are not evidence of anything.

Logs carry ids, the MessageSid and the kind only: a text's body and the sender's number are PHI.
"""

import functools
import logging
import uuid
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from care_events.platform.rest.errors import error_body
from notifications.messages import render_patient_text
from notifications.models import InboundKind, InboundMessage
from notifications.services.inbound import inbound_message_receive
from notifications.services.status import notification_provider_report
from tasks_app.services.acknowledgement import is_ack_reply

logger = logging.getLogger(__name__)

View = Callable[..., HttpResponse]

SIGNATURE_HEADER = "X-Twilio-Signature"
# Present when a Twilio Webhook Rule signs with a SharedKey instead of the Auth Token. We sign-check with the Auth
# Token only (the Webhooks configuration API is not HIPAA eligible), so such a request is refused; the log says why.
SHARED_KEY_HEADER = "X-Twilio-Webhooks-Signature-Settings"

WHATSAPP_PREFIX = "whatsapp:"


def _form(request: HttpRequest) -> dict[str, str]:
    """The POST form as the flat dict that is both signature-checked and read: a repeated key keeps its last value
    in both, so a view never acts on a value the signature did not cover."""
    return request.POST.dict()


def twilio_signed(view: View) -> View:
    """403, with no details, unless the request carries Twilio's valid signature of PUBLIC_BASE_URL + this path and
    this form. No Auth Token configured: every request is refused (an unsigned webhook is never trusted)."""

    @functools.wraps(view)
    def signed(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        token = settings.TWILIO_AUTH_TOKEN
        signature = request.headers.get(SIGNATURE_HEADER, "")
        reason = ""
        if not token:
            reason = "TWILIO_AUTH_TOKEN is not configured"
        elif not signature:
            reason = "no signature"
        else:
            url = settings.PUBLIC_BASE_URL.rstrip("/") + request.get_full_path()
            if not RequestValidator(token).validate(url, _form(request), signature):
                reason = "signed with a shared key" if SHARED_KEY_HEADER in request.headers else "invalid signature"
        if reason:
            logger.warning("twilio webhook %s refused: %s", request.path, reason)
            return HttpResponseForbidden()
        return view(request, *args, **kwargs)

    return signed


@csrf_exempt
@require_POST
@twilio_signed
def twilio_status(request: HttpRequest, notification_id: uuid.UUID) -> HttpResponse:
    """Twilio's status callback of a message (MessageSid, MessageStatus, ErrorCode) or a call (CallSid, CallStatus).

    Always 200 once signed: a duplicate, out-of-order or unknown report changes nothing (the one forward-only path,
    notification_provider_report), and anything but a 2xx would only make Twilio retry it."""
    form = _form(request)
    sid = form.get("MessageSid") or form.get("CallSid", "")
    provider_status = form.get("MessageStatus") or form.get("CallStatus", "")
    moved = notification_provider_report(
        notification_id=notification_id,
        provider_status=provider_status,
        provider_message_id=sid,
        error_code=form.get("ErrorCode", ""),
    )
    logger.info(
        "twilio status %s of %s for notification %s: %s",
        provider_status[:20],
        sid[:64],
        notification_id,
        "recorded" if moved else "no change",
    )
    return HttpResponse(status=200)


def _twiml(message: str = "") -> HttpResponse:
    """A TwiML answer: <Response/> sends nothing back; a <Message> is texted to the sender. The SDK's generator
    escapes the text for XML."""
    response = MessagingResponse()
    if message:
        response.message(message)
    return HttpResponse(str(response), content_type="text/xml")


# Answers to a nurse's acknowledgement, and to one from a number no nurse has: never a task's details.
NURSE_ANSWERS = {
    InboundKind.NURSE_ACK: "Sequora: acknowledged. Thank you.",
    InboundKind.NURSE_OTHER: "Sequora: nothing was acknowledged. Reply ACK and the code in your alert (e.g. ACK 1234), "
    "or open the task in Sequora.",
}
NOT_A_NURSE_ANSWER = "Sequora: nothing was acknowledged from this number."


def _answer(inbound: InboundMessage) -> HttpResponse:
    """The same answer for the first delivery and any retry: built from the recorded row, not the request."""
    if inbound.kind == InboundKind.HELP and inbound.patient is not None:
        return _twiml(render_patient_text("HELP", inbound.patient.preferred_language))
    if inbound.kind in NURSE_ANSWERS:
        return _twiml(NURSE_ANSWERS[InboundKind(inbound.kind)])
    if inbound.kind == InboundKind.UNKNOWN_SENDER and is_ack_reply(inbound.body):
        return _twiml(NOT_A_NURSE_ANSWER)
    return _twiml()


@csrf_exempt
@require_POST
@twilio_signed
def twilio_inbound(request: HttpRequest) -> HttpResponse:
    """An SMS or WhatsApp message to our number (MessageSid, From, To, Body). A WhatsApp sender comes as
    whatsapp:+1..., the patient's number without the prefix."""
    form = _form(request)
    missing = [name for name in ("MessageSid", "From") if not form.get(name, "").strip()]
    if missing:
        fields = {name: ["This field is required."] for name in missing}
        return JsonResponse(error_body("invalid", "The request is invalid; see fields.", fields), status=400)
    from_number = form["From"].strip()
    if from_number.startswith(WHATSAPP_PREFIX):
        from_number = from_number[len(WHATSAPP_PREFIX) :]
    inbound = inbound_message_receive(
        provider_message_id=form["MessageSid"].strip(), from_number=from_number, body=form.get("Body", "")
    )
    return _answer(inbound)
