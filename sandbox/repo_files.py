"""Files of the simulated hellodk/avika repository."""

from __future__ import annotations

RELEASE_WORKFLOW = """\
name: Release

on:
  workflow_dispatch:
    inputs:
      bump_type:
        description: "Which part of the version to bump (auto reads conventional commits)"
        type: choice
        options:
          - auto
          - patch
          - minor
          - major
        default: auto
        required: true
      prerelease:
        description: "Pre-release suffix such as rc.1; empty for a stable release"
        type: string
        required: false
        default: ""

concurrency:
  group: release-${{ github.ref }}
  cancel-in-progress: false

permissions:
  contents: write

env:
  REGISTRY: docker.io
  IMAGE_NAMESPACE: hellodk

jobs:
  bump:
    name: Bump version
    runs-on: ubuntu-latest
    outputs:
      version: ${{ steps.next.outputs.version }}
      sha: ${{ steps.commit.outputs.sha }}
    steps:
      - uses: actions/checkout@v4
        with:
          fetch-depth: 0
      - name: Compute next version
        id: next
        run: ./scripts/next-version.sh "${{ inputs.bump_type }}" "${{ inputs.prerelease }}"
      - name: Commit VERSION
        id: commit
        run: |
          echo "${{ steps.next.outputs.version }}" > VERSION
          git config user.name "github-actions[bot]"
          git config user.email "41898282+github-actions[bot]@users.noreply.github.com"
          git commit -am "chore(release): v${{ steps.next.outputs.version }}"
          echo "sha=$(git rev-parse HEAD)" >> "$GITHUB_OUTPUT"
      - name: Push commit and tag
        run: |
          git tag "v${{ steps.next.outputs.version }}"
          git push origin HEAD "v${{ steps.next.outputs.version }}"

  binaries:
    name: Build binaries (${{ matrix.os }}, ${{ matrix.arch }})
    needs: bump
    runs-on: ubuntu-latest
    strategy:
      matrix:
        os: [linux, darwin]
        arch: [amd64, arm64]
    steps:
      - uses: actions/checkout@v4
        with:
          ref: v${{ needs.bump.outputs.version }}
      - uses: actions/setup-go@v5
        with:
          go-version-file: go.mod
      - name: Build gateway
        run: GOOS=${{ matrix.os }} GOARCH=${{ matrix.arch }} go build -o dist/gateway-${{ matrix.os }}-${{ matrix.arch }} ./cmd/gateway
      - name: Build agent
        run: GOOS=${{ matrix.os }} GOARCH=${{ matrix.arch }} go build -o dist/agent-${{ matrix.os }}-${{ matrix.arch }} ./cmd/agent
      - uses: actions/upload-artifact@v4
        with:
          name: binaries-${{ matrix.os }}-${{ matrix.arch }}
          path: dist/

  images:
    name: Build and push image (${{ matrix.image }})
    needs: bump
    runs-on: ubuntu-latest
    strategy:
      matrix:
        image: [avika-gateway, avika-frontend, avika-agent]
    steps:
      - uses: actions/checkout@v4
        with:
          ref: v${{ needs.bump.outputs.version }}
      - uses: docker/setup-qemu-action@v3
      - uses: docker/setup-buildx-action@v3
      - uses: docker/login-action@v3
        with:
          username: ${{ secrets.DOCKERHUB_USERNAME }}
          password: ${{ secrets.DOCKERHUB_TOKEN }}
      - id: meta
        uses: docker/metadata-action@v5
        with:
          images: ${{ env.IMAGE_NAMESPACE }}/${{ matrix.image }}
          tags: |
            type=semver,pattern={{version}},value=v${{ needs.bump.outputs.version }}
            type=semver,pattern={{major}}.{{minor}},value=v${{ needs.bump.outputs.version }}
            type=sha,format=short
      - uses: docker/build-push-action@v6
        with:
          context: .
          file: docker/${{ matrix.image }}.Dockerfile
          platforms: linux/amd64,linux/arm64
          push: true
          tags: ${{ steps.meta.outputs.tags }}
          labels: ${{ steps.meta.outputs.labels }}

  chart:
    name: Package Helm chart
    needs: bump
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        with:
          ref: v${{ needs.bump.outputs.version }}
      - uses: azure/setup-helm@v4
      - name: Package chart
        run: helm package deploy/helm/avika --version "${{ needs.bump.outputs.version }}" --app-version "${{ needs.bump.outputs.version }}" -d dist/
      - uses: actions/upload-artifact@v4
        with:
          name: chart
          path: dist/

  release:
    name: Create release
    needs: [bump, binaries, images, chart]
    runs-on: ubuntu-latest
    steps:
      - uses: actions/download-artifact@v4
        with:
          path: dist
          merge-multiple: true
      - name: Write checksums
        run: cd dist && sha256sum * > checksums.txt
      - name: Create draft release
        env:
          GH_TOKEN: ${{ github.token }}
        run: |
          gh release create "v${{ needs.bump.outputs.version }}" dist/* \\
            --draft --generate-notes \\
            --title "Avika v${{ needs.bump.outputs.version }}" \\
            --target "${{ needs.bump.outputs.sha }}" \\
            ${{ contains(needs.bump.outputs.version, '-') && '--prerelease' || '' }}
"""

