"""Experiments: a run directory written by the client, with no backend involved.

``<home>/runs/<id>/`` holds ``run.json`` (the manifest, see ``RunManifest`` in
``src/protocol/experiments.ts``), ``events.jsonl`` (one ``RunEvent`` per line), ``stdout.log``,
``stderr.log``, ``artifacts/``, ``source/``, ``packages.txt`` and ``git.diff``. The backend ingests
the directory; the client never contacts it.

``log_metric`` is on the hot path of training loops: it formats one JSON line and appends it to an
in-memory list (about 1 us). A daemon thread writes the list to ``events.jsonl`` every 100 ms,
whole lines in one ``write``; the list is also written when it holds more than 10,000 lines, on
``flush()``, at the end of the run and at interpreter exit.

This module is the API (``Experiment``); beside it: ``_run_environment`` (what is recorded at
start), ``_run_writer`` (limits, private files, JSON lines), ``_run_output`` (the stdout/stderr tee)
and ``_run_lifecycle`` (background flushing, interpreter exit, fork).
"""

from __future__ import annotations

import json
import os
import platform
import re
import secrets
import shutil
import stat
import sys
import threading
from typing import Any, Dict, List, Mapping, Optional

from . import _run_environment as environment
from . import _run_lifecycle as lifecycle
from ._errors import MLLabError
from ._home import HOME_ENV, find_home
from ._run_environment import StartProbes, _in_notebook, _notebook_path, _operator, _packages_text, host_info
from ._run_lifecycle import FLUSH_INTERVAL
from ._run_output import RunOutput
from ._remote import local_runs_dir, remote_from_env
from ._run_writer import (_CLOEXEC, _NOFOLLOW, DIR_MODE, FILE_MODE, FLUSH_LINES, FORMAT, RUN_LIMITS, _bound,
                          _check_key, _check_length, _dumps, _iso, _jsonable, _make_private, _metric_step,
                          _metric_value, _now_ms, _open_private, _remove_quiet, _special, _time_ns,
                          _write_json_atomic, new_run_dir, runs_dir)

__all__ = ["Experiment", "experiment", "start_experiment", "RUN_DIR_ENV", "EXPERIMENT_NAME_ENV",
           "FLUSH_INTERVAL", "FLUSH_LINES", "runs_dir"]

#: set by `mllab run`: the run directory the wrapper created; the client appends events to it
RUN_DIR_ENV = "MLLAB_RUN_DIR"
#: set by `mllab run`: the experiment name given on its command line
EXPERIMENT_NAME_ENV = "MLLAB_EXPERIMENT_NAME"

STATUSES = ("running", "completed", "failed", "interrupted")
_END_STATUSES = ("completed", "failed", "interrupted")
_MAX_ERROR_TAG = 8000


# ---------------------------------------------------------------------------------------------
# The experiment

#: dataset versions this process loaded with mllab.dataset(): inputs of every run it records
_inputs: List[Any] = []


def note_dataset_input(name: str, version: Optional[int]) -> None:
    """Records a dataset version loaded by ``mllab.dataset`` as an input of the runs of this process:
    those running now and those started later (loading the data often comes first)."""
    if (name, version) in _inputs:
        return
    _inputs.append((name, version))
    for exp in lifecycle.active_runs():
        try:
            exp.log_input(name, version)
        except MLLabError:
            pass


