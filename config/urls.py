from typing import Any

from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from care_events.platform.admin import flower_access
from care_events.platform.bus.health import (
    FailedWork,
    LateTimers,
    ProbeView,
    TimerSweep,
    UndispatchedRuns,
    broker_client,
)
from care_events.platform.rest.errors import api_path_not_found
from config.metrics import metrics_view
from reports.views import MonthlySummaryView, ReportsView
from tasks_app.alert_views import acknowledge_from_alert
from tasks_app.models import EscalationTask
from tasks_app.screens.home import care_team_home

admin.site.site_header = "Sequora care events"
admin.site.site_title = "Sequora admin"
admin.site.index_title = "Nurses, shifts and escalation tasks"

api_v1 = [
    path("", include("care_events.urls")),
    path("", include("tasks_app.urls")),
    path("", include("notifications.urls")),
]

# What /readyz runs (docs/operations.md): django-health-check's own database and Redis checks, the Redis one pointed at
# the Celery broker, and the bus's checks.
READINESS_CHECKS = (
    "health_check.checks.Database",
    ("health_check.contrib.redis.Redis", {"client_factory": broker_client}),
    TimerSweep,
    UndispatchedRuns,
    LateTimers,
    FailedWork,
)


def _admin_with_reports() -> tuple[list[Any], str, str]:
    """Admin's URLs with the care-quality reports (docs/reports.md) among them, before its catch-all: in admin's
    namespace, so that they have its login and second factor, its frame (the task admin's) and its audit rows."""

    def screen(view: type[ReportsView | MonthlySummaryView]) -> Any:
        return admin.site.admin_view(view.as_view(model_admin=admin.site.get_model_admin(EscalationTask)))

    patterns, app_name, namespace = admin.site.urls
    reports = [
        path("reports/", screen(ReportsView), name="reports"),
        path("reports/monthly/", screen(MonthlySummaryView), name="reports_monthly"),
    ]
    return [*reports, *patterns], app_name, namespace


urlpatterns = [
    # Outside /api/: anonymous, unthrottled, plain Django views. Counts and ages only, never PHI.
    path("healthz", ProbeView.as_view(checks=()), name="healthz"),  # the process answers; nothing else is checked
    path("readyz", ProbeView.as_view(checks=READINESS_CHECKS), name="readyz"),
    path("metrics", metrics_view, name="metrics"),  # Prometheus
    # The care team's home: the board (charge nurses) or the worklist (nurses); admin's login first.
    path("", care_team_home, name="care-team-home"),
    # The proxy asks it before every Flower request (deploy/Caddyfile): a superuser's admin session, or no Flower.
    path("admin/flower-access/", flower_access, name="flower-access"),
    path("admin/", _admin_with_reports()),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The Swagger UI; its script is a second request to the same path (?script=), so that the page needs no inline
    # script under the Content-Security-Policy (config/settings/base.py).
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(url_name="api-schema", template_name="api/swagger_ui.html"),
        name="api-docs",
    ),
    path("webhooks/twilio/", include("notifications.webhook_urls")),
    # The hospital's FHIR R4 intake (docs/integration.md): the API's keys and audit trail, FHIR's shapes.
    path("fhir/", include("intake.fhir.urls")),
    path("alerts/acknowledge/", acknowledge_from_alert, name="acknowledge-from-alert"),
    re_path(r"^api/(?P<path>.*)$", api_path_not_found),
]

# JSON errors under /api/ for what happens outside DRF's views (a path that matches nothing, a server error).
handler400 = "care_events.platform.rest.errors.bad_request"
handler404 = "care_events.platform.rest.errors.page_not_found"
handler500 = "care_events.platform.rest.errors.server_error"
