"""Settings for test_installed.py only: production's, with the demo app put back (a mistake the command refuses)."""

from config.settings.production import *  # noqa: F403
from config.settings.production import INSTALLED_APPS

INSTALLED_APPS = ["demo", *INSTALLED_APPS]
