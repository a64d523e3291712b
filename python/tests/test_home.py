"""Finding the lab home: argument, $MLLAB_HOME, walking up from the working directory."""

from __future__ import annotations

import os
import tempfile
import unittest

import support  # noqa: F401  (puts the package on sys.path)
from mllab import MLLabError
from mllab._home import find_home


class FindHomeTest(support.LabTestCase):
    start_backend = False

    def test_argument_wins_over_env_and_cwd(self) -> None:
        other = os.path.join(self.tmp, "other-home")
        os.makedirs(other)
        os.environ["MLLAB_HOME"] = self.home
        self.addCleanup(os.environ.pop, "MLLAB_HOME", None)
        self.assertEqual(find_home(other, cwd=self.workspace), other)

    def test_relative_argument_is_resolved_against_cwd(self) -> None:
        self.assertEqual(find_home(".mllab", cwd=self.workspace), self.home)

    def test_env(self) -> None:
        os.environ["MLLAB_HOME"] = self.home
        self.addCleanup(os.environ.pop, "MLLAB_HOME", None)
        self.assertEqual(find_home(cwd=self.tmp), self.home)

    def test_empty_env_is_ignored(self) -> None:
        os.environ["MLLAB_HOME"] = ""
        self.addCleanup(os.environ.pop, "MLLAB_HOME", None)
        self.assertEqual(find_home(cwd=self.workspace), self.home)

    def test_walks_up_to_the_first_mllab_folder(self) -> None:
        deep = os.path.join(self.workspace, "src", "models", "v1")
        os.makedirs(deep)
        self.assertEqual(find_home(cwd=deep), self.home)
        nearer = os.path.join(self.workspace, "src", ".mllab")
        os.makedirs(nearer)
        self.assertEqual(find_home(cwd=deep), nearer)

    def test_uses_the_working_directory(self) -> None:
        deep = os.path.join(self.workspace, "notebooks")
        os.makedirs(deep)
        old = os.getcwd()
        os.chdir(deep)
        self.addCleanup(os.chdir, old)
        self.assertEqual(os.path.realpath(find_home()), os.path.realpath(self.home))

    def test_a_file_called_mllab_is_not_a_home(self) -> None:
        ws = os.path.join(self.tmp, "ws2")
        os.makedirs(ws)
        open(os.path.join(ws, ".mllab"), "w").close()
        if any(os.path.isdir(os.path.join(p, ".mllab")) for p in _parents(ws)):
            self.skipTest("a .mllab folder exists above the temporary folder")
        with self.assertRaises(MLLabError):
            find_home(cwd=ws)

    def test_none_found(self) -> None:
        ws = tempfile.mkdtemp(dir=self.tmp)
        if any(os.path.isdir(os.path.join(p, ".mllab")) for p in _parents(ws)):
            self.skipTest("a .mllab folder exists above the temporary folder")
        with self.assertRaises(MLLabError) as e:
            find_home(cwd=ws)
        self.assertIn("No ML Lab lab home found", str(e.exception))
        self.assertIn("MLLAB_HOME", str(e.exception))
        self.assertEqual(e.exception.code, "no_home")

    def test_missing_explicit_home(self) -> None:
        with self.assertRaises(MLLabError) as e:
            find_home(os.path.join(self.tmp, "nope"), cwd=self.workspace)
        self.assertIn("is not a folder", str(e.exception))


def _parents(path: str):
    path = os.path.abspath(path)
    while True:
        yield path
        parent = os.path.dirname(path)
        if parent == path:
            return
        path = parent


if __name__ == "__main__":
    unittest.main()
