"""Safe unpacking of dataset packages (zips of a folder) into the lab home's cache.

A package is unpacked into ``<cache>/.tmp-<pid>-<random>``, then renamed to
``<cache>/<sha256>`` in one step, so a folder under its final name is always complete and
is reused without unpacking again. (The Node client unpacks the same way into the same
place.) Nothing is added to the unpacked folder: it holds exactly the package's files.

The zip is read here rather than with ``zipfile``, so that both clients read the same zips
the same way (the Node client's reader is ``src/common/zip/``): names are decoded by the
same rules (UTF-8 flag, Info-ZIP Unicode Path field, UTF-8 from unix and macOS tools, else
CP437), a local header may use ``\\`` where the central directory uses ``/``, and zips that
break the format in ways that make their content ambiguous are refused (a wrong comment
length, a STORED entry with two sizes, a part of a multi-part archive).

Refused, with an MLLabError naming the entry: absolute paths, drive letters, ``..``
components, duplicate names, names colliding with each other (a file where a folder
is needed; ignoring case and Unicode form on Windows and macOS), names Windows cannot hold
(on Windows), names longer than 255 bytes, paths longer than 3072 bytes or deeper than 256
levels, encrypted entries, symlinks whose target is absolute, uses ``\\``, is not UTF-8,
resolves outside the folder or goes through another symlink, more than 1,000,000 entries, an entry
holding more (or less) data than its header declares, more than ``max_bytes`` in total, and
more than the free space of the destination's disk. Zip bombs are stopped by those limits on
the bytes actually written, never by compression ratio: honest data that compresses very
well (zeros, sparse arrays, repeated log lines) unpacks. The limits are those of the Node
client.
"""

from __future__ import annotations

import errno
import os
import posixpath
import re
import secrets
import shutil
import stat
import struct
import sys
import time
import unicodedata
import zlib
from typing import BinaryIO, Dict, Iterator, List, NamedTuple, Optional, Set, Tuple

from ._errors import MLLabError
from ._process import pid_alive

__all__ = ["DEFAULT_MAX_UNPACK_BYTES", "MAX_UNPACK_BYTES_ENV", "max_unpack_bytes",
           "is_complete", "unpack_cached", "extract"]

#: default limit of the bytes a package may unpack to
DEFAULT_MAX_UNPACK_BYTES = 64 * 1024 ** 3
#: environment variable overriding the limit (a number of bytes)
MAX_UNPACK_BYTES_ENV = "MLLAB_MAX_UNPACK_BYTES"
#: most entries a package may have
MAX_ENTRIES = 1_000_000
#: largest symlink target read from a package
MAX_LINK_TARGET = 4096
#: longest file or folder name, in UTF-8 bytes (what Linux file systems hold)
MAX_NAME_PART_BYTES = 255
#: longest entry path, in UTF-8 bytes: leaves 1 KiB of Linux's PATH_MAX for the destination folder
MAX_ENTRY_PATH_BYTES = 3072
#: most components of an entry path
MAX_ENTRY_DEPTH = 256
#: temporary folders of dead processes older than this are removed
STALE_TEMP_S = 3600

#: free space is measured again after this many bytes are written
SPACE_CHECK_BYTES = 8 * 1024 * 1024

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


def _bad_zip(zip_path: str, entry: Optional[str], reason: str) -> MLLabError:
    where = f"entry {entry!r} " if entry is not None else ""
    return MLLabError(
        f"The dataset package {zip_path} is not a valid zip: {where}{reason}. Refusing to unpack it; "
        f"use `unpack=False` to get the zip itself.",
        code="bad_package",
    )


def _no_space(needed: int, free: int, dest: str) -> MLLabError:
    return MLLabError(
        f"Not enough disk space to unpack the dataset: {needed} more bytes are needed, {max(free, 0)} are free "
        f"under {dest}. Free some space, or use `unpack=False` and read the zip directly.",
        code="no_space",
    )


# --- reading the zip (APPNOTE.TXT), as the Node client reads it ---------------------------------

