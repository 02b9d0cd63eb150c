"""Shared fixtures: the personas every test speaks of."""

import pytest
from django.contrib.auth.models import Group, User

from releases.models import Project
from releases.roles import AUDITORS, MAINTAINERS, REVIEWERS


def _member(username: str, group: str | None) -> User:
    user = User.objects.create_user(username, password="pw-" + username)
    if group:
        user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def project(db) -> Project:
    return Project.objects.get(repository="hellodk/avika")


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
