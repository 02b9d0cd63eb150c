"""The registry v2 read API and the Docker Hub tags API, as Hub answers."""

from __future__ import annotations

import base64
import hashlib
import io
import json

import pytest
from django.core.management import call_command

from sandbox import faults, seed

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
ALL_TYPES = ", ".join([OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST])
BUDGETS_MB = {
    "avika-gateway": (30, 50),
    "avika-frontend": (100, 150),
    "avika-agent": (20, 40),
}

pytestmark = pytest.mark.django_db


def pull_token(client, name: str, **extra) -> str:
    response = client.get(
        "/sandbox/registry/token",
        {"service": "sandbox-registry", "scope": f"repository:{name}:pull"},
        **extra,
    )
    assert response.status_code == 200
    body = response.json()
    assert body["expires_in"] == 300
    assert body["token"] == body["access_token"]
    return body["token"]


def manifest(
    client, name: str, reference: str, accept: str = ALL_TYPES, method: str = "get"
):
    token = pull_token(client, name)
    return getattr(client, method)(
        f"/sandbox/registry/v2/{name}/manifests/{reference}",
        HTTP_AUTHORIZATION=f"Bearer {token}",
        HTTP_ACCEPT=accept,
    )


def test_base_challenges_with_realm_and_service(client):
    response = client.get("/sandbox/registry/v2/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == (
        'Bearer realm="http://testserver/sandbox/registry/token",service="sandbox-registry"'
    )