_SIG_LOCAL = 0x04034B50
_SIG_CENTRAL = 0x02014B50
_SIG_END = b"PK\x05\x06"
_SIG_ZIP64_LOCATOR = 0x07064B50
_SIG_ZIP64_END = 0x06064B50
_END = struct.Struct("<4sHHHHIIH")
_LOCATOR = struct.Struct("<IIQI")
_ZIP64_END = struct.Struct("<IQHHIIQQQQ")
_CENTRAL = struct.Struct("<IHHHHHHIIIHHHHHII")
_LOCAL = struct.Struct("<IHHHHHIIIHH")
_MAX16 = 0xFFFF
_MAX32 = 0xFFFFFFFF
_FLAG_ENCRYPTED = 0x1
_FLAG_UTF8 = 0x800
_UNICODE_PATH = 0x7075
_ZIP64_FIELD = 0x0001
_HOSTS_WITH_UNIX_MODE = (3, 19)  # unix, macOS (OS X)
_STORED, _DEFLATED = 0, 8

# CP437 as the Node client (yauzl) decodes it: control bytes are the glyphs of the IBM PC
_CP437 = ("\x00☺☻♥♦♣♠•◘○◙♂♀♪♫☼►◄↕‼¶§▬↨↑↓→←∟↔▲▼"
          + bytes(range(32, 127)).decode("ascii") + "⌂"
          + bytes(range(128, 256)).decode("cp437"))


class _Entry(NamedTuple):
    name: str
    raw_name: bytes
    flags: int
    method: int
    crc: int
    compressed_size: int
    size: int
    offset: int
    mode: Optional[int]  # unix st_mode, from unix and macOS tools only
    dos_time: Tuple[int, int]


def _utf8(raw: bytes) -> Optional[str]:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _extra_fields(extra: bytes) -> Iterator[Tuple[int, bytes]]:
    i = 0
    while i + 4 <= len(extra):
        field_id, length = struct.unpack_from("<HH", extra, i)
        yield field_id, extra[i + 4:i + 4 + length]
        i += 4 + length


def _entry_name(zip_path: str, raw: bytes, flags: int, host: int, extra: bytes) -> str:
    """The name by the Node client's rules (src/common/zip/entry-name.ts), in this order.

    1. UTF-8 flag (bit 11): UTF-8, refused when it is not; 2. the Info-ZIP Unicode Path field
    (0x7075, version 1) when its CRC-32 matches the header's name, as Info-ZIP reads it;
    3. made on unix or macOS and valid UTF-8 (Info-ZIP on Linux, macOS's Archive Utility write
    UTF-8 without the flag): UTF-8; 4. CP437.
    """
    if flags & _FLAG_UTF8:
        name = _utf8(raw)
        if name is None:
            raise _bad_zip(zip_path, "".join(_CP437[b] for b in raw),
                           "is marked as having a UTF-8 name, but the name is not valid UTF-8")
        return name
    for field_id, data in _extra_fields(extra):
        if field_id == _UNICODE_PATH and len(data) >= 6 and data[0] == 1:
            if struct.unpack_from("<I", data, 1)[0] == zlib.crc32(raw):
                name = _utf8(data[5:])
                if name is not None:
                    return name
            break  # a stale field (the name changed since): the header's name counts
    if host in _HOSTS_WITH_UNIX_MODE:
        name = _utf8(raw)
        if name is not None:
            return name
    return "".join(_CP437[b] for b in raw)


def _multi_part(zip_path: str, what: str) -> MLLabError:
    return _bad_zip(zip_path, None, f"it is one part of a multi-part (split or spanned) archive ({what}); "
                                    f"only single-file zips can be unpacked: join the parts into one zip")


