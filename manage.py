#!/usr/bin/env python
import os
import sys

from config.settings_module import require_settings_module


def main() -> None:
    require_settings_module()
    # A command's output is its report (the demo's timeline, a token): the project's INFO lines, which the web app
    # and the workers log, would land in the middle of it. LOG_LEVEL=INFO shows them.
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
