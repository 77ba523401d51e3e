"""Draw the figures of the media-intelligence pages (docs/img/*.png) from the shipped scenarios.

    pip install ".[plot]" && python docs/make_plots.py

Every figure is 900 × 450 pixels (vroom.plot's default Figure). The runs are deterministic, so the
figures change only when the simulator does. About a minute in all.
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


if __name__ == "__main__":
    main()
