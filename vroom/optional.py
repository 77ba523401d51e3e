"""Optional dependencies: import one, or say which extra brings it.

    pd = require("pandas", purpose="timeline_frame()")

A missing package raises ``MissingDependency`` (a ``ModuleNotFoundError``) naming the
package, what needed it and the ``pip install`` that brings it (``EXTRAS`` knows
each package's extra; ``extra=`` overrides it). A package that is installed but
fails to import keeps its own error.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["MissingDependency", "require", "EXTRAS"]

#: by module: the package's name, its name on PyPI, and vroom's extra (pyproject.toml) that brings it
EXTRAS: dict[str, tuple[str, str, str | None]] = {
    "pandas": ("pandas", "pandas", "plot"),
    "matplotlib": ("matplotlib", "matplotlib", "plot"),
    "av": ("PyAV", "av", "media"),
    "boto3": ("boto3", "boto3", "s3"),
    "botocore": ("botocore", "boto3", "s3"),
    "ipywidgets": ("ipywidgets", "ipywidgets", "notebook"),
    "twilio": ("twilio", "twilio", None),  # in the "test" extra, with much else
    "hypothesis": ("hypothesis", "hypothesis", None),
    "pytest": ("pytest", "pytest", None),
}


class MissingDependency(ModuleNotFoundError):
    """An optional package is not installed; the message says how to install it."""

    def __init__(self, module: str, purpose: str, extra: str | None = None) -> None:
        top = module.partition(".")[0]
        package, pypi, default_extra = EXTRAS.get(top, (top, top, None))
        extra = extra or default_extra
        hint = f'pip install "vroom[{extra}]" (or pip install {pypi})' if extra else f"pip install {pypi}"
        super().__init__(f"{purpose} needs {package}, which is not installed: {hint}", name=module)
        self.package = package
        self.extra = extra


def require(module: str, *, purpose: str, extra: str | None = None) -> Any:
    """``module`` imported, or ``MissingDependency`` saying that ``purpose`` needs it and how to get it."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        top = module.partition(".")[0]
        if exc.name is not None and exc.name.partition(".")[0] != top:
            raise  # the package is there but one of its own dependencies is broken: show that
        raise MissingDependency(module, purpose, extra) from None
