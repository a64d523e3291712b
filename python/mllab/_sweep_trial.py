"""One trial of a sweep as an ordinary run: its run directory (params and sweep tags in run.json,
as `mllab run --param` writes them), its process, the metric read from its events as it is logged,
and the end written into run.json.

The process runs in its own session behind ``sh``, which writes the exit code to a file of the sweep
once the command ends: a controller killed and started again finds the trial still running (its pid
lives) or learns how it ended, so no trial is lost and none runs twice.
"""

from __future__ import annotations

import json
import os
import platform
import signal
import subprocess
import time
from typing import Any, Dict, List, Mapping, Optional, Tuple

from ._process import pid_alive
from ._run_environment import _operator, host_info
from ._run_writer import (DIR_MODE, FORMAT, FILE_MODE, _iso, _now_ms, _write_json_atomic, new_run_dir, runs_dir)

SWEEP_TAG = "mllab.sweep"
SWEEP_TRIAL_TAG = "mllab.sweep.trial"
#: after SIGTERM, how long a stopped trial may take to end before SIGKILL
STOP_GRACE_S = 5.0

#: `sh -c` runs the command and records its exit code; `exec` is not used so that the code is kept
_WRAPPER = '"$@"; code=$?; echo "$code" > "$MLLAB_TRIAL_EXIT.tmp" && mv "$MLLAB_TRIAL_EXIT.tmp" "$MLLAB_TRIAL_EXIT"; exit "$code"'

_HOST: Optional[Dict[str, Any]] = None


def _python_path() -> str:
    """The folder holding this package, so the trial's script imports the same client."""
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return os.pathsep.join(p for p in (here, os.environ.get("PYTHONPATH", "")) if p)


class MetricReader:
    """Reads a run's events.jsonl from where it stopped, whole lines only, keeping one metric's points."""

    def __init__(self, path: str, key: str) -> None:
        self.path, self.key = path, key
        self.offset = 0
        self.points: List[Tuple[int, float]] = []
        self._next_step = 0

    def read(self) -> List[Tuple[int, float]]:
        """The points logged since the last call, as (step, value); non-finite values are skipped."""
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read()
        except OSError:
            return []
        end = data.rfind(b"\n")
        if end < 0:
            return []
        self.offset += end + 1
        new: List[Tuple[int, float]] = []
        for line in data[:end].split(b"\n"):
            if self.key.encode() not in line:
                continue
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if event.get("k") != "m" or event.get("key") != self.key:
                continue
            step = event.get("s")
            step = self._next_step if step is None else int(step)
            self._next_step = step + 1
            value = event.get("v")
            if isinstance(value, (int, float)) and value - value == 0:
                new.append((step, float(value)))
        self.points.extend(new)
        return new


def objective(points: List[Tuple[int, float]], metric: Mapping[str, Any]) -> Tuple[Optional[float], Optional[str]]:
    """The trial's value from its metric's points (`use`: last, best or step), or why there is none."""
    name = metric["name"]
    if not points:
        return None, (f'it logged no value of the metric "{name}": log it with exp.log_metric("{name}", value), '
                      f"or name the metric it logs in sweep.yaml (metric.name)")
    use = metric.get("use", "last")
    if use == "best":
        values = [v for _, v in points]
        return (min(values) if metric["goal"] == "minimize" else max(values)), None
    if use == "step":
        at = [v for s, v in points if s == metric["step"]]
        if not at:
            return None, f'it logged no value of "{name}" at step {metric["step"]} (its last step: {points[-1][0]})'
        return at[-1], None
    return points[-1][1], None


