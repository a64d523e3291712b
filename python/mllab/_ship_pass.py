"""Sending one run directory of the local journal to a remote lab: what is acknowledged is recorded in
a marker (``<journal>/.shipped/<id>.json``), so a sender that stopped goes on where the lab is.

``events.jsonl`` goes by byte offset, whole lines only (the lab stores nothing twice: a retry of
bytes it holds is compared, not appended), the output logs (``stdout.log``...) by byte offset too,
every other file by sha256, and ``run.json`` whenever it changed. A file whose name the lab cannot
take is skipped with a warning recorded in the run. Events go before the manifest they follow, files before the events naming them (a ``model``
event needs its file in the lab), and the manifest first of all so that the run shows at once.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import time
from typing import Any, Dict, List, Optional

from ._remote import Connection, LabError, NetworkError, file_path, run_path
from ._run_writer import _write_json_atomic

#: events sent in one request at most (the lab's limit): fewer, bigger requests, each synced once by the lab
EVENTS_CHUNK = 8 * 1024 * 1024
#: files read whole into memory to hash and send (bigger ones are streamed twice: hash, then send)
IN_MEMORY_FILE = 16 * 1024 * 1024
#: while a run goes on, what its output logs gained is sent at most this often (seconds)
LOG_INTERVAL = 2.0
#: the files with routes of their own
_OWN = ("run.json", "events.jsonl")
#: the output logs sent by byte offset (the lab's RUN_LOG_PATTERN): files at the top named *.log
_LOG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,95}\.log$")
#: a relative path the lab takes: at most this many characters, this many parts (RUN_FILE_PATH_CHARS)
_PATH_CHARS = 1000
_PATH_PARTS = 32
#: MLLAB_KEEP_SHIPPED=1 keeps a run's directory in the journal once the lab holds all of it
KEEP_SHIPPED_ENV = "MLLAB_KEEP_SHIPPED"


def marker_path(journal: str, run_id: str) -> str:
    return os.path.join(journal, ".shipped", run_id + ".json")


class Marker:
    """What the lab acknowledged of a run: events up to a byte offset, the manifest's sha256, each
    file's (size, mtime, sha256), each output log's offset, the files skipped (a name the lab cannot
    take, said once in the run), and whether the finished run is all sent (``done``)."""

    def __init__(self, path: str, url: str) -> None:
        self.path = path
        self.url = url
        self.events = 0
        self.manifest: Optional[str] = None
        self.files: Dict[str, List[Any]] = {}
        self.logs: Dict[str, int] = {}
        self.skipped: List[str] = []
        self.done = False
        try:
            with open(path, encoding="utf-8") as f:
                saved = json.load(f)
            if isinstance(saved, dict) and saved.get("url") == url:
                self.events = int(saved.get("events", 0))
                self.manifest = saved.get("manifest")
                self.files = dict(saved.get("files") or {})
                self.logs = {str(k): int(v) for k, v in dict(saved.get("logs") or {}).items()}
                self.skipped = [str(rel) for rel in saved.get("skipped") or []]
                self.done = bool(saved.get("done"))
        except (OSError, ValueError, TypeError):
            pass

    def save(self) -> None:
        os.makedirs(os.path.dirname(self.path), 0o700, exist_ok=True)
        _write_json_atomic(self.path, {"url": self.url, "events": self.events, "manifest": self.manifest,
                                       "files": self.files, "logs": self.logs, "skipped": self.skipped,
                                       "done": self.done})


def prune(journal: str, run_id: str) -> None:
    """Removes a run the lab holds all of from the journal (its directory, then its marker), so that the
    journal does not grow forever; ``MLLAB_KEEP_SHIPPED=1`` keeps both. A prune cut short leaves a marker
    saying ``done`` (the run is not sent again) or a run directory without a marker (sent again: the lab
    compares what it holds); either is finished by the next sync."""
    if os.environ.get(KEEP_SHIPPED_ENV, "") not in ("", "0"):
        return
    shutil.rmtree(os.path.join(journal, run_id), ignore_errors=True)
    try:
        os.remove(marker_path(journal, run_id))
    except OSError:
        pass


def unsendable(rel: str) -> Optional[str]:
    """Why the lab cannot take a file of the run by this relative path, or None when it can."""
    try:
        rel.encode("utf-8")
    except UnicodeEncodeError:
        return "its name is not valid UTF-8"
    if len(rel) > _PATH_CHARS:
        return f"its path has {len(rel)} characters, more than the lab's {_PATH_CHARS}"
    if rel.count("/") + 1 > _PATH_PARTS:
        return f"its path has {rel.count('/') + 1} parts, more than the lab's {_PATH_PARTS}"
    if "\\" in rel:
        return "its name holds a backslash"
    return None


def _escaped(rel: str) -> str:
    """A path as text that can be written: undecodable bytes as escapes (``bad-\\xff.bin``)."""
    return rel.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def shown_name(rel: str) -> str:
    """A path for a message: undecodable bytes as escapes, at most 200 characters."""
    text = _escaped(rel)
    return '"' + (text if len(text) <= 200 else text[:200] + "...") + '"'



def _sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _local_files(run_dir: str) -> Dict[str, os.stat_result]:
    """The regular files of the run directory (no link followed), but run.json, events.jsonl and temp files."""
    found: Dict[str, os.stat_result] = {}
    for root, dirs, names in os.walk(run_dir):
        dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(root, d)) and ".tmp-" not in d]
        for name in names:
            full = os.path.join(root, name)
            rel = os.path.relpath(full, run_dir).replace(os.sep, "/")
            if rel in _OWN or ".tmp-" in name:
                continue
            try:
                st = os.lstat(full)
            except OSError:
                continue
            if os.path.isfile(full) and not os.path.islink(full):
                found[rel] = st
    return found


def _running(manifest: bytes) -> bool:
    """Whether run.json says the run goes on (a final one is sent only after the events it follows)."""
    try:
        return json.loads(manifest.decode("utf-8")).get("status") == "running"
    except (ValueError, AttributeError):
        return False


class RunSender:
    """Sends one run directory; each method raises NetworkError when worth a retry, LabError when not."""

    def __init__(self, conn: Connection, run_dir: str, journal: str) -> None:
        self.conn = conn
        self.dir = run_dir
        self.journal = journal
        self.id = os.path.basename(run_dir.rstrip(os.sep))
        self.marker = Marker(marker_path(journal, self.id), conn.remote.url)
        self._logs_sent = 0.0
        self._manifest_key: Any = None
        self._manifest_seen: "tuple[Optional[bytes], Optional[str]]" = (None, None)
        #: when the lab last answered a request of this run (time.monotonic())
        self.last_answer = 0.0

    def _request(self, *args: Any, **kwargs: Any) -> Any:
        answer = self.conn.request(*args, **kwargs)
        self.last_answer = time.monotonic()
        return answer

    def resume(self) -> None:
        """Takes what the lab holds of the run as the starting point (it may hold less than the marker says)."""
        _, state = self._request("GET", run_path(self.id, "upload-state"))
        listed = [f for f in state.get("files", []) if isinstance(f, dict)]
        stored = {f.get("path"): f.get("sha256") for f in listed}
        self.marker.events = int(state.get("eventsSize", 0))
        self.marker.manifest = state.get("manifestSha256")
        self.marker.files = {rel: entry for rel, entry in self.marker.files.items() if stored.get(rel) == entry[2]}
        self.marker.logs = {str(f.get("path")): int(f.get("size", 0)) for f in listed
                            if _LOG.match(str(f.get("path")))}
        self.marker.done = self.marker.done and self.marker.manifest is not None
        self.marker.save()

    def heartbeat(self) -> None:
        """Tells the lab the run's sender lives (an empty append of events): a running run whose sender
        falls silent is marked interrupted by the lab."""
        self._request("POST", run_path(self.id, "events") + f"?offset={self.marker.events}", b"",
                      "application/x-ndjson")

    def prune(self) -> None:
        """The ended run is all in the lab: removes it from the journal (see ``prune``)."""
        prune(self.journal, self.id)

    def send(self, final: bool) -> bool:
        """One pass: sends what changed. Returns True when the lab holds all of the run as it was when
        the pass began (with ``final``, the growing output logs are sent too, whatever their age)."""
        manifest, manifest_sha = self._manifest()
        if manifest is not None and self.marker.manifest is None and _running(manifest):
            self._send_manifest(manifest, manifest_sha)  # the run shows in the lab at once
        events_end = self._events_end()
        acked = (self.marker.events, dict(self.marker.logs))
        files_done = self._send_files(final)
        events_done = self._send_events(events_end)
        if (self.marker.events, self.marker.logs) != acked:
            self.marker.save()
        if manifest is not None and manifest_sha != self.marker.manifest:
            self._send_manifest(manifest, manifest_sha)
        return files_done and events_done and manifest is not None

    def _manifest(self) -> "tuple[Optional[bytes], Optional[str]]":
        """run.json and its sha256, read again only when its size or change time changed (a pass runs on
        every flush of the run: the manifest, with its package list, changes at its start and end)."""
        try:
            st = os.stat(os.path.join(self.dir, "run.json"))
            key: Any = (st.st_size, st.st_mtime_ns, st.st_ino)
        except OSError:
            key = None
        if key is None or key != self._manifest_key:
            data = self._read("run.json")
            self._manifest_seen = (data, hashlib.sha256(data).hexdigest() if data is not None else None)
            self._manifest_key = key if data is not None else None
        return self._manifest_seen

    def _read(self, name: str) -> Optional[bytes]:
        try:
            with open(os.path.join(self.dir, name), "rb") as f:
                return f.read()
        except OSError:
            return None

    def _send_manifest(self, data: bytes, sha: Optional[str]) -> None:
        self._request("PUT", run_path(self.id, "manifest"), data, "application/json")
        self.marker.manifest = sha
        self.marker.save()

    def _events_end(self) -> int:
        try:
            return os.path.getsize(os.path.join(self.dir, "events.jsonl"))
        except OSError:
            return 0

    def _send_events(self, end: int) -> bool:
        """Sends events.jsonl from the acknowledged offset to ``end`` at least (whole lines only)."""
        if self.marker.events >= end:
            return True
        return self._append("events.jsonl", end, whole_lines=True)

    def _append(self, name: str, end: int, whole_lines: bool) -> bool:
        """Sends the append-only file ``name`` (events.jsonl or an output log) from the acknowledged
        offset until ``end``. Each request takes what the file holds by then, up to EVENTS_CHUNK (a
        run logging fast is sent in few big requests, not a full one and a small rest), read into one
        buffer and sent from it without a copy."""
        path = os.path.join(self.dir, name)
        log = None if name == "events.jsonl" else name
        acked = (lambda: self.marker.events) if log is None else (lambda: self.marker.logs.get(name, 0))
        buffer = bytearray(min(EVENTS_CHUNK, max(end - acked(), 1)))
        with open(path, "rb") as f:
            while acked() < end:
                offset = acked()
                want = min(EVENTS_CHUNK, os.fstat(f.fileno()).st_size - offset)
                if want > len(buffer):
                    buffer = bytearray(want)
                f.seek(offset)
                got = f.readinto(memoryview(buffer)[:want]) or 0
                cut = buffer.rfind(b"\n", 0, got) + 1 if whole_lines else got
                if cut == 0:
                    return False  # an unfinished line: sent once it is whole
                query = f"?offset={offset}" + ("" if log is None else f"&log={log}")
                with memoryview(buffer)[:cut] as body:
                    status, answer = self._request("POST", run_path(self.id, "events") + query, body,
                                                   "application/x-ndjson")
                size = int(answer.get("size", -1))
                if status == 409 and (answer.get("error") or {}).get("code") != "offset_ahead":
                    raise LabError(status, answer)
                if size < 0 or size > os.fstat(f.fileno()).st_size:
                    raise LabError(status, {"error": {"code": "events_ahead", "message": (
                        f"the lab holds {size} bytes of {name} of run {self.id}, more than this journal")}})
                if log is None:
                    self.marker.events = size
                else:
                    self.marker.logs[name] = size
        return True

    def _send_files(self, final: bool) -> bool:
        done = True
        now = time.monotonic()
        logs_due = final or now - self._logs_sent >= LOG_INTERVAL
        for rel, st in sorted(_local_files(self.dir).items()):
            if _escaped(rel) in self.marker.skipped:
                continue
            if _LOG.match(rel):
                if self.marker.logs.get(rel, 0) >= st.st_size:
                    continue
                if not logs_due:
                    done = False
                elif not self._append(rel, st.st_size, whole_lines=False):
                    done = False
                continue
            entry = self.marker.files.get(rel)
            if entry is not None and entry[0] == st.st_size and entry[1] == st.st_mtime_ns:
                continue
            why = unsendable(rel)
            if why is not None:
                self._skip(rel, why)
            elif not self._send_file(rel, st):
                done = False
        if logs_due:
            self._logs_sent = now
        return done

    def _skip(self, rel: str, why: str) -> None:
        """A file the lab cannot take: not sent, and said once in the run (a warning event in its journal,
        sent with the other events), so that the rest of the run goes on being sent."""
        message = f"the file {shown_name(rel)} was not sent to the lab: {why}; rename it to send it"
        line = json.dumps({"k": "warning", "message": message, "t": int(time.time() * 1000)}) + "\n"
        flags = os.O_WRONLY | os.O_APPEND | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
        try:
            fd = os.open(os.path.join(self.dir, "events.jsonl"), flags)
            try:
                os.write(fd, line.encode("utf-8"))  # one write of a whole line, as the run's own writes are
            finally:
                os.close(fd)
        except OSError:
            pass
        self.marker.skipped.append(_escaped(rel))
        self.marker.save()

    def _send_file(self, rel: str, st: os.stat_result) -> bool:
        full = os.path.join(self.dir, *rel.split("/"))
        url = file_path(self.id, rel)
        try:
            if st.st_size <= IN_MEMORY_FILE:
                with open(full, "rb") as f:
                    data = f.read()
                sha = hashlib.sha256(data).hexdigest()
                self._request("PUT", f"{url}?sha256={sha}", data)
            else:
                sha = _sha256_file(full)
                if not self._stored(url, sha):
                    with open(full, "rb") as f:
                        self._request("PUT", f"{url}?sha256={sha}", f, content_length=st.st_size)
        except LabError as e:
            if e.code == "hash_mismatch":
                return False  # changed while it was sent: sent again on the next pass
            if e.code == "invalid_path":
                self._skip(rel, str(e))  # a name this lab refuses: the rest of the run goes on
                return True
            raise
        except OSError:
            return False  # gone or unreadable now: looked at again on the next pass
        self.marker.files[rel] = [st.st_size, st.st_mtime_ns, sha]
        self.marker.save()
        return True

    def _stored(self, url: str, sha: str) -> bool:
        try:
            self._request("GET", f"{url}?sha256={sha}")
            return True
        except LabError as e:
            if e.status == 404:
                return False
            raise


def describe(error: BaseException) -> str:
    if isinstance(error, LabError):
        return f"the lab refused it ({error})"
    if isinstance(error, NetworkError):
        return f"the lab could not be reached ({error})"
    return f"{type(error).__name__}: {error}"


__all__ = ["Marker", "RunSender", "describe", "marker_path", "prune", "unsendable", "EVENTS_CHUNK"]
