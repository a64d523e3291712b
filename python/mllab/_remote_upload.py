"""Adding a dataset to a lab over the network: the content is sent as a blob, then a version is made of it.

The same protocol as ``mllab dataset add`` (src/client/blob-upload.ts): when the file's sha256 is known
(recorded in the cache by an earlier send of the same unchanged file) or cheap (a small file), the lab
is asked first and nothing is sent for content it holds; a new big file is sent at once under an
upload id, hashed while it is read, and the upload is finished with its sha256 (the lab hashed the
bytes as they came and stores them only when the two agree). A dropped connection, or a restart of
the lab, is resumed from the bytes the lab holds. A folder is packaged into one zip first.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
import stat
import tempfile
import time
import zipfile
from typing import Any, Callable, Dict, List, Optional, Tuple

from ._blob_cache import BlobCache, hash_file, stamp_of
from ._errors import MLLabError
from ._remote import Connection, LabError, NetworkError, Remote
from ._remote_datasets import RETRIES, _lab_error

#: files up to this size are hashed before anything is sent, so that held content is never sent
HASH_FIRST_BYTES = 16 * 1024 * 1024
_CHUNK = 4 * 1024 * 1024


class _HashingReader:
    """The bytes of a file from an offset, fed to a hash (when given) as http.client reads them for the body."""

    def __init__(self, f: Any, hash_: Any, on_bytes: Callable[[int], None]) -> None:
        self.f = f
        self.hash = hash_
        self.on_bytes = on_bytes

    def read(self, _size: int = -1) -> bytes:
        chunk = self.f.read(_CHUNK)  # large reads whatever http.client asks for: fewer TLS writes
        if chunk:
            if self.hash is not None:
                self.hash.update(chunk)
            self.on_bytes(len(chunk))
        return chunk


def _with_retries(what: str, attempt: Callable[[], Any], progressed: Callable[[], int]) -> Any:
    """Runs ``attempt`` again after network failures (RETRIES in a row without progress at most)."""
    failures = 0
    last = progressed()
    while True:
        try:
            return attempt()
        except NetworkError as e:
            now = progressed()
            failures = 1 if now > last else failures + 1
            last = now
            if failures > RETRIES:
                raise MLLabError(f"{what}: the lab does not answer ({e}); check the network and MLLAB_URL, then "
                                 f"call again (the bytes it holds are kept).", code="unreachable") from None
            time.sleep(min(5.0, 0.1 * 2 ** failures))
        except LabError as e:
            raise _lab_error(e, what) from None


def _hash_prefix(path: str, size: int) -> Any:
    """The sha256 state of the first ``size`` bytes of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        left = size
        while left > 0:
            chunk = f.read(min(_CHUNK, left))
            if not chunk:
                break
            h.update(chunk)
            left -= len(chunk)
    return h


def _send_by_hash(conn: Connection, path: str, sha: str, size: int) -> Tuple[bool, int]:
    """Sends content whose sha256 is known unless the lab holds it; returns (held already, bytes sent)."""
    blob = f"/api/blobs/{sha}"
    sent = [0]
    held = [0]

    def check() -> bool:
        try:
            conn.request("GET", blob)
            return True
        except LabError as e:
            if e.status == 404:
                return False
            raise

    if _with_retries("Asking the lab for the content", check, lambda: 0):
        return True, 0

    def attempt() -> None:
        while True:
            _status, state = conn.request("GET", blob + "/upload")
            if state.get("stored"):
                return
            held[0] = int(state.get("received", 0))
            with open(path, "rb") as f:
                f.seek(held[0])
                body = _HashingReader(f, None, lambda n: sent.__setitem__(0, sent[0] + n))
                status, answer = conn.request("PUT", f"{blob}?offset={held[0]}&size={size}", body=body,
                                              content_length=size - held[0])
            if answer.get("stored"):
                return
            if status == 409:
                time.sleep(0.2)

    _with_retries("Sending the content", attempt, lambda: held[0] + sent[0])
    return False, sent[0]


