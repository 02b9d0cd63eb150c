"""Shared fixtures: the personas every test speaks of."""

import pytest
from django.contrib.auth.models import Group, User
from django.core.servers.basehttp import WSGIRequestHandler

from releases.models import Project
from releases.roles import AUDITORS, MAINTAINERS, REVIEWERS

# The live server writes a response's headers and body in separate sends;
# with Nagle's algorithm on, each answer then waits ~40 ms for a delayed ACK.
# The console talks to its sandbox hundreds of times per test.
WSGIRequestHandler.disable_nagle_algorithm = True


def _member(username: str, group: str | None) -> User:
    user = User.objects.create_user(username, password="pw-" + username)
    if group:
        user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def project(db) -> Project:
    # Created by a data migration, but a transactional test's flush removes
    # it; the model's defaults are Avika's pipeline.
    project, _ = Project.objects.get_or_create(
        repository="hellodk/avika",
        defaults={"name": "Avika", "registry_namespace": "hellodk"},
    )
    return project


@pytest.fixture
def github_sandbox(live_server, settings, monkeypatch):
    """The console pointed at its own sandbox on a live server, with runs
    that finish at once and background tasks run inline."""
    from django_q.conf import Conf

    from sandbox.seed import reset

    settings.GITHUB_API_URL = f"{live_server.url}/sandbox/github"
    settings.GITHUB_TOKEN = "sandbox-token"
    settings.REGISTRY_URL = f"{live_server.url}/sandbox/registry"
    settings.DOCKERHUB_API_URL = f"{live_server.url}/sandbox/hub"
    settings.CHECKS_CI_WAIT_SECONDS = 5
    settings.SANDBOX_RUN_SECONDS = 0
    settings.RUN_POLL_SECONDS = 0
    settings.GITHUB_TIMEOUT = 3
    settings.SANDBOX_DISPATCH_HANG_SECONDS = 5
    monkeypatch.setattr(Conf, "SYNC", True)
    reset()
    return live_server


@pytest.fixture
def maintainer(db) -> User:
    return _member("maya", MAINTAINERS)


@pytest.fixture
def reviewer(db) -> User:
    return _member("rene", REVIEWERS)


@pytest.fixture
def auditor(db) -> User:
    return _member("aude", AUDITORS)


@pytest.fixture
def outsider(db) -> User:
    return _member("otto", None)


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Cached GitHub reads must not leak from one test's sandbox to the next."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
