from django.contrib.auth.models import User
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from tasks_app.models import OPEN_TASK_STATUSES, EscalationTask, Nurse, NurseShift


def nurse_list_with_workload() -> QuerySet[Nurse]:
    """Nurses with `on_shift_now` and `open_task_count` annotated (the charge nurse's view in admin)."""
    now = timezone.now()
    return Nurse.objects.select_related("user").annotate(
        on_shift_now=Exists(NurseShift.objects.filter(nurse=OuterRef("pk"), starts_at__lte=now, ends_at__gt=now)),
        open_task_count=Count("tasks", filter=Q(tasks__status__in=OPEN_TASK_STATUSES)),
    )


def task_list_for(*, user: User, status: str | None = None, priority: str | None = None) -> QuerySet[EscalationTask]:
    """The tasks a user may see, newest first: all of them with `tasks_app.view_all_tasks` (charge nurses), else
    those assigned to her own nurse profile (none for a user without one). Another nurse's task is not in the
    queryset, so reading it is a 404 (no existence leak)."""
    tasks = EscalationTask.objects.select_related("assigned_to__user", "patient").order_by("-created_at", "-pk")
    if not user.has_perm("tasks_app.view_all_tasks"):
        tasks = tasks.filter(assigned_to__user=user) if user.is_authenticated else tasks.none()
    if status:
        tasks = tasks.filter(status=status)
    if priority:
        tasks = tasks.filter(priority=priority)
    return tasks
