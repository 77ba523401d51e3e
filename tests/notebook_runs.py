"""The notebooks' runs for tests/test_notebooks.py: each notebook top to bottom in a kernel of its own, in quick
mode, started in a thread as soon as pytest has collected them (tests/conftest.py), so that their kernels work
while the rest of the suite runs; the tests wait for the results.

Under pytest-xdist the controller, which runs no tests, runs the notebooks and writes each result to a folder
the workers are given (``NotebookFiles``); a worker's notebook test waits for its file."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
#: the longest in quick mode, started first
SLOWEST_FIRST = ["05-classroom-50", "02-simulcast-under-bandwidth-drop", "06-loss-recovery", "03-property-testing"]
#: where the session keeps its ``NotebookRuns`` or ``NotebookFiles``
NOTEBOOK_RUNS = pytest.StashKey()
#: pytest-xdist's controller: the folder its runs write to, for the workers
NOTEBOOK_FOLDER = pytest.StashKey()
#: pytest-xdist's controller: its ``NotebookRuns``
CONTROLLER_RUNS = pytest.StashKey()
#: how long a worker waits for a notebook the controller runs (its cells time out at 300 s each)
WAIT_S = 1800


class NotebookRuns:
    """Runs ``names`` in a thread, ``kernels`` at a time, with the environment as it is now (not as a test
    that happens to be running may have changed it); ``result(name)`` waits for all: the executed notebook, or
    the error its run raised (CellExecutionError names the cell and carries its traceback). With ``out_dir``
    each result is also written there as it comes (``NotebookFiles`` reads them)."""

    def __init__(self, names: list[str], kernels: int = 1, out_dir: Path | None = None) -> None:
        self.names = [name for name in dict.fromkeys(SLOWEST_FIRST + sorted(names)) if name in names]
        self.kernels = kernels
        self.out_dir = out_dir
        self.env = dict(os.environ, VROOM_QUICK="1")  # the parameters cell reads it: shorter runs, fewer seeds
        self._results: dict[str, object] = {}
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run_all()), name="notebooks",
                                        daemon=True)  # a kernel ends with its parent (ipykernel polls it)
        self._thread.start()

    def result(self, name: str) -> object:
        self._thread.join()
        return self._results[name]

    def join(self) -> None:
        self._thread.join()

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
            except Exception as error:  # noqa: BLE001 -- reported by the notebook's own test
                self._results[name] = error
            finally:
                shutil.rmtree(folder, ignore_errors=True)
            if self.out_dir is not None:
                self._write(name)

    def _write(self, name: str) -> None:
        import nbformat

        result = self._results[name]
        if isinstance(result, Exception):
            (self.out_dir / f"{name}.error").write_text(f"{type(result).__name__}: {result}")
        else:
            nbformat.write(result, self.out_dir / f"{name}.ipynb")
        (self.out_dir / f"{name}.done").touch()  # last: the reader never sees half a file


class NotebookError(Exception):
    """A notebook run in another process failed: its error's text."""


class NotebookFiles:
    """The results ``NotebookRuns`` writes to ``folder`` in another process; ``result(name)`` waits for one."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    def result(self, name: str) -> object:
        import nbformat

        deadline = time.monotonic() + WAIT_S
        while not (self.folder / f"{name}.done").exists():
            if time.monotonic() > deadline:
                return NotebookError(f"{name} did not finish within {WAIT_S} s")
            time.sleep(0.5)
        error = self.folder / f"{name}.error"
        if error.exists():
            return NotebookError(error.read_text())
        return nbformat.read(self.folder / f"{name}.ipynb", as_version=4)
