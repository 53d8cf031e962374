import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("sequora")
# Every Celery setting lives in Django settings under the CELERY_ prefix (config/settings/base.py).
app.config_from_object("django.conf:settings", namespace="CELERY")
# Each app's tasks.py, and those of the platform packages inside care_events (the bus, the API's clients).
app.autodiscover_tasks()
app.autodiscover_tasks(["care_events.bus", "care_events.api_clients"])
