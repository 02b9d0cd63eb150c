"""Avika Console settings: one module, every value read from the environment.

See README.md for the list of variables. A bad value stops start-up with a
message that names the variable.
"""

import secrets
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

from avika_console.env import (
    env_bool,
    env_float,
    env_int,
    env_list,
    env_secret,
    env_str,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("AVIKA_VAR_DIR", str(BASE_DIR / "var")))
try:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
except OSError as exc:
    raise ImproperlyConfigured(
        f"AVIKA_VAR_DIR names {str(VAR_DIR)!r}, which cannot be created ({exc.strerror})."
    )

DEBUG = env_bool("DEBUG", True)


def _secret_key() -> str:
    key = env_secret("SECRET_KEY")
    if key:
        return key
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY (or SECRET_KEY_FILE) is required when DEBUG is off."
        )
    # Development: generate once and keep it, so sessions survive restarts.
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "django_filters",
    "django_q",
    "releases",
    "sandbox",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "avika_console.middleware.HtmxSignInRedirect",
]

ROOT_URLCONF = "avika_console.urls"
WSGI_APPLICATION = "avika_console.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "releases.context_processors.console",
            ],
        },
    },
]

# Database -------------------------------------------------------------------

_default_sqlite = f"sqlite:///{VAR_DIR / 'avika.sqlite3'}"
_database_url = env_str("DATABASE_URL", _default_sqlite)
_db_scheme = urlsplit(_database_url).scheme
if _db_scheme not in {"sqlite", "postgres", "postgresql"}:
    raise ImproperlyConfigured(
        "DATABASE_URL must start with sqlite:// or postgres:// (postgresql://), "
        f"not {_database_url.split(':', 1)[0] + ':'!r}."
    )
try:
    _db = dj_database_url.parse(_database_url, conn_max_age=60)
except ValueError as exc:
    raise ImproperlyConfigured(f"DATABASE_URL is not a database URL we know: {exc}")
