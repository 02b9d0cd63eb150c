"""Everything the console asks of container registries: the Registry v2 (OCI
distribution) API of Docker Hub or any other registry, and Docker Hub's web
API for push times. The only module that speaks those protocols, on plain
HTTP through requests.

Rules from OUTSIDE-SYSTEMS.md that shape it:
- tokens come from the realm of the `WWW-Authenticate` challenge, anonymous
  or with credentials, and are kept until `expires_in`;
- HEAD gives a tag's digest and costs nothing against Docker Hub's pull
  limit; every manifest GET counts, so a manifest is fetched only for a
  digest never seen before and kept forever (it is content-addressed);
- every manifest request sends all four manifest types in `Accept`;
- a 429 is its own state, never "tag missing"; a 401 after a token is a
  missing or private repository.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, Protocol
from urllib.parse import quote, urljoin, urlsplit

import requests
from django.conf import settings

logger = logging.getLogger(__name__)

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
INDEX_TYPES = frozenset({OCI_INDEX, DOCKER_LIST})
# Without the list type Hub quietly answers with the amd64 child; without the
# OCI index type it answers 404. Always send all four.
ACCEPT = ", ".join([OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST])

ATTESTATION_ARTIFACT = "application/vnd.docker.attestation.manifest.v1+json"
REFERENCE_TYPE = "vnd.docker.reference.type"

DOCKER_HUB_HOSTS = frozenset(
    {"docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"}
)
DOCKER_HUB_REGISTRY = "https://registry-1.docker.io"
DEFAULT_TOKEN_SECONDS = 60
# Cosign and friends store signatures and attestations as tags of their own.
SIGNATURE_TAG_RE = re.compile(r"^sha256-[0-9a-f]{64}(\.[a-z]+)?$")
CHALLENGE_PARAM_RE = re.compile(r'(\w+)="([^"]*)"')


class RegistryError(Exception):
    """A failure talking to a registry; str() is a message for people."""


class RegistryRateLimited(RegistryError):
    def __init__(self, message: str, retry_at: datetime | None = None) -> None:
        super().__init__(message)
        self.retry_at = retry_at


class ManifestUnknown(RegistryError):
    """The tag or digest does not exist (404 MANIFEST_UNKNOWN)."""


class RepositoryUnknown(RegistryError):
    """401 even with a token: the repository is missing, or private."""


@dataclass(frozen=True)
class RateLimit:
    limit: int | None
    remaining: int | None
    window_seconds: int | None
    source: str = ""


@dataclass(frozen=True)
class Head:
    digest: str
    media_type: str
    size: int


@dataclass(frozen=True)
class PlatformImage:
    platform: str  # "linux/arm64"
    digest: str
    size: int  # compressed: the sum of the layers


@dataclass(frozen=True)
class Inspection:
    digest: str
    media_type: str
    platforms: tuple[PlatformImage, ...]
    attestations: int
    is_index: bool

    @property
    def platform_names(self) -> list[str]:
        return sorted(p.platform for p in self.platforms)

    def as_json(self) -> list[dict[str, Any]]:
        return [
            {"platform": p.platform, "digest": p.digest, "size": p.size}
            for p in sorted(self.platforms, key=lambda p: p.platform)
        ]


@dataclass(frozen=True)
class HubTag:
    name: str
    digest: str
    pushed_at: datetime | None


class ManifestStore(Protocol):
    def get(self, digest: str) -> tuple[str, bytes] | None: ...

    def put(self, digest: str, media_type: str, body: bytes) -> None: ...


@dataclass
class MemoryStore:
    manifests: dict[str, tuple[str, bytes]] = field(default_factory=dict)

    def get(self, digest: str) -> tuple[str, bytes] | None:
        return self.manifests.get(digest)

    def put(self, digest: str, media_type: str, body: bytes) -> None:
        self.manifests[digest] = (media_type, body)


# Small pure helpers ----------------------------------------------------------


def is_docker_hub(registry: str) -> bool:
    host = urlsplit(registry).hostname if "://" in registry else registry
    return (host or "").lower() in DOCKER_HUB_HOSTS


def repository_name(name: str, *, docker_hub: bool) -> str:
    """Docker Hub keeps official images under library/: nginx is library/nginx."""
    if docker_hub and "/" not in name:
        return f"library/{name}"
    return name


def is_signature_tag(tag: str) -> bool:
    return bool(SIGNATURE_TAG_RE.match(tag))


def platform_name(platform: dict[str, Any]) -> str:
    os_name = str(platform.get("os") or "")
    arch = str(platform.get("architecture") or "")
    variant = str(platform.get("variant") or "")
    # arm64 has only one variant in practice; buildx writes it, Hub drops it.
    if arch == "arm64" and variant == "v8":
        variant = ""
    return "/".join(part for part in (os_name, arch, variant) if part)


def is_platform(descriptor: dict[str, Any]) -> bool:
    """Whether an index entry is an image for a platform, not an attestation.

    buildx marks attestations with platform unknown/unknown and a
    vnd.docker.reference.type annotation; OCI artifacts carry an
    artifactType. Either makes the entry not a platform.
    """
    platform = descriptor.get("platform") or {}
    annotations = descriptor.get("annotations") or {}
    os_name = platform.get("os")
    arch = platform.get("architecture")
    if not os_name or not arch or "unknown" in (os_name, arch):
        return False
    if REFERENCE_TYPE in annotations:
        return False
    return not descriptor.get("artifactType")


def parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    """('bearer', {'realm': …, 'service': …, 'scope': …}) from WWW-Authenticate."""
    scheme, _, rest = header.strip().partition(" ")
    return scheme.lower(), dict(CHALLENGE_PARAM_RE.findall(rest))


def _number(value: str | None) -> tuple[int | None, int | None]:
    """'100;w=21600' -> (100, 21600)."""
    if not value:
        return None, None
    head, _, tail = value.partition(";")
    window = None
    if tail.strip().startswith("w="):
        window = int(tail.strip()[2:]) if tail.strip()[2:].isdigit() else None
    return (int(head) if head.strip().isdigit() else None), window


def parse_rate_limit(headers: Any) -> RateLimit | None:
    """Docker Hub's `ratelimit-*` headers, or the Hub web API's `X-RateLimit-*`."""
    limit, window = _number(headers.get("ratelimit-limit"))
    remaining, _ = _number(headers.get("ratelimit-remaining"))
    if limit is None and remaining is None:
        limit, _ = _number(headers.get("x-ratelimit-limit"))
        remaining, _ = _number(headers.get("x-ratelimit-remaining"))
    if limit is None and remaining is None:
        return None
    return RateLimit(
        limit, remaining, window, headers.get("docker-ratelimit-source", "")
    )


def retry_time(headers: Any, now: datetime | None = None) -> datetime | None:
    """When a 429 says to come back: Retry-After (seconds or a date), or the
    Hub web API's X-Retry-After / X-RateLimit-Reset (unix times)."""
    now = now or datetime.now(UTC)
    value = (headers.get("retry-after") or "").strip()
    if value.isdigit():
        return now + timedelta(seconds=int(value))
    if value:
        try:
            return parsedate_to_datetime(value)
        except (TypeError, ValueError):
            pass
    for name in ("x-retry-after", "x-ratelimit-reset"):
        raw = (headers.get(name) or "").strip()
        if raw.isdigit():
            return datetime.fromtimestamp(int(raw), tz=UTC)
    return None


