"""``mllab.sweep(...)``: starts a parameter sweep from a notebook or a script and follows it.

The sweep runs in the lab's backend (its controller starts each trial as a run), so it goes on when
the notebook's kernel stops; ``mllab.sweep(..., wait=False)`` returns at once.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any, Dict, Mapping, Optional, Union
from urllib.parse import quote

from . import _backend
from ._errors import MLLabError
from ._home import find_home

#: how often ``wait`` asks how the sweep goes
POLL_S = 0.5


def _query(project: Optional[str]) -> str:
    return f"?project={quote(project, safe='')}" if project else ""


def _progress(s: Mapping[str, Any]) -> str:
    c = s["counts"]
    best = s.get("best")
    line = (f"{s['name']}: {s['state']}, {c['done'] + c['pruned'] + c['failed']}/{c['total']} ended ({c['done']} done, "
            f"{c['running']} running, {c['pruned']} pruned, {c['failed']} failed)")
    if best:
        line += f"; best {s['definition']['metric']['name']} = {best['value']:.6g} with {best['params']}"
    return line


def sweep(definition: Union[str, "os.PathLike[str]", Mapping[str, Any]], *, trials: Optional[int] = None,
          parallel: Optional[int] = None, wait: bool = True, project: Optional[str] = None,
          home: Optional[str] = None, dir: Optional[str] = None, quiet: bool = False) -> Dict[str, Any]:
    """Starts a sweep and, with ``wait`` (the default), follows it to its end.

    ``definition`` is the path of a sweep.yaml (docs/SWEEPS.md), or the same fields as a dict::

        best = mllab.sweep({
            "script": "train.py", "method": "tpe", "trials": 30, "parallel": 2,
            "metric": {"name": "val_loss", "goal": "minimize"},
            "params": {"lr": {"type": "float", "min": 1e-4, "max": 0.1, "log": True}},
        })["best"]

    A dict's relative paths are read from ``dir`` (default: the working directory). Returns the
    sweep as ``GET /api/sweeps/:id`` answers it (trials, best, history, importances). A sweep that
    failed or was stopped raises MLLabError with its message.
    """
    if isinstance(definition, Mapping):
        text = json.dumps(dict(definition))  # YAML reads JSON
        folder = os.path.abspath(dir or os.getcwd())
    else:
        path = os.path.abspath(os.fspath(definition))
        try:
            with open(path, "r", encoding="utf-8") as f:
                text = f.read()
        except OSError as e:
            raise MLLabError(f"Cannot read the sweep file {path}: {e.strerror or e}. Give the path of a sweep.yaml.",
                             code="no_file") from e
        folder = os.path.dirname(path)
    body: Dict[str, Any] = {"yaml": text, "dir": folder}
    if trials is not None:
        body["trials"] = trials
    if parallel is not None:
        body["parallel"] = parallel
    backend = _backend.connect(find_home(home))
    created = backend.request("POST", f"/api/sweeps{_query(project)}", body)
    if not wait:
        return created
    last = ""
    while True:
        current = backend.request("GET", f"/api/sweeps/{quote(created['id'], safe='')}{_query(project)}")
        line = _progress(current)
        if line != last and not quiet:
            print(line, file=sys.stderr, flush=True)
            last = line
        if current["state"] in ("failed", "stopped"):
            raise MLLabError(f"The sweep {current['name']} {current['state']}: {current.get('message') or 'stopped'}",
                             code=f"sweep_{current['state']}")
        if current["state"] != "running":
            return current
        time.sleep(POLL_S)
