"""The EMAIL channel: Django's mail API, so the ESP is whatever EMAIL_BACKEND names (an Anymail backend such as
anymail.backends.sendgrid.EmailBackend in production, the console or locmem backend locally and in tests), under one
deadline per message (EMAIL_TIMEOUT_SECONDS)."""

import logging
import uuid

from anymail.exceptions import AnymailConfigurationError, AnymailError
from django.conf import settings
from django.core.mail import BadHeaderError, EmailMessage

from care_events.platform.webhooks.http import outbound_call
from notifications.backends.base import OutgoingMessage, PermanentSendError, SendResult
from notifications.backends.errors import anymail_error

logger = logging.getLogger(__name__)

# Anymail's words for a recipient the ESP will not deliver to (its other words: queued, sent, scheduled, unknown).
REFUSED_STATUSES = {"rejected", "invalid"}


class EmailBackend:
    provider = "email"

    def send(self, message: OutgoingMessage) -> SendResult:
        if not message.to:
            raise PermanentSendError("email:no_address")
        email = EmailMessage(
            subject=message.subject,
            body=message.body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[message.to],
        )
        try:
            # One deadline for the whole send (the ESP's API or the SMTP server: connect, TLS, every read); Django's
            # mail API connects anew for each message, inside it. Past it, an OSError: no answer, in doubt.
            with outbound_call(settings.EMAIL_TIMEOUT_SECONDS):
                sent = email.send(fail_silently=False)
        except BadHeaderError:
            # A newline in the subject: Django refuses it before anything leaves (header injection).
            raise PermanentSendError("email:bad_header") from None
        except (AnymailError, AnymailConfigurationError, OSError) as exc:  # smtplib's errors are OSErrors
            error = anymail_error(exc)
            logger.warning("email send failed code=%s retryable=%s", error.code, error.retryable)
            # `from None`: the ESP's exception text quotes the payload (address, body); keep it out of tracebacks.
            raise error from None
        status = getattr(email, "anymail_status", None)
        if status is not None and status.status and status.status <= REFUSED_STATUSES:
            # Anymail raises AnymailRecipientsRefused for this itself, unless IGNORE_RECIPIENT_STATUS is set.
            raise PermanentSendError("email:refused")
        if not sent:
            # Anymail's pre_send signal cancelled it, or the backend dropped it: nothing left.
            raise PermanentSendError("email:not_sent")
        # The ESP's id for the message (SendGrid's: the anymail_id Anymail generates and sends as a custom arg, which
        # SendGrid's event webhooks carry back); backends outside Anymail have none.
        esp_id = status.message_id if status is not None else None
        message_id = esp_id if isinstance(esp_id, str) and esp_id else f"email-{uuid.uuid4().hex}"
        logger.info("email send accepted id=%s", message_id)
        return SendResult(provider=self.provider, message_id=message_id, status="sent")
