"""Datasets of a lab over the network: a version's content fetched into the local cache.

``mllab.dataset("name")`` with ``MLLAB_URL`` and ``MLLAB_TOKEN`` set asks the lab which content the
version is (its sha256), and returns it from the cache (``_blob_cache``) when it is there: no byte is
fetched. Otherwise the content is fetched into ``tmp/<sha256>.part`` of the cache, resumed after a
dropped connection with ``Range`` and ``If-Range`` (the lab's ETag is the sha256, so bytes of other
content are never mixed in), checked against its sha256, and moved into place; a package is then
unpacked once. When the lab cannot be reached, the version the same name resolved to last time is
used if its content is cached.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import os
import queue
import ssl
import sys
import threading
import time
from typing import Any, Dict, Iterator, Optional, Tuple, Union
from urllib.parse import quote

from ._blob_cache import BlobCache
from ._errors import MLLabError
from ._remote import Connection, LabError, NetworkError, Remote
from ._unzip import unpack_cached

try:
    import fcntl
except ImportError:  # Windows: no lock between processes
    fcntl = None  # type: ignore[assignment]

#: network failures in a row (with no byte of progress between them) before giving up
RETRIES = 8
_CHUNK = 1024 * 1024


def _version_path(name: str, which: Union[int, str], project: Optional[str], content: bool = False) -> str:
    query = f"?project={quote(project, safe='')}" if project is not None else ""
    return f"/api/datasets/{quote(name, safe='')}/versions/{which}{'/content' if content else ''}{query}"


def _lab_error(e: LabError, what: str) -> MLLabError:
    message = e.body.get("error", {}).get("message") if isinstance(e.body.get("error"), dict) else None
    if e.status == 401:
        return MLLabError(f"The lab refused the token (expired or revoked?): set MLLAB_TOKEN to a new one. "
                          f"The lab says: {message or e}", code="unauthorized")
    return MLLabError(f"{what}: {message or e}", code=e.code or "lab_error")


def _resolve(conn: Connection, cache: BlobCache, name: str, which: Union[int, str],
             project: Optional[str]) -> Dict[str, Any]:
    """The version's record from the lab, or the one remembered when the lab cannot be reached."""
    path = _version_path(name, which, project)
    key = f"{conn.remote.url}|{project or ''}|{name.lower()}|{which}"
    failures = 0
    while True:
        try:
            _status, info = conn.request("GET", path)
            break
        except LabError as e:
            raise _lab_error(e, f"Dataset {name} ({which})") from None
        except NetworkError as e:
            failures += 1
            if failures < 3:
                time.sleep(0.2 * failures)
                continue
            known = cache.recall(key)
            if known is not None and cache.lookup(str(known.get("sha256"))) is not None:
                if which == "latest":
                    sys.stderr.write(f"mllab: the lab at {conn.remote.url} does not answer ({e}): using "
                                     f"{name} v{known.get('version')}, the latest version when it last did.\n")
                return known
            raise MLLabError(f"The lab at {conn.remote.url} does not answer ({e}), and dataset {name} is not in "
                             f"the local cache: check the network and MLLAB_URL.", code="unreachable") from None
    sha = str(info.get("sha256", "")).lower()
    if len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha) or not isinstance(info.get("size"), int):
        raise MLLabError(f"The lab answered GET {path} with something that is not a dataset version.",
                         code="bad_answer")
    info["sha256"] = sha
    kept = {k: info.get(k) for k in ("name", "version", "sha256", "size", "kind", "fileName", "projectId")}
    cache.remember(key, kept)
    if which == "latest":
        cache.remember(f"{conn.remote.url}|{project or ''}|{name.lower()}|{info.get('version')}", kept)
    return info


class _Progress:
    """One line on stderr, redrawn in place, when stderr is a terminal."""

    def __init__(self, label: str, total: int) -> None:
        self.label = label
        self.total = total
        self.shown = sys.stderr.isatty()
        self.last = 0.0

    def update(self, done: int, force: bool = False) -> None:
        now = time.monotonic()
        if not self.shown or (not force and now - self.last < 0.1):
            return
        self.last = now
        fraction = min(1.0, done / self.total) if self.total else 1.0
        filled = int(fraction * 24)
        sys.stderr.write(f"\rdownloading {self.label} [{'#' * filled}{'.' * (24 - filled)}] "
                         f"{int(fraction * 100)}% {_size(done)} / {_size(self.total)}\x1b[K")
        sys.stderr.flush()

    def done(self) -> None:
        if self.shown:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


