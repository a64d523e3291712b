"""``python -m mllab sync``: sends the runs of the local journal the lab does not hold all of yet (a run
that ended while the lab was unreachable, or whose end did not wait long enough)."""

from __future__ import annotations

import json
import os
import re
import socket
import time
from typing import Callable, List, Tuple

from ._errors import MLLabError
from ._remote import Connection, LabError, remote_from_env
from ._run_writer import _write_json_atomic
from ._ship_pass import Marker, RunSender, describe, marker_path, prune
from ._shipper import FIRST_PAUSE, MAX_PAUSE

_RUN_ID = re.compile(r"^[0-9]{8}-[0-9]{6}-[0-9a-f]{6}$")


def _still_running(run_dir: str) -> bool:
    """Whether the run's own process (on this machine) still runs, and so sends it itself."""
    try:
        with open(os.path.join(run_dir, "run.json"), encoding="utf-8") as f:
            m = json.load(f)
        if m.get("status") != "running" or not isinstance(m.get("pid"), int):
            return False
        host = (m.get("host") or {}).get("hostname")
        if host not in (None, socket.gethostname()):
            return False
        os.kill(m["pid"], 0)
        return True
    except (OSError, ValueError, AttributeError, TypeError):
        return False


def _end_interrupted(run_dir: str) -> None:
    """A run whose process on this machine is gone while its run.json says it runs (killed, a machine
    that went down): recorded as interrupted, as the lab records a local run whose process died, so that
    the lab gets the run's end with the rest of it."""
    path = os.path.join(run_dir, "run.json")
    try:
        with open(path, encoding="utf-8") as f:
            m = json.load(f)
        if not isinstance(m, dict) or m.get("status") != "running":
            return
        host = (m.get("host") or {}).get("hostname")
        if host not in (None, socket.gethostname()):
            return  # recorded on another machine: its process cannot be asked about here
        m.update(status="interrupted", exitCode=None,
                 endedAt=time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(os.path.getmtime(path))))
        _write_json_atomic(path, m)
    except (OSError, ValueError, AttributeError, TypeError):
        pass


def _prune_orphans(journal: str, url: str) -> None:
    """Markers of runs all sent whose run directory is gone (a prune cut short)."""
    folder = os.path.join(journal, ".shipped")
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        run_id = name[:-5] if name.endswith(".json") else ""
        if _RUN_ID.match(run_id) and not os.path.isdir(os.path.join(journal, run_id)):
            if Marker(marker_path(journal, run_id), url).done:
                prune(journal, run_id)


def sync(journal: str, timeout: float = 60.0, say: Callable[[str], None] = print) -> Tuple[List[str], List[str]]:
    """Sends every run of ``journal`` not all sent yet; returns (sent, left) run ids. A run is retried
    (with a growing pause) until ``timeout`` seconds have passed since the sync began."""
    remote = remote_from_env()
    if remote is None:
        raise MLLabError("Set MLLAB_URL and MLLAB_TOKEN to the lab to send the runs to (and MLLAB_CA_FILE for a "
                         "self-signed certificate).", code="no_remote")
    if not os.path.isdir(journal):
        return [], []
    conn = Connection(remote)
    deadline = time.monotonic() + timeout
    sent: List[str] = []
    left: List[str] = []
    try:
        for name in sorted(os.listdir(journal)):
            run_dir = os.path.join(journal, name)
            if not _RUN_ID.match(name) or not os.path.isdir(run_dir) or os.path.islink(run_dir):
                continue
            if Marker(marker_path(journal, name), remote.url).done:
                prune(journal, name)  # all sent before: what a prune cut short left
                continue
            if _still_running(run_dir):
                continue
            _end_interrupted(run_dir)
            error = _send_all(RunSender(conn, run_dir, journal), deadline)
            if error is None:
                sent.append(name)
                say(f"sent run {name} to {remote.url}")
            else:
                left.append(name)
                say(f"run {name} is not all sent: {error}")
    finally:
        conn.close()
    _prune_orphans(journal, remote.url)
    return sent, left


def _send_all(sender: RunSender, deadline: float) -> "str | None":
    pause = FIRST_PAUSE
    while True:
        try:
            sender.resume()
            if sender.send(final=True):
                sender.marker.done = True
                sender.marker.save()
                sender.prune()
                return None
            error = "an unfinished last line or a file that changed while it was sent"
        except LabError as e:
            return describe(e)
        except Exception as e:  # noqa: BLE001 - the network: tried again until the deadline
            error = describe(e)
        if time.monotonic() + pause > deadline:
            return error
        time.sleep(pause)
        pause = min(pause * 2, MAX_PAUSE)