CI_WORKFLOW = """\
name: CI

on:
  push:
    branches: [master]
  pull_request:

jobs:
  go:
    name: Go tests
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-go@v5
        with:
          go-version-file: go.mod
      - run: go vet ./...
      - run: go test -race ./...

  frontend:
    name: Frontend tests
    runs-on: ubuntu-latest
    defaults:
      run:
        working-directory: frontend
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-node@v4
        with:
          node-version: 22
          cache: npm
          cache-dependency-path: frontend/package-lock.json
      - run: npm ci
      - run: npm run lint
      - run: npm test

  helm:
    name: Helm lint
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: azure/setup-helm@v4
      - run: helm lint deploy/helm/avika
"""

README = """\
# Avika

An API gateway with a node agent and a web console.

- `cmd/gateway` — the gateway (Go)
- `cmd/agent` — the node agent (Go)
- `frontend/` — the console (Next.js)
- `deploy/helm/avika` — the Helm chart

Releases are cut by the Release workflow (Actions → Release → Run workflow).
"""

CHART = """\
apiVersion: v2
name: avika
description: Avika gateway, agent and console
type: application
version: {version}
appVersion: "{version}"
"""

GO_MOD = """\
module github.com/hellodk/avika

go 1.23
"""


def changelog(entries: list[tuple[str, str, list[str]]]) -> str:
    """CHANGELOG.md from (version, date, lines) entries, newest first."""
    lines = ["# Changelog", "", "All notable changes to Avika are listed here.", ""]
    for version, date, items in entries:
        lines += [f"## [{version}] - {date}", ""]
        lines += [f"- {item}" for item in items]
        lines.append("")
    return "\n".join(lines)


def add_changelog_entry(text: str, version: str, date: str, items: list[str]) -> str:
    """Insert a new entry above the newest one."""
    entry = "\n".join([f"## [{version}] - {date}", "", *[f"- {i}" for i in items], ""])
    head, marker, rest = text.partition("\n## [")
    if not marker:
        return text.rstrip("\n") + "\n\n" + entry
    return f"{head}\n{entry}\n## [{rest}"


# The seed design's earlier shape: the maintainer types the version.
LEGACY_RELEASE_WORKFLOW = RELEASE_WORKFLOW.replace(
    RELEASE_WORKFLOW[
        RELEASE_WORKFLOW.index("      bump_type:") : RELEASE_WORKFLOW.index(
            "\nconcurrency:"
        )
    ],
    """      version:
        description: "Version to release, such as 1.2.3"
        type: string
        required: true
""",
)
