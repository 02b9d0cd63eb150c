#!/usr/bin/env python
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "avika_console.settings")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(sys.argv)
    except ImproperlyConfigured as exc:
        # A bad setting is the operator's to fix: say which, not a traceback.
        sys.stderr.write(f"Avika Console cannot start: {exc}\n")
        sys.exit(2)


if __name__ == "__main__":
    main()
