"""Experiments: a run directory written by the client, with no backend involved.

``<home>/runs/<id>/`` holds ``run.json`` (the manifest, see ``RunManifest`` in
``src/protocol/experiments.ts``), ``events.jsonl`` (one ``RunEvent`` per line), ``stdout.log``,
``stderr.log``, ``artifacts/``, ``source/``, ``packages.txt`` and ``git.diff``. The backend ingests
the directory; the client never contacts it.

``log_metric`` is on the hot path of training loops: it formats one JSON line and appends it to an
in-memory list (about 1 us). A daemon thread writes the list to ``events.jsonl`` every 100 ms,
whole lines in one ``write``; the list is also written when it holds more than 10,000 lines, on
``flush()``, at the end of the run and at interpreter exit.
"""

from __future__ import annotations

import atexit
import getpass
import json
import operator
import os
import platform
import re
import secrets
import shutil
import socket
import stat
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from typing import Any, Dict, List, Mapping, Optional

from ._errors import MLLabError
from ._home import HOME_ENV, find_home

__all__ = ["Experiment", "experiment", "start_experiment", "RUN_DIR_ENV", "EXPERIMENT_NAME_ENV",
           "FLUSH_INTERVAL", "FLUSH_LINES", "runs_dir"]

#: set by `mllab run`: the run directory the wrapper created; the client appends events to it
RUN_DIR_ENV = "MLLAB_RUN_DIR"
#: set by `mllab run`: the experiment name given on its command line
EXPERIMENT_NAME_ENV = "MLLAB_EXPERIMENT_NAME"
#: seconds between two writes of the event buffer by the background thread
FLUSH_INTERVAL = 0.1
#: the buffer is written at once by the logging thread when it holds more lines than this
FLUSH_LINES = 10_000

FORMAT = 1
STATUSES = ("running", "completed", "failed", "interrupted")
_END_STATUSES = ("completed", "failed", "interrupted")
_GIT_TIMEOUT = 1.5
_GPU_TIMEOUT = 2.0
_MAX_GIT_DIFF = 50 * 1024 * 1024
_MAX_ERROR_TAG = 8000

#: what a run may record, as RUN_LIMITS in src/protocol/limits.ts (a test keeps the two equal):
#: longer keys and names are refused, longer values cut to the limit with a warning in the run
RUN_LIMITS = {
    "keyChars": 250,
    "paramValueChars": 6000,
    "tagValueChars": 8000,
    "nameChars": 250,
    "pathChars": 4096,
    "textChars": 65_536,
    "listItems": 1000,
    "lineBytes": 1024 * 1024,
}
_KEY_CHARS = RUN_LIMITS["keyChars"]

#: run directories and their files are private to their owner, whatever the umask
DIR_MODE = 0o700
FILE_MODE = 0o600
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)

_time_ns = time.time_ns


def runs_dir(home: str) -> str:
    """``<home>/runs``: one folder per run."""
    return os.path.join(home, "runs")


# ---------------------------------------------------------------------------------------------
# JSON helpers


def _now_ms() -> int:
    return _time_ns() // 1_000_000


def _iso(ms: int) -> str:
    """As JavaScript's ``Date.prototype.toISOString``: ``2024-05-01T12:00:00.123Z``."""
    d = datetime.fromtimestamp(ms / 1000, tz=timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def _special(v: float) -> str:
    return "NaN" if v != v else ("Infinity" if v > 0 else "-Infinity")


def _jsonable(value: Any, depth: int = 0) -> Any:
    """A copy of ``value`` that ``json.dumps(allow_nan=False)`` accepts.

    Non-finite floats become "NaN"/"Infinity"/"-Infinity"; tuples and sets become lists; dict keys
    become strings; numpy-like scalars and arrays become numbers and lists (``__index__``,
    ``__float__``, ``tolist``); anything else becomes ``str(value)``.
    """
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return value if value - value == 0 else _special(value)
    if depth > 100:
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v, depth + 1) for v in value]
    if isinstance(value, (set, frozenset)):
        items = [_jsonable(v, depth + 1) for v in value]
        try:
            return sorted(items)
        except TypeError:
            return items
    if hasattr(value, "tolist") and callable(value.tolist):  # numpy arrays and scalars, torch tensors
        try:
            return _jsonable(value.tolist(), depth + 1)
        except Exception:  # noqa: BLE001
            pass
    if hasattr(value, "__index__"):
        try:
            return operator.index(value)
        except Exception:  # noqa: BLE001
            pass
    if hasattr(value, "__float__"):
        try:
            return _jsonable(float(value), depth + 1)
        except Exception:  # noqa: BLE001
            pass
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return str(value)


