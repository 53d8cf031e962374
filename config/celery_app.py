from celery import Celery

from config.settings_module import require_settings_module

require_settings_module()

app = Celery("sequora")
# Every Celery setting lives in Django settings under the CELERY_ prefix (config/settings/celery.py).
app.config_from_object("django.conf:settings", namespace="CELERY")
# Each app's tasks.py, and those of the platform packages inside care_events (the bus, the API's clients, the
# outbound webhooks).
app.autodiscover_tasks()
app.autodiscover_tasks(
    ["care_events.platform.bus", "care_events.platform.api_clients", "care_events.platform.webhooks"]
)
