"""Trace files that are binary, huge or not traces: clear errors that never echo the file."""

from __future__ import annotations

import os

import pytest

from vroom.errors import MAX_MESSAGE_CHARS, ConfigError
from vroom.net.link import LinkConfig
from vroom.net.traces import MAX_TIMESTAMP_MS, MAX_TRACE_BYTES, MahimahiTrace


def refused(path, match: str) -> str:
    with pytest.raises(ConfigError, match=match) as err:
        MahimahiTrace.load(path)
    text = str(err.value)
    assert len(text) < MAX_MESSAGE_CHARS
    return text


def test_a_binary_file_is_refused_with_a_line_number(tmp_path):
    # was: UnicodeDecodeError from traces.load
    path = tmp_path / "t"
    path.write_bytes(b"1\n2\n\xff\xfe\x00secret\n")
    text = refused(path, "line 3: expected a millisecond timestamp")
    assert "secret" not in text


def test_unicode_digits_are_not_timestamps(tmp_path):
    # was: ValueError: '²'.isdigit() is true but int('²') fails
    path = tmp_path / "t"
    path.write_text("1\n²\n", encoding="utf-8")
    refused(path, "line 2: expected a millisecond timestamp")


def test_a_huge_timestamp_is_refused_not_overflowed(tmp_path):
    # was: OverflowError converting to int64
    path = tmp_path / "t"
    path.write_text("1\n" + "9" * 5000 + "\n")
    refused(path, f"line 2: a timestamp must be at most {MAX_TIMESTAMP_MS} ms")
    assert MAX_TIMESTAMP_MS == 7 * 24 * 3600 * 1000  # the longest run, 7 days


def test_a_file_over_the_size_limit_is_refused_unread(tmp_path):
    # was: a multi-GB trace read whole (a hang)
    path = tmp_path / "t"
    with open(path, "wb") as f:
        f.truncate(MAX_TRACE_BYTES + 1)
    refused(path, f"is {MAX_TRACE_BYTES + 1:,} bytes")


@pytest.mark.skipif(not os.path.exists("/dev/urandom"), reason="needs /dev/urandom")
def test_a_device_is_refused_at_once():
    # was: 'trace: /dev/urandom' never returned
    refused("/dev/urandom", "not a regular file")


def test_an_ordinary_text_file_is_not_echoed(tmp_path):
    # was: 'trace: /etc/passwd' put the first line of the file in the error
    path = tmp_path / "passwd"
    path.write_text("root:x:0:0:the-secret-line:/root:/bin/bash\n")
    with pytest.raises(ConfigError) as err:
        LinkConfig.from_spec({"trace": str(path)}, "alice/up")
    assert "the-secret-line" not in str(err.value) and "line 1: expected a millisecond timestamp" in str(err.value)


@pytest.mark.parametrize("path", ["a\x00b", "x" * 5000])
def test_impossible_paths_are_config_errors(path):
    with pytest.raises(ConfigError, match="alice/up.trace"):
        LinkConfig.from_spec({"trace": path}, "alice/up")


def test_timestamps_from_python_beyond_int64_are_config_errors():
    with pytest.raises(ConfigError, match="whole numbers of milliseconds"):
        MahimahiTrace([1, 10**30])
