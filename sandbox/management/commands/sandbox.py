"""manage.py sandbox fault NAME | reset | status"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from sandbox import faults, seed, simulation
from sandbox.models import WorkflowRun


class Command(BaseCommand):
    help = "Arm faults in the sandbox, reset it to its seed, or show its state."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        fault = actions.add_parser(
            "fault", help="arm a fault for the next run or request"
        )
        fault.add_argument("name", help="one of: " + ", ".join(sorted(faults.FAULTS)))
        fault.add_argument(
            "--option",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help="override a fault option, e.g. job=…, step=…, asset=…, image=…, status=500",
        )
        actions.add_parser("reset", help="restore the seeded state and clear faults")
        actions.add_parser("status", help="print armed faults and recent runs")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "fault":
            self._arm(options["name"], options["option"])
        elif action == "reset":
            seed.reset()
            self.stdout.write("Sandbox reset to its seeded state; no fault armed.")
        else:
            self._status()

    def _arm(self, name: str, pairs: list[str]) -> None:
        extra: dict[str, object] = {}
        for pair in pairs:
            key, sep, value = pair.partition("=")
            if not sep:
                raise CommandError(f"--option needs KEY=VALUE, not {pair!r}.")
            extra[key] = int(value) if value.isdigit() else value
        try:
            fault = faults.arm(name, **extra)
        except faults.UnknownFault as exc:
            raise CommandError(str(exc))
        self.stdout.write(f"Armed {fault.name}: {faults.FAULTS[name][0]}.")

    def _status(self) -> None:
        armed = faults.armed()
        self.stdout.write("Armed faults:" if armed else "Armed faults: none")
        for fault in armed:
            self.stdout.write(f"  {fault.name} {fault.options or ''}".rstrip())
        now = timezone.now()
        self.stdout.write("Runs (newest first):")
        for run in WorkflowRun.objects.select_related("workflow")[:10]:
            status, conclusion = simulation.status_at(run, now)
            outcome = f"{status}/{conclusion}" if conclusion else status
            version = f" v{run.version}" if run.version else ""
            self.stdout.write(
                f"  {run.gid} {run.workflow.name} #{run.run_number} {run.event} "
                f"by {run.actor} on {run.head_branch}: {outcome}{version}"
            )
