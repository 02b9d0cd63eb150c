"""The registry client against the sandbox's registry and Hub API, over real
HTTP: the token flow, Accept types, pagination, 401 for a missing repository,
429 with its rate-limit headers, and push times from the Hub tags API."""

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest

from releases import images, registry
from releases.models import Project
from releases.registry import (
    ACCEPT,
    HubClient,
    ManifestUnknown,
    RegistryClient,
    RegistryRateLimited,
    RepositoryUnknown,
)
from sandbox import faults
from sandbox.seed import image_tags
from tests.registry_helpers import CountingSession

pytestmark = pytest.mark.django_db(transaction=True, available_apps=["sandbox"])

GATEWAY = "hellodk/avika-gateway"


@pytest.fixture
def session() -> CountingSession:
    return CountingSession()


@pytest.fixture
def client(live_server, session, settings) -> RegistryClient:
    settings.SANDBOX_RATE_LIMIT_SECONDS = 2
    return RegistryClient(f"{live_server.url}/sandbox/registry", session=session)


@pytest.fixture
def hub(live_server, session) -> HubClient:
    return HubClient(f"{live_server.url}/sandbox/hub", session=session)


def test_token_flow_learns_the_challenge_and_fetches_one_token_per_repository(
    client, session
):
    first = client.head(GATEWAY, "1.110.0")
    client.head(GATEWAY, "1.109.0")
    client.head("hellodk/avika-agent", "1.109.0")

    assert first.digest == image_tags("avika-gateway")["1.110.0"]
    assert first.media_type == registry.OCI_INDEX
    base, token, head, second, agent_token, agent_head = session.sent
    assert base.url.endswith("/sandbox/registry/v2/")
    assert token.url.endswith("/sandbox/registry/token")
    assert token.params == {
        "service": "sandbox-registry",
        "scope": "repository:hellodk/avika-gateway:pull",
    }
    assert head.method == "HEAD"
    assert head.headers["Authorization"].startswith("Bearer ")
    assert second.headers["Authorization"] == head.headers["Authorization"]
    assert agent_token.params["scope"] == "repository:hellodk/avika-agent:pull"
    assert agent_head.headers["Authorization"] != head.headers["Authorization"]
    assert all(s.headers["Accept"] == ACCEPT for s in (head, second, agent_head))


def test_credentials_go_to_the_token_service_as_basic_auth(live_server, session):
    client = RegistryClient(
        f"{live_server.url}/sandbox/registry",
        session=session,
        credentials=("hellodk", "dckr_pat_secret"),
    )
    client.head(GATEWAY, "latest")
    token = next(s for s in session.sent if s.url.endswith("/token"))
    assert token.auth == ("hellodk", "dckr_pat_secret")
    # The registry itself only ever sees the bearer token.
    others = [s for s in session.sent if s is not token]
    assert all(s.auth is None for s in others)


def test_inspect_reads_platforms_sizes_and_ignores_attestations(client, session):
    found = client.inspect(GATEWAY, "1.110.0")

    assert found.is_index
    assert found.platform_names == ["linux/amd64", "linux/arm64"]
    assert found.attestations == 2
    for platform in found.platforms:
        assert 30_000_000 <= platform.size <= 50_000_000
    # One HEAD, then one GET for the index and one per platform image; the
    # attestation manifests are never fetched.
    assert len(session.manifest_requests("HEAD")) == 1
    assert len(session.manifest_requests("GET")) == 3

    session.forget()
    assert client.inspect(GATEWAY, "1.110").digest == found.digest
    assert session.manifest_requests("GET") == []  # cached by digest


def test_a_missing_repository_is_401_and_a_missing_tag_404(client):
    with pytest.raises(RepositoryUnknown, match="does not exist, or it is private"):
        client.head("hellodk/nothing-here", "1.0.0")
    with pytest.raises(ManifestUnknown):
        client.head(GATEWAY, "9.9.9")


def test_tags_follow_relative_next_links(live_server, session):
    client = RegistryClient(
        f"{live_server.url}/sandbox/registry", session=session, page_size=4
    )
    tags = client.tags(GATEWAY)
    pages = [
        s
        for s in session.sent
        if "/tags/list" in s.url and s.headers.get("Authorization")
    ]
    assert len(pages) >= 3
    assert sorted(tags) == sorted(image_tags("avika-gateway"))
    assert len(tags) == len(set(tags))


def test_429_is_its_own_error_and_rate_limit_headers_are_read(
    client, session, settings
):
    settings.SANDBOX_REGISTRY_PULL_LIMIT = 100
    client.inspect(GATEWAY, "1.110.0")
    assert client.rate_limit is not None
    assert client.rate_limit.limit == 100
    assert client.rate_limit.window_seconds == 21600
    before = client.rate_limit.remaining

    faults.arm("rate-limit")
    # HEAD does not count against the pull limit and still answers.
    head = client.head(GATEWAY, "1.109.0")
    with pytest.raises(RegistryRateLimited, match="429"):
        client.manifest(GATEWAY, head.digest)
    assert client.rate_limit.remaining == 0
    assert before > 0


