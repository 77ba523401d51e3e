"""Without an optional package, whatever needs it says which package and how to install it."""

import importlib
import sys

import pytest

import vroom
from vroom.optional import MissingDependency, require


def block(monkeypatch, *names):
    """Make ``import name`` fail as if the package were not installed (a None entry in sys.modules)."""
    for name in names:
        monkeypatch.setitem(sys.modules, name, None)


@pytest.fixture(scope="module")
def sim():
    sim = vroom.Simulation(seed=3)
    sim.add_participant("alice", publish=["audio"])
    sim.add_participant("bob", publish=["audio"])
    sim.run("2s")
    return sim


def test_require_names_the_package_the_purpose_and_the_extra(monkeypatch):
    block(monkeypatch, "pandas")
    with pytest.raises(MissingDependency) as err:
        require("pandas", purpose="a table")
    assert str(err.value) == ('a table needs pandas, which is not installed: pip install "vroom[plot]" '
                              '(or pip install pandas)')
    assert isinstance(err.value, ModuleNotFoundError)  # what code catching a missing module expects
    block(monkeypatch, "av")
    with pytest.raises(MissingDependency, match=r'needs PyAV, .*"vroom\[media\]" \(or pip install av\)'):
        require("av", purpose="recording")


def test_a_package_whose_own_dependency_is_missing_is_not_reported_as_missing(tmp_path, monkeypatch):
    (tmp_path / "half_installed.py").write_text("import no_such_module_anywhere\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ModuleNotFoundError) as err:
        require("half_installed", purpose="x")
    assert not isinstance(err.value, MissingDependency) and err.value.name == "no_such_module_anywhere"


@pytest.mark.parametrize("call, purpose", [
    (lambda sim: sim.timeline_frame(), "timeline_frame()"),
    (lambda sim: sim.summary_frame(), "summary_frame()"),
    (lambda sim: sim.trace.frame("participant-connected"), "Trace.frame()"),
])
def test_frames_without_pandas(sim, monkeypatch, call, purpose):
    block(monkeypatch, "pandas")
    with pytest.raises(MissingDependency) as err:
        call(sim)
    assert str(err.value).startswith(f"{purpose} needs pandas") and 'pip install "vroom[plot]"' in str(err.value)


def test_plots_without_matplotlib(sim, monkeypatch):
    from vroom import plot

    block(monkeypatch, "matplotlib", "matplotlib.figure", "matplotlib.transforms")
    with pytest.raises(MissingDependency, match=r'vroom.plot needs matplotlib, .*"vroom\[plot\]"'):
        plot.bitrate(sim, "bob")


def test_widgets_without_ipywidgets(sim, monkeypatch):
    from vroom.widgets import RoomView

    block(monkeypatch, "ipywidgets")
    view = RoomView(sim)
    assert view.tiles()  # the plain-Python part needs nothing
    with pytest.raises(MissingDependency, match=r'RoomView.widget needs ipywidgets, .*"vroom\[notebook\]"'):
        view.widget


def test_s3_without_boto3(monkeypatch, tmp_path):
    from vroom.recording import storage

    block(monkeypatch, "boto3")
    target = storage.parse_s3_url("https://bucket.s3.amazonaws.com/media")
    with pytest.raises(MissingDependency, match=r'S3 storage .* needs boto3, .*"vroom\[s3\]"'):
        storage.upload(target, "key", tmp_path / "f", None)


@pytest.mark.parametrize("module, blocked, message", [
    ("vroom.control.twilio_http", ("twilio", "twilio.http"), "sim.twilio_http_client() needs twilio"),
    ("vroom.testing.strategies", ("hypothesis",), "vroom.testing.strategies needs hypothesis"),
    ("vroom.testing.machine", ("hypothesis",), "vroom.testing.machine needs hypothesis"),
])
def test_modules_built_on_an_optional_package(monkeypatch, module, blocked, message):
    monkeypatch.delitem(sys.modules, module, raising=False)
    block(monkeypatch, *blocked)
    with pytest.raises(MissingDependency) as err:
        importlib.import_module(module)
    assert str(err.value).startswith(message) and f"pip install {blocked[0]}" in str(err.value)


def test_a_recorded_room_without_pyav_says_pyav_is_missing(monkeypatch, tmp_path):
    block(monkeypatch, "av")
    sim = vroom.Simulation(seed=8, media_dir=tmp_path)
    sim.cloud.video.v1.composition_hooks.create(friendly_name="all", audio_sources=["*"])
    room = sim.cloud.video.v1.rooms.create(unique_name="rec", record_participants_on_connect=True)
    sim.add_participant("alice", publish=["audio"], room="rec", leave=1)
    sim.at(1.5, lambda: sim.cloud.video.v1.rooms(room.sid).update(status="completed"))
    sim.run(3)
    [rec] = sim.cloud.recordings.values()
    [comp] = sim.cloud.compositions.values()
    for failed in (rec, comp):
        assert failed.status == "failed"
        assert "needs PyAV, which is not installed" in failed.error and '"vroom[media]"' in failed.error
    assert "no recording" not in comp.error
