"""mllab.dataset / add_dataset / datasets against the fake backend."""

from __future__ import annotations

import getpass
import os
import stat
import threading
import unittest
import zipfile
from unittest import mock

import support
import mllab
from mllab import MLLabError, _unzip
from mllab._datasets import parse_name


class ParseNameTest(unittest.TestCase):
    def test_forms(self) -> None:
        self.assertEqual(parse_name("churn"), ("churn", "latest"))
        self.assertEqual(parse_name("churn", 4), ("churn", 4))
        self.assertEqual(parse_name("churn:v2"), ("churn", 2))
        self.assertEqual(parse_name("churn data:v12"), ("churn data", 12))
        self.assertEqual(parse_name("churn:3"), ("churn", 3))  # as parseDatasetRef in src/protocol

    def test_errors(self) -> None:
        for args in [("churn:v2", 2), ("churn", 0), ("churn", True), ("churn", "2"), ("churn:v0", None),
                     ("churn:latest", None), ("a:b", None), ("", None)]:
            with self.subTest(args=args), self.assertRaises(MLLabError):
                parse_name(*args)


class DatasetTest(support.LabTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.v1 = self.store.add(self.write("src/churn.csv", b"a,b\n1,2\n"), name="churn")
        self.v2 = self.store.add(self.write("src2/churn.csv", b"a,b\n3,4\n"), name="churn")
        support.make_tree(os.path.join(self.tmp, "images"),
                          {"train/cat.png": b"\x89PNG cat", "test/dog.png": b"\x89PNG dog", "labels.txt": b"cat\n"})
        self.pkg = self.store.add(os.path.join(self.tmp, "images"), name="images")

    def last_request(self):
        return self.backend.requests[-1]

    def test_latest_single_file_returns_the_stored_path(self) -> None:
        path = mllab.dataset("churn", home=self.home)
        self.assertEqual(path, self.v2["path"])
        self.assertEqual(self.last_request()["path"], "/api/datasets/churn/versions/latest")

    def test_version_in_the_name(self) -> None:
        self.assertEqual(mllab.dataset("churn:v1", home=self.home), self.v1["path"])
        self.assertEqual(self.last_request()["path"], "/api/datasets/churn/versions/1")

    def test_version_argument_and_project(self) -> None:
        self.assertEqual(mllab.dataset("churn", version=2, project="default", home=self.home), self.v2["path"])
        self.assertEqual(self.last_request()["path"], "/api/datasets/churn/versions/2?project=default")

    def test_name_and_project_are_quoted(self) -> None:
        self.store.add(self.write("x/y.csv", b"y"), name="spaced name", project="other")
        mllab.dataset("spaced name", project="other", home=self.home)
        self.assertEqual(self.last_request()["path"], "/api/datasets/spaced%20name/versions/latest?project=other")

    def test_unknown_dataset_message_passes_through(self) -> None:
        with self.assertRaises(MLLabError) as e:
            mllab.dataset("nope", home=self.home)
        self.assertEqual(str(e.exception),
                         "No dataset called 'nope' in project 'default': list them with `mllab dataset list`.")
        self.assertEqual((e.exception.status, e.exception.code), (404, "not_found"))

    def test_unknown_version_message_passes_through(self) -> None:
        with self.assertRaises(MLLabError) as e:
            mllab.dataset("churn:v9", home=self.home)
        self.assertIn("has no version 9", str(e.exception))

    def test_package_unpacks_once(self) -> None:
        real_extract = _unzip.extract
        with mock.patch.object(_unzip, "extract", side_effect=real_extract) as extract:
            folder = mllab.dataset("images", home=self.home)
            self.assertEqual(folder, os.path.join(self.cache_dir(), self.pkg["sha256"]))
            self.assertEqual(support.read_tree(folder),
                             {"train/cat.png": b"\x89PNG cat", "test/dog.png": b"\x89PNG dog",
                              "labels.txt": b"cat\n"})
            labels = os.path.join(folder, "labels.txt")
            stamp = os.stat(labels).st_mtime_ns
            self.assertEqual(mllab.dataset("images:v1", home=self.home), folder)
            self.assertEqual(extract.call_count, 1)
            self.assertEqual(os.stat(labels).st_mtime_ns, stamp)
        self.assertEqual(self.cache_entries(), [self.pkg["sha256"]])
        mode = stat.S_IMODE(os.stat(os.path.join(folder, "labels.txt")).st_mode)
        self.assertEqual(mode & 0o222, 0, "unpacked files are read-only")

    def test_unpack_false_returns_the_zip(self) -> None:
        path = mllab.dataset("images", unpack=False, home=self.home)
        self.assertEqual(path, self.pkg["path"])
        self.assertTrue(zipfile.is_zipfile(path))
        self.assertEqual(self.cache_entries(), [])

    def test_folder_unpacked_by_the_node_client_is_reused(self) -> None:
        # the Node client renames a complete folder into place too, without a marker
        by_node = os.path.join(self.cache_dir(), self.pkg["sha256"])
        support.make_tree(by_node, {"labels.txt": b"cat\n"})
        with mock.patch.object(_unzip, "extract") as extract:
            self.assertEqual(mllab.dataset("images", home=self.home), by_node)
        extract.assert_not_called()
        self.assertEqual(os.listdir(by_node), ["labels.txt"])

    def test_a_file_in_the_way(self) -> None:
        os.makedirs(self.cache_dir())
        with open(os.path.join(self.cache_dir(), self.pkg["sha256"]), "wb") as f:
            f.write(b"?")
        with self.assertRaises(MLLabError) as e:
            mllab.dataset("images", home=self.home)
        self.assertIn("not a folder", str(e.exception))
        self.assertEqual(self.cache_entries(), [self.pkg["sha256"]])

    def test_concurrent_unpacks_agree(self) -> None:
        results, errors = [], []

        def get() -> None:
            try:
                results.append(mllab.dataset("images", home=self.home))
            except Exception as e:  # pragma: no cover - reported below
                errors.append(e)

        threads = [threading.Thread(target=get) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        self.assertEqual(len(set(results)), 1)
        self.assertEqual(self.cache_entries(), [self.pkg["sha256"]])

    def test_missing_stored_content(self) -> None:
        self.v2["path"] = os.path.join(self.tmp, "moved-away.csv")
        with self.assertRaises(MLLabError) as e:
            mllab.dataset("churn", home=self.home)
        self.assertIn("is missing", str(e.exception))

    def test_invalid_hash_from_backend_is_not_used_as_a_path(self) -> None:
        self.pkg["sha256"] = "../../escape"
        with self.assertRaises(MLLabError):
            mllab.dataset("images", home=self.home)
        self.assertFalse(os.path.exists(os.path.join(self.home, "escape")))

    def test_unpack_limit_from_env(self) -> None:
        os.environ["MLLAB_MAX_UNPACK_BYTES"] = "5"
        with self.assertRaises(MLLabError) as e:
            mllab.dataset("images", home=self.home)
        self.assertIn("limit of 5", str(e.exception))
        self.assertEqual(self.cache_entries(), [])

    def test_bad_unpack_limit_env(self) -> None:
        os.environ["MLLAB_MAX_UNPACK_BYTES"] = "lots"
        with self.assertRaises(MLLabError) as e:
            mllab.dataset("images", home=self.home)
        self.assertIn("MLLAB_MAX_UNPACK_BYTES", str(e.exception))

    def test_datasets_lists(self) -> None:
        listed = mllab.datasets(home=self.home)
        self.assertEqual([d["name"] for d in listed], ["churn", "images"])
        self.assertEqual([v["version"] for v in listed[0]["versions"]], [1, 2])
        self.assertEqual(mllab.datasets(project="other", home=self.home), [])
        self.assertEqual(self.last_request()["path"], "/api/datasets?project=other")

    def test_unknown_project(self) -> None:
        with self.assertRaises(MLLabError) as e:
            mllab.datasets(project="nope", home=self.home)
        self.assertIn("No project called 'nope'", str(e.exception))


class AddDatasetTest(support.LabTestCase):
    def test_sends_absolute_path_and_operator(self) -> None:
        self.write("workspace/data/train.csv", b"x\n1\n")
        old = os.getcwd()
        os.chdir(self.workspace)
        self.addCleanup(os.chdir, old)
        version = mllab.add_dataset("data/train.csv", name="train", description="first cut", tags=["raw", "v0"])
        request = self.last_request()
        self.assertEqual(request["method"], "POST")
        self.assertEqual(request["path"], "/api/datasets")
        self.assertEqual(request["headers"]["Content-Type"], "application/json")
        self.assertEqual(request["body"], {
            "path": os.path.join(os.getcwd(), "data", "train.csv"),
            "name": "train", "description": "first cut", "tags": ["raw", "v0"],
            "operator": getpass.getuser(),
        })
        self.assertTrue(os.path.isabs(request["body"]["path"]))
        self.assertEqual((version["name"], version["version"], version["kind"]), ("train", 1, "file"))
        self.assertEqual(mllab.dataset("train", home=self.home), version["path"])

    def test_optional_fields_are_left_out(self) -> None:
        path = self.write("f.bin", b"\x00\x01")
        mllab.add_dataset(path, project="other", home=self.home)
        self.assertEqual(self.last_request()["body"],
                         {"path": path, "project": "other", "operator": getpass.getuser()})

    def test_missing_path(self) -> None:
        with self.assertRaises(MLLabError) as e:
            mllab.add_dataset(os.path.join(self.tmp, "nothing-here"), home=self.home)
        self.assertIn("There is no file or folder at", str(e.exception))
        self.assertEqual(self.backend.requests, [])

    def test_tags_must_be_a_list_of_strings(self) -> None:
        path = self.write("f.bin", b"x")
        for tags in ["raw", [1, 2]]:
            with self.subTest(tags=tags), self.assertRaises(MLLabError):
                mllab.add_dataset(path, tags=tags, home=self.home)  # type: ignore[arg-type]

    def test_backend_error_passes_through(self) -> None:
        path = self.write("f.bin", b"x")
        with self.assertRaises(MLLabError) as e:
            mllab.add_dataset(path, project="nope", home=self.home)
        self.assertIn("No project called 'nope'", str(e.exception))

    def last_request(self):
        return self.backend.requests[-1]

    def test_folder_round_trip_is_byte_identical(self) -> None:
        files = {
            "données/日本語 ファイル.txt": "héllo wörld ✓\n".encode(),
            "emoji/🙂.bin": bytes(range(256)) * 50,
            "empty.txt": b"",
            "a/b/c/d/e/deep.csv": b"1,2,3\n" * 1000,
            "spaces in name/x y.txt": b"x y",
            "random.bin": os.urandom(300_000),
        }
        src = os.path.join(self.tmp, "folder")
        support.make_tree(src, files, empty_dirs=("empty-folder", "a/empty"))
        version = mllab.add_dataset(src, name="mixed", home=self.home)
        self.assertEqual(version["kind"], "package")
        folder = mllab.dataset("mixed", home=self.home)
        self.assertEqual(support.read_tree(folder), support.read_tree(src))
        self.assertIn("empty-folder/", support.read_tree(folder))


if __name__ == "__main__":
    unittest.main()
