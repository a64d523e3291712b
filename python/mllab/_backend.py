"""Finding, starting and talking to the backend process of a lab home.

The backend registers itself in ``<home>/run/backend.json``; when none runs, one is
started from ``<home>/run/launcher.json`` (written by every backend when it starts:
``{"node": ..., "script": ..., "env": {...}}``).
Requests go to ``http://127.0.0.1:<port>`` with the registration's bearer token.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

from ._errors import MLLabError
from ._home import backend_log_path, launcher_path, logs_dir, registration_path
from ._process import pid_alive

__all__ = ["API_VERSION", "Registration", "Backend", "connect", "read_registration"]

#: the API version this client speaks (``apiVersion`` in the registration)
API_VERSION = 1

#: how long to wait for a registered backend whose port is still 0
REGISTRATION_WAIT_S = 10.0
#: how long to wait for a backend this client started
START_TIMEOUT_S = 20.0
#: a started backend stops after this long without clients
IDLE_EXIT_S = 300
#: timeout of ordinary requests (seconds); adding a dataset has none
REQUEST_TIMEOUT_S = 60.0
#: timeout of the liveness probe GET /api/status
STATUS_TIMEOUT_S = 5.0
#: the file the stderr of a started backend goes to (its log lines also go to backend.log)
LAUNCH_LOG_NAME = "backend-launch.log"

_POLL_S = 0.1

# Backends started by this process: polled so that one that exited is reaped rather than
# lingering as a zombie whose pid still looks alive.
_started: List[subprocess.Popen] = []
_started_lock = threading.Lock()


@dataclass(frozen=True)
class Registration:
    """The content of ``<home>/run/backend.json``."""

    pid: int
    port: int
    token: str
    version: str
    api_version: Optional[int]
    started_at: str


def _reap() -> None:
    with _started_lock:
        _started[:] = [proc for proc in _started if proc.poll() is None]


def read_registration(home: str) -> Tuple[str, Optional[Registration]]:
    """Reads the registration file.

    Returns ``("missing", None)``, ``("torn", None)`` for a file that is not (yet) valid
    JSON, or ``("ok", registration)``.
    """
    path = registration_path(home)
    try:
        with open(path, "r", encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        return "missing", None
    except OSError as e:
        raise MLLabError(f"Cannot read the backend registration {path}: {e.strerror or e}.", code="registration") from e
    try:
        data = json.loads(text)
    except ValueError:
        return "torn", None
    if not isinstance(data, dict):
        return "torn", None
    pid, port, token = data.get("pid"), data.get("port"), data.get("token")
    if not (isinstance(pid, int) and isinstance(port, int) and isinstance(token, str)):
        return "torn", None
    api_version = data.get("apiVersion")
    return "ok", Registration(
        pid=pid,
        port=port,
        token=token,
        version=str(data.get("version", "")),
        api_version=api_version if isinstance(api_version, int) else None,
        started_at=str(data.get("startedAt", "")),
    )


def _live_registration(home: str, wait_s: float = REGISTRATION_WAIT_S) -> Optional[Registration]:
    """The registration of a live backend, waiting while its port is still 0; None when none lives."""
    deadline = time.monotonic() + wait_s
    torn_deadline = time.monotonic() + 2.0
    while True:
        _reap()
        state, reg = read_registration(home)
        if state == "missing":
            return None
        if state == "torn":
            # being written this instant, or left torn by a crash (a new backend takes it over)
            if time.monotonic() > torn_deadline:
                return None
        elif reg is not None:
            if not pid_alive(reg.pid):
                return None
            if reg.port != 0:
                return reg
            if time.monotonic() > deadline:
                raise MLLabError(
                    f"The ML Lab backend of {home} (process {reg.pid}) is still starting after {wait_s:.0f} s: "
                    f"see {backend_log_path(home)} and try again.",
                    code="start_timeout",
                )
        time.sleep(_POLL_S)


def _check_version(home: str, reg: Registration) -> None:
    if reg.api_version is not None and reg.api_version != API_VERSION:
        raise MLLabError(
            f"The ML Lab backend of {home} (process {reg.pid}) speaks API version {reg.api_version}, this Python "
            f"client {API_VERSION}. Stop it with `mllab stop` (or close the other ML Lab windows) and try again, "
            f"or install the Python client that comes with your ML Lab.",
            code="version_mismatch",
        )


def _answers(reg: Registration, timeout: float = STATUS_TIMEOUT_S) -> bool:
    """Whether something answers HTTP on the registered port (any status counts, 401 included)."""
    conn = http.client.HTTPConnection("127.0.0.1", reg.port, timeout=timeout)
    try:
        conn.request("GET", "/api/status", headers={"Authorization": f"Bearer {reg.token}"})
        conn.getresponse().read()
        return True
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()


def _read_launcher(home: str) -> Tuple[str, str, Dict[str, str]]:
    path = launcher_path(home)
    not_running = (
        f"No ML Lab backend runs for {home}: start one with `npx mllab serve --home {home}` "
        f"or open the folder in VS Code"
    )
    try:
        with open(path, "r", encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        raise MLLabError(not_running + ".", code="not_running") from None
    except (OSError, ValueError) as e:
        raise MLLabError(f"{not_running} ({path} could not be read: {e}).", code="not_running") from e
    node, script = (data.get("node"), data.get("script")) if isinstance(data, dict) else (None, None)
    if not isinstance(node, str) or not isinstance(script, str) or not node or not script:
        raise MLLabError(f"{not_running} ({path} lacks \"node\" or \"script\").", code="not_running")
    env = data.get("env") or {}
    if not isinstance(env, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in env.items()):
        raise MLLabError(f"{not_running} ({path} has an \"env\" that is not an object of strings).",
                         code="not_running")
    if not os.path.isfile(script):
        raise MLLabError(
            f"{not_running}: {path} names the backend script {script}, which no longer exists "
            f"(ML Lab was updated or moved; starting ML Lab again rewrites the file).",
            code="not_running",
        )
    return node, script, env


def _tail(path: str, limit: int = 2000) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - limit))
            return f.read().decode("utf-8", "replace").strip()
    except OSError:
        return ""


def _launch(home: str, timeout_s: float = START_TIMEOUT_S) -> Registration:
    """Starts a detached backend from launcher.json and waits until it answers."""
    node, script, extra_env = _read_launcher(home)
    os.makedirs(logs_dir(home), exist_ok=True)
    launch_log = os.path.join(logs_dir(home), LAUNCH_LOG_NAME)
    kwargs: dict = {}
    if sys.platform == "win32":
        kwargs["creationflags"] = (
            subprocess.DETACHED_PROCESS | subprocess.CREATE_NEW_PROCESS_GROUP | subprocess.CREATE_NO_WINDOW  # type: ignore[attr-defined]
        )
    else:
        kwargs["start_new_session"] = True
    try:
        with open(launch_log, "wb") as err:
            proc = subprocess.Popen(
                [node, script, "--home", home, "--idle-exit", str(IDLE_EXIT_S)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=err,
                cwd=home,
                # e.g. ELECTRON_RUN_AS_NODE=1 when "node" is VS Code's own executable
                env={**os.environ, **extra_env},
                close_fds=True,
                **kwargs,
            )
    except OSError as e:
        raise MLLabError(
            f"Could not start the ML Lab backend with {node} (from {launcher_path(home)}): {e.strerror or e}. "
            f"Start one with `npx mllab serve --home {home}` or open the folder in VS Code.",
            code="start_failed",
        ) from e
    with _started_lock:
        _started.append(proc)
    deadline = time.monotonic() + timeout_s
    while True:
        state, reg = read_registration(home)
        if state == "ok" and reg is not None and reg.port != 0 and pid_alive(reg.pid) and _answers(reg):
            _check_version(home, reg)
            return reg
        code = proc.poll()
        if code is not None and code != 0:
            tail = _tail(launch_log)
            raise MLLabError(
                f"The ML Lab backend exited with code {code} while starting"
                + (f": {tail}\n" if tail else "; ")
                + f"See {backend_log_path(home)} and {launch_log}.",
                code="start_failed",
            )
        # exit code 0: it found another backend starting at the same time; wait for that one
        if time.monotonic() > deadline:
            raise MLLabError(
                f"The ML Lab backend did not start within {timeout_s:.0f} s: see {backend_log_path(home)}.",
                code="start_timeout",
            )
        time.sleep(_POLL_S)


def connect(home: str, *, start: bool = True) -> "Backend":
    """The backend of ``home``: the registered one, or one started from launcher.json."""
    reg = _live_registration(home)
    if reg is None:
        if not start:
            raise MLLabError(
                f"No ML Lab backend runs for {home}: start one with `npx mllab serve --home {home}` "
                f"or open the folder in VS Code.",
                code="not_running",
            )
        reg = _launch(home)
    else:
        _check_version(home, reg)
        if not _answers(reg):
            raise MLLabError(
                f"Process {reg.pid} owns the lab home {home} but does not answer on port {reg.port}: stop it, "
                f"or remove {registration_path(home)} if it is not ML Lab.",
                code="not_answering",
            )
    return Backend(home, reg)


class Backend:
    """A connection to the backend of one lab home (one HTTP request per call)."""

    def __init__(self, home: str, registration: Registration) -> None:
        self.home = home
        self.registration = registration

    def request(self, method: str, path: str, body: Any = None, timeout: Optional[float] = REQUEST_TIMEOUT_S) -> Any:
        """Sends a request and returns the parsed JSON answer (None for an empty one).

        A 4xx/5xx answer raises MLLabError with the backend's message. A refused
        connection (the backend stopped meanwhile) reconnects once, starting a backend
        if needed; a 401 after the backend restarted retries once with the new token.
        ``timeout=None`` waits as long as it takes. Interrupting (Ctrl-C) closes the
        connection, which makes the backend cancel the operation.
        """
        payload = None if body is None else json.dumps(body).encode("utf-8")
        for attempt in range(2):
            reg = self.registration
            headers = {"Authorization": f"Bearer {reg.token}", "Accept": "application/json"}
            if payload is not None:
                headers["Content-Type"] = "application/json"
            conn = http.client.HTTPConnection("127.0.0.1", reg.port, timeout=timeout)
            try:
                conn.request(method, path, body=payload, headers=headers)
                response = conn.getresponse()
                data = response.read()
                status, reason = response.status, response.reason
            except ConnectionRefusedError:
                if attempt == 0:
                    fresh = connect(self.home)
                    self.registration = fresh.registration
                    continue
                raise MLLabError(
                    f"The ML Lab backend of {self.home} does not answer on port {reg.port}: see "
                    f"{backend_log_path(self.home)}.",
                    code="not_answering",
                ) from None
            except socket.timeout:
                raise MLLabError(
                    f"The ML Lab backend did not answer {method} {_strip_query(path)} within {timeout:.0f} s: "
                    f"it may be busy or stuck; see {backend_log_path(self.home)}.",
                    code="timeout",
                ) from None
            except (OSError, http.client.HTTPException) as e:
                raise MLLabError(
                    f"Lost the connection to the ML Lab backend during {method} {_strip_query(path)}: {e}. "
                    f"See {backend_log_path(self.home)}.",
                    code="connection",
                ) from e
            finally:
                conn.close()
            if status == 401 and attempt == 0:
                state, fresh_reg = read_registration(self.home)
                if state == "ok" and fresh_reg is not None and fresh_reg.token != reg.token:
                    self.registration = fresh_reg
                    continue
            return _parse(method, path, status, reason, data)
        raise AssertionError("unreachable")


def _strip_query(path: str) -> str:
    return path.split("?", 1)[0]


def _parse(method: str, path: str, status: int, reason: str, data: bytes) -> Any:
    text = data.decode("utf-8", "replace")
    if status >= 400:
        try:
            error = json.loads(text).get("error", {})
            message, code = error.get("message"), error.get("code")
        except (ValueError, AttributeError):
            message, code = None, None
        if not isinstance(message, str) or not message:
            snippet = text.strip()[:300]
            message = (
                f"The ML Lab backend answered {status} {reason} to {method} {_strip_query(path)}"
                + (f": {snippet}" if snippet else ".")
            )
        raise MLLabError(message, code=code if isinstance(code, str) else None, status=status)
    if not text.strip():
        return None
    try:
        return json.loads(text)
    except ValueError:
        raise MLLabError(
            f"The ML Lab backend answered {method} {_strip_query(path)} with something that is not JSON: "
            f"{text.strip()[:200]!r}. Is another program listening on its port?",
            code="bad_answer",
            status=status,
        ) from None
