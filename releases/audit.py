"""Writing the audit trail. Every action that changes something calls `record`."""

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from releases.models import AuditEvent, Release


def record(
    action: str,
    *,
    actor: AbstractBaseUser | AnonymousUser | None = None,
    target: str = "",
    release: Release | None = None,
    **details: Any,
) -> AuditEvent:
    user = actor if actor is not None and actor.is_authenticated else None
    if release is not None and not target:
        target = str(release)
    return AuditEvent.objects.create(
        actor=user,
        actor_name=user.get_username() if user else _nameless(details),
        action=action,
        target=target,
        release=release,
        details=details,
    )


def _nameless(details: dict[str, Any]) -> str:
    """Who acted when no account did: someone at the command line, or the
    console itself (the worker, a schedule)."""
    return "command line" if details.get("via") == "cli" else "system"


def record_sign_in(
    sender: Any, request: Any = None, user: Any = None, **kw: Any
) -> None:
    record("auth.signed_in", actor=user, target=user.get_username(), **_origin(request))


def record_sign_out(
    sender: Any, request: Any = None, user: Any = None, **kw: Any
) -> None:
    if user is not None:
        record("auth.signed_out", actor=user, target=user.get_username())


def record_sign_in_failure(
    sender: Any, credentials: dict[str, Any], request: Any = None, **kw: Any
) -> None:
    # Django has already masked the password in `credentials`; only the
    # name typed is kept.
    username = str(credentials.get("username") or "")[:150]
    record("auth.sign_in_failed", target=username, **_origin(request))


def record_refusal(request: Any, reason: str) -> None:
    """An account tried something its role does not allow."""
    user = getattr(request, "user", None)
    record(
        "permission.denied",
        actor=user,
        target=request.path[:200],
        method=request.method,
        reason=reason,
    )


def _origin(request: Any) -> dict[str, str]:
    if request is None:
        return {}
    return {"ip": request.META.get("REMOTE_ADDR", "")}