def _dumps(value: Any) -> str:
    return json.dumps(value, allow_nan=False, separators=(",", ":"))


def _write_json_atomic(path: str, value: Any) -> None:
    """Writes ``path`` through a temp file in the same folder and ``os.replace``."""
    tmp = f"{path}.tmp-{os.getpid()}-{secrets.token_hex(4)}"
    data = json.dumps(value, allow_nan=False, indent=2, ensure_ascii=False).encode("utf-8")
    try:
        with _open_private(tmp, exclusive=True) as f:
            f.write(data)
            f.write(b"\n")
        os.replace(tmp, path)
    except BaseException:
        try:
            os.remove(tmp)
        except OSError:
            pass
        raise


def _open_private(path: str, exclusive: bool = False, append: bool = False) -> Any:
    """A binary file of the run directory, created 0600 (whatever the umask), never through a link."""
    flags = os.O_WRONLY | os.O_CREAT | _NOFOLLOW | _CLOEXEC | getattr(os, "O_BINARY", 0)
    flags |= os.O_EXCL if exclusive else (os.O_APPEND if append else os.O_TRUNC)
    return os.fdopen(os.open(path, flags, FILE_MODE), "ab" if append else "wb")


def _check_key(kind: str, key: Any) -> str:
    if not isinstance(key, str) or not key:
        raise MLLabError(f"The {kind} key {key!r} is not a name: pass a non-empty string such as \"loss\".",
                         code="invalid_key")
    if len(key) > _KEY_CHARS:
        raise MLLabError(f"The {kind} key {key[:40]!r}... has {len(key)} characters: at most {_KEY_CHARS} are "
                         f"allowed.", code="invalid_key")
    return key


def _check_length(what: str, text: str, limit: str) -> None:
    """Refuses a name or path longer than RUN_LIMITS[limit]."""
    most = RUN_LIMITS[limit]
    if len(text) > most:
        raise MLLabError(f"The {what} {text[:40]!r}... has {len(text)} characters: at most {most} are allowed.",
                         code="too_long")


def _bound(what: str, value: Any, limit: str, warnings: List[str]) -> Any:
    """``value`` (already JSON-like) within RUN_LIMITS[limit] characters: a longer one is cut (a
    non-string one as its JSON text), and ``warnings`` gets a sentence saying so."""
    most = RUN_LIMITS[limit]
    if isinstance(value, str):
        if len(value) <= most:
            return value
        text = value
    elif value is None or isinstance(value, (bool, int, float)):
        return value
    else:
        text = _dumps(value)
        if len(text) <= most:
            return value
    warnings.append(f"{what} has {len(text)} characters: kept its first {most} (the limit)")
    return text[:most]


# ---------------------------------------------------------------------------------------------
# What is recorded at start


