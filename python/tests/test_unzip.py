"""Safe unpacking: malicious packages are refused and leave nothing behind."""

from __future__ import annotations

import os
import stat
import time
import unittest
import zipfile
from typing import Iterable, Tuple, Union
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
        # each target looks inside on its own; followed through "self" the first one leaves
        self.assert_refused([link_entry("l1", "self/../outside"), link_entry("self", ".")],
                            "resolves outside")

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

    def test_too_many_entries(self) -> None:
        with mock.patch.object(_unzip, "MAX_ENTRIES", 3):
            self.assert_refused([(f"f{i}", b"") for i in range(5)], "5 entries, more than the limit of 3")

    def test_ratio_bomb(self) -> None:
        e = self.assert_refused([("zeros.bin", bytes(50 * MiB))], "zip bomb")
        self.assertIn("'zeros.bin'", str(e))

    def test_total_limit(self) -> None:
        # 12 entries of exactly 1 MiB: under the ratio rule, over a 10 MiB limit together
        self.assert_refused([(f"part{i}.bin", bytes(MiB)) for i in range(12)], "limit of 10485760",
                            max_bytes=10 * MiB)

    def test_limit_counts_bytes_actually_written(self) -> None:
        # with the header checks skipped, the streaming count alone stops the bomb
        zip_path = self.make_zip([("zeros.bin", bytes(50 * MiB))])
        real_write = _unzip._write_file
        largest = []

        def spy(*args, **kw):
            try:
                return real_write(*args, **kw)
            finally:
                largest.append(os.path.getsize(args[3]) if os.path.exists(args[3]) else 0)

        with mock.patch.object(_unzip, "_plan", side_effect=lambda zp, zf, mb: (
                [(i, tuple(i.filename.split("/")), "file") for i in zf.infolist()], 0)), \
                mock.patch.object(_unzip, "_write_file", side_effect=spy):
            with self.assertRaises(MLLabError) as e:
                self.unpack(zip_path, max_bytes=10 * MiB)
        self.assertIn("limit of 10485760", str(e.exception))
        self.assertLessEqual(largest[0], 10 * MiB)
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
        self.assertIn("not a readable zip", str(e.exception))
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
        usage = type("Usage", (), {"free": 10})()
        with mock.patch.object(_unzip.shutil, "disk_usage", return_value=usage):
            with self.assertRaises(MLLabError) as e:
                self.unpack(zip_path)
        self.assertIn("Not enough disk space", str(e.exception))
        self.assertEqual(os.listdir(self.cache), [])


if __name__ == "__main__":
    unittest.main()
