"""Draw the figures of the media-intelligence pages (docs/img/*.png) from the shipped scenarios.

    pip install ".[plot]" && python docs/make_plots.py

Every figure is 900 × 450 pixels (vroom.plot's default Figure). The runs are deterministic, so the
figures change only when the simulator does. About five minutes in all, four of them RFC 8867's cases.
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vroom import plot  # noqa: E402
from vroom.scenario import Scenario, load  # noqa: E402

IMG = ROOT / "docs" / "img"
SCENARIOS = ROOT / "scenarios"

#: A small meeting for the dominant-speaker figure: four people who talk for different shares of the time.
MEETING = """
name: four-people-talking
seed: 6
duration: 60s
networks:
  home: {up: {rate: 5Mbps, delay: 20ms}, down: {rate: 20Mbps, delay: 20ms}}
participants:
  - {identity: host, network: home, dominant_speaker: true, publish: [{audio: {talk: 0.6}}]}
  - {identity: ana, network: home, dominant_speaker: true, publish: [{audio: {talk: 0.4}}]}
  - {identity: ben, network: home, dominant_speaker: true, publish: [{audio: {talk: 0.3}}]}
  - {identity: chloe, network: home, dominant_speaker: true, publish: [{audio: {talk: 0.15}}]}
"""


def save(fig, name: str) -> None:
    path = IMG / name
    fig.savefig(path, dpi=plot.DPI)
    print(f"wrote {path.relative_to(ROOT)}")


def main() -> None:
    IMG.mkdir(parents=True, exist_ok=True)

    # bandwidth-drop: the viewer's layers, its downlink estimate, everyone's network quality
    sim = load(SCENARIOS / "bandwidth-drop.yaml").build()
    plot.record_estimates(sim, "viewer/down")
    sim.run(90)
    save(plot.layers(sim, "viewer"), "simulcast-layers.png")
    fig = plot.estimate(sim, "viewer/down")
    fig.axes[0].set_yscale("log")
    fig.axes[0].set_ylim(100, 40_000)
    save(fig, "bwe-bandwidth-drop.png")
    save(plot.network_quality(sim), "network-quality.png")

    # RMCAT 5.1: a publisher's uplink through 1 / 2.5 / 0.6 / 1 Mbps
    sim = load(SCENARIOS / "rmcat" / "5.1-variable-capacity.yaml").build()
    plot.record_estimates(sim, "sender/up")
    sim.run(100)
    save(plot.estimate(sim, "sender/up"), "bwe-rmcat-5.1.png")

    # libwebrtc's target-capacity test: a single stream through 500 / 800 / 100 kbps
    sim = load(SCENARIOS / "single-stream.yaml").build()
    plot.record_estimates(sim, "send/up")
    sim.run(95)
    save(plot.estimate(sim, "send/up"), "bwe-single-stream.png")

    # classroom-50, first 30 s: what one student receives
    sim = load(SCENARIOS / "classroom-50.yaml").run(duration="30s")
    tracks = ["teacher/screen", "teacher/video", "student-1/video", "city-student-0/video", "remote-student-0/video"]
    save(plot.bitrate(sim, "student-0", tracks=tracks), "bandwidth-profiles-classroom.png")

    # a four-person meeting: who holds the floor
    sim = Scenario.from_dict(yaml.safe_load(MEETING)).run()
    save(plot.dominant_speaker(sim), "dominant-speaker.png")

    rmcat_cases()


#: RFC 8867's cases (docs/rmcat.md): file, the bottleneck, who receives the flows through it, a title
RMCAT_CASES = [
    ("5.1-variable-capacity", "sender/up", "receiver", "5.1: one flow, variable capacity"),
    ("5.2-two-flows-variable-capacity", "site:bottleneck/up", "receiver", "5.2: two flows, variable capacity"),
    ("5.3-congested-feedback", "left/up", "right", "5.3: forward flow, with its feedback congested"),
    ("5.3-congested-feedback", "left/down", "left", "5.3: backward flow (through the SFU)"),
    ("5.4-three-flows", "site:bottleneck/up", "receiver", "5.4: three flows, one algorithm"),
    ("5.5-rtt-fairness", "site:bottleneck/up", "receiver", "5.5: five flows, one-way delays 10-150 ms"),
    ("5.6-tcp-long-300", "site:bottleneck/up", "receiver", "5.6: one long TCP flow, 300 ms queue"),
    ("5.6-tcp-long-1000", "site:bottleneck/up", "receiver", "5.6: one long TCP flow, 1000 ms queue"),
    ("5.7-short-tcp", "site:bottleneck/up", "receiver", "5.7: two flows, ten short TCP flows"),
    ("5.8-pause-resume", "site:bottleneck/up", "receiver", "5.8: three flows, one paused 40-60 s"),
]


def rmcat_cases() -> None:
    """One figure a case: rates against capacity, queuing delay, loss (``vroom.plot.rmcat``)."""
    from vroom.metrics.rmcat import LinkMeter, link_metrics

    for name, link, subscriber, title in RMCAT_CASES:
        scenario = load(SCENARIOS / "rmcat" / f"{name}.yaml")
        sim = scenario.build(trace_packets=True)
        meter = LinkMeter(sim, link)
        sim.run(scenario.duration_us / 1e6)
        metrics = link_metrics(sim, link, meter)
        suffix = "-backward" if link == "left/down" else ""
        save(plot.rmcat(sim, metrics, subscriber, title=f"RFC 8867 {title}"), f"rmcat-{name}{suffix}.png")


if __name__ == "__main__":
    main()
