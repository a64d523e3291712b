"""The controller of one sweep: ``python -m mllab sweep-controller --home H --sweep ID``, started and
supervised by the backend (src/backend/sweeps/controller.ts).

Files of ``<home>/sweeps/<id>/`` (written by the backend: ``sweep.json``, the checked definition, and
``control.json``, the state asked for and the number of trials; written here: ``status.json``):

- ``study.journal``: the Optuna study (JournalStorage). Each ask, report and tell is an appended line
  that survives kill -9, so a controller started again continues the same study: trials that were
  running are attached again (their process lives on in its own session) or ended as their exit file
  says, and are never started twice.
- ``status.json``: the trials as the sweep page shows them, rewritten atomically after each change,
  and a line ``changed`` on stdout to tell the backend.

Optuna chooses the params and decides the pruning; this loop runs the processes.
"""

from __future__ import annotations

import fcntl
import importlib
import json
import os
import sys
import threading
import time
import warnings
from typing import Any, Dict, List, Optional

from . import _sweep_space as space
from ._run_writer import _iso, _now_ms, _write_json_atomic
from ._errors import MLLabError
from ._sweep_job import JobTrials, lab_from_environment
from ._sweep_trial import TrialProcess, objective

#: how often the loop looks at the trials' processes and metrics (a trial's end is seen within this)
TICK_S = 0.01
#: importances are computed at most this often while trials run (fANOVA takes a fraction of a second)
IMPORTANCE_EVERY_S = 5.0
#: user attributes of an Optuna trial
RUN_ID, PRUNED_STEP, REASON, NOT_STARTED, ENDED_AT = "run_id", "pruned_step", "reason", "not_started", "ended_at"
#: a trial that runs as a job run (``job:`` in sweep.yaml): that run's id
JOB_RUN = "job_run_id"


class SweepFailed(Exception):
    """The sweep cannot go on; the message says why and what to do."""


