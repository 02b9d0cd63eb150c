"""Fixtures for talking to the sandbox over real HTTP, as the console does."""

from __future__ import annotations

import github
import pytest
import requests

TOKEN = "sandbox-token"

# Tests on the live server run in real transactions. Limiting them to the
# sandbox app keeps the flush between tests short; the sandbox's post_migrate
# hook seeds the emptied tables again before the next test.
LIVE = pytest.mark.django_db(transaction=True, available_apps=["sandbox"])


@pytest.fixture(autouse=True)
def instant_runs(settings):
    settings.SANDBOX_RUN_SECONDS = 0
    settings.SANDBOX_DISPATCH_HANG_SECONDS = 2
    settings.SANDBOX_RATE_LIMIT_SECONDS = 1


@pytest.fixture
def api(live_server) -> str:
    return f"{live_server.url}/sandbox/github"


@pytest.fixture
def gh(api) -> github.Github:
    # No pause between requests: PyGithub's default spacing would make the
    # suite crawl, and the sandbox has no secondary limits to respect.
    client = github.Github(
        base_url=api,
        auth=github.Auth.Token(TOKEN),
        retry=None,
        seconds_between_requests=None,
        seconds_between_writes=None,
    )
    yield client
    client.close()


@pytest.fixture
def repo(gh):
    return gh.get_repo("hellodk/avika")


@pytest.fixture
def http() -> requests.Session:
    """A session that authenticates as the sandbox's bot."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {TOKEN}"
    session.headers["Accept"] = "application/vnd.github+json"
    yield session
    session.close()
