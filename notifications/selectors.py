from django.contrib.auth.models import User
from django.db.models import QuerySet

from notifications.models import NotificationLog


def notification_list_for(*, user: User) -> QuerySet[NotificationLog]:
    """The user's own notifications (as a nurse), newest first. Notifications are the recipient's alone: staff
    read everyone's in admin, not here; another nurse's notification is simply not in the queryset (404)."""
    return NotificationLog.objects.filter(recipient_nurse__user=user).order_by("-created_at", "-pk")
