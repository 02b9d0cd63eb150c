from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from releases.models import (
    Artifact,
    AuditEvent,
    CheckResult,
    Project,
    Release,
    TagObservation,
    TagRecord,
)


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["name", "repository", "default_branch", "workflow_file"]


class ArtifactInline(admin.TabularInline):
    model = Artifact
    extra = 0
    can_delete = False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    fields = [
        "name",
        "kind",
        "size",
        "expected_sha256",
        "computed_sha256",
        "verification",
    ]


class ReadOnlyAdmin(admin.ModelAdmin):
    """For inspection only: releases change through the console's actions,
    which guard each transition and write the audit trail."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class CheckResultInline(admin.TabularInline):
    model = CheckResult
    extra = 0
    fields = ["name", "ok", "detail", "link", "checked_at"]
    readonly_fields = fields
    can_delete = False


@admin.register(Release)
class ReleaseAdmin(ReadOnlyAdmin):
    list_display = ["tag", "project", "state", "source", "requested_by", "created_at"]
    list_filter = ["state", "source", "project"]
    search_fields = ["version", "tag"]
    inlines = [ArtifactInline, CheckResultInline]
    readonly_fields = ["dispatch_attempted_at", "runs_before_dispatch", "run_jobs"]


@admin.register(Artifact)
class ArtifactAdmin(ReadOnlyAdmin):
    list_display = ["name", "release", "kind", "size", "verification"]
    list_filter = ["verification", "kind"]


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    """Read-only: the trail cannot be edited or deleted, not even by an admin."""

    list_display = ["created_at", "actor_name", "action", "target"]
    list_filter = ["action"]
    search_fields = ["actor_name", "action", "target"]


@admin.register(TagObservation)
class TagObservationAdmin(ReadOnlyAdmin):
    list_display = ["repository", "tag", "state", "release", "digest", "observed_at"]
    list_filter = ["state", "kind", "image"]
    search_fields = ["repository", "tag", "digest"]
    readonly_fields = ["baseline_digest", "baseline_platforms", "baseline_at", "drift"]


@admin.register(TagRecord)
class TagRecordAdmin(ReadOnlyAdmin):
    """The history of tag digests: read-only, like the audit log."""

    list_display = ["recorded_at", "repository", "tag", "reason", "digest", "release"]
    list_filter = ["reason"]
    search_fields = ["repository", "tag", "digest"]