def test_base_answers_200_with_a_token(client):
    token = pull_token(client, "hellodk/avika-gateway")
    response = client.get("/sandbox/registry/v2/", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200


def test_basic_credentials_get_a_token_too(client):
    basic = base64.b64encode(b"someone:dckr_pat_x").decode()
    assert pull_token(
        client, "hellodk/avika-agent", HTTP_AUTHORIZATION=f"Basic {basic}"
    )


def test_head_gives_digest_type_and_size_without_counting(client):
    head = manifest(client, "hellodk/avika-gateway", "1.110.0", method="head")
    get = manifest(client, "hellodk/avika-gateway", "1.110.0")

    assert head.status_code == 200
    assert head["Content-Type"] == OCI_INDEX
    assert head["Docker-Content-Digest"] == get["Docker-Content-Digest"]
    assert int(head["Content-Length"]) == len(get.content)
    assert head["ratelimit-limit"] == "1000;w=21600"
    assert head["ratelimit-remaining"] == "1000;w=21600"
    assert get["ratelimit-remaining"] == "999;w=21600"


def test_manifest_bytes_hash_to_their_digest(client):
    index = manifest(client, "hellodk/avika-frontend", "latest")
    digest = "sha256:" + hashlib.sha256(index.content).hexdigest()
    assert digest == index["Docker-Content-Digest"]
    for entry in index.json()["manifests"]:
        child = manifest(client, "hellodk/avika-frontend", entry["digest"])
        assert "sha256:" + hashlib.sha256(child.content).hexdigest() == entry["digest"]


def _platforms(index: dict) -> list[tuple[str, str]]:
    return [
        (m["platform"]["os"], m["platform"]["architecture"]) for m in index["manifests"]
    ]


def test_index_holds_two_platforms_and_their_attestations(client):
    index = manifest(client, "hellodk/avika-agent", "1.110.0").json()
    assert _platforms(index) == [
        ("linux", "amd64"),
        ("linux", "arm64"),
        ("unknown", "unknown"),
        ("unknown", "unknown"),
    ]
    proofs = index["manifests"][2:]
    kinds = {m["annotations"]["vnd.docker.reference.type"] for m in proofs}
    assert kinds == {"attestation-manifest"}
    assert [m["annotations"]["vnd.docker.reference.digest"] for m in proofs] == [
        m["digest"] for m in index["manifests"][:2]
    ]


@pytest.mark.parametrize("image", sorted(BUDGETS_MB))
def test_platform_sizes_fall_in_the_budget(client, image):
    name = f"hellodk/{image}"
    index = manifest(client, name, "1.110.0").json()
    low, high = BUDGETS_MB[image]
    for entry in index["manifests"][:2]:
        child = manifest(client, name, entry["digest"]).json()
        size = sum(layer["size"] for layer in child["layers"])
        assert low * 1_000_000 <= size <= high * 1_000_000
        assert low * 2**20 <= size <= high * 2**20


def test_without_index_types_hub_serves_the_amd64_child(client):
    index = manifest(client, "hellodk/avika-gateway", "1.110.0").json()
    amd64 = index["manifests"][0]["digest"]
    response = manifest(
        client, "hellodk/avika-gateway", "1.110.0", accept=DOCKER_MANIFEST
    )
    assert response.status_code == 200
    assert response["Docker-Content-Digest"] == amd64
    assert response["Content-Type"] == OCI_MANIFEST


def test_an_oci_index_asked_as_a_docker_list_is_404(client):
    response = manifest(client, "hellodk/avika-gateway", "1.110.0", accept=DOCKER_LIST)
    assert response.status_code == 404


def test_missing_repository_is_401_as_for_anonymous_hub(client):
    response = manifest(client, "hellodk/avika-nothing", "latest")
    assert response.status_code == 401
    assert response.json()["errors"][0]["code"] == "UNAUTHORIZED"
    assert (
        'scope="repository:hellodk/avika-nothing:pull"' in response["WWW-Authenticate"]
    )


def test_no_token_is_401(client):
    response = client.get("/sandbox/registry/v2/hellodk/avika-gateway/manifests/latest")
    assert response.status_code == 401


def test_missing_tag_is_manifest_unknown(client):
    response = manifest(client, "hellodk/avika-gateway", "9.9.9")
    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "MANIFEST_UNKNOWN"


def test_seeded_tags_follow_the_release_rules(client):
    tags = seed.image_tags("avika-gateway")
    assert tags["latest"] == tags["1.110.0"] == tags["1.110"]
    assert tags["1.109"] == tags["1.109.0"] != tags["1.110.0"]
    assert sum(name.startswith("sha-") for name in tags) == 3


def test_tags_list_pages_with_a_relative_link(client):
    token = pull_token(client, "hellodk/avika-gateway")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    url = "/sandbox/registry/v2/hellodk/avika-gateway/tags/list"
    seen: list[str] = []
    response = client.get(url, {"n": 4}, **auth)
    while True:
        assert response.status_code == 200
        seen += response.json()["tags"]
        link = response.get("Link")
        if not link:
            break
        assert link.startswith("</sandbox/registry/v2/hellodk/avika-gateway/tags/list?")
        response = client.get(link[1 : link.index(">")], **auth)
    assert seen == sorted(seed.image_tags("avika-gateway"))


def test_rate_limit_fault_makes_manifest_gets_429(client):
    faults.arm("rate-limit")
    response = manifest(client, "hellodk/avika-gateway", "latest")
    assert response.status_code == 429
    assert response.json()["errors"][0]["code"] == "TOOMANYREQUESTS"
    head = manifest(client, "hellodk/avika-gateway", "latest", method="head")
    assert head.status_code == 200


def hub_tags(client, **params):
    url = "/sandbox/hub/v2/namespaces/hellodk/repositories/avika-gateway/tags"
    return client.get(url, params)


def test_hub_lists_tags_with_platforms_sizes_and_push_times(client):
    response = hub_tags(client, page_size=100)
    assert response.status_code == 200
    assert int(response["X-RateLimit-Limit"]) > 0
    body = response.json()
    assert body["count"] == len(seed.image_tags("avika-gateway"))
    assert body["next"] is None
    latest = next(t for t in body["results"] if t["name"] == "latest")
    assert latest["digest"] == seed.image_tags("avika-gateway")["latest"]
    assert latest["media_type"] == OCI_INDEX
    assert latest["tag_last_pushed"]
    real = [i for i in latest["images"] if i["os"] != "unknown"]
    assert [(i["os"], i["architecture"]) for i in real] == [
        ("linux", "amd64"),
        ("linux", "arm64"),
    ]
    assert all(30_000_000 <= i["size"] <= 50_000_000 for i in real)


def test_hub_pages_with_absolute_next(client):
    first = hub_tags(client, page_size=4).json()
    assert first["next"].startswith("http://testserver/sandbox/hub/v2/namespaces/")
    assert "page=2" in first["next"]
    assert len(first["results"]) == 4


def test_hub_answers_404_for_a_missing_repository(client):
    url = "/sandbox/hub/v2/namespaces/hellodk/repositories/nothing/tags"
    assert client.get(url).status_code == 404


def test_hub_rate_limit_fault_is_429_with_retry_after(client):
    faults.arm("rate-limit")
    response = hub_tags(client)
    assert response.status_code == 429
    assert int(response["X-Retry-After"]) > 0
    assert json.loads(response.content)["message"]


def test_pull_limit_is_a_setting_and_still_ends_in_429(client, settings):
    settings.SANDBOX_REGISTRY_PULL_LIMIT = 2
    first = manifest(client, "hellodk/avika-gateway", "1.110.0")
    second = manifest(client, "hellodk/avika-gateway", "1.110.0")
    third = manifest(client, "hellodk/avika-gateway", "1.110.0")

    assert first["ratelimit-limit"] == "2;w=21600"
    assert first["ratelimit-remaining"] == "1;w=21600"
    assert second["ratelimit-remaining"] == "0;w=21600"
    assert third.status_code == 429
    assert third["ratelimit-remaining"] == "0;w=21600"


def test_sandbox_reset_gives_the_pulls_back(client, settings):
    settings.SANDBOX_REGISTRY_PULL_LIMIT = 1
    manifest(client, "hellodk/avika-gateway", "1.110.0")
    assert manifest(client, "hellodk/avika-gateway", "1.110.0").status_code == 429

    call_command("sandbox", "reset", stdout=io.StringIO())

    again = manifest(client, "hellodk/avika-gateway", "1.110.0")
    assert again.status_code == 200
    assert again["ratelimit-remaining"] == "0;w=21600"
