"""The notebooks run top to bottom, headless, in quick mode (VROOM_QUICK=1), and are committed without outputs."""

import asyncio
import json
import os
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
NAMES = ["01-quickstart", "02-simulcast-under-bandwidth-drop", "03-property-testing", "04-how-an-sfu-works",
         "05-classroom-50"]
#: the longest in quick mode, started first so that the two kernels finish at about the same time
SLOWEST_FIRST = ["05-classroom-50", "02-simulcast-under-bandwidth-drop", "03-property-testing"]


def test_the_five_stories_are_there():
    assert sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb")) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_committed_without_outputs(name):
    nb = json.loads((NOTEBOOKS / f"{name}.ipynb").read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert code and all(c["outputs"] == [] and c["execution_count"] is None for c in code)
    assert "parameters" in code[0]["metadata"].get("tags", [])  # the cell that reads VROOM_QUICK


@pytest.fixture(scope="module")
def executed(request, tmp_path_factory):
    """Every notebook this session tests, run top to bottom in a kernel of its own, two kernels at a time (each
    is a process: on two cores two run at once), the longest first: name -> the executed notebook, or the error
    its run raised."""

    async def run(name, slots):
        # the kernel gets VROOM_QUICK (shorter runs, fewer seeds) and a hypothesis folder outside notebooks/
        env = dict(os.environ, VROOM_QUICK="1",
                   HYPOTHESIS_STORAGE_DIRECTORY=str(tmp_path_factory.mktemp(name) / ".hypothesis"))
        nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
        client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                         resources={"metadata": {"path": str(NOTEBOOKS)}})
        async with slots:
            try:
                return name, await client.async_execute(env=env)
            except Exception as error:  # CellExecutionError names the cell and carries its traceback
                return name, error

    async def run_all():
        slots = asyncio.Semaphore(2)
        wanted = {item.callspec.params["name"] for item in request.session.items
                  if item.module is request.module and item.originalname == "test_runs_top_to_bottom"}
        order = [name for name in dict.fromkeys(SLOWEST_FIRST + NAMES) if name in wanted]
        return dict(await asyncio.gather(*(run(name, slots) for name in order)))

    return asyncio.run(run_all())


@pytest.mark.parametrize("name", NAMES)
def test_runs_top_to_bottom(name, executed, tmp_path):
    nb = executed[name]
    if isinstance(nb, Exception):
        raise nb  # a cell failed: CellExecutionError, with the cell and its traceback
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert errors == []
    shown = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type != "stream"]
    assert shown, "every story shows something: a table, a plot or a widget"
    if name != "03-property-testing":  # the others draw figures, which must arrive as pictures
        assert any("image/png" in o.get("data", {}) for o in shown)
    nbformat.write(nb, tmp_path / f"{name}.ipynb")  # the executed copy, to look at when it fails
