"""Small steps the sandbox tests share."""

from __future__ import annotations

import hashlib


def release_now(repo, **inputs):
    """Dispatch the release workflow and return the run it created."""
    workflow = repo.get_workflow("release.yml")
    inputs = {"bump_type": "auto", **inputs}
    return workflow.create_dispatch(
        "master", inputs, throw=True, return_run_details=True
    )


def draft_of(repo, version: str):
    return next(r for r in repo.get_releases() if r.tag_name == f"v{version}")


def checksum_lines(text: str) -> dict[str, str]:
    """name -> sha256 from sha256sum output."""
    pairs = (line.split("  ", 1) for line in text.splitlines() if line.strip())
    return {name: digest for digest, name in pairs}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
