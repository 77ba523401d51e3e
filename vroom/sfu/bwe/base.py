"""What every send-side bandwidth estimator is, and the registry of estimators by name (sans-I/O).

The SFU feeds each link's estimator a transport-wide feedback report every 100 ms, ``on_feedback(now_us,
packets)``, and reads back ``target_bitrate_bps``. A report is a ``PacketResult`` per packet, or the same as
int64 columns (``on_feedback_arrays``; ``LOST`` marks a lost packet). Add an estimator: subclass
``BandwidthEstimator`` and ``register_estimator(name, cls)``; ``make_estimator(name, **options)`` builds it.
As in aioquic's ``quic/congestion/base.py``, each estimator's module registers itself when imported.

Also here: the words and limits the GCC modules share (libwebrtc's ``bwe_defines.h`` and
``network_state_predictor.h``), and time units (every time is an integer µs).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

__all__ = [
    "PacketResult",
    "ProbeCluster",
    "LOST",
    "NO_PROBE_CLUSTER",
    "BandwidthEstimator",
    "ESTIMATORS",
    "make_estimator",
    "register_estimator",
    "packets_from_arrays",
    "report_columns",
    "NORMAL",
    "OVERUSING",
    "UNDERUSING",
]

US_PER_MS = 1_000
US_PER_S = 1_000_000

# BandwidthUsage (api/network_state_predictor.h): the delay detector's hypothesis.
NORMAL = "normal"
OVERUSING = "overusing"
UNDERUSING = "underusing"

# RateControlState (remote_bitrate_estimator/include/bwe_defines.h).
HOLD = "hold"
INCREASE = "increase"
DECREASE = "decrease"

# remote_bitrate_estimator/include/bwe_defines.h
K_CONGESTION_CONTROLLER_MIN_BITRATE_BPS = 5_000  # kCongestionControllerMinBitrate
# api/transport/bitrate_settings.h (BitrateConstraints)
K_DEFAULT_START_BITRATE_BPS = 300_000  # kDefaultStartBitrateBps (mediasoup's Router uses 600 kbps)
# bitrate_controller/send_side_bandwidth_estimation.cc
K_DEFAULT_MAX_BITRATE_BPS = 1_000_000_000  # kDefaultMaxBitrate, used when no max is configured


@dataclass(frozen=True, slots=True)
class PacketResult:
    """One packet of a transport-wide feedback report.

    ``send_time_us`` is on the sender's clock, ``arrival_time_us`` on the receiver's (any offset is fine:
    only differences are used) and ``None`` when the feedback reports the packet lost. ``probe_cluster_id``
    is set on padding/probe packets sent for a ``ProbeCluster``.
    """

    send_time_us: int
    arrival_time_us: int | None
    size_bytes: int
    probe_cluster_id: int | None = None


@dataclass(frozen=True, slots=True)
class ProbeCluster:
    """A request to send a probe burst (``ProbeClusterConfig``): ``min_probes`` packets of together at
    least ``min_bytes`` at ``target_bps``, over at least ``duration_us``, starting at ``at_us``."""

    id: int
    at_us: int
    target_bps: int
    duration_us: int
    min_probes: int

    @property
    def min_bytes(self) -> int:
        # pacing/bitrate_prober.cc: probe_cluster_min_bytes = rate · duration / 8
        return self.target_bps * self.duration_us // (8 * US_PER_S)


# The array form of a feedback report (``on_feedback_arrays``): int64 arrays, one entry per packet.
LOST = -1  # arrival time of a packet the feedback reports lost
NO_PROBE_CLUSTER = -1  # probe cluster id of a packet that is not a probe
_INT64 = np.dtype(np.int64)
_NDARRAY = np.ndarray


def report_columns(send_us: Any, arrival_us: Any, size: Any, probe_cluster: Any = None
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """The report's columns as 1-D int64 arrays of one length (``probe_cluster`` stays None when absent)."""
    if (type(send_us) is _NDARRAY and type(arrival_us) is _NDARRAY and type(size) is _NDARRAY
            and send_us.dtype == _INT64 and arrival_us.dtype == _INT64 and size.dtype == _INT64
            and send_us.ndim == 1 and send_us.shape == arrival_us.shape == size.shape
            and (probe_cluster is None or (type(probe_cluster) is _NDARRAY and probe_cluster.dtype == _INT64
                                           and probe_cluster.shape == send_us.shape))):
        return send_us, arrival_us, size, probe_cluster  # what np.asarray would return
    cols = [np.asarray(c, dtype=np.int64) for c in (send_us, arrival_us, size)]
    if probe_cluster is not None:
        cols.append(np.asarray(probe_cluster, dtype=np.int64))
    shapes = {c.shape for c in cols}
    if len(shapes) != 1 or cols[0].ndim != 1:
        raise ValueError(f"feedback arrays must be 1-D and of one length, got shapes {[c.shape for c in cols]}")
    return cols[0], cols[1], cols[2], cols[3] if probe_cluster is not None else None


