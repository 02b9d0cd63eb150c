"""The release checklist: each item computed from evidence, stored with the
evidence, a link to it and the time it was computed.

Interface (the publish flow relies on it):
- `latest(release)`: the stored items, in order;
- `passes(release)`: the checklist was computed and no applicable item fails;
- `run(release)`: recompute every item (or `only` some) and store them;
- `evidence_fingerprint(release)`: a hash of the verified asset sha256s and
  image index digests, which changes whenever that evidence does.

`run` asks GitHub for the commit's CI, the tag, VERSION and CHANGELOG, and
reads the stored verdicts of the asset and image verification (see
`verification.py` and `images.py`); it downloads nothing itself.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from releases import images
from releases.ghclient import (
    CheckRun,
    ChecksForbidden,
    CombinedStatus,
    GitHubClient,
    GitHubError,
    client_for,
)
from releases.models import (
    FAILED_CONCLUSIONS,
    Artifact,
    CheckResult,
    Release,
    TagObservation,
)
from releases.versioning import parse_version

CHANGELOG_FILES = ("CHANGELOG.md", "CHANGELOG")
PASSING_CONCLUSIONS = {"success", "neutral", "skipped"}

ITEMS: list[tuple[str, str]] = [
    ("ci", "CI is green on the release commit"),
    ("version", "VERSION at the tag is the release version"),
    ("tag", "The tag points at the commit the run built"),
    ("changelog", "CHANGELOG mentions the version"),
    ("release", "The GitHub release has every asset and the chart"),
    ("chart", "The chart's version is the release version"),
    ("checksums", "Every checksum verified"),
    ("images", "Every image verified"),
]
KEYS = [key for key, _name in ITEMS]


@dataclass(frozen=True)
class Item:
    key: str
    name: str
    ok: bool | None  # None: not applicable to this release
    detail: str
    link: str = ""
    checked_at: datetime | None = None
    waiting: bool = False

    @property
    def state(self) -> str:
        return {True: "passed", False: "failed", None: "n/a"}[self.ok]


@dataclass(frozen=True)
class Verdict:
    ok: bool | None
    detail: str
    link: str = ""
    waiting: bool = False


# Reading what is stored ---------------------------------------------------------------


def latest(release: Release) -> list[Item]:
    stored = {c.key: c for c in CheckResult.objects.filter(release=release)}
    return [
        Item(
            key=key,
            name=stored[key].name,
            ok=stored[key].ok,
            detail=stored[key].detail,
            link=stored[key].link,
            checked_at=stored[key].checked_at,
            waiting=stored[key].waiting,
        )
        for key in KEYS
        if key in stored
    ]


def waiting(release: Release) -> bool:
    """Whether some evidence is still being produced (CI still running)."""
    return CheckResult.objects.filter(release=release, waiting=True).exists()


def passes(release: Release) -> bool:
    items = latest(release)
    computed = {item.key for item in items} == set(KEYS)
    return computed and all(item.ok is not False for item in items)


def evidence_fingerprint(release: Release) -> str:
    """Stable across calls; changes when a verified asset's sha256 or one of
    the release's version or sha- image digests changes."""
    lines = sorted(
        f"asset {name} {sha}"
        for name, sha in release.artifacts.filter(
            verification=Artifact.Verification.VERIFIED
        ).values_list("name", "computed_sha256")
    )
    pinned = {
        tag
        for tag, kind in images.expected_tags(release)
        if kind in TagObservation.PINNED
    }
    lines += sorted(
        f"image {repository}:{tag} {digest}"
        for repository, tag, digest in TagObservation.objects.filter(
            project_id=release.project_id, tag__in=pinned
        ).values_list("repository", "tag", "digest")
    )
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


# Computing ----------------------------------------------------------------------------------


