"""Asset downloads are streams: memory stays flat whatever the size, chunks
are large, and the token never follows the redirect to another host."""

import hashlib
import http.server
import threading
import tracemalloc
from collections.abc import Iterator

import pytest

from releases import verification
from releases.ghclient import DOWNLOAD_CHUNK, GitHubClient, GitHubError
from releases.models import Project

SIZE = 48 * 1024 * 1024
PATTERN = bytes(range(256)) * 4096  # 1 MiB, sent again and again


class Storage(http.server.BaseHTTPRequestHandler):
    """The API answers 302 to the other host name; the storage streams bytes
    it never holds whole, and refuses any Authorization header."""

    seen: list[tuple[str, str, str | None]] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        host = self.headers["Host"]
        self.seen.append((host, self.path, self.headers.get("Authorization")))
        port = self.server.server_address[1]
        if self.path.startswith("/repos/"):
            self.send_response(302)
            self.send_header("Location", f"http://localhost:{port}/storage/blob")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self.headers.get("Authorization"):
            self.send_error(400, "Only one auth mechanism allowed")
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(SIZE))
        self.end_headers()
        for _ in range(SIZE // len(PATTERN)):
            self.wfile.write(PATTERN)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def storage(settings) -> Iterator[type[Storage]]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Storage)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.GITHUB_API_URL = f"http://127.0.0.1:{server.server_address[1]}"
    settings.GITHUB_TOKEN = "secret-token"
    Storage.seen = []
    yield Storage
    server.shutdown()
    server.server_close()


def test_a_large_download_is_hashed_with_flat_memory_and_no_token_at_storage(
    storage, db
):
    client = GitHubClient(Project(repository="hellodk/avika"))
    tracemalloc.start()
    with client.open_asset(7) as chunks:
        sizes = []

        def counted() -> Iterator[bytes]:
            for chunk in chunks:
                sizes.append(len(chunk))
                yield chunk

        result = verification.hash_stream(counted())
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    expected = hashlib.sha256(PATTERN * (SIZE // len(PATTERN))).hexdigest()
    assert result.sha256 == expected
    assert result.size == SIZE
    # 48 MiB went through; a few chunks at most were ever held at once.
    assert peak < 8 * 1024 * 1024, peak
    assert max(sizes) <= DOWNLOAD_CHUNK
    assert min(sizes[:-1]) >= 64 * 1024
    (api_host, _, api_auth), (storage_host, _, storage_auth) = storage.seen
    assert api_host.startswith("127.0.0.1:")
    assert api_auth == "Bearer secret-token"
    assert storage_host.startswith("localhost:")
    assert storage_auth is None


def test_a_storage_error_is_reported_with_the_host(storage, db, settings):
    settings.GITHUB_API_URL = settings.GITHUB_API_URL.replace("127.0.0.1", "localhost")
    # Now the storage host is the API host: the token goes along, and the
    # storage refuses it, as S3 does.
    client = GitHubClient(Project(repository="hellodk/avika"))
    with pytest.raises(GitHubError, match="answered 400"):
        with client.open_asset(7) as chunks:
            b"".join(chunks)
