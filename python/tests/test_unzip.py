"""Safe unpacking: malicious packages are refused and leave nothing behind."""

from __future__ import annotations

import os
import shutil
import stat
import struct
import subprocess
import time
import unittest
import zipfile
import zlib
from typing import Iterable, List, Optional, Tuple, Union
from unittest import mock

import support
from mllab import MLLabError, _unzip

KEY = "ab" * 32
MiB = 1024 * 1024


def link_entry(name: str, target: str) -> Tuple[zipfile.ZipInfo, bytes]:
    info = zipfile.ZipInfo(name)
    info.create_system = 3
    info.external_attr = (0o120777 << 16)
    return info, target.encode()


Entry = Tuple[Union[str, zipfile.ZipInfo], bytes]


class UnzipTestCase(support.LabTestCase):
    start_backend = False

    def setUp(self) -> None:
        super().setUp()
        # dest is <tmp>/a/b/cache/datasets/<key>: "outside" files would land in tmp/a/b/cache, tmp/a, ...
        self.cache = os.path.join(self.tmp, "a", "b", "cache", "datasets")

    def make_zip(self, entries: Iterable[Entry], compression: int = zipfile.ZIP_DEFLATED) -> str:
        path = os.path.join(self.tmp, "pkg.zip")
        with zipfile.ZipFile(path, "w", compression) as zf:
            for name, data in entries:
                zf.writestr(name, data)
        return path

    def unpack(self, zip_path: str, **kw) -> str:
        return _unzip.unpack_cached(zip_path, self.cache, KEY, **kw)

    def files_under_tmp(self):
        out = set()
        for dirpath, dirs, names in os.walk(self.tmp):
            for n in names + [d for d in dirs if os.path.islink(os.path.join(dirpath, d))]:
                out.add(os.path.relpath(os.path.join(dirpath, n), self.tmp))
        return out

    def assert_refused(self, entries: Iterable[Entry], expect: str, **kw) -> MLLabError:
        zip_path = self.make_zip(entries)
        before = self.files_under_tmp()
        with self.assertRaises(MLLabError) as e:
            self.unpack(zip_path, **kw)
        self.assertIn(expect, str(e.exception))
        self.assertEqual(os.listdir(self.cache), [], "no temp folder or final folder is left")
        self.assertEqual(self.files_under_tmp(), before, "nothing is written anywhere")
        return e.exception


