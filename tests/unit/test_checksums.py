"""The checksums.txt parser: the formats real tools write, and nothing else."""

import hashlib
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from releases.checksums import ChecksumsError, format_line, parse

A = hashlib.sha256(b"a").hexdigest()
B = hashlib.sha256(b"b").hexdigest()


def test_reads_gnu_text_and_binary_modes():
    parsed = parse(f"{A}  gateway-linux-amd64\n{B} *agent-linux-arm64\n")
    assert [(e.name, e.sha256, e.line) for e in parsed.entries] == [
        ("gateway-linux-amd64", A, 1),
        ("agent-linux-arm64", B, 2),
    ]


def test_reads_bsd_tags_upper_case_crlf_blank_lines_and_dot_slash():
    text = (
        f"\r\nSHA256 (./avika-1.2.3.tgz) = {A.upper()}\r\n\r\n{B}  ./checksums.txt\r\n"
    )
    parsed = parse(text)
    assert [(e.name, e.sha256, e.line) for e in parsed.entries] == [
        ("avika-1.2.3.tgz", A, 2),
        ("checksums.txt", B, 4),
    ]


def test_reads_gnu_escaped_names():
    parsed = parse(f"\\{A}  back\\\\slash\n\\SHA256 (new\\nline) = {B}\n")
    assert [e.name for e in parsed.entries] == ["back\\slash", "new\nline"]


def test_keeps_leading_spaces_and_parentheses_in_names():
    parsed = parse(f"{A}   lead space\nSHA256 ((x) = y) = {B}\n")
    assert [e.name for e in parsed.entries] == [" lead space", "(x) = y"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (f"{A}  ok\n{A[:40]}  short\n", "line 2: expected a sha256 of 64 hex digits"),
        (f"{A} gateway\n", "line 1: expected two spaces"),
        (f"{A}\n", "line 1: expected two spaces"),
        (f"{A}  \n", "line 1: has a checksum but no file name"),
        ("md5sum output? no\n", "line 1: 'md5sum output? no' is neither"),
        (f"SHA256 (x) {A}\n", "line 1: expected `SHA256 (<name>) = <sha256>`"),
        (f"\n\n\\{A}  bad\\tescape\n", "line 3: has an unknown escape"),
        (b"ok\n\xff\n", "line 2: is not UTF-8 text"),
        (f"SHA1 (x) = {A[:40]}\n", "line 1: 'SHA1 (x) = "),
    ],
)
def test_rejects_malformed_lines_naming_the_line(text, message):
    with pytest.raises(ChecksumsError) as caught:
        parse(text)
    assert str(caught.value).startswith(message)


def test_compare_reports_missing_unknown_duplicate_and_path_entries():
    text = (
        f"{A}  gateway-linux-amd64\n"
        f"{B}  gateway-linux-amd64\n"
        f"{A}  dist/agent-linux-amd64\n"
        f"{A}  stray-file\n"
        f"{B}  chart.tgz\n"
    )
    result = parse(text).compare(
        ["gateway-linux-amd64", "agent-linux-amd64", "chart.tgz"]
    )
    assert result.expected == {"chart.tgz": B}
    assert result.missing == ["agent-linux-amd64"]
    assert [e.name for e in result.unknown] == ["dist/agent-linux-amd64", "stray-file"]
    assert result.duplicates == {"gateway-linux-amd64": [1, 2]}
    assert [e.line for e in result.with_separators] == [3]
    assert result.problems == [
        "no line for agent-linux-amd64",
        "line 4 names 'stray-file', which is not an asset of the release",
        "gateway-linux-amd64 is listed 2 times (lines 1, 2)",
        "line 3 names 'dist/agent-linux-amd64', a path rather than a file name",
    ]


# Properties ------------------------------------------------------------------


@given(st.one_of(st.text(), st.binary()))
def test_never_raises_anything_but_its_own_error(data):
    try:
        parse(data)
    except ChecksumsError:
        pass


LINE_PARTS = st.sampled_from(
    [A, A.upper(), B, "SHA256 (", ") = ", "  ", " *", "\\", "./", "\r\n", "\n", "x"]
)


@given(st.lists(st.one_of(LINE_PARTS, st.text(max_size=5)), max_size=30))
def test_never_raises_on_near_miss_lines(parts):
    try:
        parse("".join(parts))
    except ChecksumsError:
        pass


# File names sha256sum can be given on Linux: no "/" and no NUL.
NAMES = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="/\x00"),
    min_size=1,
    max_size=30,
).filter(lambda n: n not in {".", ".."} and len(n.encode()) <= 200)


@given(st.dictionaries(NAMES, st.binary(max_size=64), min_size=1, max_size=6))
def test_round_trips_our_own_gnu_lines(files):
    text = "".join(
        format_line(name, hashlib.sha256(data).hexdigest())
        for name, data in files.items()
    )
    parsed = parse(text)
    assert {e.name: e.sha256 for e in parsed.entries} == {
        name: hashlib.sha256(data).hexdigest() for name, data in files.items()
    }


SHA256SUM = shutil.which("sha256sum")


@pytest.mark.skipif(SHA256SUM is None, reason="GNU sha256sum is not installed")
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    files=st.dictionaries(NAMES, st.binary(max_size=64), min_size=1, max_size=5),
    tag=st.booleans(),
    binary=st.booleans(),
    dot_slash=st.booleans(),
    crlf=st.booleans(),
)
def test_round_trips_what_sha256sum_writes(files, tag, binary, dot_slash, crlf):
    with tempfile.TemporaryDirectory() as directory:
        for name, data in files.items():
            (Path(directory) / name).write_bytes(data)
        args = [SHA256SUM]
        args += ["--tag"] if tag else ["--binary"] if binary else []
        args += ["--", *((f"./{n}" if dot_slash else n) for n in files)]
        output = subprocess.run(
            args, cwd=directory, capture_output=True, check=True
        ).stdout
    if crlf:
        output = output.replace(b"\n", b"\r\n")
    parsed = parse(output)
    assert {e.name: e.sha256 for e in parsed.entries} == {
        name: hashlib.sha256(data).hexdigest() for name, data in files.items()
    }
