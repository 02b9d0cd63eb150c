"""Run the web server and the django-q2 worker together in the foreground."""

import os
import signal
import subprocess
import sys
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

# How long the worker may take to finish its current task after Ctrl-C.
GRACE_SECONDS = 10


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
        # Each child leads its own process group, so stopping it also stops
        # the processes it started (the worker's pool), even after a kill.
        children = [
            subprocess.Popen(
                [*manage, "runserver", options["addr"], "--noreload"],
                start_new_session=True,
            ),
            subprocess.Popen([*manage, "qcluster"], start_new_session=True),
        ]
        stopping = False

        def stop(*_: Any) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        # When either process ends, stop the other: half a console is worse
        # than none, since nothing would follow the runs.
        while not stopping and all(child.poll() is None for child in children):
            time.sleep(0.3)
        self.stdout.write("Stopping the web server and the worker…")
        for child in children:
            _signal_group(child, signal.SIGTERM)
        deadline = time.monotonic() + GRACE_SECONDS
        for child in children:
            try:
                child.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                pass
            # Whatever is left of the group (a worker mid-task) goes now; its
            # task is idempotent and is picked up again at the next start.
            _signal_group(child, signal.SIGKILL)
            child.wait()


def _signal_group(child: subprocess.Popen, signum: int) -> None:
    try:
        os.killpg(child.pid, signum)
    except ProcessLookupError:
        pass