def _read_end(zip_path: str, f: BinaryIO, size: int) -> Tuple[int, int, int]:
    """Checks the end records as the Node client does (end-record.ts); returns (entries, offset, size)."""
    tail_length = min(size, _END.size + _MAX16)
    f.seek(size - tail_length)
    tail = f.read(tail_length)
    at = tail.rfind(_SIG_END, 0, max(len(tail) - _END.size + len(_SIG_END), 0))
    if at < 0:
        raise _bad_zip(zip_path, None, "it is not a zip, or it was cut short (no end of central directory record)")
    _, disk, cd_disk, on_disk, total, cd_size, cd_offset, comment_length = _END.unpack_from(tail, at)
    following = len(tail) - at - _END.size
    if comment_length < following:
        raise _bad_zip(zip_path, None, f"its end of central directory record says a {comment_length}-byte comment "
                                       f"ends the file, but {following} bytes follow the record (something was "
                                       f"appended to the zip, or the record is damaged)")
    if comment_length > following:
        raise _bad_zip(zip_path, None, f"its end of central directory record says a {comment_length}-byte comment "
                                       f"follows it, but the file ends {following} bytes after it (the zip was cut "
                                       f"short or is damaged)")
    end_offset = size - len(tail) + at
    locator = b""
    if end_offset >= _LOCATOR.size:
        f.seek(end_offset - _LOCATOR.size)
        locator = f.read(_LOCATOR.size)
    if len(locator) == _LOCATOR.size and _LOCATOR.unpack(locator)[0] == _SIG_ZIP64_LOCATOR:
        if disk not in (0, _MAX16) or cd_disk not in (0, _MAX16):
            raise _multi_part(zip_path, f"its end record is on disk {disk}, its central directory starts on disk "
                                        f"{cd_disk}")
        _, record_disk, record_offset, disks = _LOCATOR.unpack(locator)
        if record_disk != 0 or disks > 1:
            raise _multi_part(zip_path, f"its ZIP64 locator counts {disks} disks, the ZIP64 end record is on disk "
                                        f"{record_disk}")
        record = b""
        if record_offset + _ZIP64_END.size <= end_offset - _LOCATOR.size:
            f.seek(record_offset)
            record = f.read(_ZIP64_END.size)
        if len(record) != _ZIP64_END.size or _ZIP64_END.unpack(record)[0] != _SIG_ZIP64_END:
            raise _bad_zip(zip_path, None, "its ZIP64 end of central directory locator points to no ZIP64 end record")
        (_, _, _, _, disk64, cd_disk64, on_disk64, total64, cd_size, cd_offset) = _ZIP64_END.unpack(record)
        if disk64 != 0 or cd_disk64 != 0:
            raise _multi_part(zip_path, f"its end record is on disk {disk64}, its central directory starts on disk "
                                        f"{cd_disk64}")
        if on_disk64 != total64 or (_MAX16 not in (on_disk, total) and on_disk != total):
            raise _multi_part(zip_path, f"{on_disk64} of its {total64} entries are on this disk")
        return total64, cd_offset, cd_size
    if disk != 0 or cd_disk != 0:
        raise _multi_part(zip_path, f"its end record is on disk {disk}, its central directory starts on disk {cd_disk}")
    if on_disk != total:
        raise _multi_part(zip_path, f"{on_disk} of its {total} entries are on this disk")
    return total, cd_offset, cd_size


def _read_directory(zip_path: str, f: BinaryIO, max_entries: int) -> List[_Entry]:
    """The entries of the central directory, checked; nothing of the entries' data is read."""
    size = f.seek(0, os.SEEK_END)
    count, cd_offset, cd_size = _read_end(zip_path, f, size)
    if count > max_entries:
        raise _refuse(zip_path, None, f"it has {count} entries, more than the limit of {max_entries}")
    if cd_offset + cd_size > size:
        raise _bad_zip(zip_path, None, "its central directory lies beyond the end of the file (it was cut short)")
    f.seek(cd_offset)
    directory = f.read(cd_size)
    entries: List[_Entry] = []
    at = 0
    for _ in range(count):
        if at + _CENTRAL.size > len(directory):
            raise _bad_zip(zip_path, None, "its central directory is shorter than its entry count says")
        (sig, made_by, _, flags, method, time_, date, crc, csize, usize, name_length, extra_length,
         comment_length, _, _, external, offset) = _CENTRAL.unpack_from(directory, at)
        if sig != _SIG_CENTRAL:
            raise _bad_zip(zip_path, None, f"its central directory has a bad record signature at entry "
                                           f"{len(entries) + 1}")
        at += _CENTRAL.size
        raw = directory[at:at + name_length]
        extra = directory[at + name_length:at + name_length + extra_length]
        at += name_length + extra_length + comment_length
        if at > len(directory):
            raise _bad_zip(zip_path, None, "its central directory is cut short")
        for field_id, data in _extra_fields(extra):
            if field_id == _ZIP64_FIELD:
                # only the values whose 32-bit field is all ones are there, in this order
                values = [struct.unpack_from("<Q", data, i)[0] for i in range(0, len(data) - 7, 8)]
                if usize == _MAX32 and values:
                    usize = values.pop(0)
                if csize == _MAX32 and values:
                    csize = values.pop(0)
                if offset == _MAX32 and values:
                    offset = values.pop(0)
        host = made_by >> 8
        name = _entry_name(zip_path, raw, flags, host, extra)
        if method == _STORED and not flags & _FLAG_ENCRYPTED and csize != usize:
            raise _bad_zip(zip_path, name, f"is stored without compression, but its header gives it {csize} bytes in "
                                           f"the zip and {usize} bytes unpacked")
        mode = external >> 16 if host in _HOSTS_WITH_UNIX_MODE and external >> 16 else None
        entries.append(_Entry(name, raw, flags, method, crc, csize, usize, offset, mode, (date, time_)))
    return entries


