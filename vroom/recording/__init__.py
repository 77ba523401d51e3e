"""Recordings and compositions as real media files (see docs/recordings-and-compositions.md).

``content`` makes what the packets carry (test cards, slides, speech, time codes, sync pips);
``recorder`` writes one file per track from what reached the SFU; ``composer`` lays a room's
recordings out over time and mixes their audio; ``storage`` is the local folder and S3;
``service`` decides which tracks record and runs it all on the simulated clock. PyAV is
imported only when a file is written.
"""

from typing import Any


def import_av() -> Any:
    """PyAV, or an error that says how to get it (it is the ``media`` extra)."""
    from ..optional import require

    return require("av", purpose="writing recordings and compositions")