@dataclass
class _Context:
    release: Release
    client: GitHubClient
    _tag_commit: str | None = None
    _tag_read: bool = False
    _html: str = ""
    _facts: dict[str, object] = field(default_factory=dict)

    def tag_commit(self) -> str | None:
        if not self._tag_read:
            self._tag_commit = self.client.tag_commit(self.release.tag)
            self._tag_read = True
        return self._tag_commit

    def html(self) -> str:
        if not self._html:
            self._html = self.client.html_url
        return self._html

    def commit(self) -> str:
        return self.release.commit_sha or self.tag_commit() or ""


def run(
    release: Release,
    *,
    client: GitHubClient | None = None,
    only: list[str] | None = None,
) -> list[Item]:
    """Compute the items (all, or those in `only`) and store them."""
    release = Release.objects.select_related("project").get(pk=release.pk)
    context = _Context(release, client or client_for(release.project))
    now = timezone.now()
    computed = []
    for position, (key, name) in enumerate(ITEMS):
        if only is not None and key not in only:
            continue
        try:
            verdict = COMPUTE[key](context)
        except GitHubError as exc:
            # Not evidence either way: waiting, so it is asked again soon.
            verdict = Verdict(
                False,
                f"Not checked: GitHub could not be asked ({exc}); asked again "
                "within minutes.",
                waiting=True,
            )
        computed.append((position, key, name, verdict))
    with transaction.atomic():
        for position, key, name, verdict in computed:
            CheckResult.objects.update_or_create(
                release=release,
                key=key,
                defaults={
                    "position": position,
                    "name": name,
                    "ok": verdict.ok,
                    "detail": verdict.detail,
                    "link": verdict.link,
                    "waiting": verdict.waiting,
                    "checked_at": now,
                },
            )
    return latest(release)


def judge_ci(
    status: CombinedStatus, runs: list[CheckRun] | ChecksForbidden, *, commit: str
) -> Verdict:
    """Green only with evidence: the combined status and the check runs
    together. A combined "pending" with no statuses at all is what a
    repository that only uses Actions reports, not a failure."""
    short = commit[:7]
    forbidden = runs if isinstance(runs, ChecksForbidden) else None
    check_runs = [] if forbidden else list(runs)  # type: ignore[arg-type]
    failed = [
        r.name
        for r in check_runs
        if r.status == "completed" and r.conclusion in FAILED_CONCLUSIONS
    ]
    failed += [
        s["context"] for s in status.statuses if s["state"] in {"failure", "error"}
    ]
    running = [r.name for r in check_runs if r.status != "completed"]
    running += [s["context"] for s in status.statuses if s["state"] == "pending"]
    if failed:
        return Verdict(False, f"Failed on {short}: " + ", ".join(sorted(failed)) + ".")
    if running:
        done = len(check_runs) + status.total_count - len(running)
        total = len(check_runs) + status.total_count
        return Verdict(
            False,
            f"Still running on {short} ({done} of {total} done): "
            + ", ".join(sorted(running))
            + ".",
            waiting=True,
        )
    if forbidden is not None:
        if status.total_count and status.state == "success":
            return Verdict(
                True,
                f"{status.total_count} commit status(es) green on {short}; "
                f"check runs not readable: {forbidden}",
            )
        return Verdict(False, f"Cannot tell whether CI passed on {short}. {forbidden}")
    if not check_runs and not status.total_count:
        return Verdict(
            False,
            f"Nothing has reported on {short} yet: no check runs, no statuses.",
            waiting=True,
        )
    parts = []
    if check_runs:
        parts.append(f"{len(check_runs)} check run(s) passed")
    if status.total_count:
        parts.append(f"{status.total_count} status(es) green")
    return Verdict(True, " and ".join(parts) + f" on {short}.")


def _ci(context: _Context) -> Verdict:
    commit = context.commit()
    if not commit:
        return Verdict(False, "The release commit is not known yet.")
    link = f"{context.html()}/commit/{commit}/checks"
    status = context.client.combined_status(commit)
    try:
        runs: list[CheckRun] | ChecksForbidden = context.client.check_runs(commit)
    except ChecksForbidden as exc:
        runs = exc
    verdict = judge_ci(status, runs, commit=commit)
    return Verdict(verdict.ok, verdict.detail, link, verdict.waiting)


