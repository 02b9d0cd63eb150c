"""Multi-arch images as buildx pushes them: an OCI index holding one image
manifest per platform plus one attestation manifest per platform.

Only manifests are stored; blobs are described (digest and size) but never
served, which is all a client that inspects tags needs.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
from dataclasses import dataclass
from datetime import datetime

from sandbox.models import ImageTag, Manifest

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
IN_TOTO = "application/vnd.in-toto+json"
INDEX_TYPES = {OCI_INDEX, DOCKER_LIST}

NAMESPACE = "hellodk"
IMAGES = ("avika-gateway", "avika-frontend", "avika-agent")
PLATFORMS = (("linux", "amd64"), ("linux", "arm64"))
# Compressed size per platform in MB, from the pipeline design. Sizes are
# drawn well inside the budget so MB and MiB readings both agree.
SIZE_BUDGETS_MB = {
    "avika-gateway": (30, 50),
    "avika-frontend": (100, 150),
    "avika-agent": (20, 40),
}


@dataclass(frozen=True)
class Pushed:
    repository: str
    digest: str
    tags: tuple[str, ...]


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def encode(document: dict) -> bytes:
    return json.dumps(document, indent=2).encode()


def random_digest() -> str:
    return digest_of(os.urandom(32))


def _descriptor(media_type: str, data: bytes, **extra: object) -> dict:
    return {
        "mediaType": media_type,
        "digest": digest_of(data),
        "size": len(data),
        **extra,
    }


def _layer_sizes(image: str) -> list[int]:
    low, high = SIZE_BUDGETS_MB[image]
    total = random.randint(int(low * 1.1 * 1_000_000), int(high * 0.9 * 1_000_000))
    # A base image layer, dependencies and the application, as most are.
    shares = [0.45, 0.35, 0.2]
    sizes = [int(total * share) for share in shares]
    sizes[-1] += total - sum(sizes)
    return sizes


def platform_manifest(image: str, os_name: str, arch: str, created: str) -> bytes:
    config = {
        "architecture": arch,
        "os": os_name,
        "created": created,
        "config": {"Entrypoint": [f"/usr/local/bin/{image.removeprefix('avika-')}"]},
        "rootfs": {"type": "layers", "diff_ids": [random_digest() for _ in range(3)]},
    }
    layers = [
        {"mediaType": OCI_LAYER, "digest": random_digest(), "size": size}
        for size in _layer_sizes(image)
    ]
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": _descriptor(OCI_CONFIG, encode(config)),
        "layers": layers,
    }
    return encode(manifest)


def attestation_manifest() -> bytes:
    provenance = os.urandom(1200)
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": _descriptor(OCI_CONFIG, b"{}"),
        "layers": [
            _descriptor(
                IN_TOTO,
                provenance,
                annotations={
                    "in-toto.io/predicate-type": "https://slsa.dev/provenance/v0.2"
                },
            )
        ],
    }
    # No subject field: buildx records the link in the index annotations.
    return encode(manifest)


def build_index(
    image: str, created: str, platforms: tuple[tuple[str, str], ...]
) -> list[tuple[str, bytes]]:
    """(media type, bytes) of every manifest to push, the index last."""
    children: list[tuple[str, bytes]] = []
    entries: list[dict] = []
    attestations: list[dict] = []
    for os_name, arch in platforms:
        data = platform_manifest(image, os_name, arch, created)
        children.append((OCI_MANIFEST, data))
        entries.append(
            _descriptor(
                OCI_MANIFEST, data, platform={"architecture": arch, "os": os_name}
            )
        )
        proof = attestation_manifest()
        children.append((OCI_MANIFEST, proof))
        attestations.append(
            _descriptor(
                OCI_MANIFEST,
                proof,
                annotations={
                    "vnd.docker.reference.digest": digest_of(data),
                    "vnd.docker.reference.type": "attestation-manifest",
                },
                platform={"architecture": "unknown", "os": "unknown"},
            )
        )
    index = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": entries + attestations,
    }
    return [*children, (OCI_INDEX, encode(index))]


def push_image(
    image: str,
    tags: list[str],
    at: datetime,
    *,
    platforms: tuple[tuple[str, str], ...] = PLATFORMS,
) -> Pushed:
    """Push children, then the index, then point the tags at it (moving them)."""
    repository = f"{NAMESPACE}/{image}"
    pushed = [
        Manifest(
            repository=repository,
            digest=digest_of(data),
            media_type=media_type,
            data=data,
            created_at=at,
        )
        for media_type, data in build_index(image, at.isoformat(), platforms)
    ]
    Manifest.objects.bulk_create(pushed)
    index = Manifest.objects.get(repository=repository, digest=pushed[-1].digest)
    ImageTag.objects.filter(repository=repository, name__in=tags).delete()
    ImageTag.objects.bulk_create(
        ImageTag(repository=repository, name=name, manifest=index, pushed_at=at)
        for name in tags
    )
    return Pushed(repository, index.digest, tuple(tags))


def release_tags(version: str, sha: str, *, latest: bool) -> list[str]:
    """Tags docker/metadata-action gives a release: X.Y.Z, X.Y, latest, sha-."""
    core, _, pre = version.partition("-")
    tags = [version]
    if not pre:
        major, minor, _patch = core.split(".")
        tags.append(f"{major}.{minor}")
        if latest:
            tags.append("latest")
    tags.append(f"sha-{sha[:7]}")
    return tags


def platform_entries(index: Manifest) -> list[dict]:
    """The index's descriptors, attestation entries included."""
    return json.loads(bytes(index.data)).get("manifests", [])


def compressed_size(manifest: Manifest) -> int:
    document = json.loads(bytes(manifest.data))
    return sum(layer["size"] for layer in document.get("layers", []))