def _same_separators(raw: bytes) -> bytes:
    return raw.replace(b"\\", b"/")


def _entry_data(zip_path: str, f: BinaryIO, entry: _Entry) -> Iterator[bytes]:
    """The entry's data, inflated, in chunks of at most 1 MiB (however much a chunk inflates to).

    The local header must name the entry as the central directory does, ``\\\\`` and ``/`` being the
    same separator (Info-ZIP reads those; zipfile refuses them); any other difference is refused.
    The caller counts the bytes; the CRC-32 is checked at the end.
    """
    if entry.flags & _FLAG_ENCRYPTED:
        raise _refuse(zip_path, entry.name, "is encrypted")
    if entry.method not in (_STORED, _DEFLATED):
        raise _bad_zip(zip_path, entry.name, f"is compressed with method {entry.method}, which cannot be unpacked "
                                             f"(only stored and deflated entries can): make the zip again with "
                                             f"deflate compression")
    f.seek(entry.offset)
    header = f.read(_LOCAL.size)
    if len(header) != _LOCAL.size or _LOCAL.unpack(header)[0] != _SIG_LOCAL:
        raise _bad_zip(zip_path, entry.name, "has no local header where the central directory says it is")
    name_length, extra_length = _LOCAL.unpack(header)[9:11]
    local_name = f.read(name_length)
    if _same_separators(local_name) != _same_separators(entry.raw_name):
        raise _bad_zip(zip_path, entry.name, f"has another name in its local header "
                                             f"({local_name.decode('latin-1')!r}): the zip is damaged, or made to "
                                             f"show different files to different tools")
    start = entry.offset + _LOCAL.size + name_length + extra_length
    end = f.seek(0, os.SEEK_END)
    if start + entry.compressed_size > end:
        raise _bad_zip(zip_path, entry.name, "has data that runs past the end of the file (the zip was cut short)")
    f.seek(start)
    left = entry.compressed_size
    crc = 0
    inflate = zlib.decompressobj(-15) if entry.method == _DEFLATED else None
    while left > 0 or (inflate is not None and inflate.unconsumed_tail):
        if inflate is not None and inflate.unconsumed_tail:
            chunk = inflate.decompress(inflate.unconsumed_tail, _CHUNK)
        else:
            data = f.read(min(_CHUNK, left))
            if not data:
                raise _bad_zip(zip_path, entry.name, "has data that runs past the end of the file")
            left -= len(data)
            chunk = data if inflate is None else inflate.decompress(data, _CHUNK)
        if chunk:
            crc = zlib.crc32(chunk, crc)
            yield chunk
    if inflate is not None:
        rest = inflate.flush()
        if rest:
            crc = zlib.crc32(rest, crc)
            yield rest
        if not inflate.eof:
            raise _bad_zip(zip_path, entry.name, "has compressed data that ends before the deflate stream does")
    if crc != entry.crc:
        raise _bad_zip(zip_path, entry.name, "is damaged: its data does not match its CRC-32 checksum")


# --- unpacking -----------------------------------------------------------------------------------

