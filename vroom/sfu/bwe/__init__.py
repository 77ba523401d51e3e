"""Send-side bandwidth estimation: the estimator interface and its registry, and GCC (sans-I/O).

The SFU sends media to a subscriber; the subscriber echoes every packet's arrival time in transport-wide
congestion-control feedback, which mediasoup's ``TransportCongestionControlServer`` emits every 100 ms. The
sending side feeds each report to the estimator of the link, ``on_feedback(now_us, packets)``, and reads back
``target_bitrate_bps``: the rate its pacer and layer allocator may use. Nothing here reads a clock or draws a
random number; every time is an integer µs.

One concept per module, as libwebrtc's ``congestion_controller/goog_cc`` lays GCC out:

* ``base``: ``BandwidthEstimator``, the report's types, the registry (``register_estimator``,
  ``make_estimator``);
* the delay-based half: ``inter_arrival`` (5 ms send groups, the delay gradient), ``trendline`` (the
  slope of the smoothed delay against an adaptive threshold: overuse / normal / underuse), ``aimd`` (the
  rate: ×1.08 per second, 0.85 × the acknowledged rate on overuse) with ``link_capacity``, composed in
  ``delay_based``; ``acknowledged_bitrate`` measures the received throughput;
* ``loss_based``: once a second, below 2 % loss up 8 %, above 10 % down by half the loss, capped by the
  delay-based estimate;
* probing: ``probe_controller`` (3× and 6× the start rate, then 2× while it pays) and ``probe_bitrate``
  (the rate a cluster measured);
* ``gcc``: ``GccEstimator``, the composition (registered as ``"gcc"``);
* ``bank``: the fast forms, one feedback round of many estimators at once (``feedback_round``), equal to
  the per-packet rules bit for bit.

Every constant is libwebrtc's as vendored in ``versatica/mediasoup``
(``worker/deps/libwebrtc/libwebrtc/modules/...``); each module names its file. Where this code departs from
libwebrtc it says so in the class docstring (search for "Simplification").
"""

from .base import (
    ESTIMATORS,
    LOST,
    NO_PROBE_CLUSTER,
    BandwidthEstimator,
    PacketResult,
    ProbeCluster,
    make_estimator,
    packets_from_arrays,
    register_estimator,
)
from .gcc import GccEstimator

__all__ = ["BandwidthEstimator", "GccEstimator", "ESTIMATORS", "register_estimator", "make_estimator",
           "PacketResult", "ProbeCluster", "packets_from_arrays", "LOST", "NO_PROBE_CLUSTER"]
