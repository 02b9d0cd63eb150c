"""What a finished release run leaves behind: the release commit and tag,
the images in the registry and the draft release with its assets.

The seed builds the published releases with the same functions.
"""

from __future__ import annotations

import hashlib
import io
import os
import random
import tarfile
from datetime import datetime

import semver

from sandbox import git, images, notes, repo_files
from sandbox.models import Commit, Release, ReleaseAsset

COMPONENTS = ("gateway", "agent")
BINARY_PLATFORMS = (
    ("linux", "amd64"),
    ("linux", "arm64"),
    ("darwin", "amd64"),
    ("darwin", "arm64"),
)
# Executable headers, so a downloaded file looks like what it claims to be.
_MAGIC = {"linux": b"\x7fELF\x02\x01\x01", "darwin": b"\xcf\xfa\xed\xfe"}
DEFAULT_MISSING_ASSET = "agent-darwin-arm64"
DEFAULT_BAD_CHECKSUM = "gateway-linux-amd64"
DEFAULT_MISSING_ARM64 = "avika-agent"


def binary(os_name: str) -> bytes:
    return _MAGIC[os_name] + os.urandom(random.randint(2048, 6144))


def chart(version: str) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, text in {
            "avika/Chart.yaml": repo_files.CHART.format(version=version),
            "avika/values.yaml": f"image:\n  tag: {version}\n",
        }.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def checksums(files: dict[str, bytes], wrong: str | None = None) -> bytes:
    """sha256sum output over `files`; the line for `wrong` does not match."""
    lines = []
    for name in sorted(files):
        data = files[name] + (b"tampered" if name == wrong else b"")
        lines.append(f"{hashlib.sha256(data).hexdigest()}  {name}\n")
    return "".join(lines).encode()


def asset_files(version: str, faults: dict) -> list[tuple[str, str, bytes]]:
    """(name, content type, bytes) of every asset the release workflow uploads."""
    missing = faults.get("missing-asset", {}).get("asset")
    files: dict[str, bytes] = {}
    for component in COMPONENTS:
        for os_name, arch in BINARY_PLATFORMS:
            name = f"{component}-{os_name}-{arch}"
            if name != missing:
                files[name] = binary(os_name)
    files[f"avika-{version}.tgz"] = chart(version)
    wrong = faults.get("bad-checksum", {}).get("asset")
    types = {f"avika-{version}.tgz": "application/gzip"}
    found = [(n, types.get(n, "application/octet-stream"), d) for n, d in files.items()]
    found.append(("checksums.txt", "text/plain", checksums(files, wrong)))
    return found


def is_highest_stable(version: str) -> bool:
    """Whether `version` is stable and above every stable version tag."""
    parsed = semver.Version.parse(version)
    if parsed.prerelease:
        return False
    stable = [v for v, _ref in git.version_tags() if not v.prerelease]
    return all(parsed >= v for v in stable)


def push_images(version: str, sha: str, at: datetime, faults: dict) -> None:
    latest = is_highest_stable(version)
    tags = images.release_tags(version, sha, latest=latest)
    short = faults.get("missing-arm64", {}).get("image")
    for image in images.IMAGES:
        platforms = images.PLATFORMS
        if image == short:
            platforms = tuple(p for p in platforms if p[1] != "arm64")
        images.push_image(image, tags, at, platforms=platforms)


def release_commit(version: str, at: datetime, items: list[str]) -> Commit:
    """chore(release): vX.Y.Z on the default branch: VERSION and CHANGELOG."""
    parent = git.head()
    changelog = repo_files.add_changelog_entry(
        parent.files.get("CHANGELOG.md", ""), version, at.date().isoformat(), items
    )
    return git.commit(
        parent=parent,
        message=f"chore(release): v{version}",
        changes={"VERSION": f"{version}\n", "CHANGELOG.md": changelog},
        at=at,
    )


def changelog_items(commits: list[Commit]) -> list[str]:
    return [c.title for c in commits if notes.is_listed(c)] or ["Maintenance release"]


def create_release(
    *,
    version: str,
    target: Commit,
    body: str,
    at: datetime,
    faults: dict,
    published: bool = False,
) -> Release:
    release = Release.objects.create(
        tag_name=f"v{version}",
        target_commitish=target.sha,
        name=f"Avika v{version}",
        body=body,
        draft=not published,
        prerelease=bool(semver.Version.parse(version).prerelease),
        immutable=published,
        created_at=at,
        updated_at=at,
        published_at=at if published else None,
    )
    ReleaseAsset.objects.bulk_create(
        ReleaseAsset(
            release=release,
            name=name,
            content_type=content_type,
            data=data,
            created_at=at,
            updated_at=at,
        )
        for name, content_type, data in asset_files(version, faults)
    )
    return release


def previous_version_tag(version: str) -> str | None:
    """The tag of the highest version below `version` (what we compare with)."""
    parsed = semver.Version.parse(version)
    lower = [ref.name for v, ref in git.version_tags() if v < parsed]
    return lower[-1] if lower else None
