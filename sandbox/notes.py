"""Release notes as GitHub's "Generate release notes" writes them.

GitHub lists the pull requests merged between two tags, grouped by the
categories of .github/release.yml; here each squash-merged commit stands
for its pull request and its conventional-commit type picks the category.
"""

from __future__ import annotations

import re

from sandbox import git
from sandbox.models import Commit
from sandbox.versioning import commit_bump

CATEGORIES = (
    ("Breaking Changes 🛠", lambda kind, bump: bump == "major"),
    ("New Features 🎉", lambda kind, bump: kind == "feat"),
    ("Bug Fixes 🐛", lambda kind, bump: kind in {"fix", "perf"}),
    ("Other Changes", lambda kind, bump: True),
)
_PR_NUMBER = re.compile(r"\(#(\d+)\)\s*$")
_TYPE = re.compile(r"^([a-z]+)")


def _category(commit: Commit) -> str:
    match = _TYPE.match(commit.title)
    kind = match[1] if match else ""
    bump = commit_bump(commit.message)
    return next(name for name, test in CATEGORIES if test(kind, bump))


def _line(commit: Commit, html_base: str) -> str:
    title = commit.title
    by = f"@{commit.author_login}" if commit.author_login else commit.author_name
    match = _PR_NUMBER.search(title)
    if not match:
        return f"* {title} by {by}"
    title = title[: match.start()].rstrip()
    return f"* {title} by {by} in {html_base}/{git.FULL_NAME}/pull/{match[1]}"


def is_listed(commit: Commit) -> bool:
    """Bot commits (the release bumps) are not pull requests: GitHub skips them."""
    return bool(_PR_NUMBER.search(commit.title))


def generate(
    html_base: str, tag_name: str, previous: str | None, commits: list[Commit]
) -> str:
    """The body: "What's Changed" by category, then the compare link."""
    grouped: dict[str, list[str]] = {}
    for commit in commits:
        if is_listed(commit):
            grouped.setdefault(_category(commit), []).append(_line(commit, html_base))
    lines = ["## What's Changed"]
    for name, _test in CATEGORIES:
        if name in grouped:
            lines += ["", f"### {name}", *grouped[name]]
    if not grouped:
        lines = []
    if previous:
        compare = f"{html_base}/{git.FULL_NAME}/compare/{previous}...{tag_name}"
    else:
        compare = f"{html_base}/{git.FULL_NAME}/commits/{tag_name}"
    lines += ["", f"**Full Changelog**: {compare}"]
    return "\n".join(lines).strip("\n")
