"""Safe unpacking of dataset packages (zips of a folder) into the lab home's cache.

A package is unpacked into ``<cache>/.tmp-<pid>-<random>``, then renamed to
``<cache>/<sha256>`` in one step, so a folder under its final name is always complete and
is reused without unpacking again. (The Node client unpacks the same way into the same
place.) Nothing is added to the unpacked folder: it holds exactly the package's files.

Refused, with an MLLabError naming the entry: absolute paths, drive letters, ``..``
components, duplicate names, names colliding with each other (a file where a folder
is needed), names Windows cannot hold (on Windows), encrypted entries, symlinks whose
target is absolute or resolves outside the folder, more than ``max_bytes`` of content in
total (counting the bytes actually written), entries over 1 MiB that expand more than
1000 times, and more than 1,000,000 entries. The limits are those of the Node client.
"""

from __future__ import annotations

import errno
import os
import posixpath
import re
import secrets
import shutil
import stat
import sys
import time
import zipfile
import zlib
from typing import Dict, List, Optional, Set, Tuple

from ._errors import MLLabError
from ._process import pid_alive

__all__ = ["DEFAULT_MAX_UNPACK_BYTES", "MAX_UNPACK_BYTES_ENV", "max_unpack_bytes",
           "is_complete", "unpack_cached", "extract"]

#: file written into an unpacked folder once everything else is in place
#: default limit of the bytes a package may unpack to
DEFAULT_MAX_UNPACK_BYTES = 64 * 1024 ** 3
#: environment variable overriding the limit (a number of bytes)
MAX_UNPACK_BYTES_ENV = "MLLAB_MAX_UNPACK_BYTES"
#: largest expansion (uncompressed / compressed) allowed for an entry over RATIO_MIN_BYTES
MAX_RATIO = 1000
RATIO_MIN_BYTES = 1024 * 1024
#: most entries a package may have
MAX_ENTRIES = 1_000_000
#: largest symlink target read from a package
MAX_LINK_TARGET = 4096
#: temporary folders of dead processes older than this are removed
STALE_TEMP_S = 3600

_CHUNK = 1024 * 1024
_TEMP_PREFIX = ".tmp-"
_DRIVE = re.compile(r"^[A-Za-z]:")
_WINDOWS_BAD_CHARS = re.compile(r'[<>:"|?*\x01-\x1f]')
_WINDOWS_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$", re.I)


