"""The console from the command line: the same actions as the screens."""

import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Q

from releases import actions, approvals, auditlog, checklist, publishing
from releases.forms import ReleaseForm
from releases.ghclient import GitHubError, client_for
from releases.models import Project, Release, TagObservation
from releases.planning import BUMP_FIELD, PRERELEASE_FIELD, InputRoles
from releases.registry import RegistryError
from releases.versioning import BUMPS


@contextmanager
def _quiet_task_queue() -> Iterator[None]:
    """django-q logs every task it enqueues or runs at INFO; on the command
    line that is noise between the command's own lines."""
    queue = logging.getLogger("django-q")
    level = queue.level
    queue.setLevel(max(level, logging.WARNING))
    try:
        yield
    finally:
        queue.setLevel(level)


class Command(BaseCommand):
    help = "Avika Console actions: sync, release, verify, publish, images, audit."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sync = sub.add_parser("sync", help="Import releases made outside the console.")
        sync.add_argument("--project", help="owner/name (default: the only project)")
        release = sub.add_parser("release", help="Start a release of the project.")
        release.add_argument("--project", help="owner/name (default: the only project)")
        release.add_argument("--bump", required=True, choices=[*BUMPS, "auto"])
        release.add_argument("--prerelease", default="", help="suffix such as rc.1")
        release.add_argument(
            "--wait",
            action="store_true",
            help="return when the draft is imported or the run failed",
        )
        release.add_argument("--json", action="store_true", help="print JSON")
        release.add_argument(
            "--timeout",
            type=float,
            default=3600,
            help="seconds to wait at most (with --wait)",
        )
        verify = sub.add_parser(
            "verify",
            help="Verify a release (assets, images, checklist) and print the checklist.",
        )
        verify.add_argument("version", help="e.g. 1.111.0")
        verify.add_argument("--project", help="owner/name (default: the only project)")
        verify.add_argument("--json", action="store_true", help="print JSON")
        verify.add_argument(
            "--stored",
            action="store_true",
            help="show the checklist as last computed, without running it",
        )
        publish = sub.add_parser(
            "publish",
            help="Publish a verified draft with its current notes revision.",
        )
        publish.add_argument("version", help="e.g. 1.111.0")
        publish.add_argument("--project", help="owner/name (default: the only project)")
        publish.add_argument(
            "--revision",
            type=int,
            help="the notes revision you reviewed; refused if it is not the current one",
        )
        publish.add_argument(
            "--override-reason",
            default="",
            help="publish despite a failing checklist, for this reason (audited)",
        )
        publish.add_argument("--json", action="store_true", help="print JSON")
        image_list = sub.add_parser(
            "images", help="Every image tag with digest, platforms, sizes and state."
        )
        image_list.add_argument(
            "--project", help="owner/name (default: the only project)"
        )
        image_list.add_argument("--json", action="store_true", help="print JSON")
        image_list.add_argument(
            "--refresh", action="store_true", help="inspect the registry first"
        )

        trail = sub.add_parser(
            "audit", help="Print the audit log (oldest first) as CSV or JSON."
        )
        trail.add_argument("--since", help="from this day on (YYYY-MM-DD)")
        trail.add_argument("--until", help="up to and including this day")
        # dest: "action" is the subcommand's own.
        trail.add_argument(
            "--action",
            dest="event_action",
            help="only this action, e.g. release.published",
        )
        trail.add_argument("--actor", help="only this user name (system: the console)")
        trail.add_argument("--release", help="only this release's version")
        trail.add_argument("--format", choices=["csv", "json"], default="csv")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "audit":
            self._audit(options)
            return
        # The version asked about, for a refusal printed as JSON.
        self.version: str | None = options.get("version")
        with _quiet_task_queue():
            try:
                self._act(options)
            except CommandError as exc:
                if not options.get("json") or options["action"] == "images":
                    raise
                self.stdout.write(json.dumps(self._refusal(options, str(exc))))
                raise SystemExit(1)

    def _act(self, options: dict[str, Any]) -> None:
        project = self._project(options.get("project"))
        if self.version:
            self.version = self.version.removeprefix(project.tag_prefix)
        if options["action"] == "sync":
            self._sync(project)
        elif options["action"] == "verify":
            self._verify(project, options)
        elif options["action"] == "publish":
            self._publish(project, options)
        elif options["action"] == "images":
            self._images(project, options)
        else:
            self._release(project, options)

    def _refusal(self, options: dict[str, Any], error: str) -> dict[str, Any]:
        """The action's JSON shape for a refusal, with `error` saying why."""
        payload: dict[str, Any] = {"version": self.version, "state": None}
        if options["action"] == "release":
            payload |= {"run_url": None, "assets": []}
        elif options["action"] == "verify":
            payload["items"] = []
        elif options["action"] == "publish":
            payload |= {
                "published": False,
                "latest": None,
                "revision": None,
                "failing": [],
                "missing_assets": [],
            }
        return payload | {"error": error}

    def _project(self, repository: str | None) -> Project:
        projects = Project.objects.all()
        if repository:
            projects = projects.filter(repository=repository)
        found = list(projects[:2])
        if not found:
            raise CommandError(
                f"No project {repository or ''} is configured.".replace("  ", " ")
            )
        if len(found) > 1:
            raise CommandError(
                "Several projects are configured: name one with --project owner/name."
            )
        return found[0]

    def _sync(self, project: Project) -> None:
        try:
            created = actions.sync_project(project)
        except GitHubError as exc:
            raise CommandError(str(exc))
        for release in created:
            self.stdout.write(f"imported {release.tag} ({release.state})")
        self.stdout.write(f"{project.repository}: {len(created)} release(s) imported.")

    def _release(self, project: Project, options: dict[str, Any]) -> None:
        try:
            context = client_for(project).release_context()
        except GitHubError as exc:
            raise CommandError(str(exc))
        data = self._form_data(context.inputs, options["bump"], options["prerelease"])
        form = ReleaseForm(data=data, context=context)
        valid = form.is_valid()
        self.version = (form.plan or form.preview()).version or None
        if not valid or form.plan is None:
            problems = [str(e) for errors in form.errors.values() for e in errors]
            raise CommandError(
                "; ".join(problems) or "The release could not be planned."
            )
        try:
            release = actions.request_release(
                project=project,
                user=None,
                plan=form.plan,
                enqueue=not options["wait"],
                via="cli",
            )
        except actions.ReleaseRefused as exc:
            raise CommandError(str(exc))
        if not options["json"]:
            self.stdout.write(f"Requested {release.tag}: {form.plan.explanation}")
        if options["wait"]:
            release = self._wait(release, options["timeout"])
        self._report(release, as_json=options["json"])
        if release.state in (Release.State.FAILED, Release.State.CANCELLED):
            raise SystemExit(1)

    @staticmethod
    def _form_data(inputs: list, bump: str, prerelease: str) -> dict[str, Any]:
        roles = InputRoles.of(inputs)
        if roles.console_computes_version:
            return {BUMP_FIELD: bump, PRERELEASE_FIELD: prerelease}
        data = {i.name: i.default for i in inputs if i.default not in (None, "")}
        if roles.bump is not None:
            data[roles.bump.name] = bump
        if roles.prerelease is not None:
            data[roles.prerelease.name] = prerelease
        return data

    def _wait(self, release: Release, timeout: float) -> Release:
        """Do the work here rather than wait for a worker that may not run;
        the claims in actions make a worker doing the same harmless."""
        from django.conf import settings

        deadline = time.monotonic() + timeout
        try:
            release = actions.dispatch_release(release.pk)
        except GitHubError as exc:
            raise CommandError(str(exc))
        last_state = ""
        while not release.is_final and release.state != Release.State.DRAFT:
            if time.monotonic() > deadline:
                raise CommandError(
                    f"{release.tag} is still {release.state} after {timeout:.0f}s."
                )
            time.sleep(max(settings.RUN_POLL_SECONDS, 0.05))
            try:
                release = actions.follow_release(release.pk)
            except GitHubError as exc:
                self.stderr.write(f"warning: {exc}")
            if release.state != last_state:
                last_state = release.state
                self.stderr.write(f"{release.tag}: {release.state}")
        return release

    def _report(self, release: Release, *, as_json: bool) -> None:
        assets = list(release.artifacts.values_list("name", flat=True))
        if as_json:
            payload = {
                "version": release.version,
                "state": release.state,
                "run_url": release.run_url,
                "assets": assets,
            }
            if release.failure_reason:
                payload["failure_reason"] = release.failure_reason
            self.stdout.write(json.dumps(payload))
            return
        self.stdout.write(f"{release.tag}: {release.state}")
        if release.run_url:
            self.stdout.write(f"run: {release.run_url}")
        if release.failure_reason:
            self.stdout.write(release.failure_reason)
        for name in assets:
            self.stdout.write(f"  {name}")

    # Verifying ---------------------------------------------------------------

    def _verify(self, project: Project, options: dict[str, Any]) -> None:
        version = str(options["version"]).removeprefix(project.tag_prefix)
        release = self._find_release(project, version)
        if not options["stored"] or not checklist.latest(release):
            self._run_checks(release)
        items = checklist.latest(release)
        if options["json"]:
            payload = {
                "version": release.version,
                "items": [
                    {"name": i.name, "ok": i.ok, "detail": i.detail} for i in items
                ],
            }
            self.stdout.write(json.dumps(payload))
        else:
            self.stdout.write(f"{release.tag} ({release.state})")
            for item in items:
                mark = {True: "✓", False: "✕", None: "–"}[item.ok]
                self.stdout.write(f"{mark} {item.name}")
                self.stdout.write(f"    {item.detail}")
            failing = sum(item.ok is False for item in items)
            if failing:
                self.stdout.write(f"{failing} of {len(items)} checks fail.")
            else:
                self.stdout.write(f"All {len(items)} checks pass.")
        if not checklist.passes(release):
            raise SystemExit(1)

    def _find_release(self, project: Project, version: str) -> Release:
        shipped = Release.objects.filter(project=project, state__in=Release.SHIPPED)
        release = shipped.filter(version=version).first()
        if release is None:
            try:
                actions.sync_project(project)  # perhaps made outside the console
            except GitHubError as exc:
                raise CommandError(str(exc))
            release = shipped.filter(version=version).first()
        if release is None:
            raise CommandError(
                f"No draft or published release {version} of {project.repository}."
            )
        return release

    def _run_checks(self, release: Release) -> None:
        """Verify right here: a worker may not be running."""
        Release.objects.filter(pk=release.pk).exclude(
            checks_state=Release.Checks.RUNNING
        ).update(checks_state=Release.Checks.QUEUED)
        try:
            verified = actions.verify_release(release.pk)
        except GitHubError as exc:
            raise CommandError(str(exc))
        if verified.checks_state != Release.Checks.DONE:
            raise CommandError(
                f"{release.tag} is being verified elsewhere right now; try again soon."
            )

    # Publishing --------------------------------------------------------------

    def _publish(self, project: Project, options: dict[str, Any]) -> None:
        """The same rules as the publish button; the command line has no
        user, so it is recorded as via cli."""
        version = str(options["version"]).removeprefix(project.tag_prefix)
        release = self._find_release(project, version)
        plan = None
        error = ""
        if release.state == Release.State.DRAFT:
            approvals.lapse_stale(release)
            plan = publishing.plan(release)
            revision = options["revision"]
            if revision is None and plan.revision is not None:
                revision = plan.revision.number
            try:
                release = actions.publish_release(
                    release=release,
                    user=None,
                    revision_number=revision,
                    evidence=plan.evidence,
                    override_reason=options["override_reason"],
                    via="cli",
                )
            except actions.PublishRefused as exc:
                error = str(exc)
            except GitHubError as exc:
                error = str(exc)
        elif release.state != Release.State.PUBLISHED:
            error = f"{release.tag} is {release.state}: only a draft is published."
        release.refresh_from_db()
        self._publish_report(release, plan, error, as_json=options["json"])
        if release.state != Release.State.PUBLISHED:
            raise SystemExit(1)

    def _publish_report(
        self,
        release: Release,
        plan: publishing.Plan | None,
        error: str,
        *,
        as_json: bool,
    ) -> None:
        published = release.state == Release.State.PUBLISHED
        revision = release.published_revision if published else None
        if revision is None and plan is not None:
            revision = plan.revision
        failing = [] if published or plan is None else plan.failing
        if release.publish_unknown and not error:
            error = (
                f"GitHub's answer did not come ({release.publish_error}); run the "
                "command again to read the release back before anything is resent."
            )
        if as_json:
            payload = {
                "version": release.version,
                "state": release.state,
                "published": published,
                "latest": release.published_latest
                if published
                else plan and plan.latest,
                "revision": revision.number if revision else None,
                "failing": [
                    {"key": i.key, "name": i.name, "detail": i.detail} for i in failing
                ],
                "missing_assets": [] if plan is None else plan.missing_assets,
                "error": error,
            }
            self.stdout.write(json.dumps(payload))
            return
        if published:
            latest = "Latest" if release.published_latest else "not Latest"
            number = revision.number if revision else "?"
            self.stdout.write(
                f"{release.tag} is published with notes revision {number} ({latest})."
            )
            return
        self.stdout.write(f"{release.tag} is not published: {error}")
        for item in failing:
            self.stdout.write(f"✕ {item.name}")
            self.stdout.write(f"    {item.detail}")

    def _images(self, project: Project, options: dict[str, Any]) -> None:
        rows = TagObservation.objects.filter(project=project)
        if options["refresh"] or not rows.exists():
            try:
                actions.audit_images(project)
            except RegistryError as exc:
                raise CommandError(str(exc))
        ordered = rows.select_related("release").order_by(
            "image", "-pushed_at", "-observed_at", "tag"
        )
        if options["json"]:
            self.stdout.write(json.dumps([self._image_json(row) for row in ordered]))
            return
        for row in ordered:
            platforms = ", ".join(
                f"{p['platform']} {int(p['size']) / 1_000_000:.1f} MB"
                for p in row.platforms
            )
            release = row.release.tag if row.release else "-"
            self.stdout.write(
                f"{row.image}:{row.tag}\t{row.state}\t{row.digest or '-'}\t"
                f"{release}\t{platforms or '-'}"
            )
            if row.state != TagObservation.State.VERIFIED and row.detail:
                self.stdout.write(f"    {row.detail}")

    def _audit(self, options: dict[str, Any]) -> None:
        given = {
            "since": options.get("since"),
            "until": options.get("until"),
            "action": options.get("event_action"),
            "actor": options.get("actor"),
        }
        params = {name: value for name, value in given.items() if value}
        filters = auditlog.filtered(params)
        if filters.is_bound and not filters.is_valid():
            problems = "; ".join(
                f"--{name}: {' '.join(errors)}"
                for name, errors in filters.errors.items()
            )
            raise CommandError(problems)
        events = filters.qs
        if version := options.get("release"):
            # Every attempt at the version: a failed one and the one published
            # are two releases with the same version.
            attempts = Release.objects.filter(Q(version=version) | Q(tag=version))
            if not attempts.exists():
                raise CommandError(f"No release {version} is known.")
            events = events.filter(release__in=attempts)
        events = auditlog.stream(events.order_by("created_at", "pk"))
        write = (
            auditlog.json_chunks if options["format"] == "json" else auditlog.csv_lines
        )
        for chunk in write(events):
            self.stdout.write(chunk, ending="")

    @staticmethod
    def _image_json(row: TagObservation) -> dict[str, Any]:
        return {
            "image": row.image,
            "repository": row.repository,
            "tag": row.tag,
            "kind": row.kind,
            "digest": row.digest,
            "platforms": row.platforms,
            "pushed_at": row.pushed_at.isoformat() if row.pushed_at else None,
            "observed_at": row.observed_at.isoformat() if row.observed_at else None,
            "release": row.release.version if row.release else None,
            "state": row.state,
            "detail": row.detail,
            "size_warning": row.size_warning,
        }
