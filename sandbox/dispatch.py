"""Validating a workflow_dispatch request as GitHub does, and starting the run."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta

import semver
import yaml
from django.utils import timezone

from sandbox import git, simulation, timeline
from sandbox.models import Workflow, WorkflowRun

MAX_INPUTS = 25


class DispatchRefused(ValueError):
    """A 422 with GitHub's message."""


@dataclass
class Dispatch:
    run: WorkflowRun
    foreign: WorkflowRun | None


def declared_inputs(text: str) -> dict[str, dict]:
    """The workflow_dispatch inputs of a workflow file (may be empty)."""
    document = yaml.safe_load(text) or {}
    # YAML 1.1 reads the bare key `on` as True.
    triggers = document.get("on", document.get(True)) or {}
    if isinstance(triggers, str):
        triggers = {triggers: None}
    elif isinstance(triggers, list):
        triggers = dict.fromkeys(triggers)
    if "workflow_dispatch" not in triggers:
        raise DispatchRefused("Workflow does not have 'workflow_dispatch' trigger")
    spec = triggers["workflow_dispatch"] or {}
    return {str(k): v or {} for k, v in (spec.get("inputs") or {}).items()}


def _as_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def validate(declared: dict[str, dict], given: dict) -> dict[str, str]:
    """The inputs the run receives (defaults filled in), or DispatchRefused."""
    if len(given) > MAX_INPUTS:
        raise DispatchRefused(
            f"you may only define up to {MAX_INPUTS} `inputs` for a "
            "`workflow_dispatch` event"
        )
    unexpected = [name for name in given if name not in declared]
    if unexpected:
        raise DispatchRefused(f"Unexpected inputs provided: {json.dumps(unexpected)}")
    values: dict[str, str] = {}
    for name, spec in declared.items():
        if name in given:
            values[name] = _as_text(given[name])
        elif spec.get("required") and spec.get("default") in (None, ""):
            raise DispatchRefused(f"Required input '{name}' not provided")
        else:
            values[name] = _as_text(spec.get("default", ""))
        _check_type(name, spec, values[name])
    return values


def _check_type(name: str, spec: dict, value: str) -> None:
    kind = spec.get("type", "string")
    if kind == "choice" and value not in [str(o) for o in spec.get("options") or []]:
        raise DispatchRefused(
            f"Provided value '{value}' for input '{name}' not in the list of "
            "allowed values"
        )
    if kind == "boolean" and value not in {"true", "false"}:
        raise DispatchRefused(
            f"Provided value '{value}' for input '{name}' is not a boolean"
        )
    if kind == "number":
        try:
            float(value)
        except ValueError:
            raise DispatchRefused(
                f"Provided value '{value}' for input '{name}' is not a number"
            )


def planned_failure(run: WorkflowRun) -> dict:
    """Why the bump job will fail, known at dispatch (bad suffix, tag taken)."""
    try:
        version = simulation.compute_version(run)
        semver.Version.parse(version)
    except ValueError as exc:
        step = "Compute next version"
        return {"job": timeline.BUMP.name, "step": step, "message": str(exc)}
    if git.tag(f"v{version}"):
        step = "Push commit and tag"
        message = f"tag v{version} already exists"
        return {"job": timeline.BUMP.name, "step": step, "message": message}
    return {}


def start(
    *, workflow: Workflow, ref: str, inputs: dict, actor: str, faults: dict
) -> Dispatch:
    """Validate and create the run (and the foreign run a fault asks for)."""
    target = git.resolve(ref)
    branch = ref.removeprefix("refs/heads/").removeprefix("refs/tags/")
    if target is None or git.resolve(branch) is None:
        raise DispatchRefused(f"No ref found for: {ref}")
    text = target.files.get(workflow.path)
    if text is None:
        raise DispatchRefused(f"No ref found for: {ref}")
    values = validate(declared_inputs(text), inputs)
    foreign = None
    if "concurrent-run-before" in faults:
        before = faults["concurrent-run-before"]
        foreign = _foreign(workflow, branch, values, before, offset_ms=-5)
    run_faults = {k: v for k, v in faults.items() if k in simulation.RUN_FAULTS}
    run = simulation.create_run(
        workflow=workflow, branch=branch, actor=actor, inputs=values, faults=run_faults
    )
    if failure := planned_failure(run):
        run.failure = failure
        run.finishes_at = timeline.finish_time(run)
        run.save(update_fields=["failure", "finishes_at"])
    if "concurrent-run" in faults:
        after = faults["concurrent-run"]
        foreign = _foreign(workflow, branch, values, after, offset_ms=5)
    return Dispatch(run, foreign)


def _foreign(
    workflow: Workflow, branch: str, values: dict, options: dict, offset_ms: int
) -> WorkflowRun:
    """Another maintainer's dispatch on the same ref, which they soon cancel.

    Cancelled, so it leaves no release behind that would change our version.
    """
    run = simulation.create_run(
        workflow=workflow,
        branch=branch,
        actor=str(options.get("actor", "someone-else")),
        inputs=values,
        faults={},
        at=timezone.now() + timedelta(milliseconds=offset_ms),
    )
    run.cancelled_at = run.finishes_at = run.created_at + timedelta(
        seconds=run.duration * 0.1
    )
    run.save(update_fields=["cancelled_at", "finishes_at"])
    return run