if _db["ENGINE"] == "django.db.backends.sqlite3":
    _db["CONN_MAX_AGE"] = 0
    # WAL lets the web process read while the worker writes; IMMEDIATE takes
    # the write lock at BEGIN so two writers queue on the busy timeout
    # instead of failing with "database is locked" halfway through.
    _db["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    _db["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Background work (django-q2) -----------------------------------------------

REDIS_URL = env_str("REDIS_URL")
TASK_TIMEOUT = env_int("AVIKA_TASK_TIMEOUT", 300, minimum=30)
Q_CLUSTER: dict = {
    "name": "avika",
    "workers": env_int("AVIKA_WORKERS", 2, minimum=1),
    "timeout": TASK_TIMEOUT,
    # A task is handed out again only after it could no longer be running.
    "retry": TASK_TIMEOUT + 60,
    "max_attempts": 3,
    "ack_failures": True,
    "save_limit": 500,
    "catch_up": False,
    "label": "Background tasks",
}
if REDIS_URL:
    _redis = urlsplit(REDIS_URL)
    if _redis.scheme not in {"redis", "rediss"}:
        raise ImproperlyConfigured(
            f"REDIS_URL must start with redis:// or rediss://, not {REDIS_URL!r}."
        )
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"
    Q_CLUSTER["poll"] = 1

# Outside systems -------------------------------------------------------------

GITHUB_TOKEN = env_secret("GITHUB_TOKEN")
SANDBOX = env_bool("AVIKA_SANDBOX", not GITHUB_TOKEN)
SANDBOX_BASE_URL = env_str("AVIKA_SANDBOX_URL", "http://127.0.0.1:8000").rstrip("/")
if urlsplit(SANDBOX_BASE_URL).scheme not in {"http", "https"}:
    raise ImproperlyConfigured(
        f"AVIKA_SANDBOX_URL must be an http(s) URL, not {SANDBOX_BASE_URL!r}."
    )
# Seconds a simulated release run takes; 0 makes it finish at once.
SANDBOX_RUN_SECONDS = env_float("AVIKA_SANDBOX_RUN_SECONDS", 40)
# Manifest GETs the sandbox registry allows per 6-hour window. Docker Hub
# allows 100 anonymous pulls; the console spends about nine per release, so
# the sandbox is generous enough for a long session of trying things out.
SANDBOX_REGISTRY_PULL_LIMIT = env_int("SANDBOX_REGISTRY_PULL_LIMIT", 1000, minimum=1)
# How long the dispatch-timeout fault holds the dispatch's answer, and how
# long the rate-limit fault lasts from the first request it meets: long
# enough to be seen on a page, not only by a background sync.
SANDBOX_DISPATCH_HANG_SECONDS = env_float("SANDBOX_DISPATCH_HANG_SECONDS", 30)
SANDBOX_RATE_LIMIT_SECONDS = env_float("SANDBOX_RATE_LIMIT_SECONDS", 60)
if SANDBOX:
    GITHUB_API_URL = env_str("GITHUB_API_URL", f"{SANDBOX_BASE_URL}/sandbox/github")
    if not GITHUB_TOKEN:
        GITHUB_TOKEN = "sandbox-token"
else:
    GITHUB_API_URL = env_str("GITHUB_API_URL", "https://api.github.com")
if urlsplit(GITHUB_API_URL).scheme not in {"http", "https"}:
    raise ImproperlyConfigured(
        f"GITHUB_API_URL must be an http(s) URL, not {GITHUB_API_URL!r}."
    )
GITHUB_TIMEOUT = env_float("GITHUB_TIMEOUT", 15, minimum=1)
DOCKERHUB_USERNAME = env_str("DOCKERHUB_USERNAME")
DOCKERHUB_TOKEN = env_secret("DOCKERHUB_TOKEN")
if bool(DOCKERHUB_USERNAME) != bool(DOCKERHUB_TOKEN):
    raise ImproperlyConfigured(
        "Set both DOCKERHUB_USERNAME and DOCKERHUB_TOKEN, or neither."
    )
# Seconds between polls of a running workflow run.
# Tests set RUN_POLL_SECONDS to 0 directly; from the environment a shorter
# interval would only spend the rate limit.
RUN_POLL_SECONDS = env_float("AVIKA_RUN_POLL_SECONDS", 3, minimum=0.5)

# The images' registry (Registry v2) and Docker Hub's web API (push times).
# Empty REGISTRY_URL: derived from the project's registry host, Docker Hub
# being https://registry-1.docker.io.
if SANDBOX:
    REGISTRY_URL = env_str("REGISTRY_URL", f"{SANDBOX_BASE_URL}/sandbox/registry")
    DOCKERHUB_API_URL = env_str("DOCKERHUB_API_URL", f"{SANDBOX_BASE_URL}/sandbox/hub")
else:
    REGISTRY_URL = env_str("REGISTRY_URL")
    DOCKERHUB_API_URL = env_str("DOCKERHUB_API_URL", "https://hub.docker.com")
for _name, _url in (
    ("REGISTRY_URL", REGISTRY_URL),
    ("DOCKERHUB_API_URL", DOCKERHUB_API_URL),
):
    if _url and urlsplit(_url).scheme not in {"http", "https"}:
        raise ImproperlyConfigured(f"{_name} must be an http(s) URL, not {_url!r}.")
REGISTRY_URL = REGISTRY_URL.rstrip("/")
DOCKERHUB_API_URL = DOCKERHUB_API_URL.rstrip("/")
REGISTRY_TIMEOUT = env_float("REGISTRY_TIMEOUT", 15, minimum=1)
# How long a release's verification waits for CI on the release commit
# before leaving it to the periodic sync.
CHECKS_CI_WAIT_SECONDS = env_int("AVIKA_CI_WAIT_SECONDS", 600, minimum=0)
# Minutes between inspections of every image tag (drift alarms).
IMAGE_AUDIT_MINUTES = env_int("AVIKA_IMAGE_AUDIT_MINUTES", 5, minimum=1)
# A changed digest read this soon after its push is read again before an
# alarm: a registry's answer right after a push can be stale.
DRIFT_RECHECK_SECONDS = env_int("AVIKA_DRIFT_RECHECK_SECONDS", 60, minimum=0)

# Auth, sessions, security ---------------------------------------------------

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True

# Everything is served by the console itself: no inline script, no CDN.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "object-src": [CSP.NONE],
}

# Static files ---------------------------------------------------------------

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()
if LOG_LEVEL not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
    raise ImproperlyConfigured(
        f"LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL, not {LOG_LEVEL!r}."
    )
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}
    },
    "filters": {
        "refusal_without_traceback": {
            "()": "avika_console.logfilters.RefusalWithoutTraceback"
        }
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Django's default logging gives "django" a console handler of its
        # own; with ours on the root every line would be written twice.
        "django": {"handlers": [], "level": LOG_LEVEL, "propagate": True},
        "django.request": {"filters": ["refusal_without_traceback"]},
        # urllib3 logs request URLs at DEBUG; keep it quiet so nothing leaks.
        "urllib3": {"level": "WARNING"},
        "github": {"level": "WARNING"},
    },
}
