"""Python processes started under a given PYTHONHASHSEED, for the determinism checks (they run while the
test goes on; ``printed`` waits for what one prints)."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def start(code: str, hash_seed: int) -> subprocess.Popen:
    """``python -c code`` from the repository root with PYTHONHASHSEED set, started, not waited for."""
    env = dict(os.environ, PYTHONHASHSEED=str(hash_seed))
    return subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def printed(process: subprocess.Popen) -> str:
    """What the process printed, once it has exited cleanly."""
    out, err = process.communicate()
    assert process.returncode == 0, err
    return out.strip()
