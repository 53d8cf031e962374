from django.apps import AppConfig


class DemoConfig(AppConfig):
    """`manage.py demo`: the product's story against a running server (demo/story/). It sits above every domain app
    and has no models; installed for local and test settings, left out of production (config/settings/production.py),
    where the command does not exist."""

    name = "demo"
    verbose_name = "Demo"
