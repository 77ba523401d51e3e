"""The pytest plugin: seeds, fixtures, and what a failing test leaves behind."""

import subprocess
import sys

import vroom.scenario  # noqa: F401  imported here, not first inside a pytester test: pytester unloads what a
# test imported, and PyYAML's C loader keeps the node classes of its first import (a second import of yaml
# then reads nothing: "could not determine a constructor for the tag None")
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
    from vroom.testing.pytest_plugin import read_header

    header = read_header(written[0].read_text())  # replay --test reruns this test as written: nothing to pin
    assert (header["test"], header["call"]) == ("test_py.py::test_py", "sim") and "minimal" not in header
    assert [p.identity for p in sc.participants] == ["a", "b"]
    a = sc.participants[0]
    assert a.network.up.rate_bps == 1_000_000 and a.network.up.loss.mean_loss == 0.05
    assert a.network.down.queue.packets == 20 and a.leave == 3_000_000
    assert sc.participants[1].join == 1_000_000 and sc.duration_us == 4_000_000
    from vroom.media.tracks import parse_publish

    cam = parse_publish(a.publish)[1]
    assert (cam.name, cam.spec.bitrate_bps, cam.spec.fps) == ("cam", 300_000, 12)


TINY = '''
        def tiny(duration):
            return {"name": "tiny", "duration": duration, "participants": [
                {"identity": "a", "publish": ["audio"], "network": {"up": {"rate": "1Mbps"}, "down": {"rate": "1Mbps"}}}]}
'''  # indented like the test files below (makepyfile dedents the whole text)


def test_the_factories_work_under_given_and_per_test_fixtures_say_what_to_use(pytester):
    pytester.makepyfile(test_given=TINY + """
        from hypothesis import HealthCheck, given, settings, strategies as st

        SEEDS = []

        @settings(max_examples=5, database=None, deadline=None)
        @given(st.integers(1, 5))
        def test_runs(vroom_scenario, vroom_new_sim, n):
            sim = vroom_scenario(tiny(f"{n * 100}ms"))
            assert sim.now == n / 10
            fresh = vroom_new_sim()
            assert fresh.now == 0 and fresh.seed == sim.seed  # a new Simulation each example, the test's seed
            SEEDS.append(sim.seed)

        def test_after():
            assert len(set(SEEDS)) == 1 and len(SEEDS) >= 1

        @settings(max_examples=3, database=None)
        @given(st.integers(0, 3))
        def test_shared(vroom_sim, n):
            pass

        @settings(max_examples=3, database=None)
        @given(st.integers(0, 3))
        def test_shared_client(vroom_twilio_client, n):
            pass

        @settings(max_examples=3, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
        @given(st.integers(0, 3))
        def test_shared_on_purpose(vroom_sim, n):
            pass
    """)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    # the factories pass hypothesis's health check; the per-test fixtures stop with a message, unless suppressed
    result.assert_outcomes(passed=3, errors=2)
    result.stdout.fnmatch_lines(["*vroom_sim is one object per test*call vroom_new_sim()*"])
    result.stdout.fnmatch_lines(["*vroom_twilio_client is one object per test*"])


def test_only_the_minimal_failing_example_is_written_and_marked(pytester):
    # fails for every duration of 350 ms or more: hypothesis shrinks the integer to exactly 7
    pytester.makepyfile(test_prop=TINY + """
        from hypothesis import given, settings, strategies as st

        @settings(max_examples=30, database=None, deadline=None)
        @given(st.integers(1, 40))
        def test_short(vroom_scenario, n):
            sim = vroom_scenario(tiny(f"{n * 50}ms"))
            assert sim.now < 0.35

        @settings(max_examples=30, database=None, deadline=None)
        @given(st.integers(1, 40))
        def test_fails_before_its_scenario(vroom_scenario, n):
            assert n < 5  # the failing examples run no scenario: the passing ones' must not be written
            vroom_scenario(tiny("100ms"))
    """)
    (pytester.path / "fails").mkdir()
    (pytester.path / "fails" / "test_prop_py__test_short-0.yaml").write_text("a stale file\\n")
    result = pytester.runpytest_subprocess("--vroom-failures", "fails", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=2)
    written = sorted((pytester.path / "fails").glob("*.yaml"))
    assert [p.name for p in written] == ["test_prop_py__test_short-minimal-0.yaml"]
    result.stdout.fnmatch_lines(["*the failing example ran no vroom scenario: nothing written*"])
    text = written[0].read_text()
    assert "# minimal: hypothesis's shrunk failing example" in text
    import yaml

    assert yaml.safe_load(text)["duration"] == "350ms"
    result.stdout.fnmatch_lines(["*hypothesis's minimal failing example*",
                                 f"*vroom replay fails/{written[0].name} --test (this test)*"])


def test_replay_runs_the_users_test_with_the_scenario_pinned(pytester, capfd, monkeypatch):
    from vroom.cli import main

    pytester.makepyfile(test_rep="""
        def test_quiet_room(vroom_scenario):
            sim = vroom_scenario({"name": "room", "duration": "1s", "participants": [
                {"identity": "a", "publish": ["audio"], "network": {"up": {"rate": "1Mbps"}, "down": {"rate": "1Mbps"}}},
                {"identity": "b", "publish": [], "network": {"up": {"rate": "1Mbps"}, "down": {"rate": "1Mbps"}}}]})
            assert sim.summary()["participants"]["b"]["received"]["packets"] == 0, "b hears a"
    """)
    pytester.runpytest_subprocess("--vroom-failures", "fails", "-p", "no:cacheprovider").assert_outcomes(failed=1)
    [path] = (pytester.path / "fails").glob("*.yaml")
    monkeypatch.chdir(pytester.path)
    capfd.readouterr()
    replay = ["replay", str(path.relative_to(pytester.path)), "--test"]
    written = path.read_text()
    assert main(replay) == 1
    assert path.read_text() == written and not (pytester.path / ".vroom-failures").exists()  # nothing rewritten
    out = capfd.readouterr().out
    assert "running your test test_rep.py::test_quiet_room with seed" in out
    assert "b hears a" in out  # the user's own assertion ran
    assert "test_rep.py::test_quiet_room: fails on" in out
    # the scenario is pinned: with a silenced in the file, the same test passes
    path.write_text(path.read_text().replace("- audio", "[]").replace("publish:\n  ", "publish: "))
    import yaml

    assert yaml.safe_load(path.read_text())["participants"][0]["publish"] == []
    assert main(replay) == 0
    assert "test_rep.py::test_quiet_room: passes on" in capfd.readouterr().out


def test_a_scenario_file_is_read_as_vroom_run_reads_it(pytester):
    """vroom_scenario("file.yaml") takes a file under the file rules (a rate needs its unit) and names it
    in the error; the same document as a Python dict may use plain bit/s."""
    pytester.makefile(".yaml", plain="name: p\nduration: 1s\nparticipants:\n"
                                     "  - {identity: a, publish: [audio], network: {up: {rate: 1000000}, "
                                     "down: {rate: 1Mbps}}}\n")
    pytester.makepyfile(test_files="""
        import pytest, yaml
        from vroom.errors import ScenarioError

        def test_file(vroom_scenario):
            with pytest.raises(ScenarioError, match=r"plain.yaml: participants\\[0\\].network.up.rate: .*add a unit"):
                vroom_scenario("plain.yaml")

        def test_dict(vroom_scenario):
            with open("plain.yaml") as f:
                sim = vroom_scenario(yaml.safe_load(f))
            assert sim.link("a/up").config.rate_bps == 1_000_000
    """)
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=2)
