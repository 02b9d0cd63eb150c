"""The three roles of the console, as Django groups with permissions.

Maintainers start and publish releases, Reviewers edit notes, Auditors read
the audit log and the images. Views check permissions, never group names,
so an admin can compose other roles in the admin.
"""

from typing import Any

MAINTAINERS = "Maintainers"
REVIEWERS = "Reviewers"
AUDITORS = "Auditors"

ROLE_PERMISSIONS: dict[str, list[str]] = {
    MAINTAINERS: [
        "start_release",
        "publish_release",
        "edit_notes",
        "view_images",
        "view_release",
        "run_checks",
        "approve_release",
    ],
    REVIEWERS: ["edit_notes", "view_release", "approve_release"],
    AUDITORS: ["view_auditevent", "view_images", "view_release"],
}


def ensure_groups(**kwargs: Any) -> None:
    """Create the role groups and give them their permissions (idempotent)."""
    from django.contrib.auth.models import Group, Permission

    for group_name, codenames in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=group_name)
        permissions = Permission.objects.filter(
            content_type__app_label="releases", codename__in=codenames
        )
        group.permissions.add(*permissions)
