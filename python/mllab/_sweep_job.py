"""A sweep's trials as job runs (``job:`` in sweep.yaml) instead of local processes.

Each trial is a run of one job of the project, started through the lab's API with the trial's params
and sweep tags (``POST /api/jobs/:name/runs``): the backend writes them into the run's run.json, where
the trial's script reads ``exp.params`` as under ``mllab run --param``. The job's engine runs it on
the project's container target; the run directory is the lab machine's, so the metric is read from
its events.jsonl as for a local trial. A pruned trial is stopped by stopping its job run.

The backend that starts the controller gives it the lab's loopback port and its own token
(``MLLAB_SWEEP_LAB_PORT``, ``MLLAB_SWEEP_LAB_TOKEN``, taken out of the environment before any trial
starts). Requests never reconnect elsewhere nor start a backend: the controller ends with its
backend, whose next start starts it again.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import threading
import time
from typing import Any, Dict, Mapping, Optional, Tuple
from urllib.parse import quote

from . import _backend
from ._errors import MLLabError
from ._run_writer import _now_ms, _write_json_atomic
from ._sweep_trial import SWEEP_TAG, SWEEP_TRIAL_TAG, MetricReader, read_manifest


def lab_from_environment() -> Optional[Tuple[int, str]]:
    """The lab's port and token as the backend gave them, removed from the environment so that no
    trial's process inherits the lab's own token."""
    port, token = os.environ.pop(LAB_PORT_ENV, ""), os.environ.pop(LAB_TOKEN_ENV, "")
    return (int(port), token) if port.isdigit() and token else None

#: the environment the backend gives the controller (src/backend/sweeps/controller.ts)
LAB_PORT_ENV, LAB_TOKEN_ENV = "MLLAB_SWEEP_LAB_PORT", "MLLAB_SWEEP_LAB_TOKEN"
#: a request to the lab that takes longer is an error (stopping a job run waits for its end)
REQUEST_TIMEOUT_S = 60.0
#: how often a trial's job run is asked for its state (the loop ticks far more often)
POLL_S = 0.5
#: the job run's states that are its end
ENDED = ("succeeded", "failed", "stopped", "skipped")


def job_name_of(sweep: Mapping[str, Any]) -> str:
    """The job a sweep with ``job: { image: ... }`` makes: its name, a dash, "sweep" and its id's start."""
    base = re.sub(r"[^A-Za-z0-9._-]+", "-", str(sweep["definition"]["name"])).strip("-._")[:40]
    return f"{base}-sweep-{sweep['id'][:8]}" if base else f"sweep-{sweep['id'][:8]}"


class JobTrials:
    """Starts a sweep's trials as runs of its job, and finds those a previous controller started."""

    def __init__(self, home: str, sweep: Mapping[str, Any], lab: Optional[Tuple[int, str]]) -> None:
        self.home, self.sweep, self.lab = home, sweep, lab
        self.definition: Mapping[str, Any] = sweep["definition"]
        self.spec: Mapping[str, Any] = self.definition["job"]
        self.name = str(self.spec["name"]) if "name" in self.spec else job_name_of(sweep)
        self.query = f"?project={quote(str(sweep['projectId']), safe='')}"
        self._job_ready = False

    def request(self, method: str, path: str, body: Any = None) -> Any:
        """One request to the lab; its error answers raise MLLabError with the lab's message."""
        if self.lab is None:
            raise MLLabError(f"The backend gave the sweep's controller no address of the lab ({LAB_PORT_ENV}): "
                             f"trials as jobs need the ML Lab backend that started the sweep.", code="no_lab")
        port, token = self.lab
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        payload = None if body is None else json.dumps(body).encode("utf-8")
        if payload is not None:
            headers["Content-Type"] = "application/json"
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT_S)
        try:
            conn.request(method, path, body=payload, headers=headers)
            response = conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as e:
            raise MLLabError(f"The lab did not answer {method} {path.split('?')[0]}: {e}", code="connection") from e
        finally:
            conn.close()
        return _backend._parse(method, path, response.status, response.reason, data)

    def _job_path(self) -> str:
        return f"/api/jobs/{quote(self.name, safe='')}"

    def ensure_job(self) -> None:
        """The job exists: an existing one named in sweep.yaml must, the sweep's own is made once."""
        if self._job_ready:
            return
        try:
            self.request("GET", self._job_path() + self.query)
        except MLLabError as e:
            if e.status != 404:
                raise
            if "name" in self.spec:
                raise MLLabError(f'The project has no job "{self.name}" (sweep.yaml, job): create it first, or give '
                                 f'"job: {{ image: ... }}" to run the sweep\'s command in an image.', code="no_job") from e
            spec = dict(self.spec)
            self.request("POST", "/api/jobs" + self.query, {
                **spec, "name": self.name, "command": list(self.definition["command"]),
                # the folder of sweep.yaml, read-only at /workspace (the job's working directory)
                "workspace": self.definition["cwd"],
            })
        self._job_ready = True

    def start(self, number: int, params: Mapping[str, Any]) -> "JobTrial":
        self.ensure_job()
        run = self.request("POST", f"{self._job_path()}/runs{self.query}", {
            "params": dict(params), "tags": {SWEEP_TAG: str(self.sweep["id"]), SWEEP_TRIAL_TAG: str(number)},
        })
        return JobTrial(self, number, run)

    def attach(self, number: int, job_run_id: str) -> "JobTrial":
        return JobTrial(self, number, self.request("GET", f"/api/job-runs/{quote(job_run_id, safe='')}"))

    def find(self, number: int) -> Optional["JobTrial"]:
        """The job run of a trial whose start was not recorded in the study (the controller died between
        the lab's answer and the study's write): found by its sweep tags, so it is never started twice."""
        try:
            runs = self.request("GET", f"{self._job_path()}/runs{self.query}")
        except MLLabError as e:
            if e.status == 404:
                return None
            raise
        for run in runs:
            tags = read_manifest(run.get("runDir") or "").get("tags") or {}
            if tags.get(SWEEP_TAG) == str(self.sweep["id"]) and tags.get(SWEEP_TRIAL_TAG) == str(number):
                return JobTrial(self, number, run)
        return None


