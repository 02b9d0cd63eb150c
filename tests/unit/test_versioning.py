import pytest
import semver

from releases.versioning import (
    VersionError,
    bump_from_commits,
    next_version,
    parse_version,
)

V = semver.Version.parse


@pytest.mark.parametrize(
    ("bump", "expected"),
    [("patch", "1.110.1"), ("minor", "1.111.0"), ("major", "2.0.0")],
)
def test_stable_bumps(bump, expected):
    assert str(next_version(V("1.110.0"), bump)) == expected


def test_prerelease_suffix_is_added():
    assert str(next_version(V("1.110.0"), "minor", "rc.1")) == "1.111.0-rc.1"


def test_leading_hyphen_in_suffix_is_tolerated():
    assert str(next_version(V("1.110.0"), "patch", "-beta.2")) == "1.110.1-beta.2"


@pytest.mark.parametrize(
    ("current", "bump", "expected"),
    [
        ("1.111.0-rc.1", "minor", "1.111.0"),
        ("1.111.0-rc.1", "patch", "1.111.0"),
        ("1.111.0-rc.1", "major", "2.0.0"),
        ("1.110.1-rc.1", "minor", "1.111.0"),
        ("2.0.0-rc.1", "major", "2.0.0"),
    ],
)
def test_prerelease_current_version_is_finished_first(current, bump, expected):
    assert str(next_version(V(current), bump)) == expected


def test_prerelease_current_version_to_next_candidate():
    assert str(next_version(V("1.111.0-rc.1"), "minor", "rc.2")) == "1.111.0-rc.2"


@pytest.mark.parametrize(
    "text",
    ["1.110.0", "1.110.0\n", "  1.110.0  \r\n", "v1.110.0", "\ufeff1.110.0\n"],
)
def test_version_file_tolerates_prefix_whitespace_and_bom(text):
    assert parse_version(text) == V("1.110.0")


@pytest.mark.parametrize("text", ["", "   \n", "banana", "1.110", "1.110.0.0", "v"])
def test_garbage_in_version_file_names_the_file(text):
    with pytest.raises(VersionError, match="VERSION"):
        parse_version(text)


def test_invalid_suffix_is_refused_with_the_rule():
    with pytest.raises(VersionError, match="pre-release suffix"):
        next_version(V("1.110.0"), "minor", "rc 1")


def test_unknown_bump_is_refused():
    with pytest.raises(VersionError, match="Unknown bump"):
        next_version(V("1.110.0"), "huge")


@pytest.mark.parametrize(
    ("messages", "expected"),
    [
        (["feat(gateway): add health checks", "fix: typo"], "minor"),
        (["fix(agent): reconnect", "docs: readme"], "patch"),
        (["perf: faster parsing"], "patch"),
        (["feat!: drop v1 API"], "major"),
        (["refactor(core)!: new config"], "major"),
        (["fix: x\n\nBREAKING CHANGE: config keys renamed"], "major"),
        (["docs: readme", "chore: deps", "ci: cache"], None),
        (["Merge pull request #12 from x/y"], None),
        ([], None),
    ],
)
def test_conventional_commit_bump(messages, expected):
    assert bump_from_commits(messages) == expected


@pytest.mark.parametrize("suffix", ["01", "rc.01", "beta..1", "x" * 61])
def test_suffix_semver_would_refuse_is_refused_before_dispatch(suffix):
    with pytest.raises(VersionError):
        next_version(V("1.110.0"), "patch", suffix)