def _error_message(response: requests.Response) -> str:
    try:
        errors = response.json().get("errors") or []
        return "; ".join(str(e.get("message") or e.get("code")) for e in errors)
    except (ValueError, AttributeError):
        return response.text[:200].strip()


def _next_link(response: requests.Response) -> str | None:
    for part in response.headers.get("Link", "").split(","):
        url, _, rel = part.partition(";")
        if 'rel="next"' in rel:
            # May be relative (/v2/…?last=…): resolve against the request.
            return urljoin(response.url, url.strip().strip("<>"))
    return None


# The registry --------------------------------------------------------------------


class RegistryClient:
    """One registry, read-only. Pass a `session` to observe its requests."""

    def __init__(
        self,
        base_url: str,
        *,
        credentials: tuple[str, str] | None = None,
        session: requests.Session | None = None,
        timeout: float = 15.0,
        store: ManifestStore | None = None,
        page_size: int = 1000,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.page_size = page_size
        self.credentials = credentials
        self.session = session or requests.Session()
        self.timeout = timeout
        self.store: ManifestStore = store or MemoryStore()
        self.rate_limit: RateLimit | None = None
        self._tokens: dict[str, tuple[str, datetime]] = {}
        self._basic = False
        # The registry's challenge, learnt once from GET /v2/: None until
        # asked, {} when the registry wants no token.
        self._challenge: dict[str, str] | None = None

    def __str__(self) -> str:
        return self.base_url

    # Requests, with the token flow ----------------------------------------------

    def _auth_headers(self, scope: str) -> dict[str, str]:
        token = self._tokens.get(scope)
        if token and token[1] > datetime.now(UTC):
            return {"Authorization": f"Bearer {token[0]}"}
        return {}

    def _prepare(self, scope: str) -> None:
        """Learn the challenge from GET /v2/ once, then fetch the scope's
        token before the first request, so no request is spent on a 401."""
        if self._challenge is None:
            try:
                answer = self.session.get(f"{self.base_url}/v2/", timeout=self.timeout)
            except requests.RequestException:
                raise RegistryError(f"{self} cannot be reached.")
            scheme, params = parse_challenge(answer.headers.get("WWW-Authenticate", ""))
            if answer.status_code == 401 and scheme == "bearer" and params.get("realm"):
                self._challenge = params
            else:
                self._challenge = {}
                self._basic = answer.status_code == 401 and bool(self.credentials)
        if self._challenge and not self._auth_headers(scope):
            self._fetch_token(self._challenge, scope)

    def _request(
        self, method: str, url: str, repository: str, *, accept: str = ACCEPT
    ) -> requests.Response:
        scope = f"repository:{repository}:pull"
        self._prepare(scope)
        for attempt in range(2):
            headers = {"Accept": accept, **self._auth_headers(scope)}
            auth = self.credentials if self._basic else None
            try:
                response = self.session.request(
                    method, url, headers=headers, auth=auth, timeout=self.timeout
                )
            except requests.Timeout:
                raise RegistryError(f"{self} did not answer in time ({method} {url}).")
            except requests.ConnectionError:
                raise RegistryError(f"{self} cannot be reached.")
            self._note_rate_limit(response)
            if response.status_code == 401 and attempt == 0:
                if self._authenticate(response, scope):
                    continue
            return self._checked(response, repository)
        raise AssertionError("unreachable")  # pragma: no cover

    def _authenticate(self, response: requests.Response, scope: str) -> bool:
        """Answer the challenge; True when the request is worth repeating."""
        scheme, params = parse_challenge(response.headers.get("WWW-Authenticate", ""))
        if scheme == "basic":
            self._basic = bool(self.credentials)
            return self._basic
        if scheme != "bearer" or not params.get("realm"):
            return False
        self._fetch_token(params, scope)
        return True

    def _fetch_token(self, params: dict[str, str], scope: str) -> None:
        query = {"service": params.get("service", "")}
        query["scope"] = params.get("scope") or scope
        try:
            answer = self.session.get(
                params["realm"],
                params=query,
                auth=self.credentials,
                headers={"Accept": "application/json"},
                timeout=self.timeout,
            )
        except requests.RequestException:
            raise RegistryError(f"The token service of {self} cannot be reached.")
        if answer.status_code == 401:
            raise RegistryError(
                f"The token service of {self} refused the registry credentials."
            )
        if answer.status_code >= 400:
            raise RegistryError(
                f"The token service of {self} answered {answer.status_code}."
            )
        body = answer.json()
        token = body.get("token") or body.get("access_token")
        if not token:
            raise RegistryError(f"The token service of {self} gave no token.")
        seconds = int(body.get("expires_in") or DEFAULT_TOKEN_SECONDS)
        # Renew a little early rather than be refused mid-audit.
        expires = datetime.now(UTC) + timedelta(seconds=max(seconds - 5, 1))
        self._tokens[scope] = (token, expires)

    def _note_rate_limit(self, response: requests.Response) -> None:
        found = parse_rate_limit(response.headers)
        if found is not None:
            self.rate_limit = found

    def _checked(
        self, response: requests.Response, repository: str
    ) -> requests.Response:
        status = response.status_code
        if status < 400:
            return response
        if status == 429:
            retry_at = retry_time(response.headers)
            when = f" until {retry_at:%H:%M:%S} UTC" if retry_at else ""
            raise RegistryRateLimited(
                f"{self} rate-limits us{when} (429): {_error_message(response)}",
                retry_at,
            )
        if status == 401:
            raise RepositoryUnknown(
                f"{self} refused {repository} (401): it does not exist, or it is "
                "private and needs credentials."
            )
        if status == 404:
            raise ManifestUnknown(_error_message(response) or "not found")
        raise RegistryError(
            f"{self} answered {status} for {repository}: {_error_message(response)}"
        )

    # Reading -----------------------------------------------------------------------

    def _manifest_url(self, repository: str, reference: str) -> str:
        return f"{self.base_url}/v2/{repository}/manifests/{quote(reference, safe=':')}"

    def head(self, repository: str, reference: str) -> Head:
        """A tag's digest, type and size, from a HEAD (free on Docker Hub)."""
        response = self._request(
            "HEAD", self._manifest_url(repository, reference), repository
        )
        digest = response.headers.get("Docker-Content-Digest", "")
        media_type = response.headers.get("Content-Type", "").split(";")[0].strip()
        size = int(response.headers.get("Content-Length") or 0)
        if not digest:
            # Some registries leave the digest out of HEAD; the body has it.
            response = self._request(
                "GET", self._manifest_url(repository, reference), repository
            )
            body = response.content
            digest = "sha256:" + hashlib.sha256(body).hexdigest()
            self.store.put(digest, media_type, body)
        return Head(digest=digest, media_type=media_type, size=size)

    def manifest(self, repository: str, digest: str) -> tuple[str, dict[str, Any]]:
        """(media type, document) of a manifest by digest, fetched at most once."""
        cached = self.store.get(digest)
        if cached is None:
            response = self._request(
                "GET", self._manifest_url(repository, digest), repository
            )
            body = response.content
            actual = "sha256:" + hashlib.sha256(body).hexdigest()
            if digest.startswith("sha256:") and actual != digest:
                raise RegistryError(
                    f"{self} served bytes for {repository}@{digest} that hash to {actual}."
                )
            media_type = response.headers.get("Content-Type", "").split(";")[0].strip()
            self.store.put(digest, media_type, body)
            cached = (media_type, body)
        media_type, body = cached
        document = json.loads(body)
        return document.get("mediaType") or media_type, document

    def inspect(self, repository: str, reference: str) -> Inspection:
        """What a tag points at: one HEAD, and GETs only for new digests."""
        head = self.head(repository, reference)
        return self.summarize(repository, head.digest)

    def summarize(self, repository: str, digest: str) -> Inspection:
        media_type, document = self.manifest(repository, digest)
        if media_type not in INDEX_TYPES and "manifests" not in document:
            size = sum(
                int(layer.get("size") or 0) for layer in document.get("layers") or []
            )
            single = PlatformImage(platform="", digest=digest, size=size)
            return Inspection(digest, media_type, (single,), 0, is_index=False)
        platforms = []
        attestations = 0
        for descriptor in document.get("manifests") or []:
            if not is_platform(descriptor):
                attestations += 1
                continue
            _child_type, child = self.manifest(repository, descriptor["digest"])
            size = sum(
                int(layer.get("size") or 0) for layer in child.get("layers") or []
            )
            platforms.append(
                PlatformImage(
                    platform=platform_name(descriptor["platform"]),
                    digest=descriptor["digest"],
                    size=size,
                )
            )
        return Inspection(
            digest, media_type, tuple(platforms), attestations, is_index=True
        )

    def tags(self, repository: str) -> list[str]:
        """Every tag of the repository, following `Link: rel="next"` pages."""
        url: str | None = (
            f"{self.base_url}/v2/{repository}/tags/list?n={self.page_size}"
        )
        found: list[str] = []
        while url:
            response = self._request("GET", url, repository, accept="application/json")
            found += response.json().get("tags") or []
            url = _next_link(response)
        return found


# Docker Hub's web API ------------------------------------------------------------


class HubClient:
    """Docker Hub's tags API: push times, which registries do not record."""

    def __init__(
        self,
        api_url: str,
        *,
        session: requests.Session | None = None,
        timeout: float = 15.0,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.session = session or requests.Session()
        self.timeout = timeout
        self.rate_limit: RateLimit | None = None

    def tags(self, repository: str) -> dict[str, HubTag]:
        """tag -> digest and push time; empty when Hub does not know it."""
        namespace, _, name = repository.partition("/")
        url: str | None = (
            f"{self.api_url}/v2/namespaces/{namespace}/repositories/{name}/tags"
            "?page_size=100"
        )
        found: dict[str, HubTag] = {}
        while url:
            results, url = self._page(url)
            for item in results:
                found[item["name"]] = HubTag(
                    name=item["name"],
                    digest=item.get("digest") or "",
                    pushed_at=_hub_time(item.get("tag_last_pushed")),
                )
        return found

    def _page(self, url: str) -> tuple[list[dict[str, Any]], str | None]:
        try:
            response = self.session.get(
                url, headers={"Accept": "application/json"}, timeout=self.timeout
            )
        except requests.RequestException:
            raise RegistryError(
                f"Docker Hub's API at {self.api_url} cannot be reached."
            )
        found = parse_rate_limit(response.headers)
        if found is not None:
            self.rate_limit = found
        if response.status_code == 404:
            return [], None
        if response.status_code == 429:
            retry_at = retry_time(response.headers)
            raise RegistryRateLimited(
                "Docker Hub's API rate-limits us (429).", retry_at
            )
        if response.status_code >= 400:
            raise RegistryError(
                f"Docker Hub's API answered {response.status_code} for {url}."
            )
        body = response.json()
        return list(body.get("results") or []), body.get("next") or None


def _hub_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


# Credentials and clients for a project ------------------------------------------


def docker_config_credentials(
    registry: str, config_path: str | None = None
) -> tuple[str, str] | None:
    """User and password (or access token) for `registry` from the user's
    docker config, through the docker package's own reader and credential
    helpers. A broken helper is logged and treated as no credentials."""
    import docker.auth
    import docker.errors

    key = None if is_docker_hub(registry) else registry
    try:
        found = docker.auth.load_config(config_path).resolve_authconfig(key)
    except (docker.errors.DockerException, OSError, ValueError) as exc:
        logger.warning("Docker credentials for %s could not be read: %s", registry, exc)
        return None
    if not found:
        return None
    user = found.get("username") or found.get("Username")
    password = found.get("password") or found.get("Password")
    if user and password:
        return str(user), str(password)
    if found.get("IdentityToken"):
        logger.warning(
            "The docker config holds an identity token for %s, which the console "
            "cannot use; set DOCKERHUB_USERNAME and DOCKERHUB_TOKEN instead.",
            registry,
        )
    return None


def registry_url(registry: str) -> str:
    """The Registry v2 base URL of a project's registry setting."""
    if settings.REGISTRY_URL:
        return settings.REGISTRY_URL
    if is_docker_hub(registry):
        return DOCKER_HUB_REGISTRY
    return registry if "://" in registry else f"https://{registry}"


def credentials_for(registry: str) -> tuple[str, str] | None:
    if settings.DOCKERHUB_USERNAME and is_docker_hub(registry):
        return settings.DOCKERHUB_USERNAME, settings.DOCKERHUB_TOKEN
    if settings.SANDBOX:
        return None  # never hand a real credential to the simulated registry
    return docker_config_credentials(registry)


def client_for(
    registry: str,
    *,
    session: requests.Session | None = None,
    store: ManifestStore | None = None,
) -> RegistryClient:
    return RegistryClient(
        registry_url(registry),
        credentials=credentials_for(registry),
        session=session,
        timeout=settings.REGISTRY_TIMEOUT,
        store=store,
    )


def hub_for(
    registry: str, *, session: requests.Session | None = None
) -> HubClient | None:
    """Docker Hub's web API, for images on Docker Hub only."""
    if not settings.DOCKERHUB_API_URL or not is_docker_hub(registry):
        return None
    return HubClient(
        settings.DOCKERHUB_API_URL, session=session, timeout=settings.REGISTRY_TIMEOUT
    )