class MaliciousZipTest(UnzipTestCase):
    def test_dot_dot(self) -> None:
        e = self.assert_refused([("ok.txt", b"ok"), ("../evil", b"evil")], "'../evil'")
        self.assertEqual(e.code, "unsafe_package")
        self.assertIn("outside the destination", str(e))

    def test_dot_dot_in_the_middle(self) -> None:
        self.assert_refused([("a/../../evil", b"evil")], "outside the destination")

    def test_backslash_dot_dot(self) -> None:
        self.assert_refused([("..\\..\\evil", b"evil")], "outside the destination")

    def test_absolute(self) -> None:
        info = zipfile.ZipInfo("x")
        info.filename = "/tmp/mllab-abs-evil"  # zipfile strips a leading "/" from names it is given
        self.assert_refused([(info, b"evil")], "absolute path")
        self.assertFalse(os.path.exists("/tmp/mllab-abs-evil"))

    def test_drive_letter(self) -> None:
        info = zipfile.ZipInfo("x")
        info.filename = "C:/Windows/evil.dll"
        self.assert_refused([(info, b"evil")], "drive letter")

    def test_symlink_escaping(self) -> None:
        self.assert_refused([link_entry("data/link", "../../outside")], "outside the destination")

    def test_symlink_absolute(self) -> None:
        self.assert_refused([link_entry("link", "/etc/passwd")], "absolute path")

    def test_symlink_chain_escaping(self) -> None:
        # each target looks inside on its own; followed through "self" the first one leaves: a link
        # through another link is refused, as the Node client refuses it
        self.assert_refused([link_entry("l1", "self/../outside"), link_entry("self", ".")],
                            "through another link")

    def test_file_through_symlink(self) -> None:
        self.assert_refused([link_entry("dir", "."), ("dir/x.txt", b"x")], "inside 'dir'")

    def test_duplicate_names(self) -> None:
        with self.assertWarns(UserWarning):  # zipfile warns when writing a duplicate
            zip_path = self.make_zip([("a.txt", b"one"), ("a.txt", b"two")])
        with self.assertRaises(MLLabError) as e:
            self.unpack(zip_path)
        self.assertIn("duplicate", str(e.exception))
        self.assertEqual(os.listdir(self.cache), [])

    def test_duplicate_after_normalising(self) -> None:
        self.assert_refused([("a/b.txt", b"one"), ("a/./b.txt", b"two")], "duplicate")

    def test_file_and_folder_with_one_name(self) -> None:
        self.assert_refused([("a", b"file"), ("a/b.txt", b"x")], "inside 'a'")
        self.assert_refused([("a/b.txt", b"x"), ("a", b"file")], "other entries are inside it")

    def test_symlink_with_backslash(self) -> None:
        self.assert_refused([("sub/f.txt", b"x"), link_entry("link", "sub\\f.txt")], "backslash")

    def test_symlink_target_not_utf8(self) -> None:
        info, _ = link_entry("link", "")
        self.assert_refused([(info, b"a\xff")], "not UTF-8")

    def test_name_limits(self) -> None:
        self.assert_refused([("d/" * _unzip.MAX_ENTRY_DEPTH + "f.txt", b"x")], "nested too deeply (257 levels")
        self.assert_refused([("\u00e9" * 128, b"x")], "a name of 256 bytes")
        self.assert_refused([("/".join(["p" * 200] * 16), b"x")], "a path of 3215 bytes")
        at_limit = "d/" * (_unzip.MAX_ENTRY_DEPTH - 1) + "\u00e9" * 127 + "x"
        folder = self.unpack(self.make_zip([(at_limit, b"ok")]))
        with open(os.path.join(folder, *at_limit.split("/")), "rb") as f:
            self.assertEqual(f.read(), b"ok")

    def test_collisions_ignore_case_where_the_file_system_does(self) -> None:
        entries = [("Data.csv", b"1"), ("data.csv", b"2")]
        with mock.patch.object(_unzip.sys, "platform", "darwin"):
            self.assert_refused(entries, "duplicate")
        with mock.patch.object(_unzip.sys, "platform", "linux"):
            folder = self.unpack(self.make_zip(entries))
        self.assertEqual(sorted(os.listdir(folder)), ["Data.csv", "data.csv"])

    def test_too_many_entries_as_a_parameter(self) -> None:
        zip_path = self.make_zip([(f"f{i}", b"") for i in range(5)])
        dest = os.path.join(self.tmp, "dest")
        os.makedirs(dest)
        with self.assertRaises(MLLabError) as e:
            _unzip.extract(zip_path, dest, max_entries=4)
        self.assertIn("5 entries, more than the limit of 4", str(e.exception))
        at_limit = os.path.join(self.tmp, "at-limit")
        os.makedirs(at_limit)
        self.assertEqual(_unzip.extract(zip_path, at_limit, max_entries=5), (5, 0))

    def test_too_many_entries(self) -> None:
        with mock.patch.object(_unzip, "MAX_ENTRIES", 3):
            self.assert_refused([(f"f{i}", b"") for i in range(5)], "5 entries, more than the limit of 3")

    def test_total_limit(self) -> None:
        # 12 entries of exactly 1 MiB: under the ratio rule, over a 10 MiB limit together
        self.assert_refused([(f"part{i}.bin", bytes(MiB)) for i in range(12)], "limit of 10485760",
                            max_bytes=10 * MiB)

    def test_limit_counts_bytes_actually_written(self) -> None:
        # with the header checks skipped, the streaming count alone stops at the limit
        zip_path = self.make_zip([("zeros.bin", bytes(50 * MiB))])
        largest = []
        real_add = _unzip._Budget.add

        def spy(budget, name, length):
            largest.append(budget.written + length)
            return real_add(budget, name, length)

        with mock.patch.object(_unzip, "_plan", side_effect=lambda zp, entries, mb: (
                [(e, tuple(e.name.split("/")), "file") for e in entries], 0)), \
                mock.patch.object(_unzip._Budget, "add", spy):
            with self.assertRaises(MLLabError) as e:
                self.unpack(zip_path, max_bytes=10 * MiB)
        self.assertIn("limit of 10485760", str(e.exception))
        self.assertLessEqual(max(largest), 11 * MiB, "stopped one chunk past the limit, before writing it")
        self.assertEqual(os.listdir(self.cache), [])

    def test_lying_header(self) -> None:
        zip_path = self.make_zip([("zeros.bin", bytes(5 * MiB))])
        with open(zip_path, "rb") as f:
            data = bytearray(f.read())
        size = (5 * MiB).to_bytes(4, "little")
        data = bytearray(bytes(data).replace(size, (1000).to_bytes(4, "little")))
        with open(zip_path, "wb") as f:
            f.write(data)
        with self.assertRaises(MLLabError):
            self.unpack(zip_path)
        self.assertEqual(os.listdir(self.cache), [])

    def test_not_a_zip(self) -> None:
        path = self.write("not.zip", b"this is not a zip")
        with self.assertRaises(MLLabError) as e:
            self.unpack(path)
        self.assertIn("it is not a zip, or it was cut short", str(e.exception))
        self.assertEqual(e.exception.code, "bad_package")
        self.assertEqual(os.listdir(self.cache), [])

    def test_corrupt_content(self) -> None:
        zip_path = self.make_zip([("a.txt", b"hello world " * 1000)])
        with open(zip_path, "rb") as f:
            data = bytearray(f.read())
        data[60:70] = b"\xff" * 10  # inside the compressed data of the first entry
        with open(zip_path, "wb") as f:
            f.write(data)
        with self.assertRaises(MLLabError):
            self.unpack(zip_path)
        self.assertEqual(os.listdir(self.cache), [])


