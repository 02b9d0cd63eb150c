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
        actor_name=user.get_username() if user else "system",
        action=action,
        target=target,
        release=release,
        details=details,
    )
