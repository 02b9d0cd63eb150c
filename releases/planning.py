"""Turning a maintainer's choices into the exact release that will be made.

The workflow declares its inputs; the console works out which of them is
the bump, which the pre-release suffix and which a full version, computes
the next version the same way the workflow will, and refuses a version
whose tag already exists — all before anything is sent to GitHub.
"""

import re
from dataclasses import dataclass, field
from typing import Any

import semver

from releases.versioning import (
    BUMPS,
    VersionError,
    bump_from_commits,
    next_version,
    validate_prerelease,
)
from releases.workflow import WorkflowInput

AUTO = "auto"
_PRERELEASE_NAME_RE = re.compile(
    r"^(pre[-_]?release|pre|suffix|prerelease[-_]?(id|suffix|tag))$", re.I
)

# Fields the console adds itself when the workflow takes a full version
# rather than a bump: the maintainer still picks a bump and a suffix.
BUMP_FIELD = "_bump"
PRERELEASE_FIELD = "_prerelease"


@dataclass(frozen=True)
class ReleaseContext:
    """What GitHub says right now, at the head of the default branch."""

    current_version: semver.Version
    inputs: list[WorkflowInput]
    head_sha: str
    last_tag: str | None = None
    commits_since_last_tag: list[str] = field(default_factory=list)
    tags: frozenset[str] = frozenset()
    tag_prefix: str = "v"


@dataclass(frozen=True)
class InputRoles:
    """Which declared input plays which part in a release."""

    bump: WorkflowInput | None
    prerelease: WorkflowInput | None
    version: WorkflowInput | None

    @classmethod
    def of(cls, inputs: list[WorkflowInput]) -> "InputRoles":
        bump = next((i for i in inputs if _is_bump(i)), None)
        prerelease = next(
            (
                i
                for i in inputs
                if i.type == "string" and _PRERELEASE_NAME_RE.match(i.name)
            ),
            None,
        )
        version = next(
            (
                i
                for i in inputs
                if i.type == "string"
                and i.name.lower() in {"version", "release_version", "tag"}
            ),
            None,
        )
        return cls(bump=bump, prerelease=prerelease, version=version)

    @property
    def console_computes_version(self) -> bool:
        return self.bump is None and self.version is not None


def _is_bump(item: WorkflowInput) -> bool:
    return item.type == "choice" and len(set(item.options) & set(BUMPS)) >= 2


@dataclass(frozen=True)
class Plan:
    version: str | None = None
    tag: str = ""
    bump: str | None = None
    inputs: dict[str, Any] = field(default_factory=dict)
    explanation: str = ""
    problem: str = ""

    @property
    def ok(self) -> bool:
        return not self.problem and self.version is not None


def plan_release(context: ReleaseContext, choices: dict[str, Any]) -> Plan:
    """The release that `choices` (values per input name) would make.

    Never raises for bad choices: the problem is part of the plan, so the
    preview can say it while the maintainer types.
    """
    roles = InputRoles.of(context.inputs)
    if roles.bump is None and roles.version is None:
        return Plan(
            problem="The release workflow declares neither a bump choice "
            "(patch/minor/major) nor a version input, so the console cannot "
            "tell which version it would make."
        )
    inputs = _inputs_to_send(context.inputs, choices, roles)
    if roles.console_computes_version:
        bump_choice = str(choices.get(BUMP_FIELD) or "minor")
        suffix_choice = str(choices.get(PRERELEASE_FIELD) or "")
    else:
        assert roles.bump is not None
        bump_choice = str(inputs.get(roles.bump.name) or "")
        suffix_choice = (
            str(inputs.get(roles.prerelease.name, "")) if roles.prerelease else ""
        )

    current = context.current_version
    bump, why = bump_choice, f"{bump_choice}"
    if bump_choice == AUTO:
        since = context.last_tag or "the first commit"
        bump = bump_from_commits(context.commits_since_last_tag)
        if bump is None:
            return Plan(
                inputs=inputs,
                problem=f"auto: nothing releasable since {since} (no feat, fix, "
                "perf or breaking commits). Pick a bump yourself or merge changes first.",
            )
        why = f"auto: conventional commits since {since} ask for {bump}"
    if bump not in BUMPS:
        offered = roles.bump.options if roles.bump and roles.bump.options else BUMPS
        return Plan(inputs=inputs, problem=f"Choose a bump: {', '.join(offered)}.")
    try:
        target = next_version(current, bump, suffix_choice)
        suffix = validate_prerelease(suffix_choice)
    except VersionError as exc:
        return Plan(inputs=inputs, bump=bump, problem=str(exc))

    version = str(target)
    tag = f"{context.tag_prefix}{version}"
    if roles.console_computes_version:
        assert roles.version is not None
        inputs[roles.version.name] = tag
    elif roles.prerelease is not None:
        inputs[roles.prerelease.name] = suffix
    explanation = (
        f"{current} + {why} → {version}"
        if bump_choice != AUTO
        else f"{why}: {current} → {version}"
    )
    if tag in context.tags:
        return Plan(
            version=version,
            tag=tag,
            bump=bump,
            inputs=inputs,
            explanation=explanation,
            problem=f"The tag {tag} already exists: {version} has been released. "
            "Pick another bump or suffix.",
        )
    return Plan(
        version=version, tag=tag, bump=bump, inputs=inputs, explanation=explanation
    )


def _inputs_to_send(
    declared: list[WorkflowInput], choices: dict[str, Any], roles: InputRoles
) -> dict[str, Any]:
    """The declared inputs with the chosen (or default) values, as GitHub takes them."""
    sent: dict[str, Any] = {}
    for item in declared:
        if roles.console_computes_version and item is roles.version:
            continue
        value = choices.get(item.name, item.default)
        if value is None or value == "":
            # An empty suffix is sent on purpose: it says "stable".
            if item is roles.prerelease:
                sent[item.name] = ""
            continue
        if item.type == "boolean":
            sent[item.name] = value in (True, "true", "True", "on", "1")
        else:
            sent[item.name] = str(value).strip()
    return sent
