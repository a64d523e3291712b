"""Test helpers: a fake ML Lab backend (real HTTP server in a thread) and lab-home fixtures."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import sys
import tempfile
import threading
import unittest
import uuid
import zipfile
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import parse_qs, unquote, urlsplit

# the package under test is the source next to this folder, whatever the working directory
_SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _SRC not in sys.path:
    sys.path.insert(0, _SRC)

DEAD_PID = 4194303  # above Linux's pid_max limit: never a live process


def now() -> str:
    return datetime.now(timezone.utc).isoformat()


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def zip_folder(folder: str, dest: str) -> Tuple[int, int]:
    """Zips the folder's content (paths relative to it, no top folder); returns (files, bytes)."""
    files = size = 0
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zf:
        for root, dirs, names in os.walk(folder):
            dirs.sort()
            rel_root = os.path.relpath(root, folder)
            if rel_root != "." and not names and not dirs:
                zf.writestr(rel_root.replace(os.sep, "/") + "/", b"")
            for n in sorted(names):
                full = os.path.join(root, n)
                zf.write(full, os.path.relpath(full, folder).replace(os.sep, "/"))
                files += 1
                size += os.path.getsize(full)
    return files, size


class FakeStore:
    """Projects and datasets kept in memory; content stored read-only under ``root``."""

    def __init__(self, root: str) -> None:
        self.root = root
        os.makedirs(root, exist_ok=True)
        self.projects = [{"id": "p1", "name": "default"}, {"id": "p2", "name": "other"}]
        self.active = "p1"
        self.datasets: Dict[str, Dict[str, Dict[str, Any]]] = {"p1": {}, "p2": {}}
        self.lock = threading.Lock()

    def project_id(self, ref: Optional[str]) -> str:
        if ref is None:
            return self.active
        for p in self.projects:
            if ref in (p["id"], p["name"]):
                return p["id"]
        raise ApiError(404, "not_found", f"No project called '{ref}': list them with `mllab project list`.")

    def project_name(self, pid: str) -> str:
        return next(p["name"] for p in self.projects if p["id"] == pid)

    def add(self, path: str, name: Optional[str] = None, description: str = "", tags: Optional[List[str]] = None,
            project: Optional[str] = None, operator: str = "tester") -> Dict[str, Any]:
        pid = self.project_id(project)
        if not os.path.isabs(path):
            raise ApiError(400, "invalid_request", f"The path {path} is not absolute: send an absolute path.")
        if not os.path.exists(path):
            raise ApiError(400, "invalid_path", f"There is no file or folder at {path}.")
        name = name or os.path.basename(path.rstrip(os.sep))
        work = os.path.join(self.root, "incoming-" + uuid.uuid4().hex)
        if os.path.isdir(path):
            kind, file_name = "package", os.path.basename(path.rstrip(os.sep)) + ".zip"
            file_count, unpacked = zip_folder(path, work)
            media = "application/zip"
        else:
            kind, file_name, file_count, unpacked = "file", os.path.basename(path), None, None
            shutil.copyfile(path, work)
            media = "application/octet-stream"
        with open(work, "rb") as f:
            sha = hashlib.sha256(f.read()).hexdigest()
        stored_dir = os.path.join(self.root, sha)
        os.makedirs(stored_dir, exist_ok=True)
        stored = os.path.join(stored_dir, file_name)
        if os.path.exists(stored):
            os.remove(work)
        else:
            os.replace(work, stored)
            os.chmod(stored, 0o444)
        with self.lock:
            ds = self.datasets[pid].get(name)
            if ds is None:
                ds = {"id": uuid.uuid4().hex, "projectId": pid, "name": name, "createdAt": now(), "versions": []}
                self.datasets[pid][name] = ds
            v = {
                "id": uuid.uuid4().hex, "datasetId": ds["id"], "projectId": pid, "name": name,
                "version": len(ds["versions"]) + 1, "sha256": sha, "size": os.path.getsize(stored),
                "mediaType": media, "kind": kind, "fileCount": file_count, "unpackedSize": unpacked,
                "fileName": file_name, "sourcePath": path, "createdAt": now(), "operator": operator,
                "description": description, "tags": list(tags or []), "path": stored,
            }
            ds["versions"].append(v)
            return v

    def add_zip(self, zip_path: str, name: str, project: Optional[str] = None) -> Dict[str, Any]:
        """Stores an arbitrary (maybe malicious) zip as a package version."""
        v = self.add(zip_path, name=name, project=project)
        v.update(kind="package", mediaType="application/zip", fileCount=0, unpackedSize=0)
        return v

    def version(self, name: str, version: str, project: Optional[str]) -> Dict[str, Any]:
        pid = self.project_id(project)
        ds = self.datasets[pid].get(name)
        if ds is None:
            raise ApiError(404, "not_found", f"No dataset called '{name}' in project '{self.project_name(pid)}': "
                                             f"list them with `mllab dataset list`.")
        if version == "latest":
            return ds["versions"][-1]
        if not version.isdigit():
            raise ApiError(400, "invalid_request", f"Invalid version \"{version}\": use a number or \"latest\".")
        for v in ds["versions"]:
            if v["version"] == int(version):
                return v
        raise ApiError(404, "not_found", f"Dataset '{name}' has no version {version}: it has versions "
                                         f"{', '.join(str(v['version']) for v in ds['versions'])}.")

    def list(self, project: Optional[str]) -> List[Dict[str, Any]]:
        return list(self.datasets[self.project_id(project)].values())


