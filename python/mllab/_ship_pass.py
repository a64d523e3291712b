"""Sending one run directory of the local journal to a remote lab: what is acknowledged is recorded in
a marker (``<journal>/.shipped/<id>.json``), so a sender that stopped goes on where the lab is.

``events.jsonl`` goes by byte offset, whole lines only (the lab stores nothing twice: a retry of
bytes it holds is compared, not appended), every other file by sha256, and ``run.json`` whenever it
changed. Events go before the manifest they follow, files before the events naming them (a ``model``
event needs its file in the lab), and the manifest first of all so that the run shows at once.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from typing import Any, Dict, List, Optional

from ._remote import Connection, LabError, NetworkError, file_path, run_path
from ._run_writer import _write_json_atomic

#: events sent in one request at most (the lab's limit is 8 MiB)
EVENTS_CHUNK = 4 * 1024 * 1024
#: files read whole into memory to hash and send (bigger ones are streamed twice: hash, then send)
IN_MEMORY_FILE = 16 * 1024 * 1024
#: while a run goes on, its growing output logs are sent at most this often (seconds)
LOG_INTERVAL = 5.0
#: the files with routes of their own
_OWN = ("run.json", "events.jsonl")


def marker_path(journal: str, run_id: str) -> str:
    return os.path.join(journal, ".shipped", run_id + ".json")


class Marker:
    """What the lab acknowledged of a run: events up to a byte offset, the manifest's sha256, each
    file's (size, mtime, sha256), and whether the finished run is all sent (``done``)."""

    def __init__(self, path: str, url: str) -> None:
        self.path = path
        self.url = url
        self.events = 0
        self.manifest: Optional[str] = None
        self.files: Dict[str, List[Any]] = {}
        self.done = False
        try:
            with open(path, encoding="utf-8") as f:
                saved = json.load(f)
            if isinstance(saved, dict) and saved.get("url") == url:
                self.events = int(saved.get("events", 0))
                self.manifest = saved.get("manifest")
                self.files = dict(saved.get("files") or {})
                self.done = bool(saved.get("done"))
        except (OSError, ValueError, TypeError):
            pass

    def save(self) -> None:
        os.makedirs(os.path.dirname(self.path), 0o700, exist_ok=True)
        _write_json_atomic(self.path, {"url": self.url, "events": self.events, "manifest": self.manifest,
                                       "files": self.files, "done": self.done})


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
        self.id = os.path.basename(run_dir.rstrip(os.sep))
        self.marker = Marker(marker_path(journal, self.id), conn.remote.url)
        self._logs_sent = 0.0

    def resume(self) -> None:
        """Takes what the lab holds of the run as the starting point (it may hold less than the marker says)."""
        _, state = self.conn.request("GET", run_path(self.id, "upload-state"))
        stored = {f.get("path"): f.get("sha256") for f in state.get("files", []) if isinstance(f, dict)}
        self.marker.events = int(state.get("eventsSize", 0))
        self.marker.manifest = state.get("manifestSha256")
        self.marker.files = {rel: entry for rel, entry in self.marker.files.items() if stored.get(rel) == entry[2]}
        self.marker.done = self.marker.done and self.marker.manifest is not None
        self.marker.save()

    def send(self, final: bool) -> bool:
        """One pass: sends what changed. Returns True when the lab holds all of the run as it was when
        the pass began (with ``final``, the growing output logs are sent too, whatever their age)."""
        manifest = self._read("run.json")
        manifest_sha = hashlib.sha256(manifest).hexdigest() if manifest is not None else None
        if manifest is not None and self.marker.manifest is None and _running(manifest):
            self._send_manifest(manifest, manifest_sha)  # the run shows in the lab at once
        events_end = self._events_end()
        files_done = self._send_files(final)
        events_done = self._send_events(events_end)
        if manifest is not None and manifest_sha != self.marker.manifest:
            self._send_manifest(manifest, manifest_sha)
        return files_done and events_done and manifest is not None

    def _read(self, name: str) -> Optional[bytes]:
        try:
            with open(os.path.join(self.dir, name), "rb") as f:
                return f.read()
        except OSError:
            return None

    def _send_manifest(self, data: bytes, sha: Optional[str]) -> None:
        self.conn.request("PUT", run_path(self.id, "manifest"), data, "application/json")
        self.marker.manifest = sha
        self.marker.save()

    def _events_end(self) -> int:
        try:
            return os.path.getsize(os.path.join(self.dir, "events.jsonl"))
        except OSError:
            return 0

    def _send_events(self, end: int) -> bool:
        """Sends events.jsonl from the acknowledged offset to ``end`` (whole lines only)."""
        path = os.path.join(self.dir, "events.jsonl")
        if self.marker.events >= end:
            return True
        with open(path, "rb") as f:
            while self.marker.events < end:
                offset = self.marker.events
                f.seek(offset)
                chunk = f.read(min(EVENTS_CHUNK, end - offset))
                cut = chunk.rfind(b"\n") + 1
                if cut == 0:
                    return False  # an unfinished line: sent once it is whole
                status, answer = self.conn.request("POST", run_path(self.id, "events") + f"?offset={offset}",
                                                   chunk[:cut], "application/x-ndjson")
                size = int(answer.get("size", -1))
                if status == 409 and (answer.get("error") or {}).get("code") != "offset_ahead":
                    raise LabError(status, answer)
                if size < 0 or size > os.path.getsize(path):
                    raise LabError(status, {"error": {"code": "events_ahead", "message": (
                        f"the lab holds {size} bytes of the events of run {self.id}, more than this journal")}})
                self.marker.events = size
                self.marker.save()
        return True

    def _send_files(self, final: bool) -> bool:
        done = True
        now = time.monotonic()
        logs_due = final or now - self._logs_sent >= LOG_INTERVAL
        for rel, st in sorted(_local_files(self.dir).items()):
            entry = self.marker.files.get(rel)
            if entry is not None and entry[0] == st.st_size and entry[1] == st.st_mtime_ns:
                continue
            if rel.endswith(".log") and "/" not in rel and not logs_due:
                done = False
                continue
            if not self._send_file(rel, st):
                done = False
        if logs_due:
            self._logs_sent = now
        return done

    def _send_file(self, rel: str, st: os.stat_result) -> bool:
        full = os.path.join(self.dir, *rel.split("/"))
        url = file_path(self.id, rel)
        try:
            if st.st_size <= IN_MEMORY_FILE:
                with open(full, "rb") as f:
                    data = f.read()
                sha = hashlib.sha256(data).hexdigest()
                self.conn.request("PUT", f"{url}?sha256={sha}", data)
            else:
                sha = _sha256_file(full)
                if not self._stored(url, sha):
                    with open(full, "rb") as f:
                        self.conn.request("PUT", f"{url}?sha256={sha}", f, content_length=st.st_size)
        except LabError as e:
            if e.code == "hash_mismatch":
                return False  # changed while it was sent: sent again on the next pass
            raise
        except OSError:
            return False  # gone or unreadable now: looked at again on the next pass
        self.marker.files[rel] = [st.st_size, st.st_mtime_ns, sha]
        self.marker.save()
        return True

    def _stored(self, url: str, sha: str) -> bool:
        try:
            self.conn.request("GET", f"{url}?sha256={sha}")
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


__all__ = ["Marker", "RunSender", "describe", "marker_path", "EVENTS_CHUNK"]
