"""Markdown to HTML for release notes. `render_markdown` is the only way
notes become HTML anywhere in the console: GitHub-flavoured Markdown by
markdown-it-py, then sanitised by nh3, so a body written on GitHub (or by
anyone with edit rights) can carry no script into the console's pages."""

from __future__ import annotations

import re

import nh3
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.token import Token
from mdit_py_plugins.tasklists import tasklists_plugin

# A bare web address, as GitHub links them in generated notes ("in
# https://github.com/o/r/pull/12", "Full Changelog: https://…/compare/…").
_BARE_URL = re.compile(r"https?://[^\s<>\[\]\"'`]+")
_TRAILING = ".,:;!?*_~"


def _bare_url_spans(text: str) -> list[tuple[int, int]]:
    spans = []
    for match in _BARE_URL.finditer(text):
        url = match.group().rstrip(_TRAILING)
        if url.endswith(")") and url.count("(") < url.count(")"):
            url = url[:-1]
        spans.append((match.start(), match.start() + len(url)))
    return spans


def _link_bare_urls(state: StateCore) -> None:
    """GitHub autolinks bare addresses. markdown-it's own `linkify` needs
    linkify-it-py; this covers http(s) addresses in text, outside links
    and code."""
    for block in state.tokens:
        if block.type != "inline" or not block.children:
            continue
        children: list[Token] = []
        inside_link = 0
        for token in block.children:
            if token.type == "link_open":
                inside_link += 1
            elif token.type == "link_close":
                inside_link -= 1
            spans = []
            if token.type == "text" and not inside_link:
                spans = _bare_url_spans(token.content)
            if not spans:
                children.append(token)
                continue
            children.extend(_split(state, token.content, spans))
        block.children = children


def _split(state: StateCore, text: str, spans: list[tuple[int, int]]) -> list[Token]:
    tokens, at = [], 0
    for start, end in spans:
        url = text[start:end]
        href = state.md.normalizeLink(url)
        if not state.md.validateLink(href):
            continue
        tokens.append(_text(text[at:start]))
        tokens.append(Token("link_open", "a", 1, attrs={"href": href}))
        tokens.append(_text(url))
        tokens.append(Token("link_close", "a", -1))
        at = end
    tokens.append(_text(text[at:]))
    return [t for t in tokens if t.type != "text" or t.content]


def _text(content: str) -> Token:
    return Token("text", "", 0, content=content)


# CommonMark plus GitHub's tables, strikethrough, task lists and bare links.
# (The "gfm-like" preset would need linkify-it-py for the last.)
_parser = (
    MarkdownIt("commonmark", {"html": True})
    .enable(["table", "strikethrough"])
    .use(tasklists_plugin)
)
_parser.core.ruler.push("bare_urls", _link_bare_urls)

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
