"""The run's output: what the process prints goes to the console and to the run's log files."""

from __future__ import annotations

import os
import sys
import threading
from typing import Any, List

from ._run_writer import _CLOEXEC, _NOFOLLOW, FILE_MODE


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


class RunOutput:
    """While a run lasts, sys.stdout and sys.stderr also write to its stdout.log and stderr.log."""

    def __init__(self) -> None:
        self._tees: List[_Tee] = []
        self._files: List[Any] = []

    def start(self, run_dir: str) -> None:
        for stream_name, file_name in (("stdout", "stdout.log"), ("stderr", "stderr.log")):
            try:
                f = open(os.open(os.path.join(run_dir, file_name),
                                 os.O_WRONLY | os.O_APPEND | os.O_CREAT | _NOFOLLOW | _CLOEXEC, FILE_MODE),
                         "a", encoding="utf-8", errors="backslashreplace", newline="")
            except OSError:
                continue
            self._files.append(f)
            inner = getattr(sys, stream_name)
            if inner is None:
                continue
            tee = _Tee(inner, f)
            self._tees.append(tee)
            setattr(sys, stream_name, tee)

    def flush_consoles(self) -> None:
        for tee in self._tees:
            try:
                tee._inner.flush()
            except Exception:  # noqa: BLE001
                pass

    def flush_files(self) -> None:
        for tee in self._tees:
            tee.flush_file()

    def stop(self) -> None:
        """Puts the console streams back (unless replaced since) and closes the log files."""
        for tee, stream_name in zip(self._tees, ("stdout", "stderr")):
            tee.detach_file()
            if getattr(sys, stream_name) is tee:
                setattr(sys, stream_name, tee._inner)
        self._tees = []
        for f in self._files:
            try:
                f.close()
            except Exception:  # noqa: BLE001
                pass
        self._files = []