class FakeBackend:
    """A real HTTP server on 127.0.0.1 answering the dataset routes, checking the bearer token."""

    def __init__(self, store: FakeStore, token: str = "secret-token") -> None:
        self.store = store
        self.token = token
        self.requests: List[Dict[str, Any]] = []
        self.answer_override: Optional[Tuple[int, bytes]] = None
        backend = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def _send(self, status: int, body: Any) -> None:
                data = b"" if body is None else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _handle(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                url = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                backend.requests.append({"method": method, "path": self.path, "headers": dict(self.headers),
                                         "body": body})
                if self.headers.get("Authorization") != f"Bearer {backend.token}":
                    message = ("The bearer token is wrong: read it again from the registration file; the backend "
                               "may have restarted.") if self.headers.get("Authorization") else \
                        "Missing \"Authorization: Bearer <token>\" header."
                    self._send(401, {"error": {"code": "unauthorized", "message": message}})
                    return
                if backend.answer_override and url.path != "/api/status":
                    status, data = backend.answer_override
                    self.send_response(status)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                try:
                    self._send(*self._route(method, url.path, query, body))
                except ApiError as e:
                    self._send(e.status, {"error": {"code": e.code, "message": e.message}})

            def _route(self, method: str, path: str, query: Dict[str, str], body: Any) -> Tuple[int, Any]:
                parts = [unquote(p) for p in path.strip("/").split("/")]
                project = query.get("project")
                if method == "GET" and parts == ["api", "status"]:
                    return 200, {"version": "test", "clients": 0}
                if method == "GET" and parts == ["api", "datasets"]:
                    return 200, backend.store.list(project)
                if method == "POST" and parts == ["api", "datasets"]:
                    b = dict(body or {})
                    return 201, backend.store.add(b.pop("path", ""), name=b.get("name"),
                                                  description=b.get("description", ""), tags=b.get("tags"),
                                                  project=b.get("project"), operator=b.get("operator", "backend"))
                if method == "GET" and len(parts) == 5 and parts[:2] == ["api", "datasets"] and parts[3] == "versions":
                    return 200, backend.store.version(parts[2], parts[4], project)
                raise ApiError(404, "not_found", f"No route {method} {path}.")

            def do_GET(self) -> None:
                self._handle("GET")

            def do_POST(self) -> None:
                self._handle("POST")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def write_registration(home: str, *, pid: int, port: int, token: str, api_version: int = 1) -> None:
    run = os.path.join(home, "run")
    os.makedirs(run, exist_ok=True)
    tmp = os.path.join(run, f"backend.json.{uuid.uuid4().hex}")
    with open(tmp, "w") as f:
        json.dump({"pid": pid, "port": port, "token": token, "version": "test", "apiVersion": api_version,
                   "startedAt": now()}, f)
    os.replace(tmp, os.path.join(run, "backend.json"))


def make_tree(root: str, files: Dict[str, bytes], empty_dirs: Tuple[str, ...] = ()) -> None:
    for rel, data in files.items():
        p = os.path.join(root, *rel.split("/"))
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(data)
    for d in empty_dirs:
        os.makedirs(os.path.join(root, *d.split("/")), exist_ok=True)


def read_tree(root: str, skip: Tuple[str, ...] = (".mllab-complete",)) -> Dict[str, Any]:
    """{relative path: bytes, or None for an empty folder}."""
    out: Dict[str, Any] = {}
    for dirpath, dirs, names in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        if rel != "." and not dirs and not names:
            out[rel.replace(os.sep, "/") + "/"] = None
        for n in names:
            r = os.path.normpath(os.path.join(rel, n)).replace(os.sep, "/")
            if r in skip:
                continue
            with open(os.path.join(dirpath, n), "rb") as f:
                out[r] = f.read()
    return out


def _restore_env(var: str, value: "str | None") -> None:
    if value is None:
        os.environ.pop(var, None)
    else:
        os.environ[var] = value


class LabTestCase(unittest.TestCase):
    """A temporary workspace with a lab home, a fake backend registered in it, and a clean env."""

    start_backend = True

    def setUp(self) -> None:
        self.tmp = tempfile.mkdtemp(prefix="mllab-test-")
        self.addCleanup(self._remove_tmp)
        self.workspace = os.path.join(self.tmp, "workspace")
        self.home = os.path.join(self.workspace, ".mllab")
        os.makedirs(self.home)
        for var in ("MLLAB_HOME", "MLLAB_MAX_UNPACK_BYTES"):
            # what a test sets goes with it (a value left behind reached the labs later tests start)
            self.addCleanup(_restore_env, var, os.environ.pop(var, None))
        # datasets loaded by one test are not inputs of the runs of the next
        from mllab import _experiments
        self.addCleanup(_experiments._inputs.clear)
        _experiments._inputs.clear()
        self.store = FakeStore(os.path.join(self.tmp, "store"))
        if self.start_backend:
            self.backend = FakeBackend(self.store)
            self.addCleanup(self.backend.close)
            write_registration(self.home, pid=os.getpid(), port=self.backend.port, token=self.backend.token)

    def _remove_tmp(self) -> None:
        for dirpath, dirs, names in os.walk(self.tmp):
            for n in dirs + names:
                p = os.path.join(dirpath, n)
                if not os.path.islink(p):
                    os.chmod(p, stat.S_IMODE(os.lstat(p).st_mode) | 0o700)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def cache_dir(self) -> str:
        return os.path.join(self.home, "cache", "datasets")

    def cache_entries(self) -> List[str]:
        d = self.cache_dir()
        return sorted(os.listdir(d)) if os.path.isdir(d) else []

    def write(self, rel: str, data: bytes) -> str:
        p = os.path.join(self.tmp, *rel.split("/"))
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(data)
        return p
