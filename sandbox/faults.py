"""Faults armed for the next run or request, so every failure the console
must handle can be produced on demand.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from sandbox import effects, timeline
from sandbox.models import Fault

# name -> (what it does, default options)
FAULTS: dict[str, tuple[str, dict]] = {
    "failed-job": (
        "the next release run fails in one job at a named step; no release",
        {"job": timeline.DEFAULT_FAILED_JOB, "step": timeline.DEFAULT_FAILED_STEP},
    ),
    "bad-checksum": (
        "the next release's checksums.txt has one wrong line",
        {"asset": effects.DEFAULT_BAD_CHECKSUM},
    ),
    "missing-asset": (
        "the next release lacks one binary (and its checksums line)",
        {"asset": effects.DEFAULT_MISSING_ASSET},
    ),
    "missing-arm64": (
        "the next release's index of one image lacks linux/arm64",
        {"image": effects.DEFAULT_MISSING_ARM64},
    ),
    "dispatch-error": (
        "the next dispatch answers 502 (or 500) and creates no run",
        {"status": 502},
    ),
    "dispatch-timeout": (
        "the next dispatch creates its run but answers only after "
        "SANDBOX_DISPATCH_HANG_SECONDS (default 30)",
        {},
    ),
    "no-run-details": (
        "the next dispatch answers 204 even when run details were asked for",
        {},
    ),
    "concurrent-run": (
        "the next dispatch is followed at once by a dispatch of someone-else "
        "on the same ref (a newer run that is not ours)",
        {"actor": "someone-else"},
    ),
    "concurrent-run-before": (
        "the next dispatch is preceded by a dispatch of someone-else on the "
        "same ref (an older run, still newer than any before the call)",
        {"actor": "someone-else"},
    ),
    "rate-limit": (
        "GitHub API requests answer 403, registry manifest GETs and Docker "
        "Hub's tags API 429, for SANDBOX_RATE_LIMIT_SECONDS (default 60) from "
        "the first request that meets it",
        {},
    ),
}


class UnknownFault(ValueError):
    pass


def arm(name: str, **options: object) -> Fault:
    """Arm `name` for the next run or request; options override its defaults."""
    if name not in FAULTS:
        valid = ", ".join(sorted(FAULTS))
        raise UnknownFault(f"Unknown fault {name!r}; valid faults: {valid}.")
    merged = {**FAULTS[name][1], **options}
    fault, _ = Fault.objects.update_or_create(
        name=name,
        defaults={"options": merged, "armed_at": timezone.now(), "active_until": None},
    )
    return fault


def clear() -> None:
    Fault.objects.all().delete()


def armed() -> list[Fault]:
    return list(Fault.objects.order_by("armed_at"))


def take(*names: str) -> dict[str, dict]:
    """Disarm and return those of `names` that were armed (name -> options).

    The delete decides who gets a fault when two requests race for it.
    """
    taken = {}
    with transaction.atomic():
        for fault in Fault.objects.filter(name__in=names):
            if Fault.objects.filter(pk=fault.pk).delete()[0]:
                taken[fault.name] = fault.options
    return taken


def rate_limited_until() -> float | None:
    """The unix time the rate-limit fault lifts, starting it if armed."""
    fault = Fault.objects.filter(name="rate-limit").first()
    if fault is None:
        return None
    now = timezone.now()
    if fault.active_until is None:
        # The first request that meets the fault starts its clock; a racing
        # request keeps the clock the winner set.
        seconds = settings.SANDBOX_RATE_LIMIT_SECONDS
        until = now + timedelta(seconds=seconds)
        Fault.objects.filter(pk=fault.pk, active_until=None).update(active_until=until)
        fault = Fault.objects.filter(pk=fault.pk).first()
    if fault is None or fault.active_until is None:
        return None
    if fault.active_until <= now:
        Fault.objects.filter(pk=fault.pk).delete()
        return None
    return fault.active_until.timestamp()
