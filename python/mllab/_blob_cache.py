"""The local cache of content fetched from labs over the network, by sha256.

Layout (default ``~/.cache/mllab/blobs``, ``$MLLAB_CACHE_DIR`` to choose another)::

    sha256/ab/cdef...        a fetched file or package, read-only, checked against its hash
    sha256/ab/cdef....ok     size, change time and inode of the file when its hash was checked
    unpacked/<sha256>/       a package unpacked once (the safe unpacker of _unzip)
    tmp/<sha256>.part        a fetch under way, resumed with a Range by the next one
    locks/<sha256>.lock      held by the process fetching that content (the others wait for it)
    refs/<key>.json          the version a (lab, project, name, version) resolved to last time
    hashes/<key>.json        the sha256 of a file sent to a lab, by its path (the Node client keeps
                             the same): trusted while the file's size, times and inode are unchanged

Content is named by its hash, so the cache is shared by every project and lab of the user. Its size
is capped by ``$MLLAB_CACHE_MAX_BYTES`` (default 10 GiB): after a fetch, the least recently used
content (by its access time, set on each use) goes first, never the content just used.

A cached file is trusted while its size, change time and inode are those recorded when it was
checked; anything else (a file written to, replaced, truncated) makes it checked again, and content
whose hash is wrong is removed and fetched again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from typing import Any, Dict, List, Optional, Tuple

from ._errors import MLLabError
from ._unzip import _rmtree

CACHE_DIR_ENV = "MLLAB_CACHE_DIR"
CACHE_MAX_ENV = "MLLAB_CACHE_MAX_BYTES"
DEFAULT_MAX_BYTES = 10 * 1024 ** 3
_CHUNK = 1024 * 1024


def cache_dir() -> str:
    chosen = os.environ.get(CACHE_DIR_ENV)
    if chosen:
        return os.path.abspath(os.path.expanduser(chosen))
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "mllab", "blobs")


def max_bytes() -> int:
    raw = os.environ.get(CACHE_MAX_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_BYTES
    try:
        value = int(raw.replace("_", ""))
    except ValueError:
        value = -1
    if value <= 0:
        raise MLLabError(f"{CACHE_MAX_ENV}={raw!r} is not a positive number of bytes: set it to e.g. "
                         f"{DEFAULT_MAX_BYTES} (10 GiB) or unset it.", code="bad_setting")
    return value


def hash_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            chunk = f.read(_CHUNK)
            if not chunk:
                return h.hexdigest()
            h.update(chunk)


def stamp_of(st: os.stat_result) -> str:
    return f"{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}:{st.st_ino}"


class BlobCache:
    """One cache folder (see the module's docstring)."""

    def __init__(self, root: Optional[str] = None, limit: Optional[int] = None) -> None:
        self.root = root or cache_dir()
        self.limit = max_bytes() if limit is None else limit

    def path_of(self, sha256: str) -> str:
        return os.path.join(self.root, "sha256", sha256[:2], sha256[2:])

    def unpacked_dir(self) -> str:
        return os.path.join(self.root, "unpacked")

    def part_of(self, sha256: str) -> str:
        return os.path.join(self.root, "tmp", f"{sha256}.part")

    def _mkdirs(self, folder: str) -> None:
        os.makedirs(folder, mode=0o700, exist_ok=True)

    def lookup(self, sha256: str) -> Optional[str]:
        """The cached file of ``sha256``, checked (again when it changed since); None when it is not
        cached, or was damaged (then it is removed)."""
        path = self.path_of(sha256)
        try:
            st = os.stat(path)
        except OSError:
            return None
        try:
            with open(path + ".ok", encoding="utf-8") as f:
                trusted = f.read().strip() == stamp_of(st)
        except OSError:
            trusted = False
        if not trusted:
            if hash_file(path) != sha256:
                self.remove(sha256)
                return None
            self._record(path)
        self.touch(path)
        return path

    def _record(self, path: str) -> None:
        with open(path + ".ok", "w", encoding="utf-8") as f:
            f.write(stamp_of(os.stat(path)))

    def touch(self, path: str) -> None:
        """Marks content as used now (its access time: what the eviction goes by)."""
        try:
            st = os.stat(path)
            os.utime(path, ns=(time.time_ns(), st.st_mtime_ns))
        except OSError:
            pass

    def store(self, part: str, sha256: str) -> str:
        """Moves a complete, checked download into place (read-only)."""
        path = self.path_of(sha256)
        self._mkdirs(os.path.dirname(path))
        os.chmod(part, 0o444)
        os.replace(part, path)
        self._record(path)
        self.touch(path)
        return path

    def remove(self, sha256: str) -> None:
        path = self.path_of(sha256)
        for p in (path, path + ".ok"):
            try:
                if os.path.exists(p):
                    os.chmod(p, 0o600)
                os.remove(p)
            except OSError:
                pass
        folder = os.path.join(self.unpacked_dir(), sha256)
        if os.path.isdir(folder):
            _rmtree(folder)

    def evict(self, keep: str) -> List[str]:
        """Removes the least recently used content until the cache holds at most its limit (never
        ``keep``); returns the hashes removed."""
        entries: List[Tuple[float, int, str]] = []
        total = 0
        root = os.path.join(self.root, "sha256")
        for prefix in _listdir(root):
            for rest in _listdir(os.path.join(root, prefix)):
                if rest.endswith(".ok"):
                    continue
                sha = prefix + rest
                path = os.path.join(root, prefix, rest)
                try:
                    st = os.stat(path)
                except OSError:
                    continue
                size = st.st_size + _tree_size(os.path.join(self.unpacked_dir(), sha))
                used = st.st_atime
                folder = os.path.join(self.unpacked_dir(), sha)
                if os.path.isdir(folder):
                    used = max(used, os.stat(folder).st_atime)
                total += size
                if sha != keep:
                    entries.append((used, size, sha))
        removed: List[str] = []
        for _used, size, sha in sorted(entries):
            if total <= self.limit:
                break
            self.remove(sha)
            total -= size
            removed.append(sha)
        return removed

    # the sha256 of a file sent, so that sending it again asks the lab first without hashing it
    def _hash_path(self, path: str) -> str:
        key = hashlib.sha256(os.path.abspath(path).encode("utf-8")).hexdigest()
        return os.path.join(self.root, "hashes", key + ".json")

    def known_hash(self, path: str) -> Optional[str]:
        """The sha256 recorded for the file as it is now (same size, times and inode), or None."""
        try:
            with open(self._hash_path(path), encoding="utf-8") as f:
                entry = json.load(f)
            sha = entry.get("sha256") if isinstance(entry, dict) else None
            if entry.get("stamp") == stamp_of(os.stat(path)) and isinstance(sha, str) and len(sha) == 64:
                return sha
        except (OSError, ValueError, AttributeError):
            pass
        return None

    def remember_hash(self, path: str, stamp: str, sha256: str) -> None:
        """Records the sha256 of the file as it was when ``stamp`` was taken (a cache: failures are ignored)."""
        entry = self._hash_path(path)
        temp = f"{entry}.{os.getpid()}.tmp"
        try:
            self._mkdirs(os.path.dirname(entry))
            with open(temp, "w", encoding="utf-8") as f:
                json.dump({"path": os.path.abspath(path), "stamp": stamp, "sha256": sha256}, f)
            os.replace(temp, entry)
        except OSError:
            with contextlib.suppress(OSError):
                os.remove(temp)

    # the version a name resolved to, for use when the lab cannot be reached
    def _ref_path(self, key: str) -> str:
        return os.path.join(self.root, "refs", hashlib.sha256(key.encode("utf-8")).hexdigest() + ".json")

    def remember(self, key: str, info: Dict[str, Any]) -> None:
        path = self._ref_path(key)
        self._mkdirs(os.path.dirname(path))
        temp = f"{path}.{os.getpid()}.tmp"
        with open(temp, "w", encoding="utf-8") as f:
            json.dump(info, f)
        os.replace(temp, path)

    def recall(self, key: str) -> Optional[Dict[str, Any]]:
        try:
            with open(self._ref_path(key), encoding="utf-8") as f:
                info = json.load(f)
            return info if isinstance(info, dict) else None
        except (OSError, ValueError):
            return None


def _listdir(folder: str) -> List[str]:
    try:
        return os.listdir(folder)
    except OSError:
        return []


def _tree_size(folder: str) -> int:
    total = 0
    for parent, _dirs, files in os.walk(folder):
        for name in files:
            try:
                total += os.lstat(os.path.join(parent, name)).st_size
            except OSError:
                pass
    return total

