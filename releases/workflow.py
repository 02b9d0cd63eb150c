"""Reading a workflow file's workflow_dispatch inputs.

The console builds its release form from what the workflow declares, so a
project whose workflow takes `bump_type` + `prerelease` and one whose
workflow takes a single `version` are both served without code changes.
"""

from dataclasses import dataclass, field
from typing import Any

import yaml

INPUT_TYPES = {"string", "boolean", "choice", "number", "environment"}
MAX_INPUTS = 25  # GitHub's limit for workflow_dispatch


class WorkflowError(ValueError):
    """The workflow file cannot drive a release, with a message for people."""


@dataclass(frozen=True)
class WorkflowInput:
    name: str
    type: str = "string"
    description: str = ""
    required: bool = False
    default: Any = None
    options: list[str] = field(default_factory=list)


def discover_inputs(text: str, *, path: str = "the workflow") -> list[WorkflowInput]:
    """The inputs the workflow's workflow_dispatch trigger declares, in order."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise WorkflowError(f"{path} is not valid YAML: {exc}")
    if not isinstance(document, dict):
        raise WorkflowError(f"{path} is not a workflow (no mapping at the top).")
    # YAML 1.1 reads the bare key `on` as the boolean True.
    triggers = document.get("on", document.get(True))
    if isinstance(triggers, str):
        triggers = {triggers: None}
    elif isinstance(triggers, list):
        triggers = dict.fromkeys(triggers)
    if not isinstance(triggers, dict) or "workflow_dispatch" not in triggers:
        raise WorkflowError(f"{path} does not have a workflow_dispatch trigger.")
    dispatch = triggers["workflow_dispatch"] or {}
    declared = dispatch.get("inputs") or {}
    if not isinstance(declared, dict):
        raise WorkflowError(f"{path}: workflow_dispatch inputs must be a mapping.")
    if len(declared) > MAX_INPUTS:
        raise WorkflowError(
            f"{path} declares {len(declared)} inputs; GitHub allows {MAX_INPUTS}."
        )
    return [
        _parse_input(str(name), spec or {}, path) for name, spec in declared.items()
    ]


def _parse_input(name: str, spec: dict[str, Any], path: str) -> WorkflowInput:
    kind = str(spec.get("type", "string"))
    if kind not in INPUT_TYPES:
        raise WorkflowError(f"{path}: input {name!r} has unknown type {kind!r}.")
    options = [str(option) for option in spec.get("options") or []]
    if kind == "choice" and not options:
        raise WorkflowError(f"{path}: choice input {name!r} lists no options.")
    return WorkflowInput(
        name=name,
        type=kind,
        description=str(spec.get("description") or ""),
        required=bool(spec.get("required", False)),
        default=spec.get("default"),
        options=options,
    )
