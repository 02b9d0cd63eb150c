"""Reading checksums.txt as real tools write it, and comparing it with the
assets of a release.

Accepted, line by line:
- GNU `sha256sum`: `<hash>  <name>` (text mode) and `<hash> *<name>` (binary
  mode), with its escaping: a line that starts with a backslash has `\\\\`,
  `\\n` and `\\r` escaped in the name;
- BSD and `sha256sum --tag`: `SHA256 (<name>) = <hash>`, escaped the same way;
- upper-case hex, CRLF line ends, blank lines and a leading `./` on names.

Anything else is rejected with `ChecksumsError`, whose message names the line.
Names with path separators, duplicate names, missing entries and entries for
no asset are not syntax errors: `compare` reports them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

HEX = frozenset("0123456789abcdefABCDEF")
SHA256_HEX_LENGTH = 64
BSD_RE = re.compile(r"^SHA256 \((?P<name>.*)\) = (?P<hash>[0-9A-Fa-f]+)$", re.DOTALL)


class ChecksumsError(ValueError):
    """checksums.txt cannot be read; str() names the line."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(f"line {line}: {message}" if line else message)
        self.line = line


@dataclass(frozen=True)
class Entry:
    name: str
    sha256: str  # lower-case hex
    line: int


@dataclass(frozen=True)
class Comparison:
    """How a checksums file matches the assets it is meant to describe."""

    expected: dict[str, str]  # asset name -> sha256, for unambiguous entries
    missing: list[str]  # assets with no entry
    unknown: list[Entry]  # entries that name no asset
    duplicates: dict[str, list[int]]  # name -> line numbers
    with_separators: list[Entry]

    @property
    def problems(self) -> list[str]:
        """One sentence per problem, for people."""
        found = [f"no line for {name}" for name in self.missing]
        found += [
            f"line {e.line} names {e.name!r}, which is not an asset of the release"
            for e in self.unknown
            if e not in self.with_separators
        ]
        found += [
            f"{name} is listed {len(lines)} times (lines "
            + ", ".join(str(n) for n in lines)
            + ")"
            for name, lines in self.duplicates.items()
        ]
        found += [
            f"line {e.line} names {e.name!r}, a path rather than a file name"
            for e in self.with_separators
        ]
        return found


@dataclass(frozen=True)
class Checksums:
    entries: list[Entry] = field(default_factory=list)

    def compare(self, asset_names: Iterable[str]) -> Comparison:
        assets = set(asset_names)
        lines: dict[str, list[int]] = {}
        for entry in self.entries:
            lines.setdefault(entry.name, []).append(entry.line)
        duplicates = {name: found for name, found in lines.items() if len(found) > 1}
        expected = {
            e.name: e.sha256
            for e in self.entries
            if e.name in assets and e.name not in duplicates
        }
        return Comparison(
            expected=expected,
            missing=sorted(assets - set(lines)),
            unknown=[e for e in self.entries if e.name not in assets],
            duplicates=duplicates,
            with_separators=[e for e in self.entries if _has_separator(e.name)],
        )


def _has_separator(name: str) -> bool:
    return "/" in name or "\\" in name


def parse(data: bytes | str) -> Checksums:
    """Every entry of a checksums file, or ChecksumsError naming the bad line."""
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            raise ChecksumsError("is not UTF-8 text", line)
    else:
        text = data
    if text.startswith("\ufeff"):  # a BOM from an editor on Windows
        text = text[1:]
    entries = []
    # Split on \n only: str.splitlines() would also split on characters such
    # as \x1c or \u2028, which are legal inside file names.
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.removesuffix("\r")
        if not line.strip():
            continue
        entries.append(_parse_line(line, number))
    return Checksums(entries)


def _parse_line(line: str, number: int) -> Entry:
    escaped = line.startswith("\\")
    body = line[1:] if escaped else line
    if body.startswith("SHA256 ("):
        name, digest = _bsd(body, number)
    elif body[:1] in HEX:
        name, digest = _gnu(body, number)
    else:
        shown = line if len(line) <= 40 else line[:37] + "..."
        raise ChecksumsError(
            f"{shown!r} is neither `<sha256>  <name>` nor `SHA256 (<name>) = <sha256>`",
            number,
        )
    if escaped:
        name = _unescape(name, number)
    name = name.removeprefix("./")
    if not name:
        raise ChecksumsError("has a checksum but no file name", number)
    return Entry(name=name, sha256=digest.lower(), line=number)


def _check_hash(digest: str, number: int) -> None:
    if len(digest) != SHA256_HEX_LENGTH or not set(digest) <= HEX:
        raise ChecksumsError(
            f"expected a sha256 of {SHA256_HEX_LENGTH} hex digits, "
            f"found {len(digest)} characters",
            number,
        )


def _gnu(body: str, number: int) -> tuple[str, str]:
    digest, separator, rest = body.partition(" ")
    _check_hash(digest, number)
    # After the hash: one space, then ' ' (text mode) or '*' (binary mode).
    if not separator or rest[:1] not in {" ", "*"}:
        raise ChecksumsError(
            "expected two spaces (or a space and '*') between the sha256 and the name",
            number,
        )
    return rest[1:], digest


def _bsd(body: str, number: int) -> tuple[str, str]:
    match = BSD_RE.match(body)
    if match is None:
        raise ChecksumsError("expected `SHA256 (<name>) = <sha256>`", number)
    _check_hash(match["hash"], number)
    return match["name"], match["hash"]


def _unescape(name: str, number: int) -> str:
    """Undo sha256sum's escaping of backslash, newline and carriage return."""
    out = []
    chars = iter(name)
    for char in chars:
        if char != "\\":
            out.append(char)
            continue
        following = next(chars, "")
        replacement = {"\\": "\\", "n": "\n", "r": "\r"}.get(following)
        if replacement is None:
            raise ChecksumsError(f"has an unknown escape '\\{following}'", number)
        out.append(replacement)
    return "".join(out)


def format_line(name: str, sha256: str, *, binary: bool = False) -> str:
    """One line as GNU sha256sum writes it (for tests and fixtures)."""
    marker = "*" if binary else " "
    if any(c in name for c in "\\\n\r"):
        escaped = name.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")
        return f"\\{sha256} {marker}{escaped}\n"
    return f"{sha256} {marker}{name}\n"
