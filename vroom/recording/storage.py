"""Where recordings and compositions go: a local folder (always), and S3 when the account says so.

Local layout: ``<root>/<AccountSid>/<RoomSid>/<RT…>.mka`` (compositions:
``<root>/<AccountSid>/<RoomSid>/<CJ…>.mp4``). A file is written locally first
and stays there, so a failed upload loses nothing. Every part of a path under
the root is one plain name (no separator, no ``..``, no NUL), so nothing is
written outside the root; ``folder_name`` turns any text (a scenario's name)
into such a part.

External storage follows RecordingSettings / CompositionSettings
(reference/twilio.md §1): ``aws_s3_url`` names the bucket and a path, either
DNS style (``https://bucket.s3.amazonaws.com/path``, or with a region) or
path style on any S3-compatible endpoint (``http://127.0.0.1:5000/bucket/path``);
the object key is ``<path>/<RoomSid>/<file name>``. boto3 is imported only
when an upload happens.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

__all__ = ["LocalStorage", "S3Target", "folder_name", "parse_s3_url", "upload", "presign"]

_DNS_BUCKET = re.compile(r"^(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\.s3(?:[.-](?P<region>[a-z0-9-]+))?"
                         r"\.amazonaws\.com$")


#: what cannot be in one folder or file name: separators, control characters (NUL too), what Windows forbids
_NOT_IN_A_NAME = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]')
_MAX_NAME_BYTES = 200  # file systems allow 255 bytes in a name


def folder_name(text: str) -> str:
    """``text`` as one folder name that stays inside the folder it is put in: separators, control
    characters and ``:*?"<>|`` become ``_``, as does a leading dot (so ``..`` and hidden names cannot
    happen); at most 200 bytes of UTF-8; never empty."""
    name = _NOT_IN_A_NAME.sub("_", text)
    name = "_" * (len(name) - len(name.lstrip("."))) + name.lstrip(".")
    name = name.encode("utf-8")[:_MAX_NAME_BYTES].decode("utf-8", "ignore")
    return name or "_"


class LocalStorage:
    """Files under ``root``, one folder per account and room."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, account_sid: str, room_sid: str, name: str) -> Path:
        """``<root>/<account_sid>/<room_sid>/<name>``; raises ValueError for a part that is not one plain
        name (it would leave the root)."""
        for part in (account_sid, room_sid, name):
            if folder_name(part) != part:
                raise ValueError(f"media storage: {part[:60]!r} is not a plain file name")
        return self.root / account_sid / room_sid / name


@dataclass(frozen=True, slots=True)
class S3Target:
    """Where an ``aws_s3_url`` points: the endpoint (None = AWS), region, bucket and key prefix."""

    endpoint_url: str | None
    region: str
    bucket: str
    prefix: str

    def key(self, room_sid: str, name: str) -> str:
        return "/".join(part for part in (self.prefix, room_sid, name) if part)

    def url(self, key: str) -> str:
        if self.endpoint_url is None:
            return f"https://{self.bucket}.s3.amazonaws.com/{key}"
        return f"{self.endpoint_url}/{self.bucket}/{key}"


def parse_s3_url(url: object) -> S3Target:
    """Read an ``aws_s3_url``; raises ValueError saying what is wrong."""
    if not isinstance(url, str) or not url:
        raise ValueError(f"expected a URL like https://bucket.s3.amazonaws.com/path, got {url!r}")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"expected an http(s) URL like https://bucket.s3.amazonaws.com/path, got {url!r}")
    path = parts.path.strip("/")
    m = _DNS_BUCKET.match(parts.hostname or "")
    if m:
        return S3Target(None, m.group("region") or "us-east-1", m.group("bucket"), path)
    bucket, _, prefix = path.partition("/")
    if not bucket:
        raise ValueError(f"a path-style URL needs the bucket as its first path segment, got {url!r}")
    return S3Target(f"{parts.scheme}://{parts.netloc}", "us-east-1", bucket, prefix)


def _client(target: S3Target, credentials: tuple[str, str] | None) -> Any:
    from ..optional import require

    boto3 = require("boto3", purpose="S3 storage of recordings and compositions")
    Config = require("botocore.config", purpose="S3 storage of recordings and compositions").Config

    kwargs: dict[str, Any] = {"region_name": target.region,
                              # one try per call, quick to give up: vroom's own backoff does the retrying
                              "config": Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=2,
                                               read_timeout=10)}
    if target.endpoint_url is not None:
        kwargs["endpoint_url"] = target.endpoint_url
    if credentials is not None:
        kwargs["aws_access_key_id"], kwargs["aws_secret_access_key"] = credentials
    return boto3.client("s3", **kwargs)


def upload(target: S3Target, key: str, path: Path, credentials: tuple[str, str] | None) -> None:
    """Put one file; raises on any failure (the caller retries with backoff)."""
    _client(target, credentials).upload_file(str(path), target.bucket, key)


def presign(target: S3Target, key: str, credentials: tuple[str, str] | None, expires_s: int = 600) -> str:
    """A URL that downloads the object for ``expires_s`` seconds (what Twilio's Media redirect gives)."""
    return _client(target, credentials).generate_presigned_url(
        "get_object", Params={"Bucket": target.bucket, "Key": key}, ExpiresIn=expires_s)