# One planned entry: (zip entry, path parts relative to the destination, kind)
_Plan = List[Tuple[_Entry, Tuple[str, ...], str]]


def _path_limit_problem(parts: Tuple[str, ...]) -> Optional[str]:
    """Why these components cannot be unpacked on any system (entry-paths.ts), or None."""
    if len(parts) > MAX_ENTRY_DEPTH:
        return f"is nested too deeply ({len(parts)} levels, more than the limit of {MAX_ENTRY_DEPTH})"
    for p in parts:
        size = len(p.encode("utf-8")) if len(p) * 4 > MAX_NAME_PART_BYTES else 0
        if size > MAX_NAME_PART_BYTES:
            return (f"has a name of {size} bytes ({p[:24]!r}...), longer than the {MAX_NAME_PART_BYTES} bytes a file "
                    f"system holds")
    units = sum(len(p) for p in parts) + len(parts) - 1
    total = len("/".join(parts).encode("utf-8")) if units * 4 > MAX_ENTRY_PATH_BYTES else 0
    if total > MAX_ENTRY_PATH_BYTES:
        return f"has a path of {total} bytes, longer than the limit of {MAX_ENTRY_PATH_BYTES}"
    return None


def _collision_key(key: str) -> str:
    """The key two names collide on: case and Unicode form are ignored where the file system ignores them."""
    if sys.platform in ("win32", "darwin"):
        return unicodedata.normalize("NFC", key).lower()
    return key


def _check_links(zip_path: str, links: Dict[str, Tuple[str, Tuple[str, ...], str]]) -> None:
    """A link whose target goes through another link is refused, as the Node client does
    (entry-tree.ts): where it leads would depend on that link, not on its text."""
    for name, parts, target in links.values():
        resolved = list(parts[:-1])
        steps = [s for s in target.split("/") if s not in ("", ".")]
        for i, step in enumerate(steps):
            if step == "..":
                if resolved:
                    resolved.pop()
                continue
            resolved.append(step)
            if i < len(steps) - 1 and _collision_key("/".join(resolved)) in links:
                raise _refuse(zip_path, name, f"is a symlink through another link ({target!r})")


def _plan(zip_path: str, entries: List[_Entry], max_bytes: int) -> Tuple[_Plan, int]:
    """Checks every entry's name, type and declared size before anything is written."""
    plan: _Plan = []
    seen: Dict[str, str] = {}
    implied_dirs: Set[str] = set()
    declared = 0
    for entry in entries:
        raw = entry.name
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
        too_long = _path_limit_problem(parts)
        if too_long is not None:
            raise _refuse(zip_path, raw, too_long)
        if sys.platform == "win32":
            for p in parts:
                if _WINDOWS_BAD_CHARS.search(p) or p.endswith((".", " ")) or _WINDOWS_RESERVED.match(p):
                    raise _refuse(zip_path, raw, f"has a name Windows cannot hold ({p!r})")
        if entry.mode is not None and stat.S_ISLNK(entry.mode):
            kind = "link"
        elif name.endswith("/"):
            kind = "dir"
        else:
            kind = "file"
        if not parts and kind != "dir":
            raise _refuse(zip_path, raw, "has an empty name")
        if entry.flags & _FLAG_ENCRYPTED:
            raise _refuse(zip_path, raw, "is encrypted")
        if not parts:
            continue  # the root folder itself
        key = _collision_key("/".join(parts))
        if kind == "dir" and seen.get(key) == "dir":
            continue  # a folder listed twice: harmless, as in the Node client
        if key in seen:
            raise _refuse(zip_path, raw, "appears twice in the package (duplicate name)")
        for i in range(1, len(parts)):
            prefix = _collision_key("/".join(parts[:i]))
            if seen.get(prefix) in ("file", "link"):
                raise _refuse(zip_path, raw, f"is inside {prefix!r}, which is a file or link in the package")
            implied_dirs.add(prefix)
        if kind != "dir" and key in implied_dirs:
            raise _refuse(zip_path, raw, "is a file or link, but other entries are inside it")
        seen[key] = kind
        if kind == "link" and entry.size > MAX_LINK_TARGET:
            raise _refuse(zip_path, raw, f"is a symlink with a target longer than {MAX_LINK_TARGET} bytes")
        if kind != "dir":
            declared += entry.size
        plan.append((entry, parts, kind))
    if declared > max_bytes:
        raise _refuse(
            zip_path, None,
            f"it would unpack to {declared} bytes, more than the limit of {max_bytes} bytes (if the data is that "
            f"big, raise the limit with {MAX_UNPACK_BYTES_ENV})",
        )
    return plan, declared