class GoodZipTest(UnzipTestCase):
    def test_round_trip(self) -> None:
        files = {
            "données/日本語 ファイル.txt": "héllo ✓\n".encode(),
            "empty.txt": b"",
            "a/b/c/deep.bin": os.urandom(100_000),
            "run.sh": b"#!/bin/sh\necho hi\n",
        }
        src = os.path.join(self.tmp, "src")
        support.make_tree(src, files, empty_dirs=("empty-dir",))
        os.chmod(os.path.join(src, "run.sh"), 0o755)
        zip_path = os.path.join(self.tmp, "pkg.zip")
        support.zip_folder(src, zip_path)
        folder = self.unpack(zip_path)
        self.assertEqual(folder, os.path.join(self.cache, KEY))
        self.assertEqual(support.read_tree(folder), support.read_tree(src))
        self.assertTrue(_unzip.is_complete(folder))
        self.assertTrue(os.access(os.path.join(folder, "run.sh"), os.X_OK))
        for rel in files:
            mode = stat.S_IMODE(os.stat(os.path.join(folder, *rel.split("/"))).st_mode)
            self.assertEqual(mode & 0o222, 0, rel)
        self.assertEqual(os.listdir(self.cache), [KEY])

    def test_internal_symlink_is_kept(self) -> None:
        folder = self.unpack(self.make_zip([("data/real.txt", b"real"), link_entry("data/alias.txt", "real.txt"),
                                            link_entry("top", "data")]))
        with open(os.path.join(folder, "data", "alias.txt"), "rb") as f:
            self.assertEqual(f.read(), b"real")
        self.assertTrue(os.path.islink(os.path.join(folder, "top")))

    def test_windows_separators(self) -> None:
        folder = self.unpack(self.make_zip([("dir\\sub\\x.txt", b"x")]))
        self.assertEqual(support.read_tree(folder), {"dir/sub/x.txt": b"x"})

    def test_folder_listed_twice(self) -> None:
        with self.assertWarns(UserWarning):  # zipfile warns when writing a duplicate
            zip_path = self.make_zip([("a/", b""), ("a/x.txt", b"x"), ("a/", b"")])
        folder = self.unpack(zip_path)
        self.assertEqual(os.listdir(os.path.join(folder, "a")), ["x.txt"])

    def test_root_entries_are_ignored(self) -> None:
        folder = self.unpack(self.make_zip([("./", b""), ("./a.txt", b"a")]))
        self.assertEqual(support.read_tree(folder), {"a.txt": b"a"})

    def test_empty_zip(self) -> None:
        folder = self.unpack(self.make_zip([]))
        self.assertEqual(os.listdir(folder), [])

    def test_complete_folder_is_reused(self) -> None:
        zip_path = self.make_zip([("a.txt", b"a")])
        folder = self.unpack(zip_path)
        os.remove(zip_path)  # not even read again
        self.assertEqual(self.unpack(zip_path), folder)

    def test_stale_temp_folders_of_dead_processes_are_removed(self) -> None:
        os.makedirs(self.cache)
        dead = os.path.join(self.cache, f".tmp-{support.DEAD_PID}-abc")
        mine = os.path.join(self.cache, f".tmp-{os.getpid()}-abc")
        recent = os.path.join(self.cache, f".tmp-{support.DEAD_PID}-new")
        for d in (dead, mine, recent):
            os.makedirs(os.path.join(d, "x"))
        old = time.time() - 2 * _unzip.STALE_TEMP_S
        os.utime(dead, (old, old))
        os.utime(mine, (old, old))
        self.unpack(self.make_zip([("a.txt", b"a")]))
        self.assertEqual(sorted(os.listdir(self.cache)), sorted([KEY, os.path.basename(mine),
                                                                 os.path.basename(recent)]))

    def test_declared_size_over_free_space(self) -> None:
        zip_path = self.make_zip([("a.txt", b"a" * 1000)])
        with mock.patch.object(_unzip, "_free_bytes", return_value=10) as free:
            with self.assertRaises(MLLabError) as e:
                self.unpack(zip_path)
        self.assertIn("Not enough disk space to unpack the dataset: 1000 more bytes are needed, 10 are free",
                      str(e.exception))
        self.assertEqual(e.exception.code, "no_space")
        self.assertTrue(free.call_args[0][0].startswith(os.path.join(self.cache, ".tmp-")), "measured where it writes")
        self.assertEqual(os.listdir(self.cache), [])

    def test_free_space_measured_again_while_writing(self) -> None:
        # plenty of space at first; then something else fills the disk
        zip_path = self.make_zip([("a.bin", bytes(20 * MiB)), ("b.bin", bytes(20 * MiB))])
        with mock.patch.object(_unzip, "_free_bytes", side_effect=[10 * 1024 ** 3, 5 * MiB]) as free:
            with self.assertRaises(MLLabError) as e:
                self.unpack(zip_path)
        self.assertEqual(free.call_count, 2)
        self.assertEqual(e.exception.code, "no_space")
        self.assertEqual(os.listdir(self.cache), [])

    def test_free_space_from_statvfs(self) -> None:
        s = os.statvfs(self.tmp)
        self.assertAlmostEqual(_unzip._free_bytes(self.tmp), s.f_bavail * s.f_frsize, delta=256 * MiB)