def max_unpack_bytes() -> int:
    """The unpack limit: ``$MLLAB_MAX_UNPACK_BYTES`` when set, else 64 GiB."""
    raw = os.environ.get(MAX_UNPACK_BYTES_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_UNPACK_BYTES
    try:
        value = int(raw.replace("_", ""))
    except ValueError:
        value = -1
    if value <= 0:
        raise MLLabError(
            f"{MAX_UNPACK_BYTES_ENV}={raw!r} is not a positive number of bytes: set it to e.g. "
            f"{DEFAULT_MAX_UNPACK_BYTES} (64 GiB) or unset it.",
            code="bad_setting",
        )
    return value


def is_complete(folder: str) -> bool:
    """Whether ``folder`` is a finished unpacked package.

    Both clients only ever rename a complete folder into place, so the folder existing is
    enough.
    """
    return os.path.isdir(folder) and not os.path.islink(folder)


def unpack_cached(zip_path: str, cache_dir: str, key: str, *, max_bytes: Optional[int] = None) -> str:
    """Unpacks ``zip_path`` once into ``<cache_dir>/<key>`` and returns that folder.

    A complete folder already there is returned as it is. Two processes unpacking the
    same package at once both succeed; the first rename wins and the other's copy is
    deleted. On any error nothing is left behind.
    """
    final = os.path.join(cache_dir, key)
    if is_complete(final):
        return final
    limit = max_unpack_bytes() if max_bytes is None else max_bytes
    os.makedirs(cache_dir, exist_ok=True)
    _remove_stale_temps(cache_dir)
    temp = _new_temp(cache_dir)
    try:
        extract(zip_path, temp, max_bytes=limit)
        return _publish(temp, final)
    finally:
        if os.path.lexists(temp):
            _rmtree(temp)


def _new_temp(cache_dir: str) -> str:
    while True:
        path = os.path.join(cache_dir, f"{_TEMP_PREFIX}{os.getpid()}-{secrets.token_hex(6)}")
        try:
            os.mkdir(path)
            return path
        except FileExistsError:
            continue


def _publish(temp: str, final: str) -> str:
    try:
        os.rename(temp, final)
        return final
    except OSError as e:
        if is_complete(final):
            return final  # another process finished first: use theirs, ours is deleted
        if os.path.lexists(final):
            raise MLLabError(f"Cannot put the unpacked dataset at {final}: something that is not a folder is "
                             f"there. Remove it and try again.", code="unpack_failed") from e
        raise MLLabError(f"Cannot put the unpacked dataset at {final}: {e.strerror or e}.",
                         code="unpack_failed") from e


def _remove_stale_temps(cache_dir: str) -> None:
    """Removes temporary folders left by processes that were killed while unpacking."""
    try:
        names = os.listdir(cache_dir)
    except OSError:
        return
    now = time.time()
    for name in names:
        if not name.startswith(_TEMP_PREFIX):
            continue
        pid_text = name[len(_TEMP_PREFIX):].split("-", 1)[0]
        path = os.path.join(cache_dir, name)
        try:
            old = now - os.lstat(path).st_mtime > STALE_TEMP_S
        except OSError:
            continue
        if pid_text.isdigit() and old and not pid_alive(int(pid_text)):
            _rmtree(path)


def _rmtree(path: str) -> None:
    """Removes a tree, read-only files included."""

    def make_writable_and_retry(func, p, *_):  # type: ignore[no-untyped-def]
        try:
            if not os.path.islink(p):
                os.chmod(p, stat.S_IWRITE | stat.S_IREAD | (stat.S_IEXEC if os.path.isdir(p) else 0))
            func(p)
        except OSError:
            pass

    if os.path.islink(path) or os.path.isfile(path):
        try:
            os.remove(path)
        except OSError:
            pass
        return
    if sys.version_info >= (3, 12):
        shutil.rmtree(path, onexc=make_writable_and_retry)
    else:
        shutil.rmtree(path, onerror=make_writable_and_retry)


def _refuse(zip_path: str, entry: Optional[str], reason: str) -> MLLabError:
    where = f"entry {entry!r} " if entry is not None else ""
    return MLLabError(
        f"Refusing to unpack the dataset package {zip_path}: {where}{reason}. The package may be damaged or "
        f"malicious; use `unpack=False` to get the zip itself.",
        code="unsafe_package",
    )


# One planned entry: (zip entry, path parts relative to the destination, kind)
_Plan = List[Tuple[zipfile.ZipInfo, Tuple[str, ...], str]]


def _plan(zip_path: str, zf: zipfile.ZipFile, max_bytes: int) -> Tuple[_Plan, int]:
    """Checks every entry's name, type and declared size before anything is written."""
    plan: _Plan = []
    seen: Dict[str, str] = {}
    implied_dirs: Set[str] = set()
    declared = 0
    if len(zf.infolist()) > MAX_ENTRIES:
        raise _refuse(zip_path, None, f"it has {len(zf.infolist())} entries, more than the limit of {MAX_ENTRIES}")
    for info in zf.infolist():
        raw = info.filename
        if "\x00" in raw:
            raise _refuse(zip_path, raw, "has a NUL character in its name")
        name = raw.replace("\\", "/")
        if name.startswith("/"):
            raise _refuse(zip_path, raw, "has an absolute path")
        if _DRIVE.match(name):
            raise _refuse(zip_path, raw, "starts with a drive letter")
        parts = tuple(p for p in name.split("/") if p not in ("", "."))
        if ".." in parts:
            raise _refuse(zip_path, raw, "points outside the destination folder (\"..\")")
        if sys.platform == "win32":
            for p in parts:
                if _WINDOWS_BAD_CHARS.search(p) or p.endswith((".", " ")) or _WINDOWS_RESERVED.match(p):
                    raise _refuse(zip_path, raw, f"has a name Windows cannot hold ({p!r})")
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            kind = "link"
        elif name.endswith("/") or stat.S_ISDIR(mode):
            kind = "dir"
        else:
            kind = "file"
        if not parts:
            if kind == "dir":
                continue  # the root folder itself
            raise _refuse(zip_path, raw, "has an empty name")
        key = "/".join(parts)
        if info.flag_bits & 0x1:
            raise _refuse(zip_path, raw, "is encrypted")
        if key in seen:
            raise _refuse(zip_path, raw, "appears twice in the package (duplicate name)")
        for i in range(1, len(parts)):
            prefix = "/".join(parts[:i])
            if seen.get(prefix) in ("file", "link"):
                raise _refuse(zip_path, raw, f"is inside {prefix!r}, which is a file or link in the package")
            implied_dirs.add(prefix)
        if kind != "dir" and key in implied_dirs:
            raise _refuse(zip_path, raw, "is a file or link, but other entries are inside it")
        seen[key] = kind
        if kind == "link" and info.file_size > MAX_LINK_TARGET:
            raise _refuse(zip_path, raw, f"is a symlink with a target longer than {MAX_LINK_TARGET} bytes")
        if kind == "file":
            declared += info.file_size
            if info.file_size > RATIO_MIN_BYTES and info.file_size > MAX_RATIO * max(info.compress_size, 1):
                raise _refuse(
                    zip_path, raw,
                    f"expands {info.compress_size} compressed bytes to {info.file_size} (more than "
                    f"{MAX_RATIO} times): it looks like a zip bomb",
                )
        plan.append((info, parts, kind))
    if declared > max_bytes:
        raise _refuse(
            zip_path, None,
            f"it would unpack to {declared} bytes, more than the limit of {max_bytes} bytes (raise it with "
            f"{MAX_UNPACK_BYTES_ENV})",
        )
    return plan, declared


def _check_space(dest: str, declared: int) -> None:
    try:
        free = shutil.disk_usage(dest).free
    except OSError:
        return
    if declared > free:
        raise MLLabError(
            f"Not enough disk space to unpack the dataset: it needs {declared} bytes, {free} are free under "
            f"{dest}. Free some space, or use `unpack=False` and read the zip directly.",
            code="no_space",
        )


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def extract(zip_path: str, dest: str, *, max_bytes: int = DEFAULT_MAX_UNPACK_BYTES) -> Tuple[int, int]:
    """Extracts ``zip_path`` into the existing folder ``dest`` with all the safety checks.

    Returns ``(files, bytes)``. Files are made read-only. On an error the caller
    removes ``dest`` (unpack_cached does).
    """
    try:
        zf = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as e:
        raise MLLabError(f"The dataset package {zip_path} is not a readable zip: {e}.", code="bad_package") from e
    except OSError as e:
        raise MLLabError(f"Cannot open the dataset package {zip_path}: {e.strerror or e}.",
                         code="bad_package") from e
    with zf:
        plan, declared = _plan(zip_path, zf, max_bytes)
        _check_space(dest, declared)
        total = 0
        files = 0
        links: List[Tuple[zipfile.ZipInfo, str, str]] = []
        for info, parts, kind in plan:
            target_path = os.path.join(dest, *parts)
            try:
                if kind == "dir":
                    os.makedirs(target_path, exist_ok=True)
                elif kind == "link":
                    link_target = _link_target(zip_path, zf, info, parts)
                    os.makedirs(os.path.dirname(target_path), exist_ok=True)
                    links.append((info, target_path, link_target))
                else:
                    os.makedirs(os.path.dirname(target_path), exist_ok=True)
                    total = _write_file(zip_path, zf, info, target_path, total, max_bytes)
                    files += 1
            except MLLabError:
                raise
            except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, zlib.error, RuntimeError,
                    NotImplementedError) as e:
                raise _refuse(zip_path, info.filename, f"cannot be read ({e})") from e
            except FileExistsError as e:
                raise _refuse(zip_path, info.filename,
                              "collides with another entry (the file system may ignore case)") from e
            except NotADirectoryError as e:
                raise _refuse(zip_path, info.filename, "is inside a name that is a file") from e
            except OSError as e:
                if e.errno == errno.ENOSPC:
                    raise MLLabError(f"The disk is full while unpacking {zip_path} into {dest}: free some space.",
                                     code="no_space") from e
                raise MLLabError(f"Cannot unpack {info.filename!r} from {zip_path}: {e.strerror or e}.",
                                 code="unpack_failed") from e
        # links last, so no file is ever written through one
        for info, path, link_target in links:
            try:
                os.symlink(link_target.replace("/", os.sep), path)
            except FileExistsError as e:
                raise _refuse(zip_path, info.filename, "collides with another entry") from e
            except OSError as e:
                raise MLLabError(
                    f"Cannot create the symlink {info.filename!r} from {zip_path} on this system: "
                    f"{e.strerror or e}. Use `unpack=False` to get the zip itself.",
                    code="unpack_failed",
                ) from e
        # every link, followed through all the others, must stay inside
        real_dest = os.path.realpath(dest)
        for info, path, _ in links:
            if not _inside(os.path.realpath(path), real_dest):
                raise _refuse(zip_path, info.filename, "is a symlink that resolves outside the destination folder")
        return files, total