def _free_bytes(dest: str) -> Optional[int]:
    """Bytes free for this user on the disk holding ``dest``; None where it cannot be told."""
    try:
        s = os.statvfs(dest)
    except (OSError, AttributeError):  # no statvfs on Windows
        try:
            return shutil.disk_usage(dest).free
        except OSError:
            return None
    return s.f_bavail * s.f_frsize


class _Budget:
    """The bytes written so far against the limit and against the free space of the disk.

    Free space is measured before the first entry and again every SPACE_CHECK_BYTES written: the
    bytes still to write (declared by the entries, which cannot hold more than they declare) must
    fit in it.
    """

    def __init__(self, zip_path: str, dest: str, declared: int, max_bytes: int) -> None:
        self.zip_path, self.dest, self.declared, self.max_bytes = zip_path, dest, declared, max_bytes
        self.written = 0
        self.free = _free_bytes(dest)
        self.written_at_measure = 0
        self.check_space()

    def check_space(self) -> None:
        if self.free is None:
            return
        pending = self.declared - self.written
        free = self.free - (self.written - self.written_at_measure)
        if pending > free:
            raise _no_space(pending, free, self.dest)

    def add(self, name: str, length: int) -> None:
        self.written += length
        if self.written > self.max_bytes:
            raise _refuse(self.zip_path, name, f"takes the package over the limit of {self.max_bytes} unpacked "
                                               f"bytes (raise it with {MAX_UNPACK_BYTES_ENV})")
        if self.written - self.written_at_measure >= SPACE_CHECK_BYTES:
            self.free = _free_bytes(self.dest)
            self.written_at_measure = self.written
            self.check_space()


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def extract(zip_path: str, dest: str, *, max_bytes: int = DEFAULT_MAX_UNPACK_BYTES,
            max_entries: Optional[int] = None) -> Tuple[int, int]:
    """Extracts ``zip_path`` into the existing folder ``dest`` with all the safety checks.

    Returns ``(files, bytes)``. Files are made read-only. On an error the caller
    removes ``dest`` (unpack_cached does).
    """
    try:
        f = open(zip_path, "rb")
    except OSError as e:
        raise MLLabError(f"Cannot open the dataset package {zip_path}: {e.strerror or e}.",
                         code="bad_package") from e
    with f:
        entries = _read_directory(zip_path, f, MAX_ENTRIES if max_entries is None else max_entries)
        plan, declared = _plan(zip_path, entries, max_bytes)
        budget = _Budget(zip_path, dest, declared, max_bytes)
        files = 0
        links: List[Tuple[_Entry, Tuple[str, ...], str, str]] = []
        for entry, parts, kind in plan:
            target_path = os.path.join(dest, *parts)
            try:
                if kind == "dir":
                    os.makedirs(target_path, exist_ok=True)
                elif kind == "link":
                    link_target = _link_target(zip_path, f, entry, parts, budget)
                    os.makedirs(os.path.dirname(target_path), exist_ok=True)
                    links.append((entry, parts, target_path, link_target))
                else:
                    os.makedirs(os.path.dirname(target_path), exist_ok=True)
                    _write_file(zip_path, f, entry, target_path, budget)
                    files += 1
            except MLLabError:
                raise
            except zlib.error as e:
                raise _bad_zip(zip_path, entry.name, f"has damaged compressed data ({e})") from e
            except FileExistsError as e:
                raise _refuse(zip_path, entry.name,
                              "collides with another entry (the file system may ignore case)") from e
            except NotADirectoryError as e:
                raise _refuse(zip_path, entry.name, "is inside a name that is a file") from e
            except OSError as e:
                if e.errno == errno.ENOSPC:
                    raise MLLabError(f"The disk became full while unpacking {zip_path} into {dest}: free some "
                                     f"space and try again.", code="no_space") from e
                raise MLLabError(f"Cannot unpack {entry.name!r} from {zip_path}: {e.strerror or e}.",
                                 code="unpack_failed") from e
        _check_links(zip_path, {_collision_key("/".join(parts)): (entry.name, parts, link_target)
                                for entry, parts, _, link_target in links})
        # links last, so no file is ever written through one
        for entry, _, path, link_target in links:
            try:
                os.symlink(link_target.replace("/", os.sep), path)
            except FileExistsError as e:
                raise _refuse(zip_path, entry.name, "collides with another entry") from e
            except OSError as e:
                raise MLLabError(
                    f"Cannot create the symlink {entry.name!r} from {zip_path} on this system: "
                    f"{e.strerror or e}. Use `unpack=False` to get the zip itself.",
                    code="unpack_failed",
                ) from e
        # every link, followed through all the others, must stay inside
        real_dest = os.path.realpath(dest)
        for entry, _, path, _ in links:
            if not _inside(os.path.realpath(path), real_dest):
                raise _refuse(zip_path, entry.name, "is a symlink that resolves outside the destination folder")
        return files, budget.written