class Controller:
    def __init__(self, home: str, sweep_id: str, optuna: Any) -> None:
        self.home, self.id, self.optuna = home, sweep_id, optuna
        self.dir = os.path.join(home, "sweeps", sweep_id)
        with open(os.path.join(self.dir, "sweep.json"), "r", encoding="utf-8") as f:
            self.sweep: Dict[str, Any] = json.load(f)
        self.definition: Dict[str, Any] = self.sweep["definition"]
        self.metric: Dict[str, Any] = self.definition["metric"]
        os.makedirs(os.path.join(self.dir, "trials"), 0o700, exist_ok=True)
        self.control: Dict[str, Any] = {"state": "running", "trials": self.definition["trials"]}
        self._control_mtime = -1.0
        # trials as job runs through the lab's API, else local processes
        lab = lab_from_environment()
        self.jobs = JobTrials(home, self.sweep, lab) if self.definition.get("job") else None
        self.active: Dict[int, Any] = {}
        self.stopping: Dict[int, Any] = {}
        self.state = "running"
        self.message: Optional[str] = None
        self.warnings: List[str] = []
        self.importances: Optional[Dict[str, Any]] = None
        self.importance_note: Optional[str] = None
        self._importance_due = False
        self._importance_at = 0.0
        self._importance_thread: Optional[threading.Thread] = None
        self._failures_in_row = 0
        self._changed = True

    # -- the study ---------------------------------------------------------------------------------

    def open_study(self) -> None:
        journal = os.path.join(self.dir, "study.journal")
        # this process holds the sweep's lock: a lock file left by a killed writer is stale
        try:
            os.remove(journal + ".lock")
        except FileNotFoundError:
            pass
        storage = self.optuna.storages.JournalStorage(self.optuna.storages.JournalFileStorage(journal))
        self.study = self.optuna.create_study(
            storage=storage, study_name=self.id, load_if_exists=True,
            direction=self.metric["goal"], sampler=space.sampler(self.optuna, self.definition),
            pruner=space.pruner(self.optuna, self.definition.get("earlyStop")))

    def trials(self) -> List[Any]:
        return [t for t in self.study.get_trials(deepcopy=False) if not t.user_attrs.get(NOT_STARTED)]

    def target(self) -> int:
        wanted = int(self.control.get("trials", self.definition["trials"]))
        if self.definition["method"] == "grid":
            return min(wanted, space.grid_size(self.definition["params"]))
        return wanted

    # -- control -----------------------------------------------------------------------------------

    def read_control(self) -> None:
        path = os.path.join(self.dir, "control.json")
        try:
            mtime = os.stat(path).st_mtime
            if mtime == self._control_mtime:
                return
            with open(path, "r", encoding="utf-8") as f:
                self.control = json.load(f)
            self._control_mtime = mtime
            self._changed = True
        except (OSError, ValueError):
            pass

    # -- trials ------------------------------------------------------------------------------------

    def reattach(self) -> None:
        """Trials a previous controller left running: attached again, or ended as their process did."""
        State = self.optuna.trial.TrialState
        for t in self.study.get_trials(deepcopy=False, states=(State.RUNNING,)):
            if self.jobs is not None:
                self.reattach_job(t)
                continue
            run_id = t.user_attrs.get(RUN_ID)
            if not run_id:
                # asked for but never started: it takes no trial's place
                self._set_attr(t._trial_id, NOT_STARTED, True)
                self.study.tell(t.number, state=State.FAIL)
                continue
            run_dir = os.path.join(self.home, "runs", run_id)
            proc = TrialProcess.attach(self.dir, t.number, run_dir, self.metric["name"])
            self.active[t.number] = proc

    def reattach_job(self, t: Any) -> None:
        """A job trial: its job run followed again (by the id in the study, else found by its tags)."""
        job_run = t.user_attrs.get(JOB_RUN)
        try:
            proc = self.jobs.attach(t.number, job_run) if job_run else self.jobs.find(t.number)
        except MLLabError as e:
            if e.status != 404:
                raise SweepFailed(f"Could not find trial {t.number}'s job run in the lab: {e}") from e
            proc = None
        if proc is None:
            # asked for but never started: it takes no trial's place
            self._set_attr(t._trial_id, NOT_STARTED, True)
            self.study.tell(t.number, state=self.optuna.trial.TrialState.FAIL)
            return
        if not job_run:
            self._set_attr(t._trial_id, RUN_ID, proc.run_id)
            self._set_attr(t._trial_id, JOB_RUN, proc.job_run_id)
        self.active[t.number] = proc

    def launch(self) -> None:
        trial = self.study.ask()
        try:
            params = space.suggest(trial, self.definition["params"])
        except Exception as e:  # noqa: BLE001 (an invalid space Optuna refuses: the sweep cannot go on)
            self._set_attr(trial._trial_id, NOT_STARTED, True)
            self.study.tell(trial, state=self.optuna.trial.TrialState.FAIL)
            raise SweepFailed(f"Optuna refused the params of sweep.yaml: {e}") from e
        if self.jobs is not None:
            try:
                proc = self.jobs.start(trial.number, params)
            except MLLabError as e:
                self._set_attr(trial._trial_id, NOT_STARTED, True)
                self.study.tell(trial, state=self.optuna.trial.TrialState.FAIL)
                raise SweepFailed(f"Could not start trial {trial.number} as a run of the job "
                                  f'"{self.jobs.name}": {e}') from e
            self._set_attr(trial._trial_id, JOB_RUN, proc.job_run_id)
            self._set_attr(trial._trial_id, RUN_ID, proc.run_id)
            self.active[trial.number] = proc
            self._changed = True
            return
        try:
            proc = TrialProcess.start(self.home, self.dir, self.sweep, trial.number, params)
        except OSError as e:
            self._set_attr(trial._trial_id, NOT_STARTED, True)
            self.study.tell(trial, state=self.optuna.trial.TrialState.FAIL)
            raise SweepFailed(f"Could not start the trial's command {self.definition['command']}: {e}. "
                              f"Check sweep.yaml's command and cwd.") from e
        self._set_attr(trial._trial_id, RUN_ID, proc.run_id)
        self.active[trial.number] = proc
        self._changed = True

    def _set_attr(self, trial_id: int, key: str, value: Any) -> None:
        self.study._storage.set_trial_user_attr(trial_id, key, value)

    def watch(self, number: int, proc: TrialProcess) -> None:
        """New metric points reported to Optuna (pruning when its pruner says so); the end once it ended."""
        trial = self.optuna.trial.Trial(self.study, self.study._storage.get_trial_id_from_study_id_trial_number(
            self.study._study_id, number))
        reported = self.study._storage.get_trial(trial._trial_id).intermediate_values
        early_stop = self.definition.get("earlyStop")
        for step, value in proc.metric.read():
            if step in reported or not early_stop:
                continue
            trial.report(value, step)
            reported = {**reported, step: value}
            if trial.should_prune():
                reason = space.prune_reason(early_stop, self.metric["name"], value, step)
                self._set_attr(trial._trial_id, PRUNED_STEP, step)
                self._set_attr(trial._trial_id, REASON, reason)
                self._set_attr(trial._trial_id, ENDED_AT, _iso(_now_ms()))
                self.study.tell(number, state=self.optuna.trial.TrialState.PRUNED)
                proc.stop()
                proc.finish("interrupted", None, {"mllab.sweep.pruned": f"step {step}: {reason}"})
                del self.active[number]
                self.stopping[number] = proc
                self._failures_in_row = 0
                self._changed = True
                return
        code = proc.exit_code()
        if code is None:
            return
        proc.metric.read()
        del self.active[number]
        self._changed = True
        self._set_attr(trial._trial_id, ENDED_AT, _iso(_now_ms()))
        value, missing = objective(proc.metric.points, self.metric)
        if code == 0 and value is not None:
            proc.finish("completed", 0)
            self.study.tell(number, value)
            self._failures_in_row = 0
            self._importance_due = True
            return
        if code == 0:
            reason = f"trial {number} ended without a value: {missing}"
        elif code == -1:
            reason = f"trial {number}'s process was gone when the controller started again, with no exit code"
        else:
            tail = proc.stderr_tail()
            reason = f"trial {number} exited with code {code}" + (f": {tail.splitlines()[-1]}" if tail else "")
        proc.finish("completed" if code == 0 else ("interrupted" if code == -1 else "failed"),
                    None if code == -1 else code)
        self._set_attr(trial._trial_id, REASON, reason)
        self.study.tell(number, state=self.optuna.trial.TrialState.FAIL)
        self._failures_in_row += 1
        completed = [t for t in self.trials() if t.state == self.optuna.trial.TrialState.COMPLETE]
        if code == 0 and not completed:
            # said after the first trial, not at the end: every trial would end the same way
            raise SweepFailed(f"The metric \"{self.metric['name']}\" was never logged: {reason}.")
        if self._failures_in_row >= int(self.definition.get("maxFailures", 3)):
            raise SweepFailed(f"{self._failures_in_row} trials failed in a row (maxFailures in sweep.yaml); the "
                              f"last: {reason}. Fix the script and resume the sweep.")

    def stop_all(self, reason: str) -> None:
        for number, proc in list(self.active.items()):
            proc.stop()
            trial_id = self.study._storage.get_trial_id_from_study_id_trial_number(self.study._study_id, number)
            self._set_attr(trial_id, REASON, reason)
            self._set_attr(trial_id, ENDED_AT, _iso(_now_ms()))
            self.study.tell(number, state=self.optuna.trial.TrialState.FAIL)
            proc.finish("interrupted", None)
            self.stopping[number] = proc
        self.active.clear()
        self._changed = True

    def reap(self) -> None:
        """Stopped trials get SIGKILL if SIGTERM was not enough."""
        for number, proc in list(self.stopping.items()):
            if proc.exit_code() is not None:
                del self.stopping[number]
            else:
                proc.stop()

    # -- status ------------------------------------------------------------------------------------

    def write_status(self) -> None:
        State = self.optuna.trial.TrialState
        names = {State.RUNNING: "running", State.COMPLETE: "completed", State.PRUNED: "pruned",
                 State.FAIL: "failed", State.WAITING: "running"}
        trials = []
        for t in self.trials():
            trials.append({
                "number": t.number, "runId": t.user_attrs.get(RUN_ID), "state": names[t.state],
                "params": t.params, "value": t.value if t.state == State.COMPLETE else None,
                "prunedStep": t.user_attrs.get(PRUNED_STEP), "reason": t.user_attrs.get(REASON),
                "startedAt": _iso(int(t.datetime_start.timestamp() * 1000)) if t.datetime_start else _iso(_now_ms()),
                "endedAt": t.user_attrs.get(ENDED_AT),
            })
        _write_json_atomic(os.path.join(self.dir, "status.json"), {
            "state": self.state, "message": self.message, "warnings": self.warnings, "trials": trials,
            "importances": self.importances, "importanceNote": self.importance_note,
        })
        sys.stdout.write("changed\n")
        sys.stdout.flush()
        self._changed = False

    def importances_in_background(self) -> None:
        """fANOVA takes a fraction of a second: in a thread, so that no trial's end waits for it (the
        GIL is handed back every few ms; Optuna's JournalStorage has its own lock)."""
        if self._importance_thread is not None and self._importance_thread.is_alive():
            return
        self._importance_thread = threading.Thread(target=self.compute_importances, daemon=True)
        self._importance_thread.start()

    def compute_importances(self) -> None:
        completed = [t for t in self.trials() if t.state == self.optuna.trial.TrialState.COMPLETE]
        self._importance_due, self._importance_at = False, time.monotonic()
        if len(completed) < 2:
            return
        evaluators = [("fanova", "FanovaImportanceEvaluator"),
                      ("meanDecreaseImpurity", "MeanDecreaseImpurityImportanceEvaluator")]
        problems = []
        for name, cls in evaluators:
            try:
                values = self.optuna.importance.get_param_importances(
                    self.study, evaluator=getattr(self.optuna.importance, cls)(seed=0))
            except ImportError as e:
                problems.append(f"{name}: {e}")
                continue
            except (ValueError, RuntimeError) as e:  # e.g. no param varies across the completed trials
                problems.append(f"{name}: {e}")
                continue
            self.importances = {"evaluator": name, "trials": len(completed),
                                "values": [{"param": k, "importance": float(v)} for k, v in values.items()]}
            self.importance_note = None
            self._changed = True
            return
        missing = any("sklearn" in p or "scikit" in p for p in problems)
        self.importance_note = ("Parameter importances need scikit-learn: install it with "
                                "`sudo apt install python3-sklearn` or `pip install scikit-learn`."
                                if missing else "Parameter importances could not be computed: " + "; ".join(problems))
        self._changed = True

    # -- the loop ----------------------------------------------------------------------------------

    def run(self) -> int:
        parent = os.getppid()
        self.reattach()
        try:
            while True:
                self.read_control()
                wanted = self.control.get("state", "running")
                if wanted == "stopped":
                    self.stop_all("stopped with the sweep")
                    self.state = "stopped"
                    break
                for number, proc in list(self.active.items()):
                    self.watch(number, proc)
                self.reap()
                ended = [t for t in self.trials() if t.state != self.optuna.trial.TrialState.RUNNING]
                started = len(self.trials())
                self.state = "paused" if wanted == "paused" else "running"
                if wanted == "running":
                    while len(self.active) < int(self.definition["parallel"]) and started < self.target():
                        self.launch()
                        started += 1
                if not self.active and (wanted == "paused" or len(ended) >= self.target()):
                    self.state = "paused" if wanted == "paused" else "finished"
                    break
                if self._importance_due and time.monotonic() - self._importance_at > IMPORTANCE_EVERY_S:
                    self.importances_in_background()
                if self._changed:
                    self.write_status()
                if os.getppid() != parent:
                    return 0  # the backend is gone: its next start starts a controller that attaches again
                time.sleep(TICK_S)
        except SweepFailed as e:
            self.stop_all("stopped with the sweep: " + str(e))
            self.state, self.message = "failed", str(e)
        if self._importance_thread is not None:
            self._importance_thread.join()
        self.compute_importances()
        self.write_status()
        deadline = time.monotonic() + 10
        while self.stopping and time.monotonic() < deadline:
            self.reap()
            time.sleep(0.05)
        return 0


