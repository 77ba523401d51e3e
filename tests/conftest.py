import numpy as np
import pytest


@pytest.fixture
def rng():
    return np.random.Generator(np.random.PCG64(12345))


def pytest_collection_finish(session):
    """Start the runs of the notebooks this session tests now, in a thread: their kernels then work while the
    rest of the suite runs (tests/notebook_runs.py); the notebook tests wait for them."""
    names = [item.callspec.params["name"] for item in session.items
             if item.path.name == "test_notebooks.py" and getattr(item, "originalname", "") == "test_runs_top_to_bottom"]
    if not names or session.config.option.collectonly:
        return
    try:
        import nbclient  # noqa: F401
        import nbformat  # noqa: F401
    except ImportError:
        return  # the notebook tests skip themselves
    from .notebook_runs import NOTEBOOK_RUNS, NotebookRuns

    alone = all(item.path.name == "test_notebooks.py" for item in session.items)  # then two kernels at a time
    session.config.stash[NOTEBOOK_RUNS] = NotebookRuns(names, kernels=2 if alone else 1)