class Experiment:
    """One run: a folder ``<home>/runs/<id>/`` the client writes and the backend ingests.

    Use :func:`experiment` (``with`` block) or :func:`start_experiment` (notebooks), not the
    constructor. Every ``log_*`` method is thread-safe.
    """

    def __init__(self, name: Optional[str] = None, params: Optional[Mapping[str, Any]] = None,
                 tags: Optional[Mapping[str, Any]] = None, project: Optional[str] = None,
                 home: Optional[str] = None) -> None:
        if name is not None and (not isinstance(name, str) or not name.strip()):
            raise MLLabError(f"The experiment name {name!r} is empty: pass a name such as \"baseline\".",
                             code="invalid_name")
        if name is not None:
            _check_length("experiment name", name, "nameChars")
        if project is not None and (not isinstance(project, str) or not project):
            raise MLLabError(f"project={project!r} is not a project id or name: pass a string, or None for "
                             f"the active project.", code="invalid_project")
        if params is not None and not isinstance(params, Mapping):
            raise MLLabError(f"params must be a dict, not {type(params).__name__}.", code="invalid_params")
        if tags is not None and not isinstance(tags, Mapping):
            raise MLLabError(f"tags must be a dict, not {type(tags).__name__}.", code="invalid_tags")
        for k in (params or {}):
            _check_key("param", str(k))
        for k in (tags or {}):
            _check_key("tag", str(k))
        start_ms = _now_ms()
        self._buf: List[str] = []
        self._keys: Dict[str, List[Any]] = {}  # metric key -> [line prefix, next step]
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._fd: Optional[int] = None
        self._pid = os.getpid()
        self._ended = False
        self._status = "running"
        self._write_error_reported = False
        self._output = RunOutput()
        self._params: Dict[str, Any] = {}
        self._tags: Dict[str, str] = {}
        self._manifest: Dict[str, Any] = {}
        self._warnings: List[str] = []
        self._shipper: Any = None  # sends the run to a remote lab (MLLAB_URL), see _shipper

        run_dir = os.environ.get(RUN_DIR_ENV)
        self._attached = bool(run_dir)
        if self._attached:
            self._open_attached(os.path.abspath(run_dir), name, params, tags)  # type: ignore[arg-type]
        else:
            self._create(start_ms, name, params, tags, project, home)
        lifecycle.register(self)
        for ds_name, ds_version in list(_inputs):
            try:
                self.log_input(ds_name, ds_version)
            except MLLabError:
                pass

    # -- start ---------------------------------------------------------------------------------

    def _open_attached(self, run_dir: str, name: Optional[str], params: Optional[Mapping[str, Any]],
                       tags: Optional[Mapping[str, Any]]) -> None:
        """``mllab run`` created the run: append events to it; the wrapper owns run.json and the status."""
        if not os.path.isdir(run_dir):
            raise MLLabError(f"The run directory {run_dir} (from ${RUN_DIR_ENV}) is not a folder: start the "
                             f"script with `mllab run`, or unset {RUN_DIR_ENV}.", code="no_run_dir")
        self._dir = run_dir
        manifest: Dict[str, Any] = {}
        try:
            with open(os.path.join(run_dir, "run.json"), encoding="utf-8") as f:
                loaded = json.load(f)
            if isinstance(loaded, dict):
                manifest = loaded
        except (OSError, ValueError):
            pass
        self._manifest = manifest
        self._id = str(manifest.get("id") or os.path.basename(run_dir.rstrip(os.sep)))
        # who names the run: `mllab run --name` (explicit, in $MLLAB_EXPERIMENT_NAME), else the name given
        # here in code, else the wrapper's default (the script's file name, or the job's name)
        explicit = os.environ.get(EXPERIMENT_NAME_ENV)
        self._name = str(explicit or name or manifest.get("name") or self._id)
        self._open_events()
        if name is not None and name != self._name:
            self.set_tag("mllab.experiment", name)
        self._record_in_manifest(manifest)
        # params given to `mllab run` (--param, or the editor's params file) win over the defaults in code
        run_params = manifest.get("params") if isinstance(manifest.get("params"), dict) else {}
        if params:
            self.log_params({k: v for k, v in params.items() if str(k) not in run_params})
        self._params.update({str(k): v for k, v in run_params.items()})
        for k, v in (tags or {}).items():
            self.set_tag(k, v)

    def _record_in_manifest(self, manifest: Dict[str, Any]) -> None:
        """Writes this process's name and environment into the wrapper's run.json.

        `mllab run` (a Node process) and the job runner write run.json before Python starts, so it
        holds neither the name given in code nor the interpreter, its version and its packages. The
        wrapper keeps these fields when it records the end. Left alone when run.json is not a regular
        file of this user (written through no link, never made unreadable to its owner).
        """
        path = os.path.join(self._dir, "run.json")
        try:
            st = os.lstat(path)
        except OSError:
            return
        if not stat.S_ISREG(st.st_mode) or (hasattr(os, "getuid") and st.st_uid != os.getuid()):
            return
        if not manifest.get("status"):
            return  # not a manifest this client understands: the wrapper's file stays as it is
        runtime = manifest.get("runtime") if isinstance(manifest.get("runtime"), dict) else {}
        # the wrapper's own Node version says nothing about the code that ran
        runtime = {k: v for k, v in runtime.items() if k != "node"}
        runtime.update({"python": platform.python_version(), "python executable": sys.executable})
        packages = manifest.get("packages")
        if not isinstance(packages, str) or not packages:
            packages = "packages.txt"
            try:
                with _open_private(os.path.join(self._dir, "packages.txt"), exclusive=True) as f:
                    f.write(_packages_text().encode("utf-8", "backslashreplace"))
            except FileExistsError:
                pass
            except OSError:
                packages = None
        changed = dict(manifest, name=self._name, runtime=runtime, packages=packages)
        if changed == manifest:
            return
        try:
            _write_json_atomic(path, changed)
        except (OSError, ValueError):
            return
        self._manifest = changed

    def _create(self, start_ms: int, name: Optional[str], params: Optional[Mapping[str, Any]],
                tags: Optional[Mapping[str, Any]], project: Optional[str], home: Optional[str]) -> None:
        # a lab over the network: the run directory is a local journal, sent by a background thread
        remote = remote_from_env() if home is None else None
        home_path = None if remote is not None else _find_or_create_home(home)
        in_notebook = _in_notebook()
        script = _notebook_path() if in_notebook else environment._script_path()
        cwd = os.getcwd()
        # slow probes first, in parallel: git (in the script's folder) and nvidia-smi
        probes = StartProbes(script, cwd)

        runs = local_runs_dir() if home_path is None else runs_dir(home_path)
        run_id, run_dir = new_run_dir(runs, start_ms)
        self._id, self._dir = run_id, run_dir
        self._name = name or os.environ.get(EXPERIMENT_NAME_ENV) or (
            os.path.splitext(os.path.basename(script))[0] if script else "experiment")
        self._params = {str(k): _bound(f"the value of the param {str(k)!r}", _jsonable(v), "paramValueChars",
                                       self._warnings) for k, v in (params or {}).items()}
        self._tags = {str(k): _bound(f"the value of the tag {str(k)!r}", str(v), "tagValueChars", self._warnings)
                      for k, v in (tags or {}).items()}
        os.mkdir(os.path.join(run_dir, "artifacts"), DIR_MODE)

        script_info = None
        if script:
            try:
                os.mkdir(os.path.join(run_dir, "source"), DIR_MODE)
                copy = "source/" + os.path.basename(script)
                with open(script, "rb") as src, _open_private(os.path.join(run_dir, *copy.split("/")),
                                                               exclusive=True) as dst:
                    shutil.copyfileobj(src, dst)
                script_info = {"path": os.path.abspath(script), "copy": copy}
            except OSError:
                script_info = None

        packages: Optional[str] = "packages.txt"
        try:
            with _open_private(os.path.join(run_dir, "packages.txt"), exclusive=True) as f:
                f.write(_packages_text().encode("utf-8", "backslashreplace"))
        except OSError:
            packages = None

        git = probes.git(run_dir)
        gpus = probes.gpus()

        self._manifest = {
            "format": FORMAT,
            "id": run_id,
            "name": self._name,
            "project": project,
            "status": "running",
            "startedAt": _iso(start_ms),
            "endedAt": None,
            "exitCode": None,
            "pid": os.getpid(),
            "operator": _operator(),
            "command": ["<notebook>"] if in_notebook else [str(a) for a in sys.argv],
            "cwd": cwd,
            "script": script_info,
            "host": host_info(gpus),
            "runtime": {"python": platform.python_version()},
            "packages": packages,
            "git": git,
            "params": dict(self._params),
            "tags": dict(self._tags),
        }
        self._open_events()
        self._output.start(run_dir)
        _write_json_atomic(os.path.join(run_dir, "run.json"), self._manifest)
        if remote is not None:
            from ._shipper import Shipper

            self._shipper = Shipper(remote, run_dir, runs)
        self._say_warnings()

    def _open_events(self) -> None:
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_BINARY", 0) | _CLOEXEC | _NOFOLLOW
        try:
            self._fd = os.open(os.path.join(self._dir, "events.jsonl"), flags, FILE_MODE)
        except OSError as e:
            raise MLLabError(f"Cannot write the run's events to {self._dir}: {e.strerror or e}.",
                             code="io_error") from e

    # -- properties ----------------------------------------------------------------------------

    @property
    def id(self) -> str:
        """The run id, ``<yyyyMMdd-HHmmss>-<6 hex>`` (UTC start time)."""
        return self._id

    @property
    def dir(self) -> str:
        """The run directory, ``<home>/runs/<id>``."""
        return self._dir

    @property
    def name(self) -> str:
        return self._name

    @property
    def params(self) -> Dict[str, Any]:
        """The run's params: those given in code, overridden by those given to ``mllab run --param``
        (also how the editor's params file and "Run with Changed Params" reach the script)."""
        return dict(self._params)

    @property
    def status(self) -> str:
        """``running`` until :meth:`end`, then the final status."""
        return self._status

    def __repr__(self) -> str:
        return f"<mllab.Experiment {self._name!r} id={self._id} status={self._status}>"

    # -- logging -------------------------------------------------------------------------------

    def log_metric(self, key: str, value: Any, step: Optional[int] = None) -> None:
        """Logs one point of the metric ``key``.

        ``value``: a number (int, float, bool as 1/0, numpy or torch scalar); NaN and infinities are
        kept and written as "NaN", "Infinity", "-Infinity". ``step``: an integer, or None for the
        next step of that key (its last step + 1, starting at 0). Points are written as logged, in
        order, including repeated steps or steps going backwards.
        """
        st = self._keys.get(key)
        if st is None:
            st = self._new_metric_key(key)
        if type(value) is not float:
            value = _metric_value(key, value)
        if step is not None and type(step) is not int:
            step = _metric_step(key, step)
        with self._lock:
            if step is None:
                step = st[1]
            st[1] = step + 1
            if value - value == 0:
                self._buf.append(f'{st[0]}{value!r},"s":{step},"t":{_time_ns() // 1000000}}}\n')
            else:
                self._buf.append(f'{st[0]}"{_special(value)}","s":{step},"t":{_time_ns() // 1000000}}}\n')
        if len(self._buf) > FLUSH_LINES:
            self.flush()

    def log_metrics(self, metrics: Mapping[str, Any], step: Optional[int] = None) -> None:
        """Logs several metrics at the same step (each key's next step when ``step`` is None)."""
        if not isinstance(metrics, Mapping):
            raise MLLabError(f"log_metrics takes a dict of key -> number, not {type(metrics).__name__}.",
                             code="invalid_value")
        for key, value in metrics.items():
            self.log_metric(key, value, step)

    def _new_metric_key(self, key: Any) -> List[Any]:
        _check_key("metric", key)
        st = ['{"k":"m","key":' + json.dumps(key) + ',"v":', 0]
        with self._lock:
            return self._keys.setdefault(key, st)

    def _event(self, event: Dict[str, Any]) -> None:
        event["t"] = _now_ms()
        line = _dumps(event) + "\n"
        with self._lock:
            self._buf.append(line)
        if len(self._buf) > FLUSH_LINES:
            self.flush()

    def _say_warnings(self) -> None:
        """Records the pending warnings in the run (shown with it) and says them on stderr."""
        while self._warnings:
            message = self._warnings.pop(0)
            try:
                sys.__stderr__.write(f"mllab: run {self._id}: {message}\n")
            except Exception:  # noqa: BLE001
                pass
            self._event({"k": "warning", "message": message})

    def _bounded(self, what: str, value: Any, limit: str) -> Any:
        if isinstance(value, str) and len(value) <= RUN_LIMITS[limit]:
            return value
        value = _bound(what, value, limit, self._warnings)
        self._say_warnings()
        return value

    def log_param(self, key: str, value: Any) -> None:
        """Records a parameter (any JSON-like value; see the README for how others are converted).

        A value longer than 6000 characters (as JSON) is cut to them, with a warning in the run.
        """
        _check_key("param", key)
        value = self._bounded(f"the value of the param {key!r}", _jsonable(value), "paramValueChars")
        self._params[key] = value
        self._event({"k": "param", "key": key, "v": value})

    def log_params(self, params: Mapping[str, Any]) -> None:
        if not isinstance(params, Mapping):
            raise MLLabError(f"log_params takes a dict, not {type(params).__name__}.", code="invalid_params")
        for key, value in params.items():
            self.log_param(key, value)

    def set_tag(self, key: str, value: Any) -> None:
        """Sets a tag; the value is converted to a string (cut to 8000 characters, with a warning)."""
        _check_key("tag", key)
        value = self._bounded(f"the value of the tag {key!r}", value if isinstance(value, str) else str(value),
                              "tagValueChars")
        self._tags[key] = value
        self._event({"k": "tag", "key": key, "v": value})

    def log_artifact(self, path: Any, name: Optional[str] = None) -> str:
        """Copies a file or folder into ``artifacts/`` (as ``name``, default its base name).

        Logging the same name again replaces the earlier copy. Returns the copy's path.
        """
        source = os.path.abspath(os.fspath(path))
        if not os.path.exists(source):
            raise MLLabError(f"log_artifact: there is no file or folder at {source}.", code="invalid_path")
        rel = name if name is not None else os.path.basename(source.rstrip(os.sep)) or "artifact"
        parts = [p for p in str(rel).replace("\\", "/").split("/") if p not in ("", ".")]
        if not parts or ".." in parts or os.path.isabs(str(rel)):
            raise MLLabError(f"log_artifact: the name {rel!r} is not a relative path inside artifacts/: pass a "
                             f"name such as \"model.pt\" or \"checkpoints/epoch-3.pt\".", code="invalid_name")
        _check_length("artifact name", "/".join(parts), "pathChars")
        _check_length("artifact source path", source, "pathChars")
        dest = os.path.join(self._dir, "artifacts", *parts)
        os.makedirs(os.path.dirname(dest), DIR_MODE, exist_ok=True)
        tmp = f"{dest}.tmp-{secrets.token_hex(4)}"
        try:
            if os.path.isdir(source):
                shutil.copytree(source, tmp, symlinks=True)
            else:
                shutil.copy2(source, tmp)
            _make_private(tmp)
            if os.path.isdir(dest) and not os.path.islink(dest):
                shutil.rmtree(dest)
            os.replace(tmp, dest)
        except OSError as e:
            shutil.rmtree(tmp, ignore_errors=True) if os.path.isdir(tmp) else _remove_quiet(tmp)
            raise MLLabError(f"log_artifact: cannot copy {source} into the run: {e.strerror or e}.",
                             code="io_error") from e
        rel_path = "artifacts/" + "/".join(parts)
        self._event({"k": "artifact", "path": rel_path, "source": source})
        return dest

    def log_model(self, path: Any, name: str, entry_point: Optional[str] = None, description: str = "",
                  tags: Optional[List[str]] = None) -> str:
        """Logs a model file: copies it into ``artifacts/`` and records a ``model`` event, from which
        the backend registers it as the next version of the model ``name``, traced to this run.

        ``entry_point`` (``"module:function"``) names a ``predict(inputs)`` function the model server
        calls instead of unpickling the file. Returns the copy's path.
        """
        _check_model_name(name)
        if entry_point is not None and not _ENTRY_POINT.match(str(entry_point)):
            raise MLLabError(f"log_model: the entry point {entry_point!r} is not module:function, e.g. "
                             f"\"predictor:predict\".", code="invalid_entry_point")
        source = os.path.abspath(os.fspath(path))
        if not os.path.isfile(source):
            raise MLLabError(f"log_model: there is no model file at {source}: a model version is one file "
                             f"(save the model with joblib.dump or pickle first).", code="invalid_path")
        tag_list = [str(t)[:RUN_LIMITS["nameChars"]] for t in (tags or [])][:RUN_LIMITS["listItems"]]
        description = self._bounded("the model description", str(description), "textChars")
        dest = self.log_artifact(source)
        self._event({"k": "model", "name": name, "path": "artifacts/" + os.path.basename(dest),
                     "entryPoint": entry_point, "description": description, "tags": tag_list})
        return dest

    def log_input(self, dataset: str, version: Optional[int] = None) -> None:
        """Records a dataset used as input: ``"churn"``, ``"churn:v2"`` or ``("churn", version=2)``."""
        from ._datasets import parse_name

        ds_name, number = parse_name(dataset, version)
        _check_length("dataset name", ds_name, "nameChars")
        self._event({"k": "input", "dataset": ds_name, "version": number if isinstance(number, int) else None})

    def log_output(self, path: Any) -> None:
        """Records a file or folder the run produced (its absolute path; nothing is copied)."""
        output = os.path.abspath(os.fspath(path))
        _check_length("output path", output, "pathChars")
        self._event({"k": "output", "path": output})

    def set_result(self, value: Any) -> None:
        """Records the run's result (any JSON-like value); the last one counts. A result longer than
        65,536 characters (as JSON) is kept as its JSON text cut to them, with a warning."""
        self._event({"k": "result", "v": self._bounded("the result", _jsonable(value), "textChars")})

    # -- flushing and ending -------------------------------------------------------------------

    def flush(self) -> None:
        """Writes the buffered events to events.jsonl now (whole lines, one write)."""
        with self._flush_lock:
            buf = self._buf
            n = len(buf)
            if n and self._fd is not None:
                with self._lock:
                    data = "".join(buf[:n])
                    del buf[:n]
                self._write(data.encode("utf-8", "surrogatepass"))
                if self._shipper is not None:
                    self._shipper.wake()  # a remote lab sees the points now, not at the next pass
            self._output.flush_files()

    def _write(self, data: bytes) -> None:
        fd = self._fd
        if fd is None:
            return
        view = memoryview(data)
        try:
            while view:
                written = os.write(fd, view)
                view = view[written:]
        except OSError as e:
            if not self._write_error_reported:
                self._write_error_reported = True
                try:
                    sys.__stderr__.write(f"mllab: cannot write the events of run {self._id} to "
                                         f"{self._dir}: {e.strerror or e}; events are being lost.\n")
                except Exception:  # noqa: BLE001
                    pass

    def end(self, status: str = "completed", exit_code: Optional[int] = None) -> None:
        """Ends the run: writes the final status and rewrites run.json. Calling it again does nothing.

        Under `mllab run` (``$MLLAB_RUN_DIR``) this only flushes: the wrapper records the status.
        """
        if status not in _END_STATUSES:
            raise MLLabError(f"status={status!r} is not a final status: pass one of {', '.join(_END_STATUSES)}.",
                             code="invalid_status")
        if exit_code is not None and (isinstance(exit_code, bool) or not isinstance(exit_code, int)):
            raise MLLabError(f"exit_code={exit_code!r} is not an integer.", code="invalid_exit_code")
        if self._ended:
            return
        if self._attached or os.getpid() != self._pid:
            self.flush()
            return
        self._ended = True
        self._status = status
        end_ms = _now_ms()
        with self._lock:
            self._buf.append(_dumps({"k": "status", "status": status, "exitCode": exit_code, "t": end_ms}) + "\n")
        self._stop_tee_and_flush()
        lifecycle.unregister(self)
        self._manifest.update(status=status, endedAt=_iso(end_ms), exitCode=exit_code, params=dict(self._params),
                              tags=dict(self._tags))
        try:
            _write_json_atomic(os.path.join(self._dir, "run.json"), self._manifest)
        except OSError as e:
            raise MLLabError(f"Cannot write the end of run {self._id} to {self._dir}: {e.strerror or e}.",
                             code="io_error") from e
        if self._shipper is not None:
            self._shipper.finish()  # waits at most MLLAB_SHIP_TIMEOUT seconds; `mllab sync` sends the rest

    def _stop_tee_and_flush(self) -> None:
        try:
            self._output.flush_consoles()
            self.flush()
        finally:
            self._output.stop()
            with self._flush_lock:
                fd, self._fd = self._fd, None
                if fd is not None:
                    try:
                        os.close(fd)
                    except OSError:
                        pass

    def _fail(self, error: BaseException, status: str, exit_code: Optional[int]) -> None:
        message = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        try:
            self.set_tag("error", message[:_MAX_ERROR_TAG])
        except Exception:  # noqa: BLE001
            pass
        self.end(status, exit_code)

    def __enter__(self) -> "Experiment":
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc is None:
            self.end("completed")
        elif isinstance(exc, KeyboardInterrupt):
            self._fail(exc, "interrupted", None)
        elif isinstance(exc, SystemExit):
            code = exc.code if isinstance(exc.code, int) or exc.code is None else 1
            if not code:
                self.end("completed", 0)
            else:
                self._fail(exc, "failed", code)
        else:
            self._fail(exc, "failed", None)


