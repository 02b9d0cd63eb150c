"""Everything the console asks of GitHub, through PyGithub. The only module
that speaks GitHub's API.

Two rules shape it (see OUTSIDE-SYSTEMS.md):
- writes go out once: PyGithub's retry would repeat a POST after a 5xx,
  so only GET and HEAD are retried, and a dispatch whose outcome is unknown
  raises `AmbiguousDispatch` for the caller to look for the run;
- a primary rate limit never blocks: waits beyond a few seconds raise
  `RateLimited`, and background tasks try again later.
"""

from __future__ import annotations

import base64
import dataclasses
import html
import json
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import urljoin, urlsplit

import github
import requests
import semver
from django.conf import settings
from django.core.cache import cache
from github import Auth, Github, GithubException, GithubRetry

from releases.models import Project
from releases.planning import ReleaseContext
from releases.versioning import parse_version
from releases.workflow import WorkflowError, discover_inputs

logger = logging.getLogger(__name__)


class GitHubError(Exception):
    """A failure talking to GitHub; str() is a message for people."""


class RateLimited(GitHubError):
    def __init__(self, message: str, reset_at: datetime | None = None) -> None:
        super().__init__(message)
        self.reset_at = reset_at


class AmbiguousWrite(GitHubError):
    """A write may or may not have taken effect (timeout, 5xx): read the
    effect back before anything is sent again."""


class AmbiguousDispatch(AmbiguousWrite):
    """The dispatch may or may not have started a run (timeout, 5xx)."""


class ChecksForbidden(GitHubError):
    """The token may not read check runs (fine-grained tokens cannot)."""


# Downloads are read in pieces this big: memory stays flat whatever the size,
# and at 1 MiB the per-chunk overhead of Python is lost in the hashing.
DOWNLOAD_CHUNK = 1024 * 1024
MAX_REDIRECTS = 5


@dataclass(frozen=True)
class RunSnapshot:
    id: int
    html_url: str
    status: str
    conclusion: str
    updated_at: datetime | None
    head_sha: str
    head_branch: str
    event: str
    actor: str
    etag: str


@dataclass(frozen=True)
class AssetInfo:
    id: int
    name: str
    size: int
    download_url: str
    digest: str


@dataclass(frozen=True)
class ReleaseInfo:
    id: int
    tag_name: str
    name: str
    body: str
    draft: bool
    prerelease: bool
    html_url: str
    target_commitish: str
    created_at: datetime | None
    published_at: datetime | None
    assets: list[AssetInfo]


@dataclass(frozen=True)
class CombinedStatus:
    state: str
    total_count: int
    statuses: list[dict[str, str]]


@dataclass(frozen=True)
class CheckRun:
    name: str
    status: str
    conclusion: str
    html_url: str


@dataclass(frozen=True)
class FileAtRef:
    text: str
    html_url: str


@dataclass(frozen=True)
class ConnectionInfo:
    api_url: str
    login: str
    rate_limit: int
    rate_remaining: int
    rate_reset: datetime | None


def _next_link(headers: dict[str, Any]) -> str | None:
    lowered = {k.lower(): v for k, v in headers.items()}
    for part in str(lowered.get("link", "")).split(","):
        url, _, rel = part.partition(";")
        if 'rel="next"' in rel:
            return url.strip().strip("<>")
    return None


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _message(exc: GithubException) -> str:
    """GitHub's answer in one sentence: the status and its message, or the
    title of the HTML error page a proxy or GitHub's front end sent."""
    try:
        status = f"{exc.status} {HTTPStatus(exc.status).phrase}"
    except ValueError:
        status = str(exc.status)
    data = exc.data if isinstance(exc.data, dict) else {}
    text = data.get("message") or _body_summary(data.get("data") or exc.data)
    if not text:
        return f"GitHub answered {status} with no message"
    # A 422 says "Validation Failed"; what failed is in its errors.
    details = [
        str(e.get("message") or f"{e.get('field', '')} {e.get('code', '')}".strip())
        for e in data.get("errors") or []
        if isinstance(e, dict)
    ]
    if details:
        text = f"{text} ({'; '.join(details)})"
    return f"GitHub answered {status}: {text}"