def _hold_lock(sweep_dir: str) -> Optional[int]:
    """The sweep's lock, so that two controllers never run one sweep; None when another holds it."""
    fd = os.open(os.path.join(sweep_dir, "controller.lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())  # who runs the sweep, for a person (or a test) to find
    return fd


def _import_or_fail(sweep_dir: str, module: str, missing: str) -> Any:
    """The module, or None once the sweep is failed with `missing` (how to install it) said."""
    try:
        return importlib.import_module(module)
    except ImportError:
        message = missing.format(python=sys.executable)
        _write_failed(sweep_dir, message)
        print(message, file=sys.stderr)
        return None


def main(home: str, sweep_id: str) -> int:
    sweep_dir = os.path.join(home, "sweeps", sweep_id)
    optuna = _import_or_fail(sweep_dir, "optuna", space.OPTUNA_MISSING)
    if optuna is None:
        return 3
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    # JournalStorage is "experimental" in Optuna 3.1 (Debian bookworm's); it is the store that survives kill -9
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    lock = _hold_lock(sweep_dir)
    if lock is None:
        print(f"Another controller runs the sweep {sweep_id}.", file=sys.stderr)
        return 4
    controller = Controller(home, sweep_id, optuna)
    if controller.definition["method"] == "cmaes" and _import_or_fail(sweep_dir, "cmaes", space.CMAES_MISSING) is None:
        return 3
    controller.open_study()
    return controller.run()


def _write_failed(sweep_dir: str, message: str) -> None:
    """A status saying why the sweep cannot run, keeping the trials a previous run recorded."""
    path = os.path.join(sweep_dir, "status.json")
    try:
        with open(path, "r", encoding="utf-8") as f:
            status = json.load(f)
    except (OSError, ValueError):
        status = {"trials": [], "warnings": [], "importances": None, "importanceNote": None}
    status.update(state="failed", message=message)
    _write_json_atomic(path, status)
    sys.stdout.write("changed\n")
    sys.stdout.flush()


__all__ = ["Controller", "main"]
