"""Twilio's webhooks, under /webhooks/twilio/ (outside /api/: Twilio posts forms and reads TwiML, and signs each
request instead of authenticating). Delivery gives Twilio the status URL of each message (notifications/services/
delivery.py); the inbound URL is set on the number (or Messaging Service) in Twilio's console."""

from django.urls import path

from notifications import webhooks

urlpatterns = [
    path("status/<uuid:notification_id>/", webhooks.twilio_status, name="twilio-status"),
    path("inbound/", webhooks.twilio_inbound, name="twilio-inbound"),
]
