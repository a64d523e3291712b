"""The background thread that sends a run recorded for a remote lab while it runs.

Logging never waits for it: ``log_metric`` appends to a list, the flush thread writes
``events.jsonl`` in the local journal, and this thread reads the file and sends what is new. Any
network error or 5xx is retried with a growing pause (the lab restarting, a dropped connection, a
laptop asleep); the run's end waits for it at most ``MLLAB_SHIP_TIMEOUT`` seconds (default 30), and
whatever is left is sent later by ``python -m mllab sync``. While the run goes on without anything
new to send, a heartbeat tells the lab its sender lives (a run whose sender falls silent is marked
interrupted there); once the ended run is all in the lab, it is removed from the journal.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import Optional

from ._remote import Connection, LabError, Remote
from ._ship_pass import RunSender, describe

SHIP_TIMEOUT_ENV = "MLLAB_SHIP_TIMEOUT"
DEFAULT_SHIP_TIMEOUT = 30.0
#: seconds between two passes while the run goes on
PASS_INTERVAL = 0.2
#: the pause after a failed pass doubles from FIRST_PAUSE up to MAX_PAUSE seconds
FIRST_PAUSE = 0.2
MAX_PAUSE = 5.0
#: seconds without a request after which the shipper of a running run tells the lab it lives
HEARTBEAT_ENV = "MLLAB_SHIP_HEARTBEAT"
DEFAULT_HEARTBEAT = 10.0


def heartbeat_interval() -> float:
    text = os.environ.get(HEARTBEAT_ENV)
    try:
        return max(0.1, float(text)) if text else DEFAULT_HEARTBEAT
    except ValueError:
        return DEFAULT_HEARTBEAT


def ship_timeout() -> float:
    text = os.environ.get(SHIP_TIMEOUT_ENV)
    try:
        return max(0.0, float(text)) if text else DEFAULT_SHIP_TIMEOUT
    except ValueError:
        return DEFAULT_SHIP_TIMEOUT


def _say(message: str) -> None:
    try:
        sys.__stderr__.write(f"mllab: {message}\n")
    except Exception:  # noqa: BLE001
        pass


class Shipper:
    """Sends one run directory of the local journal to the lab, in a daemon thread, until finished."""

    def __init__(self, remote: Remote, run_dir: str, journal: str) -> None:
        self._sender = RunSender(Connection(remote), run_dir, journal)
        self._wake = threading.Event()  # new lines were written (the run's flush), or the run ended
        self._urgent = threading.Event()  # the run ended: cuts a pause after an error short too
        self._drained = threading.Event()
        self._finishing = False
        self._stopped = False
        self._gave_up: Optional[str] = None
        self._thread = threading.Thread(target=self._loop, name=f"mllab-ship-{self._sender.id}", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        resumed = False
        pause = FIRST_PAUSE
        said: Optional[str] = None
        beat = heartbeat_interval()
        while not self._stopped:
            finishing = self._finishing  # read before the pass: the final run.json is written by then
            try:
                if not resumed:
                    self._sender.resume()
                    resumed = True
                complete = self._sender.send(final=finishing)
                pause = FIRST_PAUSE
                if complete and finishing:
                    self._sender.marker.done = True
                    self._sender.marker.save()
                    self._sender.prune()
                    self._drained.set()
                    break
                if time.monotonic() - self._sender.last_answer >= beat:
                    self._sender.heartbeat()
                self._wake.wait(PASS_INTERVAL)
            except LabError as e:
                self._gave_up = describe(e)
                _say(f"run {self._sender.id} is not sent to {self._sender.conn.remote.url}: {self._gave_up}. "
                     f"It stays in {self._sender.dir}; fix the cause, then run `python -m mllab sync`.")
                break
            except Exception as e:  # noqa: BLE001 - the network, a full disk...: tried again
                message = describe(e)
                if message != said:
                    said = message
                    if pause >= MAX_PAUSE:
                        _say(f"run {self._sender.id}: {message}; trying again")
                self._urgent.wait(pause)  # (not woken by each flush: a lab that is away is not hammered)
                pause = min(pause * 2, MAX_PAUSE)
            self._wake.clear()
        self._sender.conn.close()

    def wake(self) -> None:
        """New events were written: the next pass starts now rather than after PASS_INTERVAL."""
        self._wake.set()

    def finish(self, timeout: Optional[float] = None) -> bool:
        """After the run's end: waits (at most ``timeout`` seconds) until the lab holds all of it."""
        self._finishing = True
        self._urgent.set()
        self._wake.set()
        done = self._drained.wait(ship_timeout() if timeout is None else timeout)
        self._stopped = True
        self._wake.set()
        if not done and self._gave_up is None:
            _say(f"run {self._sender.id} is not all sent to {self._sender.conn.remote.url} yet: it stays in "
                 f"{self._sender.dir}; `python -m mllab sync` sends the rest.")
        return done