def raw_zip(entries: List[dict], *, disk: int = 0, cd_disk: int = 0, on_disk: Optional[int] = None,
            comment: bytes = b"", comment_length: Optional[int] = None, trailing: bytes = b"") -> bytes:
    """A zip written field by field (APPNOTE.TXT 4.3.7, 4.3.12, 4.3.16), as rawZip in the Node tests.

    An entry: name (str or bytes), local_name, data, deflate, flags (default 0), host (default 3,
    unix), mode, extra (central header only), size / compressed_size (lies for both headers).
    """
    out, central = b"", b""
    for e in entries:
        raw = e.get("data", b"")
        data = zlib.compress(raw)[2:-4] if e.get("deflate") else raw
        as_bytes = (lambda n: n.encode() if isinstance(n, str) else n)
        name = as_bytes(e["name"])
        local_name = as_bytes(e.get("local_name", e["name"]))
        method = 8 if e.get("deflate") else 0
        crc, flags = zlib.crc32(raw), e.get("flags", 0)
        size, csize = e.get("size", len(raw)), e.get("compressed_size", len(data))
        extra = e.get("extra", b"")
        date = (44 << 9) | (1 << 5) | 2
        mode = e.get("mode", 0o40755 if name.endswith((b"/", b"\\")) else 0o100644)
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, (e.get("host", 3) << 8) | 30, 20, flags, method,
                               0, date, crc, csize, size, len(name), len(extra), 0, 0, 0, mode << 16,
                               len(out)) + name + extra
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, flags, method, 0, date, crc, csize, size,
                           len(local_name), 0) + local_name + data
    n = len(entries)
    end = struct.pack("<IHHHHIIH", 0x06054B50, disk, cd_disk, n if on_disk is None else on_disk, n, len(central),
                      len(out), len(comment) if comment_length is None else comment_length)
    return out + central + end + comment + trailing


def unicode_path(name: str, header_name: bytes, version: int = 1, crc_of: Optional[bytes] = None) -> bytes:
    """The Info-ZIP Unicode Path extra field (0x7075): version, CRC-32 of the header name, UTF-8 name."""
    body = bytes([version]) + struct.pack("<I", zlib.crc32(header_name if crc_of is None else crc_of)) + \
        name.encode()
    return struct.pack("<HH", 0x7075, len(body)) + body


