import pytest

from releases.workflow import WorkflowError, discover_inputs

AVIKA = """
name: Release
on:
  workflow_dispatch:
    inputs:
      bump_type:
        description: Version bump
        type: choice
        required: true
        default: auto
        options: [auto, patch, minor, major]
      prerelease:
        description: Pre-release suffix such as rc.1
        type: string
        required: false
        default: ""
  push:
    tags: ["v*"]
jobs: {}
"""

SEED = """
on:
  push:
    tags: ['v*']
  workflow_dispatch:
    inputs:
      version:
        description: 'Version to release (e.g., v1.0.0)'
        required: true
"""


def test_on_key_read_as_true_by_yaml_still_finds_inputs():
    inputs = discover_inputs(AVIKA)
    assert [i.name for i in inputs] == ["bump_type", "prerelease"]
    bump = inputs[0]
    assert bump.type == "choice"
    assert bump.options == ["auto", "patch", "minor", "major"]
    assert bump.default == "auto"
    assert bump.required is True
    assert inputs[1].required is False


def test_seed_shape_with_single_version_input():
    (version,) = discover_inputs(SEED)
    assert version.name == "version"
    assert version.type == "string"
    assert version.required is True


def test_workflow_without_dispatch_trigger_is_refused():
    with pytest.raises(WorkflowError, match="workflow_dispatch"):
        discover_inputs("on:\n  push:\n    branches: [master]\n", path="release.yml")


def test_dispatch_without_inputs_gives_no_inputs():
    assert discover_inputs("on: [push, workflow_dispatch]\n") == []
    assert discover_inputs("on: workflow_dispatch\n") == []


def test_choice_without_options_is_refused():
    text = "on:\n  workflow_dispatch:\n    inputs:\n      bump:\n        type: choice\n"
    with pytest.raises(WorkflowError, match="lists no options"):
        discover_inputs(text)


def test_broken_yaml_is_refused_with_the_path():
    with pytest.raises(WorkflowError, match="release.yml is not valid YAML"):
        discover_inputs("on: [unclosed", path="release.yml")
