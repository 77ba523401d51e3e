"""The device tests (twilio-products.md §3): volumes, the low-audio-level rule worked out by hand, device
faults as the browser's DOMExceptions, reports and timing."""

import pytest

from vroom import diagnostics
from vroom.diagnostics import AudioInputDevice, AudioOutputDevice, VideoInputDevice
from vroom.sim import Simulation


def _watch(sim, test):
    seen = []
    for name in ("volume", "warning", "warning-cleared", "error", "end"):
        test.on(name, lambda *args, name=name: seen.append((name, sim.now_us, args)))
    return seen


def test_a_silent_microphone_warns_once_three_seconds_of_readings_exist():
    sim = Simulation(seed=1)
    test = diagnostics.test_audio_input_device(sim, device=AudioInputDevice(fault="silent"), duration=5_000)
    seen = _watch(sim, test)
    sim.run("10s")
    # readings every 100 ms from 100 ms; the rule needs a reading older than the last 3 s: at 3100 ms the
    # window starts at the first reading (100 ms, exactly 3000 ms old), at 3200 ms it starts at the second
    warnings = [(t, args) for name, t, args in seen if name == "warning"]
    assert warnings == [(3_200_000, ("low-audio-level",))]
    end = [(t, args[0]) for name, t, args in seen if name == "end"]
    # duration is checked after each reading: 5000 > 5000 is false, 5100 > 5000 stops: 51 readings
    assert len(end) == 1 and end[0][0] == 5_100_000
    report = end[0][1]
    assert report["values"] == [0.0] * 51 and report["testName"] == "audio-input-test"
    assert report["testTiming"]["duration"] == 5_100 and report["deviceId"] == "default"


def test_a_working_microphone_does_not_warn_and_stop_ends_it_once():
    sim = Simulation(seed=1)
    test = diagnostics.test_audio_input_device(sim, device=AudioInputDevice(level=40))
    seen = _watch(sim, test)
    sim.at("6.05s", test.stop)
    sim.at("7s", test.stop)  # already stopped: nothing more
    sim.run("8s")
    assert not any(name == "warning" for name, _, _ in seen)
    volumes = [args[0] for name, _, args in seen if name == "volume"]
    assert len(volumes) == 60 and all(20 <= v <= 60 for v in volumes)  # level × U(0.5, 1.5)
    assert [name for name, _, _ in seen].count("end") == 1


@pytest.mark.parametrize("fault, dom", [("not-found", "NotFoundError"), ("not-allowed", "NotAllowedError"),
                                        ("not-readable", "NotReadableError")])
def test_device_faults_are_errors_with_the_browsers_exception_and_end_the_test(fault, dom):
    sim = Simulation(seed=1)
    tests = [diagnostics.test_audio_input_device(sim, device=AudioInputDevice(fault=fault)),
             diagnostics.test_video_input_device(sim, device=VideoInputDevice(fault=fault))]
    if fault != "not-readable":
        tests.append(diagnostics.test_audio_output_device(sim, device=AudioOutputDevice(fault=fault)))
    seens = [_watch(sim, t) for t in tests]
    sim.run("1s")
    for seen in seens:
        assert [name for name, _, _ in seen] == ["error", "end"]
        error, report = seen[0][2][0], seen[1][2][0]
        assert error.dom_error == dom and error.name == "diagnostic"
        assert report["errors"] == [error] and not report.get("testTiming")  # it never started


def test_invalid_options_are_an_invalid_options_error_naming_the_option():
    sim = Simulation(seed=1)
    test = diagnostics.test_audio_input_device(sim, volume_event_interval_ms=-1)
    seen = _watch(sim, test)
    sim.run("1s")
    error = seen[0][2][0]
    assert seen[0][0] == "error" and error.name == "invalid-options" and "volume_event_interval_ms" in str(error)
    with pytest.raises(ValueError, match="fault"):
        AudioInputDevice(fault="broken")


def test_the_camera_gives_the_asked_resolution_up_to_its_own():
    sim = Simulation(seed=1)
    small = diagnostics.test_video_input_device(sim, resolution={"width": 640, "height": 480}, duration=2_000)
    big = diagnostics.test_video_input_device(sim, device=VideoInputDevice(width=1280, height=720),
                                              resolution={"width": 1920, "height": 1080}, duration=2_000)
    sim.run("3s")
    assert small.report["resolution"] == {"width": 640, "height": 480}
    assert big.report["resolution"] == {"width": 1280, "height": 720}
    assert small.report["testTiming"]["duration"] == 2_000 and small.report["testName"] == "video-input-test"


def test_the_speaker_test_plays_even_on_a_muted_speaker_and_ends_with_the_sound_when_not_looping():
    sim = Simulation(seed=1)
    muted = diagnostics.test_audio_output_device(sim, device=AudioOutputDevice(fault="silent"), do_loop=False)
    sim.run("10s")
    report = muted.report
    # the SDK measures what it plays: a muted speaker still reads the sound (only the user can tell)
    assert report["errors"] == [] and min(report["values"]) > 0
    # the model sound lasts 3000 ms; readings every 100 ms until one at or after its end
    assert len(report["values"]) == 30 and report["testTiming"]["duration"] == 3_000
    assert report["testURI"].endswith("incoming.mp3") and report["testName"] == "audio-output-test"
