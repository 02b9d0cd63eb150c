"""How the simulated release workflow picks the next version.

The real workflow reads VERSION, applies bump_type (auto looks at the
conventional commits since the last tag) and appends the pre-release suffix.
"""

from __future__ import annotations

import re

import semver

BUMPS = ("auto", "patch", "minor", "major")

_CONVENTIONAL = re.compile(r"^(?P<type>[a-z]+)(\([^)]*\))?(?P<bang>!)?:")


def commit_bump(message: str) -> str | None:
    """The bump one conventional commit asks for, or None."""
    title = message.splitlines()[0] if message else ""
    match = _CONVENTIONAL.match(title)
    if "BREAKING CHANGE" in message or (match and match["bang"]):
        return "major"
    if not match:
        return None
    if match["type"] == "feat":
        return "minor"
    if match["type"] in {"fix", "perf"}:
        return "patch"
    return None


def auto_bump(messages: list[str]) -> str:
    """The largest bump any of the messages asks for; patch when none does."""
    found = {commit_bump(m) for m in messages}
    for bump in ("major", "minor", "patch"):
        if bump in found:
            return bump
    return "patch"


def next_version(
    current: str, bump_type: str, prerelease: str, messages: list[str]
) -> str:
    """The version a run of the release workflow will produce.

    `current` is the VERSION file, `messages` the commits since the last tag.
    Raises ValueError for a bad VERSION or pre-release suffix.
    """
    version = semver.Version.parse(current.strip())
    bump = auto_bump(messages) if bump_type == "auto" else bump_type
    if version.prerelease:
        bumped = _finish(version, bump)
    else:
        bumped = version.next_version(part=bump)
    if prerelease:
        bumped = bumped.replace(prerelease=prerelease)
    return str(bumped)


def _finish(version: semver.Version, bump: str) -> semver.Version:
    # 1.111.0-rc.1 previews 1.111.0: a bump that 1.111.0 already satisfies
    # releases it, a larger one moves past it.
    final = version.finalize_version()
    if bump == "major" and (version.minor or version.patch):
        return final.bump_major()
    if bump == "minor" and version.patch:
        return final.bump_minor()
    return final


def is_prerelease(version: str) -> bool:
    return bool(semver.Version.parse(version).prerelease)
