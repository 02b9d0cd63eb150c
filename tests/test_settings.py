"""A bad setting stops start-up with one line naming the variable."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DEBUG", "maybe"),
        ("GITHUB_TIMEOUT", "soon"),
        ("DATABASE_URL", "nonsense"),
        ("REDIS_URL", "http://127.0.0.1:6379"),
        ("LOG_LEVEL", "LOUD"),
        ("AVIKA_WORKERS", "-1"),
        ("GITHUB_TOKEN_FILE", "/nonexistent/token"),
    ],
)
def test_bad_setting_names_the_variable(name, value, tmp_path):
    env = {**os.environ, name: value, "AVIKA_VAR_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "check"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("Avika Console cannot start:")
    assert name.removesuffix("_FILE") in result.stderr
    assert "Traceback" not in result.stderr


def test_secret_key_is_required_when_debug_is_off(tmp_path):
    env = {**os.environ, "DEBUG": "false", "AVIKA_VAR_DIR": str(tmp_path)}
    env.pop("SECRET_KEY", None)
    result = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "check"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "SECRET_KEY" in result.stderr
