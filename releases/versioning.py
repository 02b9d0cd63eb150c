"""Version rules: reading VERSION, computing the next version, and the
bump that conventional commits ask for.

All arithmetic is done by the `semver` package; this module only decides
which of its operations a bump means.
"""

import re
from collections.abc import Iterable

import semver

BUMPS = ("patch", "minor", "major")

# A pre-release suffix: dot-separated identifiers (semver also forbids
# numeric identifiers with leading zeros, which it checks itself below).
PRERELEASE_RE = re.compile(r"^[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*$")
MAX_PRERELEASE_LENGTH = 60

# type(scope)!: subject — the conventional-commit header.
_HEADER_RE = re.compile(r"^(?P<type>[A-Za-z]+)(\([^)]*\))?(?P<bang>!)?:\s")
_BREAKING_RE = re.compile(r"^BREAKING[ -]CHANGE:", re.MULTILINE)


class VersionError(ValueError):
    """A version or bump that cannot be used, with a message for people."""


def parse_version(text: str, *, source: str = "VERSION") -> semver.Version:
    """Parse a version as a file or a person writes it.

    Tolerates what editors and people add: a byte-order mark, surrounding
    whitespace and a leading 'v'. Anything else is refused, naming `source`.
    """
    cleaned = text.lstrip("\ufeff").strip()
    if cleaned[:1] in {"v", "V"}:
        cleaned = cleaned[1:]
    if not cleaned:
        raise VersionError(f"{source} is empty.")
    try:
        return semver.Version.parse(cleaned)
    except (ValueError, TypeError):
        shown = cleaned if len(cleaned) <= 40 else cleaned[:40] + "…"
        raise VersionError(
            f"{source} holds {shown!r}, which is not a semantic version such as 1.2.3."
        )


def validate_prerelease(suffix: str) -> str:
    suffix = suffix.strip().lstrip("-")
    if not suffix:
        return suffix
    if len(suffix) > MAX_PRERELEASE_LENGTH:
        raise VersionError(
            f"The pre-release suffix is {len(suffix)} characters long; "
            f"keep it to {MAX_PRERELEASE_LENGTH} or fewer, such as rc.1."
        )
    if not PRERELEASE_RE.match(suffix) or not semver.Version.is_valid(
        f"0.0.0-{suffix}"
    ):
        raise VersionError(
            f"{suffix!r} is not a pre-release suffix: use letters, digits, "
            "hyphens and dots, such as rc.1 or beta.2, and no number with a "
            "leading zero (01)."
        )
    return suffix


def next_version(
    current: semver.Version, bump: str, prerelease: str = ""
) -> semver.Version:
    """The version a bump of `current` gives, optionally as a pre-release.

    Follows semver's own rules for a pre-release current version: finishing
    1.111.0-rc.1 with a patch or minor bump gives 1.111.0.
    """
    if bump not in BUMPS:
        raise VersionError(f"Unknown bump {bump!r}: choose patch, minor or major.")
    suffix = validate_prerelease(prerelease)
    if current.prerelease:
        target = _finish_prerelease(current, bump)
    else:
        target = current.next_version(part=bump)
    if suffix:
        target = target.replace(prerelease=suffix)
    return target


def _finish_prerelease(current: semver.Version, bump: str) -> semver.Version:
    # 1.111.0-rc.1 is a preview of 1.111.0: a bump that 1.111.0 already
    # satisfies releases it; a larger bump moves past it.
    release = current.finalize_version()
    if bump == "major" and (current.minor or current.patch):
        return release.bump_major()
    if bump == "minor" and current.patch:
        return release.bump_minor()
    return release


def bump_from_commits(messages: Iterable[str]) -> str | None:
    """The bump conventional-commit rules give, or None if nothing is releasable.

    feat → minor; fix or perf → patch; a '!' after the type or a
    BREAKING CHANGE footer → major.
    """
    rank = 0
    for message in messages:
        header = message.lstrip().splitlines()[0] if message.strip() else ""
        match = _HEADER_RE.match(header)
        if _BREAKING_RE.search(message) or (match and match["bang"]):
            return "major"
        if not match:
            continue
        kind = match["type"].lower()
        if kind == "feat":
            rank = max(rank, 2)
        elif kind in {"fix", "perf"}:
            rank = max(rank, 1)
    return {2: "minor", 1: "patch"}.get(rank)


def is_prerelease(version: str) -> bool:
    return bool(semver.Version.parse(version).prerelease)