def _missing_tag(context: _Context) -> Verdict:
    return Verdict(False, f"The tag {context.release.tag} does not exist yet.")


def _version(context: _Context) -> Verdict:
    release = context.release
    if context.tag_commit() is None:
        return _missing_tag(context)
    found = context.client.file_at("VERSION", release.tag)
    if found is None:
        return Verdict(False, f"There is no VERSION file at {release.tag}.")
    try:
        version = str(parse_version(found.text))
    except ValueError as exc:
        return Verdict(
            False, f"VERSION at {release.tag} cannot be read: {exc}", found.html_url
        )
    if version != release.version:
        return Verdict(
            False,
            f"VERSION at {release.tag} says {version}, not {release.version}.",
            found.html_url,
        )
    return Verdict(True, f"VERSION at {release.tag} says {version}.", found.html_url)


def _tag(context: _Context) -> Verdict:
    release = context.release
    commit = context.tag_commit()
    if commit is None:
        return _missing_tag(context)
    link = f"{context.html()}/tree/{release.tag}"
    if not release.commit_sha:
        return Verdict(
            True,
            f"{release.tag} is at {commit[:7]}; the release names no other commit.",
            link,
        )
    if commit != release.commit_sha:
        return Verdict(
            False,
            f"{release.tag} points at {commit[:7]}, but the run built "
            f"{release.commit_sha[:7]}.",
            link,
        )
    return Verdict(
        True, f"{release.tag} points at {commit[:7]}, the commit built.", link
    )


def mentions(text: str, version: str) -> bool:
    """Whether `version` appears on its own: 1.2.3 is not in 1.2.30 or 1.2.3-rc.1."""
    pattern = rf"(?<![\w.])v?{re.escape(version)}(?![\w+]|[.-]\w)"
    return re.search(pattern, text) is not None


def _changelog(context: _Context) -> Verdict:
    release = context.release
    if context.tag_commit() is None:
        return _missing_tag(context)
    for name in CHANGELOG_FILES:
        found = context.client.file_at(name, release.tag)
        if found is None:
            continue
        if mentions(found.text, release.version):
            return Verdict(
                True, f"{name} has an entry for {release.version}.", found.html_url
            )
        return Verdict(
            False,
            f"{name} at {release.tag} does not mention {release.version}.",
            found.html_url,
        )
    return Verdict(None, "The repository keeps no CHANGELOG: not applicable.")


def _release(context: _Context) -> Verdict:
    release = context.release
    if release.github_release_id is None:
        return Verdict(False, f"No GitHub release {release.tag} has been found yet.")
    info = context.client.get_release(release.github_release_id)
    if info is None:
        return Verdict(
            False, f"The GitHub release {release.github_release_id} no longer exists."
        )
    present = {asset.name for asset in info.assets}
    expected = release.project.expected_asset_names(release.version)
    missing = [name for name in expected if name not in present]
    link = info.html_url or release.github_release_url
    if missing:
        return Verdict(
            False, "Missing from the GitHub release: " + ", ".join(missing) + ".", link
        )
    return Verdict(True, f"All {len(expected)} expected assets are attached.", link)


def _chart(context: _Context) -> Verdict:
    release = context.release
    name = release.project.chart_asset_name(release.version)
    if not name:
        return Verdict(None, "The project ships no Helm chart: not applicable.")
    chart = release.artifacts.filter(name=name).first()
    if chart is None:
        return Verdict(False, f"The release has no chart {name}.")
    link = chart.download_url
    if chart.verification in (
        Artifact.Verification.PENDING,
        Artifact.Verification.VERIFYING,
    ):
        return Verdict(False, f"{name} has not been read yet.", link)
    if not chart.chart_version:
        return Verdict(False, f"{name} holds no readable Chart.yaml.", link)
    if chart.chart_version != release.version:
        return Verdict(
            False,
            f"Chart.yaml in {name} says version {chart.chart_version}, not {release.version}.",
            link,
        )
    return Verdict(
        True, f"Chart.yaml in {name} says version {chart.chart_version}.", link
    )


