"""What a run records about where it runs: host, interpreter, packages, git state, GPUs, the script
or the notebook. Every probe is best effort: what cannot be found is left out, never an error.
"""

from __future__ import annotations

import getpass
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import time
from typing import Any, Dict, List, Optional

from ._run_writer import _open_private

_GIT_TIMEOUT = 1.5
_GPU_TIMEOUT = 2.0
_MAX_GIT_DIFF = 50 * 1024 * 1024


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


class StartProbes:
    """The slow probes of a run's start, started at once and in parallel while the run directory is
    made: git (in the script's folder, else ``cwd``) and ``nvidia-smi -L``."""

    def __init__(self, script: Optional[str], cwd: str) -> None:
        self._script = script
        self._deadline = time.monotonic() + _GIT_TIMEOUT
        git_cwd = os.path.dirname(script) if script else cwd
        git_exe = shutil.which("git")
        self._head = _popen([git_exe, "rev-parse", "HEAD", "--abbrev-ref", "HEAD"], git_cwd) if git_exe else None
        self._diff = _popen([git_exe, "-c", "core.quotepath=off", "diff", "HEAD", "--no-color", "--no-ext-diff"],
                            git_cwd) if git_exe else None
        # whether the commit holds the script at all: a script outside git (or ignored) is not in the diff
        self._tracked = _popen([git_exe, "ls-files", "--error-unmatch", "--", script], git_cwd) \
            if git_exe and script else None
        self._ignored = _popen([git_exe, "check-ignore", "-q", "--", script], git_cwd) \
            if git_exe and script else None
        smi = shutil.which("nvidia-smi")
        self._gpus = _popen([smi, "-L"], cwd) if smi else None

    def git(self, run_dir: str) -> Optional[Dict[str, Any]]:
        """The run's ``git`` field (None outside a repository); a diff is written to ``git.diff``."""
        deadline = self._deadline
        head = _collect(self._head, deadline)
        diff = _collect(self._diff, deadline)
        tracked, ignored = _collect(self._tracked, deadline), _collect(self._ignored, deadline)
        if head is None:
            return None
        lines = head.decode("utf-8", "replace").split()
        commit = lines[0] if len(lines) > 0 else None
        branch = lines[1] if len(lines) > 1 else None
        git: Dict[str, Any] = {"commit": commit, "branch": None if branch == "HEAD" else branch,
                               "dirty": bool(diff), "diff": None}
        if self._script:
            git["script"] = _script_in_git(tracked, ignored)
        if diff:
            try:
                with _open_private(os.path.join(run_dir, "git.diff"), exclusive=True) as f:
                    f.write(diff[:_MAX_GIT_DIFF])
                git["diff"] = "git.diff"
            except OSError:
                pass
        return git

    def gpus(self) -> List[str]:
        """The GPUs ``nvidia-smi -L`` lists, one line each (none without it)."""
        out = _collect(self._gpus, time.monotonic() + _GPU_TIMEOUT) if self._gpus else None
        if not out:
            return []
        return [line.strip() for line in out.decode("utf-8", "replace").splitlines() if line.strip()]


def host_info(gpus: List[str]) -> Dict[str, Any]:
    """The run's ``host`` field."""
    return {
        "hostname": socket.gethostname(),
        "os": platform.platform(),
        "cpus": os.cpu_count() or 0,
        "memoryBytes": _memory_bytes(),
        "gpus": gpus,
    }