class _RunningHash:
    """The sha256 of the first ``bytes`` bytes of the file being fetched, updated as they arrive (reading
    the file again afterwards cost as much as fetching it); after a dropped connection it catches up
    with what the file holds."""

    def __init__(self) -> None:
        self.hash = hashlib.sha256()
        self.bytes = 0

    def catch_up(self, part: str, held: int) -> None:
        if held < self.bytes:  # the file was cut or removed: hashed anew
            self.hash, self.bytes = hashlib.sha256(), 0
        if held == self.bytes:
            return
        with open(part, "rb") as f:
            f.seek(self.bytes)
            while self.bytes < held:
                chunk = f.read(min(_CHUNK, held - self.bytes))
                if not chunk:
                    break
                self.hash.update(chunk)
                self.bytes += len(chunk)

    def restart(self) -> None:
        self.hash, self.bytes = hashlib.sha256(), 0


class _HashingWriter:
    """Writes and hashes the received bytes in a thread of its own, beside the thread receiving them
    (both release the GIL for the work itself: file writes, TLS, SHA-256), through a pool of three
    buffers. A failure of the writing (a disk full) is raised to the receiving thread."""

    def __init__(self, f: Any, hashed: _RunningHash) -> None:
        self._f = f
        self._hashed = hashed
        self._free: queue.Queue[bytearray] = queue.Queue()
        for _ in range(3):
            self._free.put(bytearray(_CHUNK))
        self._full: queue.Queue[Optional[Tuple[bytearray, int]]] = queue.Queue()
        self._error: Optional[BaseException] = None
        self._thread = threading.Thread(target=self._run, name="mllab-fetch-writer", daemon=True)
        self._thread.start()

    def buffer(self) -> bytearray:
        """A free buffer to receive into (waits while all three are being written)."""
        b = self._free.get()
        self._raise()
        return b

    def put(self, b: bytearray, n: int) -> None:
        self._full.put((b, n))

    def close(self) -> None:
        """Waits until everything put is written and hashed."""
        self._full.put(None)
        self._thread.join()
        self._raise()

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        while True:
            item = self._full.get()
            if item is None:
                return
            b, n = item
            if self._error is None:
                try:
                    view = memoryview(b)[:n]
                    self._f.write(view)
                    self._hashed.hash.update(view)
                    self._hashed.bytes += n
                except BaseException as e:  # noqa: BLE001  (given to the receiving thread)
                    self._error = e
            self._free.put(b)


def _fetch_once(conn: Connection, path: str, part: str, sha: str, size: int, progress: _Progress,
                hashed: _RunningHash) -> None:
    """One GET of the content from the bytes held in ``part``; raises NetworkError when it breaks."""
    held = os.path.getsize(part) if os.path.exists(part) else 0
    if held > size:
        os.remove(part)
        held = 0
    hashed.catch_up(part, held)
    if held == size:
        return
    headers = {"Authorization": f"Bearer {conn.remote.token}"}
    if held > 0:
        headers["Range"] = f"bytes={held}-"
        headers["If-Range"] = f'"{sha}"'
    try:
        http_conn = conn._open()  # noqa: SLF001  (the same connection settings as every request)
        http_conn.request("GET", conn._prefix + path, headers=headers)  # noqa: SLF001
        res = http_conn.getresponse()
        if res.status == 416:
            res.read()
            os.remove(part)
            raise NetworkError("the lab holds other bytes than those fetched before: fetching again")
        if res.status not in (200, 206):
            body = res.read()
            conn.close()
            if res.status >= 500:
                raise NetworkError(f"the lab answered {res.status}")
            try:
                answer = json.loads(body.decode("utf-8"))
            except ValueError:
                answer = {}
            raise LabError(res.status, answer if isinstance(answer, dict) else {})
        start = 0
        if res.status == 206:
            content_range = res.getheader("content-range", "")
            start = int(content_range.split(" ", 1)[1].split("-", 1)[0]) if content_range.startswith("bytes ") else -1
            if start != held:
                conn.close()
                raise NetworkError(f"the lab answered bytes from {start}, not {held}")
        done = start
        if res.status == 200:
            hashed.restart()  # the whole content again (the lab did not resume)
        with open(part, "ab" if res.status == 206 else "wb") as f:
            writer = _HashingWriter(f, hashed)
            try:
                while True:
                    buffer = writer.buffer()
                    n = res.readinto(buffer)  # into a buffer of the pool: no new bytes object per read
                    if not n:
                        break
                    writer.put(buffer, n)
                    done += n
                    progress.update(done)
            finally:
                writer.close()  # what was received is in the file, for the next attempt to go on from
        if done < size:
            conn.close()
            raise NetworkError(f"the answer ended at byte {done} of {size}")
    except ssl.SSLCertVerificationError as e:
        conn.close()
        raise MLLabError(f"The certificate of {conn.remote.url} is not trusted ({e.verify_message}): set "
                         f"MLLAB_CA_FILE to the lab's certificate.", code="tls_untrusted") from None
    except (OSError, http.client.HTTPException) as e:
        conn.close()
        raise NetworkError(f"{type(e).__name__}: {e}") from None


