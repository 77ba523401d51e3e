import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest


@pytest.fixture
def rng():
    return np.random.Generator(np.random.PCG64(12345))


def _notebook_names(ids) -> list[str]:
    """The notebooks whose run test is among these test ids (``tests/test_notebooks.py::...[name]``)."""
    prefix = "test_notebooks.py::test_runs_top_to_bottom["
    return [i.split(prefix, 1)[1][:-1] for i in ids if prefix in i]


def _notebooks_can_run() -> bool:
    try:
        import nbclient  # noqa: F401
        import nbformat  # noqa: F401
    except ImportError:
        return False  # the notebook tests skip themselves
    return True


def pytest_collection_finish(session):
    """Start the runs of the notebooks this session tests now, in a thread: their kernels then work while the
    rest of the suite runs (tests/notebook_runs.py); the notebook tests wait for them. Under pytest-xdist a
    worker reads the results the controller writes instead (``pytest_configure_node``)."""
    folder = getattr(session.config, "workerinput", {}).get("vroom_notebooks")
    if folder is not None:
        from .notebook_runs import NOTEBOOK_RUNS, NotebookFiles

        session.config.stash[NOTEBOOK_RUNS] = NotebookFiles(folder)
        return
    names = _notebook_names(item.nodeid for item in session.items)
    if not names or session.config.option.collectonly or not _notebooks_can_run():
        return
    from .notebook_runs import NOTEBOOK_RUNS, NotebookRuns

    alone = all(item.path.name == "test_notebooks.py" for item in session.items)  # then two kernels at a time
    session.config.stash[NOTEBOOK_RUNS] = NotebookRuns(names, kernels=2 if alone else 1)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
    """pytest-xdist's controller, for each worker it starts: the folder where the notebooks' results go."""
    from .notebook_runs import NOTEBOOK_FOLDER

    config = node.config
    if NOTEBOOK_FOLDER not in config.stash:
        config.stash[NOTEBOOK_FOLDER] = tempfile.mkdtemp(prefix="vroom-notebooks-")
    node.workerinput["vroom_notebooks"] = config.stash[NOTEBOOK_FOLDER]


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node, ids):
    """pytest-xdist's controller, once a worker has collected: it runs the selected notebooks, once, in a
    thread of its own process (which runs no tests), and writes their results for the workers."""
    from .notebook_runs import CONTROLLER_RUNS, NotebookRuns

    config = node.config
    if CONTROLLER_RUNS in config.stash or config.option.collectonly:
        return
    names = _notebook_names(ids)
    if names and _notebooks_can_run():
        config.stash[CONTROLLER_RUNS] = NotebookRuns(names, kernels=1, out_dir=Path(node.workerinput["vroom_notebooks"]))


def pytest_unconfigure(config):
    """pytest-xdist's controller: the notebooks' folder goes once the session is over (their runs first)."""
    from .notebook_runs import CONTROLLER_RUNS, NOTEBOOK_FOLDER

    runs = config.stash.get(CONTROLLER_RUNS, None)
    if runs is not None:
        runs.join()
    folder = config.stash.get(NOTEBOOK_FOLDER, None)
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)
