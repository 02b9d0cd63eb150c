"""A real registry for the tests: Debian's docker-registry (distribution 2.8)
on 127.0.0.1, on a free port, with its own config and temporary storage;
and a small client that pushes synthetic multi-arch images to it over plain
HTTP, attestations included."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from releases import registry

REGISTRY_BINARY = Path("/usr/bin/docker-registry")
CONFIG = """\
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: {root}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:{port}
"""
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
IN_TOTO = "application/vnd.in-toto+json"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def docker_registry(tmp_path_factory) -> Iterator[str]:
    """The base URL of a running docker-registry; its storage is thrown away."""
    if not REGISTRY_BINARY.exists():
        message = f"{REGISTRY_BINARY} is missing: install Debian's docker-registry."
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    root = tmp_path_factory.mktemp("registry")
    port = _free_port()
    config = root / "config.yml"
    config.write_text(CONFIG.format(root=root / "storage", port=port))
    log = (root / "registry.log").open("w")
    process = subprocess.Popen(
        [str(REGISTRY_BINARY), "serve", str(config)], stdout=log, stderr=log
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 15
    while True:
        try:
            if requests.get(f"{url}/v2/", timeout=1).status_code == 200:
                break
        except requests.ConnectionError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(
                f"docker-registry did not start: {(root / 'registry.log').read_text()}"
            )
        time.sleep(0.05)
    yield url
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def encode(document: dict) -> bytes:
    return json.dumps(document, separators=(",", ":")).encode()


@dataclass
class Pushed:
    digest: str
    data: bytes
    media_type: str

    def descriptor(self, **extra: object) -> dict:
        return {
            "mediaType": self.media_type,
            "digest": self.digest,
            "size": len(self.data),
            **extra,
        }


class Pusher:
    """Pushes blobs and manifests the way a builder does, over plain HTTP."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.session = requests.Session()

    def blob(self, repository: str, data: bytes, media_type: str) -> Pushed:
        started = self.session.post(f"{self.base_url}/v2/{repository}/blobs/uploads/")
        assert started.status_code == 202, started.text
        location = started.headers["Location"]
        separator = "&" if "?" in location else "?"
        digest = digest_of(data)
        done = self.session.put(
            f"{location}{separator}digest={digest}",
            data=data,
            headers={"Content-Type": "application/octet-stream"},
        )
        assert done.status_code == 201, done.text
        return Pushed(digest, data, media_type)

    def manifest(self, repository: str, reference: str, pushed: Pushed) -> Pushed:
        answer = self.session.put(
            f"{self.base_url}/v2/{repository}/manifests/{reference}",
            data=pushed.data,
            headers={"Content-Type": pushed.media_type},
        )
        assert answer.status_code == 201, answer.text
        assert answer.headers["Docker-Content-Digest"] == pushed.digest
        return pushed

    def image(
        self,
        repository: str,
        arch: str,
        layer_sizes: tuple[int, ...] = (3000, 2000),
        *,
        docker: bool = False,
        salt: str = "",
    ) -> Pushed:
        """One platform's image: config and layers, then its manifest by digest."""
        config = {
            "architecture": arch,
            "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": []},
            "config": {"Labels": {"salt": salt}},
        }
        config_type = DOCKER_CONFIG if docker else OCI_CONFIG
        layer_type = DOCKER_LAYER if docker else OCI_LAYER
        config_blob = self.blob(repository, encode(config), config_type)
        layers = [
            self.blob(repository, os.urandom(size), layer_type).descriptor()
            for size in layer_sizes
        ]
        media_type = registry.DOCKER_MANIFEST if docker else registry.OCI_MANIFEST
        manifest = {
            "schemaVersion": 2,
            "mediaType": media_type,
            "config": config_blob.descriptor(),
            "layers": layers,
        }
        data = encode(manifest)
        pushed = Pushed(digest_of(data), data, media_type)
        return self.manifest(repository, pushed.digest, pushed)

    def legacy_attestation(self, repository: str, subject: Pushed) -> dict:
        """buildx's format: an image manifest listed as unknown/unknown with
        vnd.docker.reference.* annotations."""
        config = self.blob(
            repository,
            encode(
                {
                    "architecture": "unknown",
                    "os": "unknown",
                    "rootfs": {"type": "layers"},
                }
            ),
            OCI_CONFIG,
        )
        proof = self.blob(repository, os.urandom(900), IN_TOTO)
        manifest = {
            "schemaVersion": 2,
            "mediaType": registry.OCI_MANIFEST,
            "config": config.descriptor(),
            "layers": [proof.descriptor()],
        }
        data = encode(manifest)
        pushed = self.manifest(
            repository,
            digest_of(data),
            Pushed(digest_of(data), data, registry.OCI_MANIFEST),
        )
        return pushed.descriptor(
            annotations={
                "vnd.docker.reference.digest": subject.digest,
                "vnd.docker.reference.type": "attestation-manifest",
            },
            platform={"architecture": "unknown", "os": "unknown"},
        )

    def artifact_attestation(self, repository: str, subject: Pushed, arch: str) -> dict:
        """The OCI artifact format: artifactType, an empty config and a
        subject. Listed with its subject's platform and no annotation, so
        only the artifactType tells it apart from an image."""
        empty = self.blob(repository, b"{}", OCI_EMPTY)
        proof = self.blob(repository, os.urandom(700), IN_TOTO)
        manifest = {
            "schemaVersion": 2,
            "mediaType": registry.OCI_MANIFEST,
            "artifactType": registry.ATTESTATION_ARTIFACT,
            "config": empty.descriptor(),
            "layers": [proof.descriptor()],
            "subject": subject.descriptor(),
        }
        data = encode(manifest)
        pushed = self.manifest(
            repository,
            digest_of(data),
            Pushed(digest_of(data), data, registry.OCI_MANIFEST),
        )
        return pushed.descriptor(
            artifactType=registry.ATTESTATION_ARTIFACT,
            platform={"architecture": arch, "os": "linux"},
        )

    def index(
        self,
        repository: str,
        tags: list[str],
        entries: list[dict],
        *,
        media_type: str = registry.OCI_INDEX,
    ) -> Pushed:
        """Push the index under each tag (children must exist already)."""
        data = encode(
            {"schemaVersion": 2, "mediaType": media_type, "manifests": entries}
        )
        pushed = Pushed(digest_of(data), data, media_type)
        for tag in tags:
            self.manifest(repository, tag, pushed)
        return pushed

    def multiarch(
        self,
        repository: str,
        tags: list[str],
        *,
        arches: tuple[str, ...] = ("amd64", "arm64"),
        attestations: str = "legacy",
        layer_sizes: tuple[int, ...] = (3000, 2000),
        salt: str = "",
    ) -> tuple[Pushed, dict[str, Pushed]]:
        """A buildx-like multi-arch push: images, attestations, then the index."""
        images = {
            arch: self.image(repository, arch, layer_sizes, salt=salt)
            for arch in arches
        }
        entries = [
            image.descriptor(platform={"architecture": arch, "os": "linux"})
            for arch, image in images.items()
        ]
        for arch, image in images.items():
            if attestations == "legacy":
                entries.append(self.legacy_attestation(repository, image))
            elif attestations == "artifact":
                entries.append(self.artifact_attestation(repository, image, arch))
        return self.index(repository, tags, entries), images


@pytest.fixture
def pusher(docker_registry) -> Pusher:
    return Pusher(docker_registry)