def _memory_bytes() -> int:
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        pass
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    if sys.platform == "win32":
        try:
            import ctypes

            class _MemoryStatus(ctypes.Structure):
                _fields_ = [("dwLength", ctypes.c_ulong), ("dwMemoryLoad", ctypes.c_ulong),
                            ("ullTotalPhys", ctypes.c_ulonglong), ("ullAvailPhys", ctypes.c_ulonglong),
                            ("ullTotalPageFile", ctypes.c_ulonglong), ("ullAvailPageFile", ctypes.c_ulonglong),
                            ("ullTotalVirtual", ctypes.c_ulonglong), ("ullAvailVirtual", ctypes.c_ulonglong),
                            ("ullAvailExtendedVirtual", ctypes.c_ulonglong)]

            status = _MemoryStatus()
            status.dwLength = ctypes.sizeof(_MemoryStatus)
            if ctypes.windll.kernel32.GlobalMemoryStatusEx(ctypes.byref(status)):  # type: ignore[attr-defined]
                return int(status.ullTotalPhys)
        except Exception:  # noqa: BLE001
            pass
    return 0


def _operator() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001
        return ""


_VERSION_IN_DIST_INFO = re.compile(r"^[0-9][0-9A-Za-z.+!_]*$")


def _packages_text() -> str:
    """``name==version`` lines of the installed distributions, sorted, first on sys.path wins.

    Name and version come from the ``<name>-<version>.dist-info`` folder name when it has both
    (parsing every METADATA file takes ~0.4 ms per distribution), else from the metadata.
    """
    try:
        from importlib import metadata
    except ImportError:  # pragma: no cover
        return ""
    seen: Dict[str, str] = {}
    try:
        for dist in metadata.distributions():
            try:
                folder = getattr(getattr(dist, "_path", None), "name", "")
                name, _, version = folder[:-10].partition("-") if folder.endswith(".dist-info") else ("", "", "")
                if not name or not _VERSION_IN_DIST_INFO.match(version):
                    name, version = dist.metadata["Name"], dist.version
            except Exception:  # noqa: BLE001
                continue
            if not name:
                continue
            norm = re.sub(r"[-_.]+", "-", name).lower()
            if norm not in seen:
                seen[norm] = f"{name}=={version}"
    except Exception:  # noqa: BLE001
        pass
    return "".join(line + "\n" for line in sorted(seen.values(), key=str.lower))


def _popen(args: List[str], cwd: str) -> Optional["subprocess.Popen[bytes]"]:
    try:
        kwargs: Dict[str, Any] = {}
        if sys.platform == "win32":
            kwargs["creationflags"] = getattr(subprocess, "CREATE_NO_WINDOW", 0)
        env = dict(os.environ, GIT_OPTIONAL_LOCKS="0", LC_ALL="C")
        return subprocess.Popen(args, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, env=env, **kwargs)
    except (OSError, ValueError):
        return None