def _body_summary(body: object) -> str:
    """A body that is not GitHub's JSON (PyGithub keeps it as a string)."""
    if not body or not isinstance(body, str):
        return ""
    title = re.search(r"<title[^>]*>(.*?)</title>", body, re.IGNORECASE | re.DOTALL)
    if title:
        return f"an error page ({html.unescape(title.group(1)).strip()[:100]})"
    if "<" in body and ">" in body:
        return "an error page"
    text = " ".join(body.split())
    return text if len(text) <= 160 else f"{text[:160]}…"


@contextmanager
def _translated(doing: str) -> Iterator[None]:
    """Turn PyGithub's and requests' exceptions into GitHubError."""
    try:
        yield
    except (github.RateLimitExceededException, github.GithubException) as exc:
        if isinstance(exc, github.RateLimitExceededException) or _is_rate_limit(exc):
            reset = _reset_time(exc.headers or {})
            when = f" until {reset:%H:%M:%S} UTC" if reset else ""
            raise RateLimited(f"GitHub's rate limit is used up{when} ({doing}).", reset)
        if isinstance(exc, github.BadCredentialsException):
            raise GitHubError(
                f"GitHub refused the token while {doing} (401 Bad credentials)."
            )
        raise GitHubError(f"{_message(exc)} (while {doing}).")
    except requests.Timeout:
        raise GitHubError(f"GitHub did not answer in time while {doing}.")
    except requests.ConnectionError:
        raise GitHubError(
            f"GitHub at {settings.GITHUB_API_URL} cannot be reached ({doing})."
        )


def _is_rate_limit(exc: GithubException) -> bool:
    headers = {k.lower(): v for k, v in (exc.headers or {}).items()}
    if exc.status == 429:
        return True
    return exc.status == 403 and headers.get("x-ratelimit-remaining") == "0"


def _reset_time(headers: dict[str, Any]) -> datetime | None:
    lowered = {k.lower(): v for k, v in headers.items()}
    raw = lowered.get("x-ratelimit-reset")
    try:
        return datetime.fromtimestamp(int(raw), tz=UTC) if raw else None
    except ValueError:
        return None


def make_github(token: str | None = None, api_url: str | None = None) -> Github:
    retry = GithubRetry(
        total=3,
        backoff_factor=0.5,
        # Never POST or PATCH twice: a retried dispatch starts two releases.
        allowed_methods={"GET", "HEAD"},
        max_rate_limit_wait=10,
    )
    quiet = settings.SANDBOX
    return Github(
        base_url=(api_url or settings.GITHUB_API_URL).rstrip("/"),
        auth=Auth.Token(token or settings.GITHUB_TOKEN),
        timeout=int(settings.GITHUB_TIMEOUT),
        retry=retry,
        per_page=100,
        seconds_between_requests=None if quiet else 0.25,
        seconds_between_writes=None if quiet else 1.0,
    )


