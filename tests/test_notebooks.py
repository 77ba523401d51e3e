"""The notebooks run top to bottom, headless, in quick mode (VROOM_QUICK=1), and are committed without outputs."""

import json
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
NAMES = ["01-quickstart", "02-simulcast-under-bandwidth-drop", "03-property-testing", "04-how-an-sfu-works",
         "05-classroom-50"]


def test_the_five_stories_are_there():
    assert sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb")) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_committed_without_outputs(name):
    nb = json.loads((NOTEBOOKS / f"{name}.ipynb").read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert code and all(c["outputs"] == [] and c["execution_count"] is None for c in code)
    assert "parameters" in code[0]["metadata"].get("tags", [])  # the cell that reads VROOM_QUICK


@pytest.mark.parametrize("name", NAMES)
def test_runs_top_to_bottom(name, monkeypatch, tmp_path):
    monkeypatch.setenv("VROOM_QUICK", "1")  # the kernel inherits it: shorter runs, fewer seeds
    monkeypatch.setenv("HYPOTHESIS_STORAGE_DIRECTORY", str(tmp_path / ".hypothesis"))  # not in notebooks/
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(NOTEBOOKS)}})
    client.execute()  # raises CellExecutionError, with the cell and its traceback, if any cell fails
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert errors == []
    shown = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type != "stream"]
    assert shown, "every story shows something: a table, a plot or a widget"
    if name != "03-property-testing":  # the others draw figures, which must arrive as pictures
        assert any("image/png" in o.get("data", {}) for o in shown)
    nbformat.write(nb, tmp_path / f"{name}.ipynb")  # the executed copy, to look at when it fails