def _link_target(zip_path: str, zf: zipfile.ZipFile, info: zipfile.ZipInfo, parts: Tuple[str, ...]) -> str:
    raw = zf.read(info)
    if len(raw) > MAX_LINK_TARGET:
        raise _refuse(zip_path, info.filename, f"is a symlink with a target longer than {MAX_LINK_TARGET} bytes")
    try:
        target = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _refuse(zip_path, info.filename, "is a symlink whose target is not UTF-8") from None
    if not target or "\x00" in target:
        raise _refuse(zip_path, info.filename, "is a symlink with an empty or invalid target")
    normal = target.replace("\\", "/")
    if normal.startswith("/") or _DRIVE.match(normal):
        raise _refuse(zip_path, info.filename, f"is a symlink to the absolute path {target!r}")
    resolved = posixpath.normpath(posixpath.join(*parts[:-1], normal) if len(parts) > 1 else normal)
    if resolved == ".." or resolved.startswith("../"):
        raise _refuse(zip_path, info.filename, f"is a symlink to {target!r}, outside the destination folder")
    return normal


def _write_file(zip_path: str, zf: zipfile.ZipFile, info: zipfile.ZipInfo, path: str, total: int,
                max_bytes: int) -> int:
    """Streams one entry to a new file, counting the bytes actually written; returns the new total."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags, 0o666)
    written = 0
    with os.fdopen(fd, "wb") as out, zf.open(info) as src:
        while True:
            chunk = src.read(_CHUNK)
            if not chunk:
                break
            written += len(chunk)
            total += len(chunk)
            if total > max_bytes:
                raise _refuse(
                    zip_path, info.filename,
                    f"takes the package over the limit of {max_bytes} unpacked bytes (raise it with "
                    f"{MAX_UNPACK_BYTES_ENV})",
                )
            if written > RATIO_MIN_BYTES and written > MAX_RATIO * max(info.compress_size, 1):
                raise _refuse(zip_path, info.filename,
                              f"expands more than {MAX_RATIO} times: it looks like a zip bomb")
            out.write(chunk)
    _finish_file(path, info)
    return total


def _finish_file(path: str, info: zipfile.ZipInfo) -> None:
    """Sets the entry's modification time and makes the file read-only (keeping execute bits)."""
    try:
        stamp = time.mktime(info.date_time + (0, 0, -1))
        os.utime(path, (stamp, stamp))
    except (OverflowError, ValueError, OSError):
        pass
    mode = os.stat(path).st_mode
    readable = stat.S_IMODE(mode) & 0o444
    executable = (readable >> 2) if (info.external_attr >> 16) & 0o111 else 0
    os.chmod(path, readable | executable)
