"""Writing a run directory: what a run may record, its files private to their owner, JSON lines.

``events.jsonl`` holds one ``RunEvent`` per line (``src/protocol/experiments.ts``); ``run.json`` is
rewritten whole through a temp file. Keys and names over their limit are refused, longer values cut
with a warning (RUN_LIMITS, kept equal to ``src/protocol/limits.ts`` by a test).
"""

from __future__ import annotations

import json
import operator
import os
import secrets
import time
from datetime import datetime, timezone
from typing import Any, List, Mapping, Tuple

from ._errors import MLLabError

FORMAT = 1
#: the buffer is written at once by the logging thread when it holds more lines than this
FLUSH_LINES = 10_000

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


def new_run_dir(runs: str, start_ms: int) -> Tuple[str, str]:
    """A new run's id (``YYYYMMDD-HHMMSS-xxxxxx``, its start in UTC) and its folder, made in ``runs``
    (made too when missing) and private to its owner; another id when that one is taken."""
    os.makedirs(runs, DIR_MODE, exist_ok=True)
    stamp = datetime.fromtimestamp(start_ms / 1000, tz=timezone.utc).strftime("%Y%m%d-%H%M%S")
    while True:
        run_id = f"{stamp}-{secrets.token_hex(3)}"
        run_dir = os.path.join(runs, run_id)
        try:
            os.mkdir(run_dir, DIR_MODE)
            return run_id, run_dir
        except FileExistsError:
            continue


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
# Files of the run directory


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


# ---------------------------------------------------------------------------------------------
# Logged values


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
