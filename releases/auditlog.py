"""Reading the audit trail: the filters of the audit log page and the
command line, and its exports. Writing it is `releases.audit.record`."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from typing import Any

import django_filters
from django import forms
from django.db.models import QuerySet
from django.utils import timezone

from releases.models import AuditEvent, Release

FIELDS = ["time", "actor", "action", "target", "release", "details"]
# A spreadsheet runs a cell that starts with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class DateInput(forms.DateInput):
    input_type = "date"


class ReleaseChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Release) -> str:
        # A version tried twice (a failed attempt, then the one published)
        # is two releases: tell them apart by state, id and start day.
        started = timezone.localdate(obj.created_at).isoformat()
        return f"{obj} · {obj.state} · #{obj.pk}, started {started}"


class ReleaseFilter(django_filters.ModelChoiceFilter):
    field_class = ReleaseChoiceField


class AuditFilterForm(forms.Form):
    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since > until:
            self.add_error("until", f"{until} is before the start, {since}.")
        return cleaned


class AuditFilter(django_filters.FilterSet):
    actor = django_filters.ChoiceFilter(
        field_name="actor_name", label="Actor", empty_label="all"
    )
    action = django_filters.ChoiceFilter(label="Action", empty_label="all")
    release = ReleaseFilter(
        queryset=Release.objects.select_related("project").order_by("-created_at"),
        label="Release",
        empty_label="all",
    )
    since = django_filters.DateFilter(
        field_name="created_at",
        lookup_expr="date__gte",
        label="From",
        widget=DateInput,
    )
    until = django_filters.DateFilter(
        field_name="created_at",
        lookup_expr="date__lte",
        label="To",
        widget=DateInput,
    )

    class Meta:
        model = AuditEvent
        fields: list[str] = []
        form = AuditFilterForm

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Only values that occur: a choice that matches nothing helps nobody.
        seen = AuditEvent.objects.order_by()
        actors = seen.values_list("actor_name", flat=True).distinct()
        actions = seen.values_list("action", flat=True).distinct()
        self.filters["actor"].extra["choices"] = [(a, a) for a in sorted(actors)]
        self.filters["action"].extra["choices"] = [(a, a) for a in sorted(actions)]


def filtered(params: Any) -> AuditFilter:
    base = AuditEvent.objects.select_related("release")
    return AuditFilter(params or None, queryset=base)


def row(event: AuditEvent) -> dict[str, Any]:
    return {
        "time": event.created_at.isoformat(),
        "actor": event.actor_name or "system",
        "action": event.action,
        "target": event.target,
        "release": event.release.version if event.release else None,
        "details": event.details,
    }


def _cell(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


class _Echo:
    """A file-like object whose write returns what it was given, for
    streaming csv.writer's lines."""

    def write(self, value: str) -> str:
        return value


def csv_lines(events: Iterable[AuditEvent]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(FIELDS)
    for event in events:
        data = row(event)
        yield writer.writerow([_cell(data[name] or "") for name in FIELDS])


def json_chunks(events: Iterable[AuditEvent]) -> Iterator[str]:
    """A JSON array, one event at a time: the log may be long."""
    yield "["
    for index, event in enumerate(events):
        yield ("," if index else "") + "\n" + json.dumps(row(event), sort_keys=True)
    yield "\n]\n"


def stream(queryset: QuerySet[AuditEvent]) -> Iterator[AuditEvent]:
    return queryset.iterator(chunk_size=500)
