from django.apps import AppConfig


class ReportsConfig(AppConfig):
    """The care-quality reports: figures computed by SQL over the other apps' rows; no models of its own."""

    name = "reports"
    verbose_name = "Care-quality reports"