class GitHubClient:
    def __init__(self, project: Project, gh: Github | None = None) -> None:
        self.project = project
        self.gh = gh or make_github()
        self._repo: Any = None

    @property
    def repo(self) -> Any:
        if self._repo is None:
            with _translated(f"reading {self.project.repository}"):
                self._repo = self.gh.get_repo(self.project.repository)
        return self._repo

    @property
    def workflow_path(self) -> str:
        return f".github/workflows/{self.project.workflow_file}"

    def _paged(
        self, path: str, *, key: str | None = None, params: dict[str, Any] | None = None
    ) -> Iterator[dict[str, Any]]:
        """Every item of a listing, following Link rel="next".

        PyGithub's list items are lazy: reading their raw data would cost one
        more request per item, so listings are read as JSON here.
        """
        url: str | None = path
        parameters: dict[str, Any] | None = {"per_page": 100, **(params or {})}
        while url:
            headers, data = self.gh.requester.requestJsonAndCheck(
                "GET", url, parameters=parameters
            )
            yield from (data[key] if key else data) or []
            url = _next_link(headers)
            parameters = None  # the next link carries them

    @property
    def _repo_path(self) -> str:
        return f"/repos/{self.project.repository}"

    # Reading ---------------------------------------------------------------

    def file_text(self, path: str, ref: str) -> str | None:
        """A file's text at `ref`, or None when the file does not exist there."""
        with _translated(f"reading {path} at {ref}"):
            try:
                content = self.repo.get_contents(path, ref=ref)
            except github.UnknownObjectException:
                return None
        if isinstance(content, list):
            raise GitHubError(f"{path} is a directory, not a file.")
        return base64.b64decode(content.content or "").decode("utf-8", errors="replace")

    def head_sha(self) -> str:
        branch = self.project.default_branch
        with _translated(f"reading the branch {branch}"):
            try:
                return self.repo.get_branch(branch).commit.sha
            except github.UnknownObjectException:
                raise GitHubError(
                    f"The branch {branch} does not exist in {self.project.repository}."
                )

    def tag_names(self) -> set[str]:
        with _translated("listing tags"):
            return {tag.name for tag in self.repo.get_tags()}

    def commit_messages_since(self, tag: str | None, head: str) -> list[str]:
        with _translated(f"listing commits since {tag or 'the beginning'}"):
            if tag:
                commits = self.repo.compare(tag, head).commits
            else:
                commits = self.repo.get_commits(sha=head)[:100]
            return [c.commit.message for c in commits]

    def release_context(self) -> ReleaseContext:
        """Everything the release form needs, read at the head of the branch."""
        sha = self.head_sha()
        version_text = self.file_text("VERSION", sha)
        if version_text is None:
            raise GitHubError(
                f"{self.project.repository} has no VERSION file on "
                f"{self.project.default_branch}."
            )
        workflow_text = self.file_text(self.workflow_path, sha)
        if workflow_text is None:
            raise GitHubError(
                f"{self.workflow_path} does not exist on {self.project.default_branch}; "
                "GitHub dispatches only workflows present on the default branch."
            )
        try:
            current = parse_version(version_text)
            inputs = discover_inputs(workflow_text, path=self.workflow_path)
        except (ValueError, WorkflowError) as exc:
            raise GitHubError(str(exc))
        tags = self.tag_names()
        last_tag: str | None = self.project.tag_for(str(current))
        if current.prerelease:
            # An rc previews the next stable release: "auto" must weigh every
            # change since the last stable one, not only those since the rc.
            last_tag = self._last_stable_tag(tags, below=current)
        if last_tag not in tags:
            last_tag = None
        return ReleaseContext(
            current_version=current,
            inputs=inputs,
            head_sha=sha,
            last_tag=last_tag,
            commits_since_last_tag=self.commit_messages_since(last_tag, sha),
            tags=frozenset(tags),
            tag_prefix=self.project.tag_prefix,
        )

    def current_version(self) -> str:
        """VERSION at the head of the default branch, in one request."""
        text = self.file_text("VERSION", self.project.default_branch)
        if text is None:
            raise GitHubError(
                f"{self.project.repository} has no VERSION file on "
                f"{self.project.default_branch}."
            )
        try:
            return str(parse_version(text))
        except ValueError as exc:
            raise GitHubError(str(exc))

    def _last_stable_tag(self, tags: set[str], *, below: semver.Version) -> str | None:
        prefix = self.project.tag_prefix
        stable = []
        for tag in tags:
            text = tag.removeprefix(prefix) if tag.startswith(prefix) else ""
            if not semver.Version.is_valid(text):
                continue
            version = semver.Version.parse(text)
            if not version.prerelease and version < below:
                stable.append((version, tag))
        return max(stable)[1] if stable else None

    def connection_info(self) -> ConnectionInfo:
        with _translated("checking the connection"):
            login = self.gh.get_user().login
            core = self.gh.get_rate_limit().resources.core
        return ConnectionInfo(
            api_url=settings.GITHUB_API_URL,
            login=login,
            rate_limit=core.limit,
            rate_remaining=core.remaining,
            rate_reset=core.reset,
        )

    def token_login(self) -> str:
        with _translated("reading the token's user"):
            return self.gh.get_user().login

    # Evidence for the release checklist ---------------------------------------

    @property
    def html_url(self) -> str:
        """The repository's web address, for links next to evidence."""
        with _translated(f"reading {self.project.repository}"):
            return str(self.repo.html_url)

    def file_at(self, path: str, ref: str) -> FileAtRef | None:
        """A file's text at `ref` with its web address; None when absent."""
        text = self.file_text(path, ref)
        if text is None:
            return None
        return FileAtRef(text=text, html_url=f"{self.html_url}/blob/{ref}/{path}")

    def tag_commit(self, tag: str) -> str | None:
        """The commit a tag points at (annotated tags dereferenced), or None."""
        path = f"{self._repo_path}/git/ref/tags/{tag}"
        with _translated(f"reading the tag {tag}"):
            try:
                _, data = self.gh.requester.requestJsonAndCheck("GET", path)
            except github.UnknownObjectException:
                return None
            target = data.get("object") or {}
            # An annotated tag points at a tag object, which points at the commit.
            for _ in range(3):
                if target.get("type") != "tag":
                    break
                tag_path = f"{self._repo_path}/git/tags/{target['sha']}"
                _, tag_data = self.gh.requester.requestJsonAndCheck("GET", tag_path)
                target = tag_data.get("object") or {}
        return target.get("sha") or None

    def combined_status(self, sha: str) -> CombinedStatus:
        path = f"{self._repo_path}/commits/{sha}/status"
        with _translated(f"reading the status of {sha[:7]}"):
            _, data = self.gh.requester.requestJsonAndCheck(
                "GET", path, parameters={"per_page": 100}
            )
        statuses = [
            {
                "context": s.get("context") or "",
                "state": s.get("state") or "",
                "target_url": s.get("target_url") or "",
            }
            for s in data.get("statuses") or []
        ]
        return CombinedStatus(
            state=data.get("state") or "",
            total_count=int(data.get("total_count") or 0),
            statuses=statuses,
        )

    def check_runs(self, sha: str) -> list[CheckRun]:
        """Every check run on the commit; ChecksForbidden when the token may
        not read them, which fine-grained tokens never may."""
        path = f"{self._repo_path}/commits/{sha}/check-runs"
        with _translated(f"reading the check runs of {sha[:7]}"):
            try:
                runs = list(self._paged(path, key="check_runs"))
            except GithubException as exc:
                if exc.status == 403 and not _is_rate_limit(exc):
                    raise ChecksForbidden(
                        "The GitHub token may not read check runs (a fine-grained "
                        "token has no Checks permission; use a classic token or a "
                        f"GitHub App with Checks: read). {_message(exc)}."
                    )
                raise
        return [
            CheckRun(
                name=r.get("name") or "",
                status=r.get("status") or "",
                conclusion=r.get("conclusion") or "",
                html_url=r.get("html_url") or "",
            )
            for r in runs
        ]

    @contextmanager
    def open_asset(
        self, asset_id: int, *, chunk_size: int = DOWNLOAD_CHUNK
    ) -> Iterator[Iterator[bytes]]:
        """A release asset's bytes as a stream of chunks.

        The API answers with a redirect to a storage host. The token goes to
        the API host only: a storage host must never see it (GitHub's answers
        400 when it does). PyGithub's own download follows the redirect with
        the token and refuses other hosts, so this speaks plain HTTP.
        """
        api = settings.GITHUB_API_URL.rstrip("/")
        url = f"{api}{self._repo_path}/releases/assets/{asset_id}"
        session = requests.Session()
        headers = {
            "Accept": "application/octet-stream",
            "Authorization": f"Bearer {settings.GITHUB_TOKEN}",
            "X-GitHub-Api-Version": "2022-11-28",
        }
        doing = f"downloading asset {asset_id}"
        response: requests.Response | None = None
        try:
            for _ in range(MAX_REDIRECTS + 1):
                trusted = _origin(url) == _origin(api)
                try:
                    response = session.get(
                        url,
                        headers=headers if trusted else {"Accept": "*/*"},
                        auth=None if trusted else _NoAuth(),
                        stream=True,
                        allow_redirects=False,
                        timeout=settings.GITHUB_TIMEOUT,
                    )
                except requests.Timeout:
                    raise GitHubError(f"No answer in time while {doing}.")
                except requests.ConnectionError:
                    raise GitHubError(
                        f"{urlsplit(url).netloc} cannot be reached ({doing})."
                    )
                if not response.is_redirect:
                    break
                url = urljoin(url, response.headers["Location"])
                response.close()
            else:
                raise GitHubError(f"Too many redirects while {doing}.")
            self._check_download(response, doing)
            yield response.iter_content(chunk_size)
        finally:
            if response is not None:
                response.close()
            session.close()

    @staticmethod
    def _check_download(response: requests.Response, doing: str) -> None:
        if response.status_code < 400:
            return
        headers = {k.lower(): v for k, v in response.headers.items()}
        limited = response.status_code == 429 or (
            response.status_code == 403 and headers.get("x-ratelimit-remaining") == "0"
        )
        if limited:
            raise RateLimited(
                f"GitHub's rate limit is used up ({doing}).", _reset_time(headers)
            )
        excerpt = response.text[:200].strip().replace("\n", " ")
        raise GitHubError(
            f"{urlsplit(response.url).netloc} answered {response.status_code} "
            f"while {doing}: {excerpt}"
        )

    # Dispatching -------------------------------------------------------------

    def _workflow(self) -> Any:
        with _translated(f"reading the workflow {self.project.workflow_file}"):
            return self.repo.get_workflow(self.project.workflow_file)

    def highest_run_id(self) -> int:
        """The id of the workflow's newest run, or 0: the floor for binding."""
        with _translated("listing workflow runs"):
            runs = self._workflow().get_runs()
            first = next(iter(runs), None)
        return first.id if first is not None else 0

    def dispatch(self, ref: str, inputs: dict[str, Any]) -> int | None:
        """Start the release workflow once. Returns the run id when GitHub says it.

        Raises AmbiguousDispatch when the outcome is unknown (timeout, 5xx,
        connection dropped): the caller must look for the run, never resend.
        """
        workflow = self._workflow()
        try:
            result = workflow.create_dispatch(
                ref, inputs, throw=True, return_run_details=True
            )
        except github.GithubException as exc:
            if exc.status >= 500:
                raise AmbiguousDispatch(
                    f"{_message(exc)} while dispatching the release."
                )
            if _is_rate_limit(exc):
                raise RateLimited(
                    "GitHub's rate limit refused the dispatch.",
                    _reset_time(exc.headers or {}),
                )
            raise GitHubError(f"{_message(exc)} — the release was not started.")
        except (requests.Timeout, requests.ConnectionError) as exc:
            raise AmbiguousDispatch(
                f"GitHub did not answer the dispatch ({type(exc).__name__})."
            )
        if isinstance(result, bool):
            return None
        return result.id

    def find_dispatched_run(
        self, *, after_id: int, ref: str, actor: str
    ) -> RunSnapshot | None:
        """The first workflow_dispatch run on `ref` by `actor` newer than `after_id`.

        This binds a 204-only dispatch to its run without taking "the newest
        run", which may be another maintainer's or a scheduled one.
        """
        with _translated("looking for the dispatched run"):
            runs = self._workflow().get_runs(
                event="workflow_dispatch", branch=ref, actor=actor
            )
            candidates = []
            for run in runs:
                if run.id <= after_id:
                    break  # listed newest first: the rest are older
                candidates.append(run)
        candidates = [
            r
            for r in candidates
            if r.event == "workflow_dispatch"
            and r.head_branch == ref
            and r.actor.login == actor
        ]
        if not candidates:
            return None
        return self._snapshot(min(candidates, key=lambda r: r.id).raw_data, "")

    # Following a run -----------------------------------------------------------

    def get_run(self, run_id: int, etag: str = "") -> RunSnapshot | None:
        """The run, or None when unchanged since `etag` (a free 304)."""
        path = f"{self._repo_path}/actions/runs/{run_id}"
        headers = {"If-None-Match": etag} if etag else {}
        with _translated(f"reading run {run_id}"):
            status, response_headers, body = self.gh.requester.requestJson(
                "GET", path, headers=headers
            )
            if status == 304:
                return None
            if status >= 400:
                data = json.loads(body) if body else None
                raise GithubException(status, data, response_headers)
        data = json.loads(body)
        lowered = {k.lower(): v for k, v in response_headers.items()}
        return self._snapshot(data, lowered.get("etag", ""))

    @staticmethod
    def _snapshot(data: dict[str, Any], etag: str) -> RunSnapshot:
        return RunSnapshot(
            id=data["id"],
            html_url=data.get("html_url", ""),
            status=data.get("status") or "",
            conclusion=data.get("conclusion") or "",
            updated_at=_parse_time(data.get("updated_at")),
            head_sha=data.get("head_sha", ""),
            head_branch=data.get("head_branch") or "",
            event=data.get("event", ""),
            actor=(data.get("actor") or {}).get("login", ""),
            etag=etag,
        )

    def run_jobs(self, run_id: int) -> list[dict[str, Any]]:
        """The run's jobs and their steps, trimmed to what the console shows."""
        path = f"{self._repo_path}/actions/runs/{run_id}/jobs"
        with _translated(f"reading the jobs of run {run_id}"):
            jobs = list(self._paged(path, key="jobs"))
        keep = (
            "id",
            "name",
            "status",
            "conclusion",
            "started_at",
            "completed_at",
            "html_url",
        )
        step_keep = (
            "name",
            "number",
            "status",
            "conclusion",
            "started_at",
            "completed_at",
        )
        return [
            {
                **{key: job.get(key) for key in keep},
                "steps": [
                    {k: s.get(k) for k in step_keep} for s in job.get("steps") or []
                ],
            }
            for job in jobs
        ]

    # Releases --------------------------------------------------------------------

    def list_releases(self) -> list[ReleaseInfo]:
        """Every release, drafts included (drafts are only found by listing)."""
        with _translated("listing releases"):
            return [
                self._release_info(data)
                for data in self._paged(f"{self._repo_path}/releases")
            ]

    def get_release(self, release_id: int) -> ReleaseInfo | None:
        path = f"{self._repo_path}/releases/{release_id}"
        with _translated(f"reading release {release_id}"):
            try:
                _, data = self.gh.requester.requestJsonAndCheck("GET", path)
            except github.UnknownObjectException:
                return None
            info = self._release_info(data)
            if len(info.assets) >= 100:  # the release lists only the first page
                assets = [self._asset_info(a) for a in self._paged(f"{path}/assets")]
                info = dataclasses.replace(info, assets=assets)
        return info

    def latest_release_tag(self) -> str | None:
        """The tag of the release GitHub marks Latest, or None when none is."""
        path = f"{self._repo_path}/releases/latest"
        with _translated("reading the latest release"):
            try:
                _, data = self.gh.requester.requestJsonAndCheck("GET", path)
            except github.UnknownObjectException:
                return None
        return str(data.get("tag_name") or "") or None

    def update_release(
        self,
        release_id: int,
        *,
        body: str,
        draft: bool,
        prerelease: bool,
        make_latest: bool,
    ) -> ReleaseInfo:
        """PATCH a release, once, with every field that decides what it
        becomes stated: PyGithub's update_release would send draft=false and
        prerelease=false for a plain notes edit, and GitHub's make_latest
        defaults to true.

        Raises AmbiguousWrite when the outcome is unknown (timeout, 5xx):
        the caller reads the release back before any new attempt.
        """
        path = f"{self._repo_path}/releases/{release_id}"
        payload = {
            "body": body,
            "draft": draft,
            "prerelease": prerelease,
            "make_latest": "true" if make_latest else "false",
        }
        doing = f"updating release {release_id}"
        try:
            _, data = self.gh.requester.requestJsonAndCheck(
                "PATCH", path, input=payload
            )
        except github.GithubException as exc:
            if exc.status >= 500:
                raise AmbiguousWrite(f"{_message(exc)} (while {doing}).")
            with _translated(doing):
                raise
        except (requests.Timeout, requests.ConnectionError) as exc:
            raise AmbiguousWrite(
                f"GitHub did not answer in time ({type(exc).__name__}) while {doing}."
            )
        return self._release_info(data)

    def generate_notes(
        self, tag_name: str, *, previous_tag_name: str | None, target: str = ""
    ) -> str:
        """GitHub's generated notes for `tag_name` since `previous_tag_name`.

        The previous tag is always chosen by the caller: GitHub's own pick
        is often a pre-release in between.
        """
        payload: dict[str, Any] = {"tag_name": tag_name}
        if previous_tag_name:
            payload["previous_tag_name"] = previous_tag_name
        if target:
            payload["target_commitish"] = target
        path = f"{self._repo_path}/releases/generate-notes"
        with _translated(f"generating notes for {tag_name}"):
            _, data = self.gh.requester.requestJsonAndCheck("POST", path, input=payload)
        return str(data.get("body") or "")

    @classmethod
    def _release_info(cls, data: dict[str, Any]) -> ReleaseInfo:
        return ReleaseInfo(
            id=data["id"],
            tag_name=data.get("tag_name", ""),
            name=data.get("name") or "",
            body=data.get("body") or "",
            draft=bool(data.get("draft")),
            prerelease=bool(data.get("prerelease")),
            html_url=data.get("html_url", ""),
            target_commitish=data.get("target_commitish") or "",
            created_at=_parse_time(data.get("created_at")),
            published_at=_parse_time(data.get("published_at")),
            assets=[cls._asset_info(a) for a in data.get("assets") or []],
        )

    @staticmethod
    def _asset_info(data: dict[str, Any]) -> AssetInfo:
        return AssetInfo(
            id=data["id"],
            name=data["name"],
            size=data.get("size") or 0,
            download_url=data.get("browser_download_url", ""),
            digest=data.get("digest") or "",
        )


class _NoAuth(requests.auth.AuthBase):
    """No Authorization header at all, not even one from ~/.netrc."""

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        return request


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), parts.port or default


def client_for(project: Project) -> GitHubClient:
    return GitHubClient(project)


def recent_release_context(
    project: Project, max_age: int = 30, *, fresh: bool = False
) -> ReleaseContext:
    """A release context at most `max_age` seconds old, for live previews.

    A maintainer typing in the form would otherwise cost several API
    requests per keystroke. Starting a release always reads afresh, and so
    does opening the form (`fresh`), so that it never shows another VERSION
    than the dashboard: the previews typed on it then reuse that reading.
    """
    key = f"release-context:{project.pk}:{project.repository}"
    context = None if fresh else cache.get(key)
    if context is None:
        context = client_for(project).release_context()
        cache.set(key, context, max_age)
    return context
