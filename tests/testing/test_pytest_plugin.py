"""The pytest plugin: seeds, fixtures, and what a failing test leaves behind."""

import subprocess
import sys

from vroom.testing.pytest_plugin import seed_for

pytest_plugins = ["pytester"]


def test_importing_the_plugin_is_cheap():
    code = "import sys, vroom.testing.pytest_plugin; print('simpy' in sys.modules, 'numpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_a_failing_test_reports_its_seed(pytester):
    pytester.makepyfile(test_room="""
        def test_room(vroom_sim):
            vroom_sim.add_participant("alice", publish=["audio"])
            vroom_sim.run("1s")
            assert vroom_sim.seed == -1
    """)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    seed = seed_for("test_room.py::test_room")
    result.stdout.fnmatch_lines([f"*vroom seed: {seed}*--vroom-seed {seed}*"])


def test_the_seed_option_seeds_every_fixture(pytester):
    pytester.makepyfile(test_seed="""
        def test_seed(vroom_sim, vroom_seed):
            assert vroom_sim.seed == vroom_seed == 7
    """)
    pytester.runpytest_subprocess("--vroom-seed", "7").assert_outcomes(passed=1)


def test_a_failing_scenario_is_written_for_replay(pytester):
    pytester.makepyfile(test_scn="""
        def test_scn(vroom_scenario):
            sim = vroom_scenario({"name": "t", "duration": "2s", "participants": [
                {"identity": "a", "network": {"up": {"rate": "1Mbps"}, "down": {"rate": "1Mbps"}}},
                {"identity": "b", "network": {"up": {"rate": "1Mbps", "loss": "5%"}, "down": {"rate": "1Mbps"}}}]})
            assert sim.summary()["participants"]["a"]["loss"] == 0
    """)
    result = pytester.runpytest_subprocess("--vroom-failures", "fails")
    result.assert_outcomes(failed=1)
    written = sorted((pytester.path / "fails").glob("*.yaml"))
    assert len(written) == 1
    result.stdout.fnmatch_lines([f"*replay it with: vroom replay {written[0].relative_to(pytester.path)}*"])
    assert "seed:" in written[0].read_text()


def test_the_twilio_client_fixture(pytester):
    pytester.makepyfile(test_api="""
        def test_api(vroom_twilio_client, vroom_cloud):
            room = vroom_twilio_client.video.v1.rooms.create(unique_name="x")
            assert room.account_sid == vroom_cloud.account_sid
    """)
    pytester.runpytest_subprocess().assert_outcomes(passed=1)


def test_a_failing_python_built_simulation_is_written_for_replay(pytester):
    pytester.makepyfile(test_py="""
        def test_py(vroom_sim):
            vroom_sim.add_participant("a", network={"up": {"rate": "1Mbps", "loss": "5%", "delay": "20ms"},
                                                    "down": {"rate": "2Mbps", "queue": {"packets": 20}}},
                                      publish=["audio", {"video": {"name": "cam", "bitrate": "300kbps", "fps": 12}}],
                                      leave="3s")
            vroom_sim.add_participant("b", join="1s")
            vroom_sim.run("4s")
            assert False
    """)
    result = pytester.runpytest_subprocess("--vroom-failures", "fails")
    result.assert_outcomes(failed=1)
    written = sorted((pytester.path / "fails").glob("*.yaml"))
    assert len(written) == 1
    from vroom.scenario import Scenario

    sc = Scenario.load(written[0])
    assert [p.identity for p in sc.participants] == ["a", "b"]
    a = sc.participants[0]
    assert a.network.up.rate_bps == 1_000_000 and a.network.up.loss.mean_loss == 0.05
    assert a.network.down.queue.packets == 20 and a.leave == 3_000_000
    assert sc.participants[1].join == 1_000_000 and sc.duration_us == 4_000_000
    from vroom.media.tracks import parse_publish

    cam = parse_publish(a.publish)[1]
    assert (cam.name, cam.spec.bitrate_bps, cam.spec.fps) == ("cam", 300_000, 12)