class TrialProcess:
    """A trial's run directory and process; `attach` finds one a previous controller started."""

    def __init__(self, number: int, run_id: str, run_dir: str, pid: int, exit_file: str, metric: str,
                 child: Optional["subprocess.Popen[bytes]"] = None) -> None:
        self.number, self.run_id, self.run_dir, self.pid = number, run_id, run_dir, pid
        self.exit_file, self.child = exit_file, child
        self.metric = MetricReader(os.path.join(run_dir, "events.jsonl"), metric)
        self.stop_sent_at: Optional[float] = None

    @classmethod
    def start(cls, home: str, sweep_dir: str, sweep: Mapping[str, Any], number: int,
              params: Mapping[str, Any]) -> "TrialProcess":
        global _HOST
        definition = sweep["definition"]
        start_ms = _now_ms()
        run_id, run_dir = new_run_dir(runs_dir(home), start_ms)
        os.mkdir(os.path.join(run_dir, "artifacts"), DIR_MODE)
        name = f"{definition['name']}-trial-{number}"
        if _HOST is None:
            _HOST = host_info([])
        manifest = {
            "format": FORMAT, "id": run_id, "name": name, "project": sweep["projectId"], "status": "running",
            "startedAt": _iso(start_ms), "endedAt": None, "exitCode": None, "pid": os.getpid(),
            "operator": _operator(), "command": list(definition["command"]), "cwd": definition["cwd"],
            "script": None, "host": _HOST, "runtime": {"python": platform.python_version()}, "packages": None,
            "git": None, "params": dict(params),
            "tags": {SWEEP_TAG: sweep["id"], SWEEP_TRIAL_TAG: str(number)},
        }
        _write_json_atomic(os.path.join(run_dir, "run.json"), manifest)
        exit_file = exit_file_of(sweep_dir, number)
        env = dict(os.environ)
        env.update({"MLLAB_HOME": home, "MLLAB_RUN_DIR": run_dir, "MLLAB_EXPERIMENT_NAME": name,
                    "MLLAB_TRIAL_EXIT": exit_file, "PYTHONPATH": _python_path()})
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
        out = os.open(os.path.join(run_dir, "stdout.log"), flags, FILE_MODE)
        err = os.open(os.path.join(run_dir, "stderr.log"), flags, FILE_MODE)
        try:
            child = subprocess.Popen(["sh", "-c", _WRAPPER, "sh", *definition["command"]], cwd=definition["cwd"],
                                     env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                     start_new_session=True)
        except OSError as e:
            os.write(err, f"mllab: could not start the trial: {e}\n".encode())
            raise
        finally:
            os.close(out)
            os.close(err)
        # the process that writes the run is the trial's: a controller that dies does not end it
        manifest["pid"] = child.pid
        _write_json_atomic(os.path.join(run_dir, "run.json"), manifest)
        return cls(number, run_id, run_dir, child.pid, exit_file, definition["metric"]["name"], child)

    @classmethod
    def attach(cls, sweep_dir: str, number: int, run_dir: str, metric: str) -> "TrialProcess":
        pid = int(read_manifest(run_dir).get("pid") or 0)
        return cls(number, os.path.basename(run_dir), run_dir, pid, exit_file_of(sweep_dir, number), metric)

    def exit_code(self) -> Optional[int]:
        """The exit code once the process ended (-1: it ended without saying how), else None."""
        if self.child is not None:
            code = self.child.poll()
            if code is None:
                return None
            recorded = read_exit_file(self.exit_file)
            return recorded if recorded is not None else (128 - code if code < 0 else code)
        recorded = read_exit_file(self.exit_file)
        if recorded is not None:
            return recorded
        return None if self.pid > 0 and pid_alive(self.pid) else -1

    def stop(self) -> None:
        """SIGTERM to the trial's process group, SIGKILL once the grace is over."""
        now = time.monotonic()
        sig = signal.SIGTERM
        if self.stop_sent_at is None:
            self.stop_sent_at = now
        elif now - self.stop_sent_at > STOP_GRACE_S:
            sig = signal.SIGKILL
        else:
            return
        try:
            os.killpg(self.pid, sig)
        except (OSError, ProcessLookupError):
            pass

    def finish(self, status: str, exit_code: Optional[int], tags: Optional[Mapping[str, str]] = None) -> None:
        """Writes the run's end into run.json (the ingest turns it into the experiment's status)."""
        path = os.path.join(self.run_dir, "run.json")
        manifest = read_manifest(self.run_dir)
        if not manifest:
            return
        manifest.update(status=status, endedAt=_iso(_now_ms()), exitCode=exit_code)
        manifest["tags"] = {**manifest.get("tags", {}), **(tags or {})}
        _write_json_atomic(path, manifest)

    def stderr_tail(self, limit: int = 600) -> str:
        try:
            with open(os.path.join(self.run_dir, "stderr.log"), "rb") as f:
                f.seek(max(0, os.fstat(f.fileno()).st_size - limit))
                return f.read().decode("utf-8", "replace").strip()
        except OSError:
            return ""


def exit_file_of(sweep_dir: str, number: int) -> str:
    return os.path.join(sweep_dir, "trials", f"{number}.exit")


def read_exit_file(path: str) -> Optional[int]:
    try:
        with open(path, "r", encoding="ascii") as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def read_manifest(run_dir: str) -> Dict[str, Any]:
    try:
        with open(os.path.join(run_dir, "run.json"), "r", encoding="utf-8") as f:
            value = json.load(f)
        return value if isinstance(value, dict) else {}
    except (OSError, ValueError):
        return {}
