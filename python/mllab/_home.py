"""Finding the lab home, and the layout of files inside it."""

from __future__ import annotations

import os
from typing import Optional

from ._errors import MLLabError

__all__ = ["HOME_ENV", "HOME_DIR_NAME", "find_home", "registration_path", "launcher_path",
           "logs_dir", "backend_log_path", "datasets_cache_dir"]

#: environment variable naming the lab home
HOME_ENV = "MLLAB_HOME"
#: the folder name looked for when walking up from the working directory
HOME_DIR_NAME = ".mllab"


def find_home(home: Optional[str] = None, cwd: Optional[str] = None) -> str:
    """Returns the absolute path of the lab home.

    In order: ``home`` when given, else the environment variable ``MLLAB_HOME`` (when
    set and not empty), else the first ``.mllab`` folder found walking up from ``cwd``
    (default: the current working directory). Raises MLLabError when none is found
    or the chosen path is not a folder.
    """
    base = os.path.abspath(cwd if cwd is not None else os.getcwd())
    if home is not None or os.environ.get(HOME_ENV):
        source = "the home argument" if home is not None else f"${HOME_ENV}"
        chosen = home if home is not None else os.environ[HOME_ENV]
        if not isinstance(chosen, (str, os.PathLike)) or not os.fspath(chosen):
            raise MLLabError(f"The lab home given by {source} is empty: pass the path of a lab home folder.",
                             code="no_home")
        path = os.path.abspath(os.path.join(base, os.path.expanduser(os.fspath(chosen))))
        if not os.path.isdir(path):
            raise MLLabError(
                f"The lab home {path} (from {source}) is not a folder: check the path, or open the folder "
                f"in VS Code with ML Lab or run `mllab serve --home {path}` to create it.",
                code="no_home",
            )
        return path
    current = base
    while True:
        candidate = os.path.join(current, HOME_DIR_NAME)
        if os.path.isdir(candidate):
            return candidate
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    raise MLLabError(
        f"No ML Lab lab home found (no {HOME_DIR_NAME} folder in {base} or above it): open the folder in "
        f"VS Code with ML Lab, run `mllab serve` there, or set {HOME_ENV}.",
        code="no_home",
    )


def registration_path(home: str) -> str:
    """``<home>/run/backend.json``: written by the backend that owns the lab home."""
    return os.path.join(home, "run", "backend.json")


def launcher_path(home: str) -> str:
    """``<home>/run/launcher.json``: how to start a backend (node and script paths)."""
    return os.path.join(home, "run", "launcher.json")


def logs_dir(home: str) -> str:
    """``<home>/logs``."""
    return os.path.join(home, "logs")


def backend_log_path(home: str) -> str:
    """``<home>/logs/backend.log``: the backend's own log."""
    return os.path.join(home, "logs", "backend.log")


def datasets_cache_dir(home: str) -> str:
    """``<home>/cache/datasets``: unpacked dataset packages, one folder per content hash."""
    return os.path.join(home, "cache", "datasets")
