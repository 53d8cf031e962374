from django.contrib.auth.models import User
from django.db.models import F, Prefetch, QuerySet

from notifications.models import NotificationLog


def notification_list_for(*, user: User) -> QuerySet[NotificationLog]:
    """Every row of the user's own notifications (as a nurse), newest first. Notifications are the recipient's
    alone: staff read everyone's in admin, not here; another nurse's notification is simply not in the queryset
    (404)."""
    return NotificationLog.objects.filter(recipient_nurse__user=user).order_by("-created_at", "-pk")


def alert_list_for(*, user: User) -> QuerySet[NotificationLog]:
    """The user's alerts, newest first: the first row of each chain, with every row of its chain (its attempts,
    oldest first) in `chain`, in two queries."""
    attempts = NotificationLog.objects.order_by("created_at", "pk")
    return (
        notification_list_for(user=user).filter(alert_id=F("pk")).prefetch_related(Prefetch("chain", queryset=attempts))
    )