#: the backend's rule for names (src/protocol/names.ts): letters, digits, spaces, ".", "-", "_"
_MODEL_NAME = re.compile(r"^[^\W_](?:[\w .-]*[\w-])?$")
_ENTRY_POINT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*$")


def _check_model_name(name: Any) -> None:
    if not isinstance(name, str) or not name.strip():
        raise MLLabError("log_model: give the model a name, e.g. log_model(\"model.pkl\", \"churn-model\").",
                         code="invalid_name")
    if len(name) > 64 or ".." in name or not _MODEL_NAME.match(name):
        raise MLLabError(f"log_model: the model name {name!r} is not valid: use at most 64 letters, digits, "
                         f"spaces, \".\", \"-\" and \"_\", starting with a letter or digit.", code="invalid_name")


def _find_or_create_home(home: Optional[str]) -> str:
    """As for datasets, except that a missing ``$MLLAB_HOME`` folder is created."""
    if home is None:
        env = os.environ.get(HOME_ENV)
        if env:
            path = os.path.abspath(os.path.expanduser(env))
            if not os.path.exists(path):
                try:
                    os.makedirs(path, exist_ok=True)
                except OSError as e:
                    raise MLLabError(f"Cannot create the lab home {path} (from ${HOME_ENV}): {e.strerror or e}.",
                                     code="no_home") from e
    return find_home(home)


# ---------------------------------------------------------------------------------------------
# Public functions


def start_experiment(name: Optional[str] = None, params: Optional[Mapping[str, Any]] = None,
                     tags: Optional[Mapping[str, Any]] = None, project: Optional[str] = None,
                     home: Optional[str] = None) -> Experiment:
    """Starts a run and returns it; end it with ``exp.end()`` (else it ends at interpreter exit)."""
    return Experiment(name, params=params, tags=tags, project=project, home=home)


def experiment(name: Optional[str] = None, params: Optional[Mapping[str, Any]] = None,
               tags: Optional[Mapping[str, Any]] = None, project: Optional[str] = None,
               home: Optional[str] = None) -> Experiment:
    """Starts a run for a ``with`` block, which ends it: completed, failed (exception) or interrupted."""
    return Experiment(name, params=params, tags=tags, project=project, home=home)
