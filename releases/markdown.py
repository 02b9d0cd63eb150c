"""Markdown to HTML for release notes. `render_markdown` is the only way
notes become HTML anywhere in the console: GitHub-flavoured Markdown by
markdown-it-py, then sanitised by nh3, so a body written on GitHub (or by
anyone with edit rights) can carry no script into the console's pages."""

from __future__ import annotations

import nh3
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt
from mdit_py_plugins.tasklists import tasklists_plugin

# CommonMark plus GitHub's tables, strikethrough and bare links (linkify,
# as GitHub links the pull requests in generated notes), and task lists.
_parser = MarkdownIt("gfm-like", {"html": True}).use(tasklists_plugin)

_TAGS = nh3.ALLOWED_TAGS | {"input"}
_ATTRIBUTES = {tag: set(attrs) for tag, attrs in nh3.ALLOWED_ATTRIBUTES.items()}
# Task list checkboxes: shown ticked or not, never editable.
_VALUES = {
    "input": {
        "type": {"checkbox"},
        "checked": {"checked", ""},
        "disabled": {"disabled", ""},
    }
}
_CLASSES = {
    "ul": {"contains-task-list"},
    "li": {"task-list-item"},
    "input": {"task-list-item-checkbox"},
}


def render_markdown(text: str) -> SafeString:
    html = _parser.render(text or "")
    clean = nh3.clean(
        html,
        tags=_TAGS,
        clean_content_tags={"script", "style"},
        attributes=_ATTRIBUTES,
        tag_attribute_values=_VALUES,
        set_tag_attribute_values={"input": {"disabled": "disabled"}},
        allowed_classes=_CLASSES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
    )
    return mark_safe(clean)  # noqa: S308 - sanitised by nh3 just above
