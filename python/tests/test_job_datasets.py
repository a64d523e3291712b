"""mllab.dataset() inside a job: no backend in the container, the versions it may read listed next to
their blobs (``<home>/blobs/datasets.json``, written by the job runner); and every dataset loaded
becomes an input of the runs of the process."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
import unittest
import zipfile
from typing import Any, Dict, List

import support  # noqa: F401  (puts the package under test on sys.path)

import mllab
from mllab import MLLabError, _experiments


def write_blob(home: str, data: bytes) -> str:
    sha = hashlib.sha256(data).hexdigest()
    path = os.path.join(home, "blobs", "sha256", sha[:2], sha[2:])
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    return sha


class JobDatasetsTest(unittest.TestCase):
    def setUp(self) -> None:
        self.tmp = tempfile.mkdtemp(prefix="mllab-job-ds-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.home = os.path.join(self.tmp, "home")
        os.makedirs(self.home)
        self.v1 = write_blob(self.home, b"a,b\n1,2\n")
        self.v2 = write_blob(self.home, b"a,b\n3,4\n")
        pkg = os.path.join(self.tmp, "pkg.zip")
        with zipfile.ZipFile(pkg, "w") as zf:
            zf.writestr("images/x.txt", "x")
        with open(pkg, "rb") as f:
            self.pkg = write_blob(self.home, f.read())
        versions: List[Dict[str, Any]] = [
            {"name": "sensors", "version": 1, "sha256": self.v1, "kind": "file"},
            {"name": "sensors", "version": 2, "sha256": self.v2, "kind": "file"},
            {"name": "images", "version": 1, "sha256": self.pkg, "kind": "package"},
        ]
        with open(os.path.join(self.home, "blobs", "datasets.json"), "w", encoding="utf-8") as f:
            json.dump({"versions": versions}, f)
        _experiments._inputs.clear()
        for var in ("MLLAB_HOME", "MLLAB_MAX_UNPACK_BYTES", _experiments.RUN_DIR_ENV, _experiments.EXPERIMENT_NAME_ENV):
            old = os.environ.pop(var, None)
            self.addCleanup(lambda v=var, o=old: os.environ.__setitem__(v, o) if o is not None
                            else os.environ.pop(v, None))
        self.addCleanup(_experiments._inputs.clear)

    def blob(self, sha: str) -> str:
        return os.path.join(self.home, "blobs", "sha256", sha[:2], sha[2:])

    def test_latest_and_numbered_versions_come_from_the_index(self) -> None:
        self.assertEqual(mllab.dataset("sensors", home=self.home), self.blob(self.v2))
        self.assertEqual(mllab.dataset("sensors:v1", home=self.home), self.blob(self.v1))
        self.assertEqual(mllab.dataset("SENSORS", version=1, home=self.home), self.blob(self.v1))

    def test_a_package_is_unpacked(self) -> None:
        folder = mllab.dataset("images", home=self.home)
        with open(os.path.join(folder, "images", "x.txt"), encoding="utf-8") as f:
            self.assertEqual(f.read(), "x")
        self.assertEqual(mllab.dataset("images", unpack=False, home=self.home), self.blob(self.pkg))

    def test_a_version_the_job_cannot_read_is_named_with_what_it_can(self) -> None:
        with self.assertRaises(MLLabError) as ctx:
            mllab.dataset("churn", home=self.home)
        self.assertEqual(ctx.exception.code, "not_found")
        self.assertIn("images v1, sensors v1, sensors v2", str(ctx.exception))
        with self.assertRaises(MLLabError):
            mllab.dataset("sensors:v3", home=self.home)

    def test_a_registered_backend_is_asked_instead(self) -> None:
        os.makedirs(os.path.join(self.home, "run"))
        with open(os.path.join(self.home, "run", "backend.json"), "w", encoding="utf-8") as f:
            json.dump({"pid": support.DEAD_PID, "port": 1, "token": "x" * 64, "version": "0.1.0"}, f)
        with self.assertRaises(MLLabError) as ctx:
            mllab.dataset("sensors", home=self.home)
        self.assertNotEqual(ctx.exception.code, "not_found")

    def test_loaded_datasets_are_inputs_of_runs_started_before_and_after(self) -> None:
        before = mllab.start_experiment("before", home=self.home)
        self.addCleanup(before.end)
        mllab.dataset("sensors", home=self.home)
        after = mllab.start_experiment("after", home=self.home)
        self.addCleanup(after.end)
        mllab.dataset("sensors", home=self.home)  # twice: recorded once
        before.flush()
        after.flush()
        for exp in (before, after):
            with open(os.path.join(exp.dir, "events.jsonl"), encoding="utf-8") as f:
                inputs = [json.loads(line) for line in f if '"input"' in line]
            self.assertEqual([(e["dataset"], e["version"]) for e in inputs], [("sensors", 2)], exp.name)


if __name__ == "__main__":
    unittest.main()
    sys.exit(0)