@contextlib.contextmanager
def _fetch_lock(cache: BlobCache, sha: str) -> Iterator[None]:
    """One fetch of the same content at a time among the processes sharing the cache (they would
    write the same partial file); the others wait, then find it cached."""
    folder = os.path.join(cache.root, "locks")
    os.makedirs(folder, mode=0o700, exist_ok=True)
    if fcntl is None:
        yield
        return
    with open(os.path.join(folder, f"{sha}.lock"), "a+b") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def fetch(conn: Connection, cache: BlobCache, info: Dict[str, Any], project: Optional[str]) -> str:
    """The cached file of a version, fetched (resumed, checked) when it is not cached yet."""
    sha = info["sha256"]
    found = cache.lookup(sha)
    if found is not None:
        return found
    with _fetch_lock(cache, sha):
        return cache.lookup(sha) or _fetch(conn, cache, info, project)


def _fetch(conn: Connection, cache: BlobCache, info: Dict[str, Any], project: Optional[str]) -> str:
    sha = info["sha256"]
    size = int(info["size"])
    label = f"{info.get('name')} v{info.get('version')}"
    path = _version_path(str(info.get("name")), int(info.get("version", 0)), project, content=True)
    part = cache.part_of(sha)
    os.makedirs(os.path.dirname(part), mode=0o700, exist_ok=True)
    if size == 0:
        open(part, "wb").close()  # nothing to fetch
    progress = _Progress(label, size)
    hashed = _RunningHash()
    failures = 0
    try:
        for _attempt in range(10_000):
            before = os.path.getsize(part) if os.path.exists(part) else 0
            try:
                _fetch_once(conn, path, part, sha, size, progress, hashed)
                break
            except NetworkError as e:
                after = os.path.getsize(part) if os.path.exists(part) else 0
                failures = 1 if after > before else failures + 1
                if failures > RETRIES:
                    raise MLLabError(f"Fetching dataset {label} from {conn.remote.url} failed {failures} times "
                                     f"({e}); what was received is kept and the next call goes on from there.",
                                     code="unreachable") from None
                time.sleep(min(5.0, 0.1 * 2 ** failures))
            except LabError as e:
                raise _lab_error(e, f"Fetching dataset {label}") from None
        progress.update(size, force=True)
    finally:
        progress.done()
    hashed.catch_up(part, os.path.getsize(part))
    got = hashed.hash.hexdigest()
    if got != sha:
        os.remove(part)
        raise MLLabError(f"The content fetched for dataset {label} has sha256 {got}, not {sha}: it was removed; "
                         f"call again to fetch it anew.", code="hash_mismatch")
    stored = cache.store(part, sha)
    cache.evict(keep=sha)
    return stored


def remote_dataset(remote: Remote, name: str, which: Union[int, str], unpack: bool,
                   project: Optional[str]) -> str:
    """The local path of a dataset version of a lab over the network (see the module's docstring)."""
    cache = BlobCache()
    conn = Connection(remote)
    try:
        info = _resolve(conn, cache, name, which, project)
        from ._experiments import note_dataset_input
        number = info.get("version")
        note_dataset_input(str(info.get("name", name)), number if isinstance(number, int) else None)
        stored = fetch(conn, cache, info, project)
    finally:
        conn.close()
    if info.get("kind") != "package" or not unpack:
        return stored
    folder_root = cache.unpacked_dir()
    os.makedirs(folder_root, mode=0o700, exist_ok=True)
    folder = unpack_cached(stored, folder_root, info["sha256"])
    cache.touch(folder)
    cache.evict(keep=info["sha256"])
    return folder