def _counted(zip_path: str, f: BinaryIO, entry: _Entry, budget: _Budget) -> Iterator[bytes]:
    """The entry's data, counted against the budget; exactly as many bytes as its header declares."""
    written = 0
    for chunk in _entry_data(zip_path, f, entry):
        written += len(chunk)
        if written > entry.size:
            raise _bad_zip(zip_path, entry.name, f"holds more data than its header says ({entry.size} bytes): the "
                                                 f"zip is damaged, or made to unpack to more than it declares (a zip "
                                                 f"bomb)")
        budget.add(entry.name, len(chunk))
        yield chunk
    if written != entry.size:
        raise _bad_zip(zip_path, entry.name, f"holds less data than its header says ({entry.size} bytes)")


def _link_target(zip_path: str, f: BinaryIO, entry: _Entry, parts: Tuple[str, ...], budget: _Budget) -> str:
    raw = b"".join(_counted(zip_path, f, entry, budget))
    if len(raw) > MAX_LINK_TARGET:
        raise _refuse(zip_path, entry.name, f"is a symlink with a target longer than {MAX_LINK_TARGET} bytes")
    target = _utf8(raw)
    if target is None:
        raise _refuse(zip_path, entry.name, "is a symlink whose target is not UTF-8")
    if not target or "\x00" in target:
        raise _refuse(zip_path, entry.name, "is a symlink with an empty or invalid target")
    if "\\" in target or target.startswith("/") or _DRIVE.match(target):
        raise _refuse(zip_path, entry.name, f"is a symlink to an absolute path or one with a backslash ({target!r})")
    resolved = posixpath.normpath(posixpath.join(*parts[:-1], target) if len(parts) > 1 else target)
    if resolved == ".." or resolved.startswith("../"):
        raise _refuse(zip_path, entry.name, f"is a symlink to {target!r}, outside the destination folder")
    return target


def _write_file(zip_path: str, f: BinaryIO, entry: _Entry, path: str, budget: _Budget) -> None:
    """Streams one entry to a new file, counting the bytes before they are written."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags, 0o666)
    with os.fdopen(fd, "wb") as out:
        for chunk in _counted(zip_path, f, entry, budget):
            out.write(chunk)
    _finish_file(path, entry)


def _finish_file(path: str, entry: _Entry) -> None:
    """Sets the entry's modification time and makes the file read-only (keeping execute bits)."""
    date, time_ = entry.dos_time
    try:
        stamp = time.mktime(((date >> 9) + 1980, (date >> 5) & 0xF, date & 0x1F,
                             time_ >> 11, (time_ >> 5) & 0x3F, (time_ & 0x1F) * 2, 0, 0, -1))
        os.utime(path, (stamp, stamp))
    except (OverflowError, ValueError, OSError):
        pass
    mode = os.stat(path).st_mode
    readable = stat.S_IMODE(mode) & 0o444
    executable = (readable >> 2) if (entry.mode or 0) & 0o111 else 0
    os.chmod(path, readable | executable)
