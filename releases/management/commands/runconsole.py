"""Run the web server and the django-q2 worker together in the foreground."""

import signal
import subprocess
import sys
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Start the console (web) and its background worker; Ctrl-C stops both."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--addr", default="127.0.0.1:8000")

    def handle(self, *args: Any, **options: Any) -> None:
        manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
        mode = (
            "sandbox (no GITHUB_TOKEN)" if settings.SANDBOX else settings.GITHUB_API_URL
        )
        self.stdout.write(
            f"Avika Console on http://{options['addr']}/ — GitHub: {mode}"
        )
        children = [
            subprocess.Popen([*manage, "runserver", options["addr"], "--noreload"]),
            subprocess.Popen([*manage, "qcluster"]),
        ]

        def stop(*_: Any) -> None:
            # SIGTERM rather than SIGINT: a process started in the background
            # by a shell ignores SIGINT, and both servers stop cleanly on TERM.
            for child in children:
                if child.poll() is None:
                    child.terminate()

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            # When either process ends, stop the other: half a console is
            # worse than none, since nothing would follow the runs.
            while all(child.poll() is None for child in children):
                time.sleep(0.5)
        finally:
            stop()
            for child in children:
                try:
                    child.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    child.kill()