def test_the_hub_api_gives_push_times_for_current_digests(hub, session):
    tags = hub.tags(GATEWAY)
    digests = image_tags("avika-gateway")
    assert set(tags) == set(digests)
    for name, tag in tags.items():
        assert tag.digest == digests[name]
        assert tag.pushed_at is not None
        assert tag.pushed_at < datetime.now(UTC)
    assert session.sent[0].url.endswith(
        "/v2/namespaces/hellodk/repositories/avika-gateway/tags?page_size=100"
    )
    assert hub.rate_limit is not None
    assert hub.rate_limit.limit == 180


def test_the_hub_api_429_says_when_to_come_back(hub, settings):
    settings.SANDBOX_RATE_LIMIT_SECONDS = 30
    faults.arm("rate-limit")
    with pytest.raises(RegistryRateLimited) as limited:
        hub.tags(GATEWAY)
    retry_at = limited.value.retry_at
    assert retry_at is not None
    assert datetime.now(UTC) < retry_at < datetime.now(UTC) + timedelta(seconds=40)


def test_the_hub_api_knows_nothing_of_a_missing_repository(hub):
    assert hub.tags("hellodk/nothing-here") == {}


# Pure helpers ----------------------------------------------------------------


def test_bare_names_live_under_library_on_docker_hub_only():
    assert registry.repository_name("nginx", docker_hub=True) == "library/nginx"
    assert registry.repository_name("nginx", docker_hub=False) == "nginx"
    assert registry.repository_name("hellodk/x", docker_hub=True) == "hellodk/x"


def test_non_release_tags_are_left_out():
    project = Project(repository="hellodk/avika", registry_namespace="hellodk")
    kinds = {
        tag: images.kind_of(project, tag)
        for tag in [
            "1.2.3",
            "1.2.3-rc.1",
            "1.2",
            "latest",
            "sha-abcdef0",
            "sha256-" + "a" * 64 + ".sig",
            "sha256-" + "b" * 64 + ".att",
            "main",
            "buildcache",
            "sha-xyz",
        ]
    }
    assert kinds == {
        "1.2.3": "version",
        "1.2.3-rc.1": "version",
        "1.2": "minor",
        "latest": "latest",
        "sha-abcdef0": "sha",
        "sha256-" + "a" * 64 + ".sig": None,
        "sha256-" + "b" * 64 + ".att": None,
        "main": None,
        "buildcache": None,
        "sha-xyz": None,
    }


@pytest.mark.parametrize(
    ("descriptor", "platform"),
    [
        ({"platform": {"os": "linux", "architecture": "amd64"}}, True),
        ({"platform": {"os": "unknown", "architecture": "unknown"}}, False),
        (
            {
                "platform": {"os": "linux", "architecture": "amd64"},
                "annotations": {"vnd.docker.reference.type": "attestation-manifest"},
            },
            False,
        ),
        (
            {
                "platform": {"os": "linux", "architecture": "arm64"},
                "artifactType": registry.ATTESTATION_ARTIFACT,
            },
            False,
        ),
        ({}, False),
    ],
)
def test_attestation_entries_are_not_platforms(descriptor, platform):
    assert registry.is_platform(descriptor) is platform


def test_arm64_v8_is_arm64_and_other_variants_stay():
    name = registry.platform_name
    assert name({"os": "linux", "architecture": "arm64", "variant": "v8"}) == (
        "linux/arm64"
    )
    assert name({"os": "linux", "architecture": "arm", "variant": "v7"}) == (
        "linux/arm/v7"
    )


def test_challenges_and_rate_limit_headers_parse():
    scheme, params = registry.parse_challenge(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
        'scope="repository:library/nginx:pull"'
    )
    assert scheme == "bearer"
    assert params["realm"] == "https://auth.docker.io/token"
    assert params["scope"] == "repository:library/nginx:pull"
    limit = registry.parse_rate_limit(
        {"ratelimit-limit": "100;w=21600", "ratelimit-remaining": "76;w=21600"}
    )
    assert limit == registry.RateLimit(100, 76, 21600, "")


def test_credentials_come_from_the_docker_config(tmp_path):
    config = tmp_path / "config.json"
    auth = base64.b64encode(b"hellodk:dckr_pat_abc").decode()
    config.write_text(
        json.dumps(
            {
                "auths": {
                    "https://index.docker.io/v1/": {"auth": auth},
                    "ghcr.io": {"auth": base64.b64encode(b"someone:ghp_x").decode()},
                }
            }
        )
    )
    found = registry.docker_config_credentials
    assert found("docker.io", str(config)) == ("hellodk", "dckr_pat_abc")
    assert found("ghcr.io", str(config)) == ("someone", "ghp_x")
    assert found("quay.io", str(config)) is None


@pytest.mark.filterwarnings("ignore:docker-credential-does-not-exist-anywhere")
def test_a_broken_credential_helper_means_no_credentials(tmp_path, caplog):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"credsStore": "does-not-exist-anywhere"}))
    assert registry.docker_config_credentials("docker.io", str(config)) is None
    assert "could not be read" in caplog.text
