"""The notebooks run top to bottom, headless, in quick mode (VROOM_QUICK=1), and are committed without outputs."""

import json

import pytest

from .notebook_runs import NOTEBOOK_RUNS, NOTEBOOKS, NotebookRuns

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NAMES = ["01-quickstart", "02-simulcast-under-bandwidth-drop", "03-property-testing", "04-how-an-sfu-works",
         "05-classroom-50", "06-loss-recovery"]


def test_the_six_stories_are_there():
    assert sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb")) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_committed_without_outputs(name):
    nb = json.loads((NOTEBOOKS / f"{name}.ipynb").read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert code and all(c["outputs"] == [] and c["execution_count"] is None for c in code)
    assert "parameters" in code[0]["metadata"].get("tags", [])  # the cell that reads VROOM_QUICK


@pytest.fixture(scope="module")
def executed(request):
    """The runs tests/conftest.py started once the session was collected (each notebook top to bottom in a
    kernel of its own, in quick mode, with its own hypothesis folder): ``result(name)`` is the executed
    notebook, or the error its run raised."""
    runs = request.config.stash.get(NOTEBOOK_RUNS, None)
    if runs is None:  # a session whose collection did not start them (a plugin's own collection, say)
        runs = NotebookRuns([item.callspec.params["name"] for item in request.session.items
                             if item.module is request.module and item.originalname == "test_runs_top_to_bottom"],
                            kernels=2)
    return runs


@pytest.mark.parametrize("name", NAMES)
def test_runs_top_to_bottom(name, executed, tmp_path):
    nb = executed.result(name)
    if isinstance(nb, Exception):
        raise nb  # a cell failed: CellExecutionError, with the cell and its traceback
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert errors == []
    shown = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type != "stream"]
    assert shown, "every story shows something: a table, a plot or a widget"
    if name != "03-property-testing":  # the others draw figures, which must arrive as pictures
        assert any("image/png" in o.get("data", {}) for o in shown)
    nbformat.write(nb, tmp_path / f"{name}.ipynb")  # the executed copy, to look at when it fails
