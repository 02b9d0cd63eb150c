"""Template helpers for the console's pages: state colours and times."""

import json
from datetime import datetime, timedelta

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.timesince import timesince, timeuntil

from releases import display

register = template.Library()


@register.filter
def tone(state: str) -> str:
    """The colour family of a state, for the `chip` CSS classes."""
    return display.tone(str(state))


@register.simple_tag
def reltime(value: datetime | None, empty: str = "—") -> SafeString:
    """`5 minutes ago` with the exact time on hover and for machines."""
    if value is None:
        return format_html("{}", empty)
    now = timezone.now()
    if abs(now - value) < timedelta(minutes=1):
        words = "just now"
    elif value < now:
        words = f"{timesince(value, now, depth=1)} ago"
    else:
        words = f"in {timeuntil(value, now, depth=1)}"
    exact = timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S %Z")
    return format_html(
        '<time datetime="{}" title="{}">{}</time>', value.isoformat(), exact, words
    )


@register.simple_tag
def until(value: datetime) -> SafeString:
    """A moment to come as a clock time with how long until it, to the
    second when it is under a minute away (`reltime` says "just now")."""
    left = value - timezone.now()
    if left < timedelta(minutes=1):
        seconds = max(1, int(left.total_seconds()))
        words = f"in {seconds} second{'s' if seconds != 1 else ''}"
    else:
        words = f"in {timeuntil(value, depth=1)}"
    local = timezone.localtime(value)
    return format_html(
        '<time datetime="{}" title="{}">{} ({})</time>',
        value.isoformat(),
        local.strftime("%Y-%m-%d %H:%M:%S %Z"),
        local.strftime("%H:%M:%S %Z"),
        words,
    )


@register.filter
def mb(size: int | None) -> str:
    """A compressed image size in MB (10^6 bytes, as the budgets are)."""
    return display.size_mb(size)


@register.filter
def short_digest(digest: str) -> str:
    return digest.removeprefix("sha256:")[:12] if digest else ""


@register.filter
def check_state(item: object) -> str:
    return display.item_state(item)  # type: ignore[arg-type]


@register.filter
def hours(seconds: int) -> str:
    """21600 -> '6 hours': rate-limit windows are whole hours or minutes."""
    if seconds % 3600 == 0:
        count = seconds // 3600
        return "hour" if count == 1 else f"{count} hours"
    minutes = max(seconds // 60, 1)
    return "minute" if minutes == 1 else f"{minutes} minutes"


@register.filter
def parse_iso(value: str) -> datetime | None:
    """An ISO 8601 time stored in JSON, as a datetime for `reltime`."""
    return display.parse_time(value)


@register.filter
def compact_json(value: object) -> str:
    """Audit details on one line, keys sorted; escaped by the template."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
