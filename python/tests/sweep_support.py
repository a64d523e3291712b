"""Helpers of the sweep tests: a Python that has Optuna (Debian's python3-optuna serves /usr/bin/python3,
which may not be the python3 running the tests), a sweep's files in a lab home, its controller."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import Any, Dict, List, Optional

PYTHON_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HERE = os.path.dirname(os.path.abspath(__file__))


def optuna_python() -> str:
    """The first of this Python, $MLLAB_SWEEP_PYTHON and /usr/bin/python3 that has Optuna."""
    for python in (sys.executable, os.environ.get("MLLAB_SWEEP_PYTHON"), "/usr/bin/python3"):
        if python and subprocess.run([python, "-c", "import optuna"], capture_output=True).returncode == 0:
            return python
    raise AssertionError("The sweep tests need Optuna: `sudo apt install python3-optuna python3-sklearn` "
                         "(scripts/ensure-system-deps.sh --tests) or `pip install optuna scikit-learn`.")


def definition(workdir: str, **over: Any) -> Dict[str, Any]:
    d: Dict[str, Any] = {
        "name": "t", "command": [sys.executable, "trial.py"], "cwd": workdir,
        "params": {"x": {"type": "float", "min": 0, "max": 1}}, "method": "random",
        "metric": {"name": "loss", "goal": "minimize"}, "trials": 4, "parallel": 1, "earlyStop": None,
        "maxFailures": 3, "seed": 1,
    }
    d.update(over)
    return d


def write_sweep(home: str, sweep_id: str, d: Dict[str, Any], state: str = "running") -> str:
    """The files the backend writes for a sweep (sweep.json, control.json), as src/backend/sweeps/service.ts does."""
    folder = os.path.join(home, "sweeps", sweep_id)
    os.makedirs(folder, 0o700, exist_ok=True)
    with open(os.path.join(folder, "sweep.json"), "w", encoding="utf-8") as f:
        json.dump({"id": sweep_id, "projectId": "p", "definition": d}, f)
    with open(os.path.join(folder, "control.json"), "w", encoding="utf-8") as f:
        json.dump({"state": state, "trials": d["trials"]}, f)
    return folder


def start_controller(home: str, sweep_id: str) -> "subprocess.Popen[bytes]":
    env = dict(os.environ, PYTHONPATH=PYTHON_DIR)
    return subprocess.Popen([optuna_python(), "-m", "mllab", "sweep-controller", "--home", home, "--sweep", sweep_id],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def run_controller(home: str, sweep_id: str, timeout: float = 120) -> Dict[str, Any]:
    proc = start_controller(home, sweep_id)
    _, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err.decode()
    return status(home, sweep_id)


def status(home: str, sweep_id: str) -> Dict[str, Any]:
    with open(os.path.join(home, "sweeps", sweep_id, "status.json"), "r", encoding="utf-8") as f:
        return json.load(f)


def runs(home: str) -> List[Dict[str, Any]]:
    """run.json of every run of the lab home."""
    folder = os.path.join(home, "runs")
    out = []
    for name in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
        with open(os.path.join(folder, name, "run.json"), "r", encoding="utf-8") as f:
            out.append(json.load(f))
    return out


def wait_for(probe: Any, timeout: float = 60, what: str = "the condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def write_script(workdir: str, body: str) -> None:
    """`trial.py` of a sweep: `exp` is the run (params in `exp.params`), `body` its indented code."""
    with open(os.path.join(workdir, "trial.py"), "w", encoding="utf-8") as f:
        f.write("import os, sys, time\nimport mllab\nwith mllab.experiment() as exp:\n    p = exp.params\n")
        f.write("\n".join("    " + line for line in body.strip("\n").splitlines()) + "\n")


def read_pid(path: str) -> Optional[int]:
    try:
        with open(path, "r", encoding="ascii") as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None