def _send_new(conn: Connection, path: str, size: int) -> Tuple[str, int]:
    """Sends new content hashed on the way (see the module's docstring); returns (sha256, bytes sent)."""
    upload = f"/api/blobs/uploads/{secrets.token_hex(16)}"
    sent = [0]
    held = [0]
    hashed: List[Any] = [hashlib.sha256(), 0]  # the hash of the first hashed[1] bytes

    def attempt() -> None:
        while True:
            if sent[0] > 0:
                _status, state = conn.request("GET", upload)
                held[0] = int(state.get("received", 0))
            if held[0] == size and sent[0] > 0:
                return
            if hashed[1] != held[0]:
                hashed[0], hashed[1] = _hash_prefix(path, held[0]), held[0]

            def count(n: int) -> None:
                sent[0] += n
                hashed[1] += n

            with open(path, "rb") as f:
                f.seek(held[0])
                body = _HashingReader(f, hashed[0], count)
                status, answer = conn.request("PUT", f"{upload}?offset={held[0]}&size={size}", body=body,
                                              content_length=size - held[0])
            held[0] = int(answer.get("received", 0))
            if status == 409:
                time.sleep(0.2)
            elif held[0] == size:
                return

    _with_retries("Sending the content", attempt, lambda: held[0])
    if hashed[1] != size:
        hashed[0] = _hash_prefix(path, size)
    sha = hashed[0].hexdigest()
    _with_retries("Finishing the upload", lambda: conn.request("POST", upload + "/finish",
                                                              body=_json({"sha256": sha, "size": size}),
                                                              content_type="application/json"), lambda: 0)
    return sha, sent[0]


def _json(value: Any) -> bytes:
    return json.dumps(value).encode("utf-8")


def default_name(path: str) -> str:
    """The dataset name a file or folder gets by default, as the lab and the CLI name it (src/common/dataset-name.ts)."""
    base = re.sub(r"[^\w .-]", "-", os.path.basename(path.rstrip(os.sep)))  # \w: letters, digits and _
    base = re.sub(r"^[\W_]+", "", base)
    trimmed = re.sub(r"[ .]+$", "", base[:64])
    return trimmed or "dataset"


def send_file(conn: Connection, path: str, cache: Optional[BlobCache] = None) -> Dict[str, Any]:
    """Sends a file as a blob the cheapest way; returns its ``sha256``, ``size``, ``deduplicated``, ``sent``."""
    cache = cache or BlobCache()
    st = os.stat(path)
    stamp, size = stamp_of(st), st.st_size
    sha = cache.known_hash(path)
    if sha is None and size <= HASH_FIRST_BYTES:
        sha = hash_file(path)
    if sha is not None:
        held, sent = _send_by_hash(conn, path, sha, size)
        cache.remember_hash(path, stamp, sha)
        return {"sha256": sha, "size": size, "deduplicated": held, "sent": sent}
    sha, sent = _send_new(conn, path, size)
    if stamp_of(os.stat(path)) == stamp:
        cache.remember_hash(path, stamp, sha)
    return {"sha256": sha, "size": size, "deduplicated": False, "sent": sent}


def _package(folder: str, target: str) -> None:
    """Zips a folder's regular files (sorted, fixed times: the same folder gives the same bytes)."""
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for base, dirs, files in os.walk(folder):
            dirs.sort()
            for name in sorted(files):
                full = os.path.join(base, name)
                mode = os.lstat(full).st_mode
                if not stat.S_ISREG(mode):
                    raise MLLabError(f"{full} is not a regular file (a link?): a dataset package holds files only; "
                                     f"copy what it points to, or remove it.", code="invalid_path")
                info = zipfile.ZipInfo(os.path.relpath(full, folder).replace(os.sep, "/"), (1980, 1, 1, 0, 0, 0))
                info.external_attr = 0o644 << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                with open(full, "rb") as src, z.open(info, "w") as out:
                    while True:
                        chunk = src.read(_CHUNK)
                        if not chunk:
                            break
                        out.write(chunk)


def add_remote_dataset(remote: Remote, absolute: str, body: Dict[str, Any]) -> Dict[str, Any]:
    """Sends a file or folder to the lab and makes the next version of a dataset of it.

    ``body``: the fields of POST /api/datasets/uploaded besides the content's (name, description, tags,
    project, operator); ``name`` defaults to the file or folder name.
    """
    conn = Connection(remote)
    scratch = tempfile.mkdtemp(prefix="mllab-package-") if os.path.isdir(absolute) else None
    try:
        if scratch is not None:
            file = os.path.join(scratch, "package.zip")
            _package(absolute, file)
            sent = send_file(conn, file, BlobCache(os.path.join(scratch, "cache")))
        else:
            sent = send_file(conn, absolute)
        base = os.path.basename(absolute.rstrip(os.sep))
        request = {
            "name": default_name(absolute),
            **body,
            "sha256": sent["sha256"],
            "size": sent["size"],
            "fileName": f"{base}.zip" if scratch is not None else base,
            "kind": "package" if scratch is not None else "file",
            "sourcePath": absolute,
        }
        path = "/api/datasets/uploaded"
        _status, version = _with_retries("Adding the dataset", lambda: conn.request(
            "POST", path, body=_json(request), content_type="application/json"), lambda: 0)
        return {**version, "sent": sent["sent"], "deduplicated": sent["deduplicated"]}
    finally:
        conn.close()
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
