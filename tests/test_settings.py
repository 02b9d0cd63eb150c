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
        ("AVIKA_SANDBOX_URL", "notaurl"),
        ("DATABASE_URL", "mysql://x/y"),
        ("DATABASE_URL", "oracle://u:p@host/db"),
        ("AVIKA_RUN_POLL_SECONDS", "0"),
        ("AVIKA_RUN_POLL_SECONDS", "0.1"),
        ("SANDBOX_REGISTRY_PULL_LIMIT", "0"),
        ("SANDBOX_DISPATCH_HANG_SECONDS", "soon"),
        ("SANDBOX_RATE_LIMIT_SECONDS", "-1"),
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


# Variables these tests set, so that the caller's own values do not count.
READ_HERE = {
    "SANDBOX_DISPATCH_HANG_SECONDS",
    "SANDBOX_RATE_LIMIT_SECONDS",
    "SANDBOX_REGISTRY_PULL_LIMIT",
    "AVIKA_RUN_POLL_SECONDS",
    "DATABASE_URL",
}


def settings_of(tmp_path, names: list[str], **env: str) -> list[str]:
    """The values of `names` as the console reads them from `env`."""
    inherited = {k: v for k, v in os.environ.items() if k not in READ_HERE}
    environ = {**inherited, **env, "AVIKA_VAR_DIR": str(tmp_path)}
    code = "from django.conf import settings; " + "; ".join(
        f"print(settings.{name})" for name in names
    )
    result = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "shell", "-v", "0", "-c", code],
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_sandbox_fault_durations_come_from_the_environment(tmp_path):
    names = ["SANDBOX_DISPATCH_HANG_SECONDS", "SANDBOX_RATE_LIMIT_SECONDS"]
    assert [float(v) for v in settings_of(tmp_path, names)] == [30, 60]
    chosen = settings_of(
        tmp_path,
        names,
        SANDBOX_DISPATCH_HANG_SECONDS="4",
        SANDBOX_RATE_LIMIT_SECONDS="120",
    )
    assert [float(v) for v in chosen] == [4, 120]


def test_pull_limit_and_poll_interval_come_from_the_environment(tmp_path):
    names = ["SANDBOX_REGISTRY_PULL_LIMIT", "RUN_POLL_SECONDS"]
    assert settings_of(tmp_path, names, AVIKA_RUN_POLL_SECONDS="0.5") == [
        "1000",
        "0.5",
    ]
    assert settings_of(tmp_path, names, SANDBOX_REGISTRY_PULL_LIMIT="5")[0] == "5"


def test_postgres_urls_are_accepted(tmp_path):
    url = "postgres://u:p@db.example:5432/avika"
    engine = settings_of(tmp_path, ["DATABASES"], DATABASE_URL=url)
    assert "django.db.backends.postgresql" in " ".join(engine)


REFUSED_REQUEST = """
from django.contrib.auth.models import User
from django.test import Client
client = Client()
client.force_login(User.objects.create_user("otto"))
assert client.get("/images/").status_code == 403
"""


def test_a_refused_request_is_one_log_line_without_a_traceback(tmp_path):
    env = {**os.environ, "AVIKA_VAR_DIR": str(tmp_path), "ALLOWED_HOSTS": "testserver"}
    env.pop("DATABASE_URL", None)
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v", "0"], env=env, check=True, timeout=120)

    result = subprocess.run(
        [*manage, "shell", "-v", "0", "-c", REFUSED_REQUEST],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    forbidden = [line for line in result.stderr.splitlines() if "Forbidden" in line]
    assert len(forbidden) == 1, result.stderr
    assert "/images/" in forbidden[0]
