"""The notebooks' runs for tests/test_notebooks.py: each notebook top to bottom in a kernel of its own, in quick
mode, started in a thread as soon as pytest has collected them (tests/conftest.py), so that their kernels work on
the core the rest of the suite leaves idle; the tests wait for the results."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import threading
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
#: the longest in quick mode, started first
SLOWEST_FIRST = ["05-classroom-50", "02-simulcast-under-bandwidth-drop", "03-property-testing"]
#: where the session keeps its ``NotebookRuns``
NOTEBOOK_RUNS = pytest.StashKey()


class NotebookRuns:
    """Runs ``names`` in a thread, ``kernels`` at a time, with the environment as it is now (not as a test
    that happens to be running may have changed it); ``results()`` waits: name -> the executed notebook, or the
    error its run raised (CellExecutionError names the cell and carries its traceback)."""

    def __init__(self, names: list[str], kernels: int = 1) -> None:
        self.names = [name for name in dict.fromkeys(SLOWEST_FIRST + sorted(names)) if name in names]
        self.kernels = kernels
        self.env = dict(os.environ, VROOM_QUICK="1")  # the parameters cell reads it: shorter runs, fewer seeds
        self._results: dict[str, object] = {}
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run_all()), name="notebooks",
                                        daemon=True)  # a kernel ends with its parent (ipykernel polls it)
        self._thread.start()

    def results(self) -> dict[str, object]:
        self._thread.join()
        return self._results

    async def _run_all(self) -> None:
        slots = asyncio.Semaphore(self.kernels)
        await asyncio.gather(*(self._run(name, slots) for name in self.names))

    async def _run(self, name: str, slots: asyncio.Semaphore) -> None:
        import nbclient
        import nbformat

        async with slots:
            folder = tempfile.mkdtemp(prefix=f"{name}-")
            env = dict(self.env, HYPOTHESIS_STORAGE_DIRECTORY=str(Path(folder) / ".hypothesis"))  # not in notebooks/
            try:
                nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
                client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                                 resources={"metadata": {"path": str(NOTEBOOKS)}})
                self._results[name] = await client.async_execute(env=env)
            except Exception as error:  # reported by the notebook's own test
                self._results[name] = error
            finally:
                shutil.rmtree(folder, ignore_errors=True)
