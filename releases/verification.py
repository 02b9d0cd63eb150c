"""Verifying a release's assets: every asset downloaded and hashed, then
compared with checksums.txt and with GitHub's own digest.

Downloads are streamed in 1 MiB chunks and hashed as they arrive, so memory
stays flat whatever an asset weighs; only checksums.txt (small) and the Helm
chart (to read Chart.yaml) are kept, and those with a cap.
"""

from __future__ import annotations

import hashlib
import io
import logging
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import IO

import yaml
from django.utils import timezone

from releases import checksums
from releases.ghclient import GitHubClient, GitHubError
from releases.models import Artifact, Release

logger = logging.getLogger(__name__)

Verification = Artifact.Verification
CHECKSUMS_MAX_BYTES = 1024 * 1024
CHART_MAX_BYTES = 50 * 1024 * 1024
# Progress is written this often: often enough to watch, rarely enough not
# to slow the hashing down.
PROGRESS_EVERY_BYTES = 8 * 1024 * 1024
PROGRESS_EVERY_SECONDS = 0.5


@dataclass(frozen=True)
class Digest:
    sha256: str
    size: int
    kept: bool = False  # whether `keep` received every byte


def hash_stream(
    chunks: Iterable[bytes],
    *,
    on_progress: Callable[[int], None] | None = None,
    keep: IO[bytes] | None = None,
    keep_at_most: int | None = None,
) -> Digest:
    """sha256 and size of a stream, reporting progress now and then and
    keeping a copy of the first `keep_at_most` bytes in `keep` when asked."""
    digest = hashlib.sha256()
    size = 0
    kept = keep is not None
    reported_bytes, reported_at = 0, time.monotonic()
    for chunk in chunks:
        digest.update(chunk)
        size += len(chunk)
        if kept and keep is not None:
            if keep_at_most is not None and size > keep_at_most:
                kept = False  # too big to keep; the hash goes on
            else:
                keep.write(chunk)
        if on_progress is None:
            continue
        now = time.monotonic()
        if (
            size - reported_bytes >= PROGRESS_EVERY_BYTES
            or now - reported_at >= PROGRESS_EVERY_SECONDS
        ):
            on_progress(size)
            reported_bytes, reported_at = size, now
    return Digest(digest.hexdigest(), size, kept)


def _set(artifact: Artifact, **fields: object) -> None:
    for name, value in fields.items():
        setattr(artifact, name, value)
    Artifact.objects.filter(pk=artifact.pk).update(**fields)


def _download(
    client: GitHubClient,
    artifact: Artifact,
    keep: IO[bytes] | None = None,
    keep_at_most: int | None = None,
) -> Digest:
    assert artifact.github_asset_id is not None
    _set(artifact, verification=Verification.VERIFYING, verified_bytes=0)

    def progress(done: int) -> None:
        Artifact.objects.filter(pk=artifact.pk).update(verified_bytes=done)

    with client.open_asset(artifact.github_asset_id) as chunks:
        result = hash_stream(
            chunks, on_progress=progress, keep=keep, keep_at_most=keep_at_most
        )
    _set(
        artifact,
        computed_sha256=result.sha256,
        size=result.size,
        verified_bytes=result.size,
        verified_at=timezone.now(),
    )
    return result


def _github_digest_problem(artifact: Artifact) -> str:
    """GitHub gives assets a `digest` on newer API versions: compare it too."""
    algorithm, _, value = artifact.github_digest.partition(":")
    if algorithm != "sha256" or not value:
        return ""
    if value.lower() != artifact.computed_sha256:
        return (
            f"GitHub's digest says {value.lower()}, the download hashes to "
            f"{artifact.computed_sha256}."
        )
    return ""


def read_chart_version(data: IO[bytes]) -> str:
    """The `version` of the chart's own Chart.yaml inside a chart archive."""
    data.seek(0)
    with tarfile.open(fileobj=data, mode="r:gz") as archive:
        for member in archive.getmembers():
            parts = member.name.strip("/").split("/")
            if member.isfile() and len(parts) == 2 and parts[1] == "Chart.yaml":
                handle = archive.extractfile(member)
                assert handle is not None
                document = yaml.safe_load(handle.read(256 * 1024)) or {}
                return str(document.get("version") or "")
    raise ValueError("the archive holds no <chart>/Chart.yaml")


