"""What publishing a draft would do now, and what stands in its way.

Read-only: the publish panel, the confirm step, the command line and
`actions.publish_release` all judge a draft with `plan`, so they cannot
disagree. The writes are in actions.py.
"""

from __future__ import annotations

from dataclasses import dataclass

from releases import approvals, checklist, notes
from releases.models import NotesRevision, Release

# An override needs a reason someone else can understand later.
MIN_OVERRIDE_REASON = 20


@dataclass(frozen=True)
class Plan:
    revision: NotesRevision | None
    evidence: str
    failing: list[checklist.Item]
    missing_assets: list[str]
    approvals: approvals.Standing
    latest: bool
    latest_reason: str
    verifying: bool

    @property
    def passes(self) -> bool:
        return not self.failing

    @property
    def waiting(self) -> list[checklist.Item]:
        """Failing items whose evidence is still being produced (CI running)."""
        return [item for item in self.failing if item.waiting]

    @property
    def failed(self) -> list[checklist.Item]:
        return [item for item in self.failing if not item.waiting]

    @property
    def blockers(self) -> list[str]:
        """What no override can set aside."""
        found = []
        if self.verifying:
            found.append(
                "The checks are running: wait for them to finish, the evidence "
                "is being rewritten."
            )
        return found + self.problems

    @property
    def problems(self) -> list[str]:
        """The blockers that are not simply the checks still running."""
        found = []
        if self.missing_assets:
            found.append(missing_assets_message(self.missing_assets))
        if self.revision is None:
            found.append("The draft has no notes revision yet.")
        if not self.approvals.enough:
            found.append(approvals_message(self.approvals))
        return found


def plan(
    release: Release,
    *,
    items: list[checklist.Item] | None = None,
    asset_names: set[str] | None = None,
) -> Plan:
    """Judge a draft as it is now. Call `approvals.lapse_stale` first.
    `items` and `asset_names` save a page that has them the queries."""
    if items is None:
        items = checklist.latest(release)
    failing = [item for item in items if item.ok is False]
    if {item.key for item in items} != set(checklist.KEYS):
        failing.insert(
            0,
            checklist.Item(
                key="computed",
                name="Checklist computed",
                ok=False,
                detail="The checklist has not been computed for every item yet.",
            ),
        )
    if asset_names is None:
        asset_names = set(release.artifacts.values_list("name", flat=True))
    expected = release.project.expected_asset_names(release.version)
    latest, latest_reason = release.latest_decision()
    return Plan(
        revision=notes.current_revision(release),
        evidence=checklist.evidence_fingerprint(release),
        failing=failing,
        missing_assets=[name for name in expected if name not in asset_names],
        approvals=approvals.standing(release),
        latest=latest,
        latest_reason=latest_reason,
        verifying=release.is_verifying,
    )


def changes_since(
    plan: Plan, *, revision_number: int | None, evidence: str
) -> list[str]:
    """What changed since a page showed `revision_number` and `evidence`: a
    publish (or an approval) of what was not seen is asked again."""
    changes = []
    current = plan.revision
    if current is None or current.number != revision_number:
        seen = f"revision {revision_number}" if revision_number else "no revision"
        now = (
            f"revision {current.number} by {current.author_name or 'someone'}"
            if current
            else "none"
        )
        changes.append(f"The notes changed: you saw {seen}, the release now has {now}.")
    if evidence != plan.evidence:
        changes.append(
            "The verified evidence changed since the page was shown: the checks "
            "ran again and asset or image digests differ. Look at the checklist "
            "again."
        )
    return changes


def missing_assets_message(names: list[str]) -> str:
    return (
        "Expected assets are missing from the release: "
        + ", ".join(names)
        + ". Once published its assets are frozen, so it cannot be published "
        "without them."
    )


def approvals_message(standing: approvals.Standing) -> str:
    return (
        f"{standing.given} of {standing.needed} approvals: {standing.missing} more "
        "needed from Reviewers or Maintainers other than the person who started "
        "the release."
    )


def failing_message(items: list[checklist.Item]) -> str:
    listed = "; ".join(f"{item.name}: {item.detail}" for item in items)
    return f"The checklist does not pass — {listed}"
