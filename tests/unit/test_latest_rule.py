from releases.models import Release


def make(project, version, state=Release.State.PUBLISHED):
    return Release.objects.create(
        project=project, version=version, tag=f"v{version}", state=state
    )


def test_highest_stable_becomes_latest(project):
    make(project, "1.109.0")
    make(project, "1.110.0")
    assert make(project, "1.111.0", Release.State.DRAFT).should_be_latest()


def test_backport_patch_never_becomes_latest(project):
    make(project, "1.110.0")
    assert not make(project, "1.109.1", Release.State.DRAFT).should_be_latest()


def test_prerelease_never_becomes_latest(project):
    make(project, "1.110.0")
    assert not make(project, "1.111.0-rc.1", Release.State.DRAFT).should_be_latest()


def test_published_prereleases_do_not_raise_the_bar(project):
    make(project, "1.110.0")
    make(project, "2.0.0-rc.1")
    assert make(project, "1.111.0", Release.State.DRAFT).should_be_latest()


def test_first_stable_release_is_latest(project):
    assert make(project, "0.1.0", Release.State.DRAFT).should_be_latest()
