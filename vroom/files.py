"""Reading a user's input file with a size cap.

A scenario or a trace is read only if it is a regular file no larger than its
limit, and never more than ``limit + 1`` bytes of it: ``/dev/zero``,
``/dev/urandom``, a FIFO or a multi-GB file are refused at once instead of
filling memory or never returning.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from .errors import ConfigError

__all__ = ["read_capped"]


def read_capped(path: str | Path, limit: int, what: str) -> bytes:
    """The bytes of ``path`` (a regular file of at most ``limit`` bytes), or ConfigError naming the file."""
    name = str(path)
    try:
        st = os.stat(path)  # before opening: opening a FIFO would wait for a writer
        if not stat.S_ISREG(st.st_mode):
            kind = "it is a directory" if stat.S_ISDIR(st.st_mode) else "not a regular file"
            raise ConfigError(name, f"cannot read {what}: {kind}")
        if st.st_size > limit:
            raise ConfigError(name, f"{what} is {st.st_size:,} bytes; at most {limit:,} are read")
        with open(path, "rb") as f:
            data = f.read(limit + 1)
    except ConfigError:
        raise
    except OSError as exc:
        raise ConfigError(name, f"cannot read {what} ({exc.strerror or type(exc).__name__})") from None
    except ValueError:  # a NUL byte in the path
        raise ConfigError(name, f"cannot read {what}: the path contains a NUL character") from None
    if len(data) > limit:  # it grew while being read
        raise ConfigError(name, f"{what} is larger than {limit:,} bytes")
    return data