def _checksums(context: _Context) -> Verdict:
    release = context.release
    artifacts = list(release.artifacts.all())
    listing = next((a for a in artifacts if a.kind == Artifact.Kind.CHECKSUMS), None)
    link = listing.download_url if listing else release.github_release_url
    if not artifacts:
        return Verdict(False, "The release has no assets yet.", link)
    waiting = [
        a
        for a in artifacts
        if a.verification
        in (Artifact.Verification.PENDING, Artifact.Verification.VERIFYING)
    ]
    bad = [a for a in artifacts if a.verification not in _GOOD_OR_WAITING]
    if bad:
        problems = [f"{a.name}: {a.verification_detail or a.verification}" for a in bad]
        return Verdict(False, " ".join(problems), link)
    if waiting:
        done = len(artifacts) - len(waiting)
        return Verdict(
            False, f"Verifying: {done} of {len(artifacts)} assets done.", link
        )
    return Verdict(
        True,
        f"All {len(artifacts)} assets downloaded and hashed; each matches "
        "checksums.txt and GitHub's digest.",
        link,
    )


_GOOD_OR_WAITING = {
    Artifact.Verification.VERIFIED,
    Artifact.Verification.PENDING,
    Artifact.Verification.VERIFYING,
}


def _images(context: _Context) -> Verdict:
    release = context.release
    project = release.project
    link = reverse("images") + f"?release={release.version}"
    expected = images.expected_tags(release)
    rows = {
        (o.repository, o.tag): o
        for o in TagObservation.objects.filter(
            project=project, tag__in=[t for t, _k in expected]
        ).select_related("release")
    }
    # (image, state, detail) -> tags: one sentence for tags that share a fate.
    problems: dict[tuple[str, str, str], list[str]] = {}
    notes, warnings = [], []
    for image in project.image_names:
        repository = images.repository_of(project, image)
        for tag, kind in expected:
            row = rows.get((repository, tag))
            if row is None:
                problems.setdefault((image, "not inspected yet", ""), []).append(tag)
                continue
            floating = kind not in TagObservation.PINNED
            if floating and row.release_id and row.release_id != release.pk:
                notes.append(_moved_on(image, tag, row.release))
                continue
            if row.state != TagObservation.State.VERIFIED:
                state = row.get_state_display()
                problems.setdefault((image, state, row.detail), []).append(tag)
            elif row.size_warning and kind == TagObservation.Kind.VERSION:
                warnings.append(f"{image}: {row.size_warning}")
    if problems:
        sentences = [
            f"{image}:{', '.join(tags)} {state}" + (f": {detail}" if detail else ".")
            for (image, state, detail), tags in problems.items()
        ]
        return Verdict(False, " ".join(sentences + warnings), link)
    count = len(project.image_names) * len(expected) - len(notes)
    detail = (
        f"All {count} of its tags ({len(project.image_names)} images) "
        "resolve to one index per image, holding exactly "
        + " and ".join(sorted(project.image_platforms))
        + "."
    )
    return Verdict(True, " ".join([detail, *notes, *warnings]), link)


def _moved_on(image: str, tag: str, owner: Release | None) -> str:
    """A floating tag (X.Y, latest) now serving another release's build."""
    if owner is None:
        return f"{image}:{tag} has moved on to a newer build (expected)."
    if owner.state == Release.State.PUBLISHED:
        return f"{image}:{tag} has moved on to {owner.tag} (expected)."
    # The workflow pushes the floating tags when it builds, before review.
    return (
        f"{image}:{tag} has moved on to {owner.tag}, which is {owner.state} and "
        "not published: the registry serves that build before GitHub does."
    )


COMPUTE: dict[str, Callable[[_Context], Verdict]] = {
    "ci": _ci,
    "version": _version,
    "tag": _tag,
    "changelog": _changelog,
    "release": _release,
    "chart": _chart,
    "checksums": _checksums,
    "images": _images,
}
