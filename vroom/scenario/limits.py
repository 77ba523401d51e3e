"""What a scenario may hold (docs/scenarios.md, "Limits"): far above any real scenario, low enough that loading,
validating and building stay within seconds and a few hundred MB."""

__all__ = ["MAX_PARTICIPANTS", "MAX_SCENARIO_PARTICIPANTS", "MAX_EVENTS", "MAX_TRACK_BPS", "MAX_TRACKS",
           "MAX_SCENARIO_TRACKS", "MAX_SEED", "MAX_NAME", "MAX_PARAMS_CHARS"]

#: Twilio group rooms hold at most 50 participants (reference/twilio.md §5).
MAX_PARTICIPANTS = 50

#: Most participants in one scenario, after ``count``: four full group rooms. The simulation's cost grows
#: faster than the number of rooms (a 2 s run of 200 one-person rooms takes seconds, of 1000 minutes).
MAX_SCENARIO_PARTICIPANTS = 200
#: Most events in one scenario, after a ``rest`` event's ``count`` (Twilio takes 20 REST writes a
#: second: 5,000 requests keep an account throttled for four minutes).
MAX_EVENTS = 5_000
#: Fastest a published track may send (its bitrate; a data track's size × rate): above any WebRTC
#: encoder (4K video is about 20 Mbps); a faster one only makes packets its uplink drops.
MAX_TRACK_BPS = 50_000_000
#: Most tracks one participant publishes (a microphone, cameras, a screen, data: a handful in practice).
MAX_TRACKS = 20
#: Most tracks published in one scenario, after ``count`` (Twilio's room limit is 170 publications).
MAX_SCENARIO_TRACKS = 1_000
#: Largest seed: a 63-bit whole number.
MAX_SEED = 2**63 - 1
#: Twilio's longest room name and identity (reference/twilio.md §5).
MAX_NAME = 128
#: Most text in one request's params (each of a rest event's ``count`` requests gets its own copy).
MAX_PARAMS_CHARS = 16_384