def verify_assets(release: Release, client: GitHubClient) -> None:
    """Download and hash every asset of the release; record the verdicts."""
    if release.github_release_id is not None:
        info = client.get_release(release.github_release_id)
        if info is not None:
            # The draft may have changed since it was imported.
            from releases.actions import sync_artifacts

            sync_artifacts(release, info)
    artifacts = list(release.artifacts.all())
    for artifact in artifacts:
        _set(
            artifact,
            verification=Verification.PENDING,
            verification_detail="",
            expected_sha256="",
            computed_sha256="",
            verified_bytes=0,
            verified_at=None,
            chart_version="",
        )
    names = [a.name for a in artifacts if a.kind != Artifact.Kind.CHECKSUMS]
    listing = next(
        (a for a in artifacts if a.name == release.project.checksums_asset), None
    )
    comparison, listing_problem = _read_checksums(client, listing, names)
    for artifact in artifacts:
        if artifact is listing:
            continue
        _verify_one(client, artifact, comparison, listing_problem)


def _read_checksums(
    client: GitHubClient, listing: Artifact | None, names: list[str]
) -> tuple[checksums.Comparison | None, str]:
    """The checksums file compared with the assets, or why there is none."""
    if listing is None:
        return None, "the release has no checksums file"
    buffer = io.BytesIO()
    try:
        result = _download(
            client, listing, keep=buffer, keep_at_most=CHECKSUMS_MAX_BYTES
        )
        if not result.kept:
            problem = f"{listing.name} is larger than {CHECKSUMS_MAX_BYTES} bytes"
            _set(listing, verification=Verification.ERROR, verification_detail=problem)
            return None, problem
        parsed = checksums.parse(buffer.getvalue())
    except GitHubError as exc:
        _set(
            listing,
            verification=Verification.ERROR,
            verification_detail=f"Download failed: {exc}",
        )
        return None, f"{listing.name} could not be downloaded"
    except checksums.ChecksumsError as exc:
        problem = f"{listing.name} cannot be read: {exc}"
        _set(listing, verification=Verification.ERROR, verification_detail=problem)
        return None, problem
    comparison = parsed.compare(names)
    # Missing lines are shown on each asset; the rest belongs to the file.
    problems = [p for p in comparison.problems if not p.startswith("no line for ")]
    if digest_problem := _github_digest_problem(listing):
        _set(
            listing,
            verification=Verification.MISMATCH,
            verification_detail=digest_problem,
        )
    elif problems:
        _set(
            listing,
            verification=Verification.ERROR,
            verification_detail="; ".join(problems).capitalize() + ".",
        )
    else:
        _set(listing, verification=Verification.VERIFIED)
    return comparison, ""


def _verify_one(
    client: GitHubClient,
    artifact: Artifact,
    comparison: checksums.Comparison | None,
    listing_problem: str,
) -> None:
    is_chart = artifact.kind == Artifact.Kind.CHART
    spool = tempfile.SpooledTemporaryFile(max_size=1024 * 1024) if is_chart else None
    try:
        result = _download(client, artifact, keep=spool, keep_at_most=CHART_MAX_BYTES)
    except GitHubError as exc:
        if spool is not None:
            spool.close()
        _set(
            artifact,
            verification=Verification.ERROR,
            verification_detail=f"Download failed: {exc}",
        )
        return
    if spool is not None and not result.kept:
        spool.close()  # hashed all the same; only the chart's version is unknown
    elif spool is not None:
        try:
            _set(artifact, chart_version=read_chart_version(spool))
        except (tarfile.TarError, ValueError, yaml.YAMLError, OSError) as exc:
            logger.info("Chart %s has no readable Chart.yaml: %s", artifact.pk, exc)
        finally:
            spool.close()
    verdict, detail = _verdict(artifact, comparison, listing_problem)
    _set(artifact, verification=verdict, verification_detail=detail)


def _verdict(
    artifact: Artifact, comparison: checksums.Comparison | None, listing_problem: str
) -> tuple[str, str]:
    if digest_problem := _github_digest_problem(artifact):
        return Verification.MISMATCH, digest_problem
    if comparison is None:
        return Verification.ERROR, f"Nothing to compare with: {listing_problem}."
    if artifact.name in comparison.duplicates:
        lines = ", ".join(str(n) for n in comparison.duplicates[artifact.name])
        return (
            Verification.ERROR,
            f"checksums.txt lists it more than once (lines {lines}).",
        )
    expected = comparison.expected.get(artifact.name)
    if expected is None:
        return Verification.MISSING, "checksums.txt has no line for it."
    _set(artifact, expected_sha256=expected)
    if expected != artifact.computed_sha256:
        return (
            Verification.MISMATCH,
            f"checksums.txt says {expected}, the download hashes to "
            f"{artifact.computed_sha256}.",
        )
    return Verification.VERIFIED, ""