class ConformanceTest(UnzipTestCase):
    """The cases of test/unit/zip-conformance.test.ts: this unpacker must do what the Node one does."""

    def raw(self, entries: List[dict], **end) -> str:
        path = os.path.join(self.tmp, "raw.zip")
        with open(path, "wb") as f:
            f.write(raw_zip(entries, **end))
        return path

    def unpacks_to(self, zip_path: str, expected: dict) -> None:
        folder = self.unpack(zip_path)
        self.assertEqual(support.read_tree(folder), expected)

    def refused(self, zip_path: str, expect: str, code: str = "bad_package") -> MLLabError:
        before = self.files_under_tmp()
        with self.assertRaises(MLLabError) as e:
            self.unpack(zip_path)
        self.assertIn(expect, str(e.exception))
        self.assertEqual(e.exception.code, code)
        self.assertEqual(os.listdir(self.cache), [], "no temp folder or final folder is left")
        self.assertEqual(self.files_under_tmp(), before, "nothing is written anywhere")
        return e.exception

    # honest data that compresses very well
    def test_highly_compressible_data_unpacks(self) -> None:
        sparse = bytearray(48 * MiB)
        for i in range(0, len(sparse), 1_000_003):
            struct.pack_into("<d", sparse, i - i % 8, i / 7)
        line = b"2024-01-02T03:04:05Z INFO epoch done, loss=0.125 accuracy=0.975\n"
        files = {"zeros.bin": bytes(64 * MiB), "sparse.f64": bytes(sparse),
                 "logs/train.log": line * (40 * MiB // len(line)), "labels.csv": b"id,label\n1,cat\n"}
        src = os.path.join(self.tmp, "src")
        support.make_tree(src, files)
        zip_path = os.path.join(self.tmp, "pkg.zip")
        support.zip_folder(src, zip_path)
        with zipfile.ZipFile(zip_path) as zf:
            info = zf.getinfo("zeros.bin")
            self.assertGreater(info.file_size / info.compress_size, 1000)
        folder = self.unpack(zip_path)
        self.assertEqual(support.read_tree(folder), files)

    @unittest.skipUnless(shutil.which("zip"), "Info-ZIP's zip is not installed")
    def test_folder_zipped_by_info_zip(self) -> None:
        # Info-ZIP on Linux writes UTF-8 names without the UTF-8 flag, host unix
        files = {"données/zéros.bin": bytes(16 * MiB), "run.log": b"step ok\n" * MiB}
        src = os.path.join(self.tmp, "src")
        support.make_tree(src, files)
        zip_path = os.path.join(self.tmp, "info-zip.zip")
        subprocess.run(["zip", "-q", "-r", zip_path, "."], cwd=src, check=True,
                       env={**os.environ, "LC_ALL": "C.UTF-8"})
        with zipfile.ZipFile(zip_path) as zf:
            self.assertIn("donn├⌐es/z├⌐ros.bin", zf.namelist(), "zipfile reads those names as CP437")
        self.assertEqual(support.read_tree(self.unpack(zip_path)), files)

    # names
    def test_unicode_path_field(self) -> None:
        header = b"caf\x82.txt"  # CP437 é, as an MS-DOS tool writes it
        self.unpacks_to(self.raw([{"name": header, "host": 0, "data": b"u",
                                   "extra": unicode_path("café-ü.txt", header)}]), {"café-ü.txt": b"u"})

    def test_stale_or_unknown_unicode_path_field_is_ignored(self) -> None:
        self.unpacks_to(self.raw([
            {"name": "plain.txt", "data": b"s", "extra": unicode_path("renamed.txt", b"plain.txt", crc_of=b"old.txt")},
            {"name": "v2.txt", "data": b"2", "extra": unicode_path("other.txt", b"v2.txt", version=2)},
        ]), {"plain.txt": b"s", "v2.txt": b"2"})

    def test_name_rules(self) -> None:
        self.unpacks_to(self.raw([
            {"name": "flagged-é.txt", "flags": 0x800, "data": b"f",
             "extra": unicode_path("x.txt", "flagged-é.txt".encode())},
            {"name": b"dos-\x82.txt", "host": 0, "data": b"d"},
            {"name": "unix-é.txt", "host": 3, "data": b"u"},
            {"name": "mac-é.txt", "host": 19, "data": b"m"},
        ]), {"flagged-é.txt": b"f", "dos-é.txt": b"d", "unix-é.txt": b"u", "mac-é.txt": b"m"})

    def test_flagged_name_that_is_not_utf8(self) -> None:
        self.refused(self.raw([{"name": b"a\xffb", "flags": 0x800, "data": b"x"}]),
                     "marked as having a UTF-8 name, but the name is not valid UTF-8")

    def test_local_header_with_other_separators(self) -> None:
        self.unpacks_to(self.raw([
            {"name": "dir/sub/a.txt", "local_name": "dir\\sub\\a.txt", "data": b"a"},
            {"name": "win\\b.txt", "local_name": "win/b.txt", "data": b"b"},
        ]), {"dir/sub/a.txt": b"a", "win/b.txt": b"b"})

    def test_local_header_naming_another_file(self) -> None:
        self.refused(self.raw([{"name": "report.txt", "local_name": "evil.exe", "data": b"x"}]),
                     "'report.txt' has another name in its local header ('evil.exe')")

    # malformed archives
    def test_comment_length(self) -> None:
        ok = [{"name": "a.txt", "data": b"hello"}]
        with zipfile.ZipFile(self.raw(ok, comment=b"abc", comment_length=10)) as zf:
            self.assertEqual(zf.read("a.txt"), b"hello", "zipfile does not check it; yauzl does")
        self.refused(self.raw(ok, comment=b"abc", comment_length=10),
                     "says a 10-byte comment follows it, but the file ends 3 bytes after it")
        self.refused(self.raw(ok, comment=b"abcdef", comment_length=2),
                     "says a 2-byte comment ends the file, but 6 bytes follow the record")
        self.refused(self.raw(ok, trailing=b"JUNK"), "4 bytes follow the record")

    def test_stored_sizes_differ(self) -> None:
        self.refused(self.raw([{"name": "a.txt", "data": b"hello", "compressed_size": 3}]),
                     "'a.txt' is stored without compression, but its header gives it 3 bytes in the zip and 5 "
                     "bytes unpacked")

    def test_multi_disk(self) -> None:
        ok = [{"name": "a.txt", "data": b"hello"}]
        self.refused(self.raw(ok, disk=1, cd_disk=1), "multi-part (split or spanned) archive")
        self.refused(self.raw(ok, cd_disk=1), "central directory starts on disk 1")
        self.refused(self.raw(ok + [{"name": "b.txt", "data": b"b"}], on_disk=1), "1 of its 2 entries are on this disk")

    def test_zip64_locator_of_many_disks(self) -> None:
        zip_path = self.make_zip([("a.txt", b"hello")])
        with open(zip_path, "rb") as f:
            data = f.read()
        end = data.rindex(b"PK\x05\x06")
        # the ZIP64 end record and its locator go between the central directory and the end record
        cd_size, cd_offset = struct.unpack_from("<II", data, end + 12)
        record = struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 30, 45, 0, 0, 1, 1, cd_size, cd_offset)
        locator = struct.pack("<IIQI", 0x07064B50, 0, end, 2)
        with open(zip_path, "wb") as f:
            f.write(data[:end] + record + locator + data[end:])
        self.refused(zip_path, "ZIP64 locator counts 2 disks")

    # zip bombs
    def test_entry_inflating_past_its_declared_size(self) -> None:
        self.refused(self.raw([{"name": "liar.bin", "data": bytes(200 * MiB), "deflate": True, "size": MiB}]),
                     "'liar.bin' holds more data than its header says (1048576 bytes)")

    def test_entry_shorter_than_declared(self) -> None:
        self.refused(self.raw([{"name": "short.bin", "data": bytes(1000), "deflate": True, "size": 5000}]),
                     "'short.bin' holds less data")

    def test_overlapping_entries(self) -> None:
        # 50 central entries pointing at one local header: its name is not theirs
        path = self.raw([{"name": "f0", "data": bytes(10 * MiB), "deflate": True}])
        with open(path, "rb") as f:
            data = f.read()
        end = data.rindex(b"PK\x05\x06")
        cd_offset = struct.unpack_from("<I", data, end + 16)[0]
        first = data[cd_offset:end]
        copies = [first[:46] + f"f{i}".encode() for i in range(1, 51)]
        copies = [c[:28] + struct.pack("<H", len(c) - 46) + c[30:] for c in copies]
        directory = first + b"".join(copies)
        record = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 51, 51, len(directory), cd_offset, 0)
        with open(path, "wb") as f:
            f.write(data[:cd_offset] + directory + record)
        self.refused(path, "'f1' has another name in its local header")


if __name__ == "__main__":
    unittest.main()