def _collect(proc: Optional["subprocess.Popen[bytes]"], deadline: float) -> Optional[bytes]:
    """The output of ``proc`` if it exits with 0 before ``deadline`` (monotonic), else None."""
    if proc is None:
        return None
    try:
        out, _ = proc.communicate(timeout=max(0.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        proc.kill()
        try:
            proc.communicate(timeout=1)
        except Exception:  # noqa: BLE001
            pass
        return None
    except OSError:
        return None
    return out if proc.returncode == 0 else None


def _notebook_path() -> Optional[str]:
    """The notebook file of the running Jupyter kernel, when VS Code says it (``__vsc_ipynb_file__``)."""
    shell = _ipython_shell()
    if shell is None:
        return None
    try:
        path = shell.user_ns.get("__vsc_ipynb_file__")
    except Exception:  # noqa: BLE001
        return None
    return path if isinstance(path, str) and os.path.isfile(path) else None


def _ipython_shell() -> Any:
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return None
    try:
        return ipython.get_ipython()  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001
        return None


def _in_notebook() -> bool:
    shell = _ipython_shell()
    return shell is not None and type(shell).__name__ != "TerminalInteractiveShell"


class _Tee:
    """Stands in for sys.stdout/sys.stderr: writes go to the console and to a log file."""

    def __init__(self, inner: Any, file: Any) -> None:
        self._inner = inner
        self._file = file
        self._lock = threading.Lock()

    def write(self, s: str) -> int:
        n = self._inner.write(s)
        f = self._file
        if f is not None:
            try:
                with self._lock:
                    f.write(s)
            except Exception:  # noqa: BLE001  (a full disk must not break print())
                self._file = None
        return n

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        try:
            self._inner.flush()
        finally:
            self.flush_file()

    def flush_file(self) -> None:
        f = self._file
        if f is not None:
            try:
                with self._lock:
                    f.flush()
            except Exception:  # noqa: BLE001
                self._file = None

    def detach_file(self) -> None:
        self.flush_file()
        self._file = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


# ---------------------------------------------------------------------------------------------
# The experiment

_active: List["Experiment"] = []
_active_lock = threading.Lock()
_flusher: Optional[threading.Thread] = None
_hooks_installed = False
_uncaught: Optional[BaseException] = None

#: dataset versions this process loaded with mllab.dataset(): inputs of every run it records
_inputs: List[Any] = []


def note_dataset_input(name: str, version: Optional[int]) -> None:
    """Records a dataset version loaded by ``mllab.dataset`` as an input of the runs of this process:
    those running now and those started later (loading the data often comes first)."""
    if (name, version) in _inputs:
        return
    _inputs.append((name, version))
    with _active_lock:
        runs = list(_active)
    for exp in runs:
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
        self._tees: List[_Tee] = []
        self._log_files: List[Any] = []
        self._params: Dict[str, Any] = {}
        self._tags: Dict[str, str] = {}
        self._manifest: Dict[str, Any] = {}
        self._warnings: List[str] = []

        run_dir = os.environ.get(RUN_DIR_ENV)
        self._attached = bool(run_dir)
        if self._attached:
            self._open_attached(os.path.abspath(run_dir), name, params, tags)  # type: ignore[arg-type]
        else:
            self._create(start_ms, name, params, tags, project, home)
        with _active_lock:
            _active.append(self)
        _ensure_background()
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
        home_path = _find_or_create_home(home)
        in_notebook = _in_notebook()
        script = _notebook_path() if in_notebook else _script_path()
        cwd = os.getcwd()
        # slow probes first, in parallel: git (in the script's folder) and nvidia-smi
        deadline = time.monotonic() + _GIT_TIMEOUT
        git_cwd = os.path.dirname(script) if script else cwd
        git_exe = shutil.which("git")
        git_head = _popen([git_exe, "rev-parse", "HEAD", "--abbrev-ref", "HEAD"], git_cwd) if git_exe else None
        git_diff = _popen([git_exe, "-c", "core.quotepath=off", "diff", "HEAD", "--no-color", "--no-ext-diff"],
                          git_cwd) if git_exe else None
        # whether the commit holds the script at all: a script outside git (or ignored) is not in the diff
        git_tracked = _popen([git_exe, "ls-files", "--error-unmatch", "--", script], git_cwd) \
            if git_exe and script else None
        git_ignored = _popen([git_exe, "check-ignore", "-q", "--", script], git_cwd) if git_exe and script else None
        smi = shutil.which("nvidia-smi")
        gpu_proc = _popen([smi, "-L"], cwd) if smi else None

        runs = runs_dir(home_path)
        os.makedirs(runs, DIR_MODE, exist_ok=True)
        stamp = datetime.fromtimestamp(start_ms / 1000, tz=timezone.utc).strftime("%Y%m%d-%H%M%S")
        while True:
            run_id = f"{stamp}-{secrets.token_hex(3)}"
            run_dir = os.path.join(runs, run_id)
            try:
                os.mkdir(run_dir, DIR_MODE)
                break
            except FileExistsError:
                continue
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

        git: Optional[Dict[str, Any]] = None
        head = _collect(git_head, deadline)
        diff = _collect(git_diff, deadline)
        tracked, ignored = _collect(git_tracked, deadline), _collect(git_ignored, deadline)
        if head is not None:
            lines = head.decode("utf-8", "replace").split()
            commit = lines[0] if len(lines) > 0 else None
            branch = lines[1] if len(lines) > 1 else None
            git = {"commit": commit, "branch": None if branch == "HEAD" else branch, "dirty": bool(diff),
                   "diff": None}
            if script:
                git["script"] = _script_in_git(tracked, ignored)
            if diff:
                try:
                    with _open_private(os.path.join(run_dir, "git.diff"), exclusive=True) as f:
                        f.write(diff[:_MAX_GIT_DIFF])
                    git["diff"] = "git.diff"
                except OSError:
                    pass
        gpus: List[str] = []
        out = _collect(gpu_proc, time.monotonic() + _GPU_TIMEOUT) if gpu_proc else None
        if out:
            gpus = [line.strip() for line in out.decode("utf-8", "replace").splitlines() if line.strip()]

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
            "host": {
                "hostname": socket.gethostname(),
                "os": platform.platform(),
                "cpus": os.cpu_count() or 0,
                "memoryBytes": _memory_bytes(),
                "gpus": gpus,
            },
            "runtime": {"python": platform.python_version()},
            "packages": packages,
            "git": git,
            "params": dict(self._params),
            "tags": dict(self._tags),
        }
        self._open_events()
        self._start_tee()
        _write_json_atomic(os.path.join(run_dir, "run.json"), self._manifest)
        self._say_warnings()

    def _open_events(self) -> None:
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_BINARY", 0) | _CLOEXEC | _NOFOLLOW
        try:
            self._fd = os.open(os.path.join(self._dir, "events.jsonl"), flags, FILE_MODE)
        except OSError as e:
            raise MLLabError(f"Cannot write the run's events to {self._dir}: {e.strerror or e}.",
                             code="io_error") from e

    def _start_tee(self) -> None:
        for stream_name, file_name in (("stdout", "stdout.log"), ("stderr", "stderr.log")):
            try:
                f = open(os.open(os.path.join(self._dir, file_name),
                                 os.O_WRONLY | os.O_APPEND | os.O_CREAT | _NOFOLLOW | _CLOEXEC, FILE_MODE),
                         "a", encoding="utf-8", errors="backslashreplace", newline="")
            except OSError:
                continue
            self._log_files.append(f)
            inner = getattr(sys, stream_name)
            if inner is None:
                continue
            tee = _Tee(inner, f)
            self._tees.append(tee)
            setattr(sys, stream_name, tee)

    def _stop_tee(self) -> None:
        for tee, stream_name in zip(self._tees, ("stdout", "stderr")):
            tee.detach_file()
            if getattr(sys, stream_name) is tee:
                setattr(sys, stream_name, tee._inner)
        self._tees = []
        for f in self._log_files:
            try:
                f.close()
            except Exception:  # noqa: BLE001
                pass
        self._log_files = []

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
            for tee in self._tees:
                tee.flush_file()

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
        with _active_lock:
            if self in _active:
                _active.remove(self)
        self._manifest.update(status=status, endedAt=_iso(end_ms), exitCode=exit_code, params=dict(self._params),
                              tags=dict(self._tags))
        try:
            _write_json_atomic(os.path.join(self._dir, "run.json"), self._manifest)
        except OSError as e:
            raise MLLabError(f"Cannot write the end of run {self._id} to {self._dir}: {e.strerror or e}.",
                             code="io_error") from e

    def _stop_tee_and_flush(self) -> None:
        try:
            for tee in self._tees:
                try:
                    tee._inner.flush()
                except Exception:  # noqa: BLE001
                    pass
            self.flush()
        finally:
            self._stop_tee()
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


def _make_private(path: str) -> None:
    """Files 0600 and folders 0700 (a copied artifact keeps its source's mode otherwise); links untouched."""
    if os.path.islink(path):
        return
    os.chmod(path, DIR_MODE if os.path.isdir(path) else FILE_MODE)
    if os.path.isdir(path):
        for root, dirs, files in os.walk(path):
            for name in dirs + files:
                p = os.path.join(root, name)
                if not os.path.islink(p):
                    os.chmod(p, DIR_MODE if name in dirs else FILE_MODE)


def _remove_quiet(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass


def _metric_value(key: str, value: Any) -> float:
    if isinstance(value, (str, bytes, bytearray)) or value is None:
        raise MLLabError(f"log_metric({key!r}): the value {value!r} is not a number: pass an int or a float "
                         f"(numpy and torch scalars work too).", code="invalid_value")
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError) as e:
        raise MLLabError(f"log_metric({key!r}): the value {value!r} is not a number ({e}): pass an int or a "
                         f"float (numpy and torch scalars work too).", code="invalid_value") from None


def _metric_step(key: str, step: Any) -> int:
    if isinstance(step, bool):
        raise MLLabError(f"log_metric({key!r}): step={step!r} is not a step: pass an integer, or None for the "
                         f"next step.", code="invalid_step")
    try:
        return operator.index(step)
    except TypeError:
        raise MLLabError(f"log_metric({key!r}): step={step!r} is not a step: pass an integer, or None for the "
                         f"next step.", code="invalid_step") from None


def _script_in_git(tracked: Optional[bytes], ignored: Optional[bytes]) -> str:
    """``tracked``, ``ignored`` or ``untracked``, from `git ls-files --error-unmatch` and `git check-ignore`
    (each None when it failed: not tracked, not ignored)."""
    if tracked is not None:
        return "tracked"
    return "ignored" if ignored is not None else "untracked"


def _script_path() -> Optional[str]:
    main = sys.modules.get("__main__")
    candidate = getattr(main, "__file__", None) or (sys.argv[0] if sys.argv and sys.argv[0] else None)
    if candidate and os.path.isfile(candidate):
        return os.path.abspath(candidate)
    return None


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
# Background flushing, interpreter exit, fork


def _background_loop() -> None:
    while True:
        time.sleep(FLUSH_INTERVAL)
        with _active_lock:
            runs = list(_active)
        for exp in runs:
            try:
                exp.flush()
            except Exception:  # noqa: BLE001
                pass


def _ensure_background() -> None:
    global _flusher, _hooks_installed
    with _active_lock:
        if _flusher is None or not _flusher.is_alive():
            _flusher = threading.Thread(target=_background_loop, name="mllab-flush", daemon=True)
            _flusher.start()
        if not _hooks_installed:
            _hooks_installed = True
            atexit.register(_at_exit)
            previous = sys.excepthook

            def _excepthook(exc_type: Any, exc: Any, tb: Any) -> None:
                global _uncaught
                _uncaught = exc
                previous(exc_type, exc, tb)

            sys.excepthook = _excepthook
            if hasattr(os, "register_at_fork"):
                os.register_at_fork(after_in_child=_after_fork_in_child)


def _at_exit() -> None:
    """Ends the runs still open: failed after an uncaught exception, interrupted after Ctrl-C."""
    error = _uncaught
    if error is None and _ipython_shell() is None:
        error = getattr(sys, "last_value", None)
    with _active_lock:
        runs = list(_active)
    for exp in runs:
        try:
            if error is None:
                exp.end("completed")
            elif isinstance(error, KeyboardInterrupt):
                exp._fail(error, "interrupted", 130)
            else:
                exp._fail(error, "failed", 1)
        except Exception:  # noqa: BLE001
            pass


def _after_fork_in_child() -> None:
    """A forked child (e.g. a DataLoader worker) must not write the parent's buffered lines again."""
    global _flusher, _active_lock
    _active_lock = threading.Lock()
    _flusher = None
    for exp in _active:
        exp._lock = threading.Lock()
        exp._flush_lock = threading.Lock()
        del exp._buf[:]


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
