"""The runs open in this process: flushed by a background thread, ended at interpreter exit, and
forgotten by a forked child (whose copy of the buffers belongs to the parent)."""

from __future__ import annotations

import atexit
import os
import sys
import threading
import time
from typing import Any, List, Optional

from ._run_environment import _ipython_shell

#: seconds between two writes of the event buffer by the background thread
FLUSH_INTERVAL = 0.1

#: the open runs (Experiment objects), in start order
_active: List[Any] = []
_active_lock = threading.Lock()
_flusher: Optional[threading.Thread] = None
_hooks_installed = False
_uncaught: Optional[BaseException] = None


def register(exp: Any) -> None:
    """Adds a run started in this process, and starts the background thread and the exit hooks."""
    with _active_lock:
        _active.append(exp)
    _ensure_background()


def unregister(exp: Any) -> None:
    with _active_lock:
        if exp in _active:
            _active.remove(exp)


def active_runs() -> List[Any]:
    with _active_lock:
        return list(_active)


def _background_loop() -> None:
    while True:
        time.sleep(FLUSH_INTERVAL)
        for exp in active_runs():
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
    for exp in active_runs():
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
