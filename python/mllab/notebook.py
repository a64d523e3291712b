"""Runs a Jupyter notebook's code cells in order, as one script: ``python -m mllab.notebook NB.ipynb``.

"ML Lab: Run as Experiment" on a notebook runs it this way under ``mllab run``, so a notebook becomes
an experiment like any script (output, exit code, git state, a copy of the notebook, and whatever the
cells log through ``mllab.experiment``) with nothing but the Python that runs it: no Jupyter kernel is
needed. Notebook-only syntax is handled so common notebooks run unchanged:

* ``!command`` lines run in a shell (a failing command stops the run, as it would fail a script);
* ``%`` line magics and ``%%`` cell magics cannot run outside IPython: they are skipped with a
  warning on stderr naming the cell, except ``%%bash``/``%%sh`` cells, which run in a shell;
* ``display(x)`` prints ``x``.

A cell that raises stops the run: the traceback names the cell, and the exit code is 1.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import traceback
from typing import Any, Dict, List, Optional, Tuple

USAGE = "usage: python -m mllab.notebook NOTEBOOK.ipynb [ARG ...]"


class NotebookError(Exception):
    """The file is not a notebook this runner can read; the message says why."""


def code_cells(path: str) -> List[Tuple[int, str]]:
    """(number from 1, source) of each code cell, in order."""
    try:
        with open(path, encoding="utf-8") as f:
            nb = json.load(f)
    except OSError as e:
        raise NotebookError(f"cannot read {path}: {e.strerror}") from None
    except ValueError as e:
        raise NotebookError(f"{path} is not a notebook (not JSON: {e}); save it from the notebook editor") from None
    cells = nb.get("cells") if isinstance(nb, dict) else None
    if not isinstance(cells, list):
        raise NotebookError(f"{path} is not a Jupyter notebook: it has no list of cells (nbformat 4 expected)")
    out: List[Tuple[int, str]] = []
    for number, cell in enumerate(cells, start=1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        out.append((number, "".join(source) if isinstance(source, list) else str(source)))
    return out


def translate(source: str, number: int) -> str:
    """Python for one cell: shell lines and magics rewritten (see the module's docstring)."""
    lines = source.splitlines()
    first = lines[0].strip() if lines else ""
    if first.startswith("%%"):
        magic = first[2:].split()[0] if len(first) > 2 else ""
        if magic in ("bash", "sh"):
            return f"__mllab_shell__({chr(10).join(lines[1:])!r}, {number})"
        return f"__mllab_warn__({f'cell {number}: skipped the %%{magic} cell magic (it needs IPython)'!r})"
    out = []
    for line in lines:
        stripped = line.lstrip()
        indent = line[: len(line) - len(stripped)]
        if stripped.startswith("!"):
            out.append(f"{indent}__mllab_shell__({stripped[1:]!r}, {number})")
        elif stripped.startswith("%"):
            out.append(f"{indent}__mllab_warn__({f'cell {number}: skipped {stripped!r} (IPython magic)'!r})")
        else:
            out.append(line)
    return "\n".join(out)


def _shell(command: str, number: int) -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    code = subprocess.call(command, shell=True)
    if code != 0:
        raise RuntimeError(f"cell {number}: the shell command failed with exit code {code}: {command.strip()}")


def _warn(message: str) -> None:
    print(f"mllab.notebook: {message}", file=sys.stderr)


def run(path: str, argv: Optional[List[str]] = None) -> int:
    """Runs the notebook; returns the exit code (0 = every cell ran)."""
    try:
        cells = code_cells(path)
    except NotebookError as e:
        print(f"mllab.notebook: {e}", file=sys.stderr)
        return 2
    sys.argv = [path, *(argv or [])]
    namespace: Dict[str, Any] = {
        "__name__": "__main__",
        "__file__": os.path.abspath(path),
        "__mllab_shell__": _shell,
        "__mllab_warn__": _warn,
        "display": print,
    }
    for number, source in cells:
        try:
            code = compile(translate(source, number), f"{path} [cell {number}]", "exec")
            exec(code, namespace)  # noqa: S102 (running the person's own notebook is the point)
        except SystemExit as e:
            return e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        except BaseException as e:  # noqa: BLE001 (any failure ends the run, reported like a script's)
            if isinstance(e, KeyboardInterrupt):
                raise
            sys.stdout.flush()
            print(f"mllab.notebook: cell {number} failed:", file=sys.stderr)
            traceback.print_exc()
            return 1
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help"):
        print(USAGE, file=sys.stderr)
        return 0 if args else 2
    return run(args[0], args[1:])


if __name__ == "__main__":
    sys.exit(main())