def packets_from_arrays(send_us: Any, arrival_us: Any, size: Any, probe_cluster: Any = None
                        ) -> list[PacketResult]:
    """The ``PacketResult`` list equivalent to a report in array form, in the order given."""
    send, arrival, sz, probe = report_columns(send_us, arrival_us, size, probe_cluster)
    probes = [NO_PROBE_CLUSTER] * len(send) if probe is None else probe.tolist()
    return [PacketResult(s, None if a == LOST else a, b, None if c < 0 else c)
            for s, a, b, c in zip(send.tolist(), arrival.tolist(), sz.tolist(), probes)]


def as_packet(p: Any) -> PacketResult:
    """A ``PacketResult`` from one, a ``(send, arrival, size[, probe cluster])`` tuple or a look-alike."""
    if isinstance(p, PacketResult):
        return p
    if isinstance(p, (tuple, list)):
        if len(p) == 3:
            return PacketResult(int(p[0]), None if p[1] is None else int(p[1]), int(p[2]))
        if len(p) == 4:
            return PacketResult(int(p[0]), None if p[1] is None else int(p[1]), int(p[2]),
                                None if p[3] is None else int(p[3]))
        raise ValueError(f"a packet result is (send_time_us, arrival_time_us, size_bytes[, probe_cluster_id]), "
                         f"got {p!r}")
    arrival = getattr(p, "arrival_time_us")
    return PacketResult(int(getattr(p, "send_time_us")), None if arrival is None else int(arrival),
                        int(getattr(p, "size_bytes")), getattr(p, "probe_cluster_id", None))


class BandwidthEstimator(ABC):
    """What the SFU needs from a send-side bandwidth estimator. Sans-I/O: callers pass the time.

    Subclasses implement ``on_feedback``, ``target_bitrate_bps`` and ``state``; the rest has defaults.
    ``on_feedback_arrays`` takes a report as columns; by default it builds the ``PacketResult`` list and
    calls ``on_feedback``, and an estimator may override it with a faster equivalent.
    Register a subclass with ``register_estimator(name, cls)`` to make it available by name.
    """

    name: ClassVar[str] = ""

    @abstractmethod
    def on_feedback(self, now_us: int, packets: Sequence[PacketResult | tuple]) -> int:
        """Consume one transport-wide feedback report received at ``now_us``; return the target (bit/s)."""

    def on_feedback_arrays(self, now_us: int, send_us: np.ndarray, arrival_us: np.ndarray, size: np.ndarray,
                           probe_cluster: np.ndarray | None = None) -> int:
        """``on_feedback`` with the report as int64 columns, one entry per packet in report order:
        send time (µs), arrival time (µs, ``LOST`` = -1 when lost), size (bytes) and, optionally, the
        probe cluster id (``NO_PROBE_CLUSTER`` = -1, or any negative value, for none)."""
        return self.on_feedback(now_us, packets_from_arrays(send_us, arrival_us, size, probe_cluster))

    @property
    @abstractmethod
    def target_bitrate_bps(self) -> int:
        """The rate the sender may use now, bit/s."""

    @property
    @abstractmethod
    def state(self) -> str:
        """A short word for the controller's state, e.g. "increase", "hold" or "decrease"."""

    def on_probe_result(self, now_us: int, bitrate_bps: float) -> int:
        """A probe measured by the driver; estimators without probing ignore it."""
        return self.target_bitrate_bps

    def on_process(self, now_us: int) -> int:
        """A periodic tick without feedback (libwebrtc runs one every 25 ms); optional."""
        return self.target_bitrate_bps

    def on_packet_sent(self, send_time_us: int) -> None:
        """The sender sent a packet; optional."""

    def take_probe_clusters(self) -> list[ProbeCluster]:
        """Probe bursts the sender should emit (and forget); none by default."""
        return []

    def snapshot(self) -> dict[str, Any]:
        """Plot-friendly values."""
        return {"target_bitrate_bps": self.target_bitrate_bps, "state": self.state}


#: The estimators by name; each estimator's module registers itself (``vroom.sfu.bwe`` imports GCC's).
ESTIMATORS: dict[str, type[BandwidthEstimator]] = {}


def register_estimator(name: str, cls: type[BandwidthEstimator]) -> None:
    """Make ``cls`` available to ``make_estimator(name)``."""
    if not (isinstance(cls, type) and issubclass(cls, BandwidthEstimator)):
        raise TypeError(f"bandwidth estimator {name!r} must subclass BandwidthEstimator, got {cls!r}")
    ESTIMATORS[name] = cls


def make_estimator(name: str, **options: Any) -> BandwidthEstimator:
    """Build the estimator registered as ``name`` with its keyword options."""
    try:
        cls = ESTIMATORS[name]
    except KeyError:
        known = ", ".join(sorted(ESTIMATORS))
        raise ValueError(f"unknown bandwidth estimator {name!r}; known: {known}") from None
    return cls(**options)