class JobTrial:
    """One trial as a job run: the same face as a local TrialProcess to the controller."""

    def __init__(self, trials: JobTrials, number: int, run: Mapping[str, Any]) -> None:
        self.trials, self.number = trials, number
        self.job_run_id = str(run["id"])
        self.run_dir = str(run.get("runDir") or "")
        if not self.run_dir:
            raise MLLabError(f"The job run {self.job_run_id} has no run directory on the lab machine: its target "
                             f"records its experiment itself, which a sweep cannot follow yet.", code="no_run_dir")
        self.run_id = os.path.basename(self.run_dir)
        self.metric = MetricReader(os.path.join(self.run_dir, "events.jsonl"), trials.definition["metric"]["name"])
        self.run: Mapping[str, Any] = run
        self._asked_at = time.monotonic()
        self._stop_sent = False
        self._pending: Optional[Dict[str, Any]] = None

    def exit_code(self) -> Optional[int]:
        """The end of the job run as an exit code (None while it goes on, or while the lab cannot say)."""
        if self.run.get("state") not in ENDED and time.monotonic() - self._asked_at >= POLL_S:
            self._asked_at = time.monotonic()
            try:
                self.run = self.trials.request("GET", f"/api/job-runs/{quote(self.job_run_id, safe='')}")
            except MLLabError:
                return None  # the lab is restarting: asked again at the next poll
        state = self.run.get("state")
        if state not in ENDED:
            return None  # queued, running, or unknown while its engine does not answer
        self._record_pending()
        code = self.run.get("exitCode")
        if state == "succeeded":
            return 0
        return int(code) if isinstance(code, int) and code != 0 else 1

    def stop(self) -> None:
        """Stops the job run (its engine sends SIGTERM, then SIGKILL); sent once, in the background,
        since the lab answers once the run ended."""
        if self._stop_sent:
            return
        self._stop_sent = True

        def send() -> None:
            try:
                self.trials.request("POST", f"/api/job-runs/{quote(self.job_run_id, safe='')}/stop")
            except MLLabError:
                pass  # ended meanwhile, or the lab is gone (its next start reconciles the run)

        threading.Thread(target=send, daemon=True).start()

    def finish(self, status: str, exit_code: Optional[int], tags: Optional[Mapping[str, str]] = None) -> None:
        """The lab records the job run's end in run.json; a trial the sweep ended (pruned, stopped) is
        marked `interrupted` with its tags once that end is recorded, not before (it would be overwritten)."""
        if status == "interrupted" or tags:
            self._pending = {"status": status, "tags": dict(tags or {})}
            if self.run.get("state") in ENDED:
                self._record_pending()

    def _record_pending(self) -> None:
        if self._pending is None:
            return
        status = self._pending["status"]
        manifest = read_manifest(self.run_dir)
        if manifest:
            manifest["status"] = status
            manifest["tags"] = {**manifest.get("tags", {}), **self._pending["tags"]}
            _write_json_atomic(os.path.join(self.run_dir, "run.json"), manifest)
        # the lab appended the job run's end (`failed` for a stopped container); the last status line wins
        line = json.dumps({"k": "status", "status": status, "exitCode": None, "t": _now_ms()}) + "\n"
        try:
            fd = os.open(os.path.join(self.run_dir, "events.jsonl"),
                         os.O_WRONLY | os.O_APPEND | getattr(os, "O_NOFOLLOW", 0))
        except OSError:
            fd = -1  # no events file (the run was removed): run.json says it
        if fd >= 0:
            try:
                os.write(fd, line.encode("utf-8"))
            finally:
                os.close(fd)
        self._pending = None

    def stderr_tail(self, limit: int = 600) -> str:
        """The job's reason when it says more than its exit code, else the end of its output."""
        reason = self.run.get("reason")
        if isinstance(reason, str) and reason and not reason.startswith("exited with code"):
            return reason
        try:
            with open(os.path.join(self.trials.home, "jobs", self.job_run_id, "output.log"), "rb") as f:
                f.seek(max(0, os.fstat(f.fileno()).st_size - limit))
                return f.read().decode("utf-8", "replace").strip()
        except OSError:
            return reason if isinstance(reason, str) else ""
