"""Benchmark of asset verification: a 1 GiB asset served over loopback,
downloaded and hashed through the console's own streaming code, next to
`sha256sum` on the same file.

    make bench            (or: .venv/bin/python bench/verify_bench.py [--size-mib N])

The server answers like GitHub: the API redirects to a storage host under
the other loopback name, which refuses an Authorization header. The verifier
runs in a child process so its peak memory is its own.
"""

from __future__ import annotations

import argparse
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MIB = 1024 * 1024
TARGET_RATIO = 0.8
TARGET_PEAK_MB = 100


def make_file(path: Path, size_mib: int) -> None:
    block = os.urandom(MIB)
    with path.open("wb") as out:
        for _ in range(size_mib):
            out.write(block)


def serve(path: Path) -> http.server.ThreadingHTTPServer:
    size = path.stat().st_size

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            port = self.server.server_address[1]
            if self.path.startswith("/repos/"):
                self.send_response(302)
                self.send_header("Location", f"http://localhost:{port}/storage/asset")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if self.headers.get("Authorization"):
                self.send_error(400, "Only one auth mechanism allowed")
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(size))
            self.end_headers()
            with path.open("rb") as data:
                self.connection.sendfile(data)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def peak_rss_mb() -> float:
    status = Path("/proc/self/status").read_text()
    match = re.search(r"VmHWM:\s+(\d+) kB", status)
    return int(match.group(1)) / 1024 if match else float("nan")


def rss_mb() -> float:
    status = Path("/proc/self/status").read_text()
    match = re.search(r"VmRSS:\s+(\d+) kB", status)
    return int(match.group(1)) / 1024 if match else float("nan")


def verify(api_url: str) -> None:
    """The child: download and hash asset 1 exactly as the worker does."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "avika_console.settings")
    os.environ["GITHUB_TOKEN"] = "bench-token"
    os.environ["GITHUB_API_URL"] = api_url
    os.environ["AVIKA_SANDBOX"] = "false"
    import django

    django.setup()
    from releases import verification
    from releases.ghclient import GitHubClient
    from releases.models import Project

    client = GitHubClient(Project(repository="bench/asset"))
    before = rss_mb()
    started = time.perf_counter()
    with client.open_asset(1) as chunks:
        result = verification.hash_stream(chunks)
    seconds = time.perf_counter() - started
    print(
        json.dumps(
            {
                "sha256": result.sha256,
                "size": result.size,
                "seconds": seconds,
                "rss_before_mb": before,
                "peak_rss_mb": peak_rss_mb(),
            }
        )
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--child", metavar="API_URL", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        verify(options.child)
        return 0

    with tempfile.TemporaryDirectory(prefix="avika-bench-") as directory:
        path = Path(directory) / "asset.bin"
        print(f"Writing a {options.size_mib} MiB asset to {path} …", flush=True)
        make_file(path, options.size_mib)
        size = path.stat().st_size

        sha256sum = shutil.which("sha256sum")
        if sha256sum is None:
            print("GNU sha256sum is needed for the comparison.", file=sys.stderr)
            return 1
        started = time.perf_counter()
        line = subprocess.run(
            [sha256sum, str(path)], capture_output=True, text=True, check=True
        ).stdout
        sha256sum_seconds = time.perf_counter() - started
        expected = line.split()[0]

        server = serve(path)
        api = f"http://127.0.0.1:{server.server_address[1]}"
        child = subprocess.run(
            [sys.executable, __file__, "--child", api],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        )
        server.shutdown()
        measured = json.loads(child.stdout.strip().splitlines()[-1])

    if measured["sha256"] != expected or measured["size"] != size:
        print("The verifier's sha256 differs from sha256sum's!", file=sys.stderr)
        return 1
    console = size / MIB / measured["seconds"]
    reference = size / MIB / sha256sum_seconds
    ratio = console / reference
    peak = measured["peak_rss_mb"]
    print(f"sha256                {expected}")
    print(f"sha256sum (file)      {reference:8.1f} MiB/s  ({sha256sum_seconds:.2f} s)")
    print(
        f"console (HTTP stream) {console:8.1f} MiB/s  ({measured['seconds']:.2f} s)"
        f"  = {ratio:.2f}× sha256sum (target ≥ {TARGET_RATIO}×)"
    )
    print(
        f"worker peak RSS       {peak:8.1f} MB  (before the download "
        f"{measured['rss_before_mb']:.1f} MB; target < {TARGET_PEAK_MB} MB)"
    )
    ok = ratio >= TARGET_RATIO and peak < TARGET_PEAK_MB
    print("PASS" if ok else "BELOW TARGET")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
