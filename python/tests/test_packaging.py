"""The in-tree build backend: wheel and sdist contents, and an offline pip install."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import tarfile
import tempfile
import unittest
import zipfile

import support  # noqa: F401
import mllab

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_backend():
    spec = importlib.util.spec_from_file_location(
        "mllab_build_backend", os.path.join(ROOT, "_packaging", "mllab_build_backend.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class PackagingTest(unittest.TestCase):
    def setUp(self) -> None:
        self.out = tempfile.mkdtemp(prefix="mllab-pkg-")
        self.addCleanup(__import__("shutil").rmtree, self.out, True)
        self.backend = load_backend()

    def test_needs_nothing_to_build(self) -> None:
        self.assertEqual(self.backend.get_requires_for_build_wheel(), [])
        self.assertEqual(self.backend.get_requires_for_build_sdist(), [])

    def test_wheel(self) -> None:
        name = self.backend.build_wheel(self.out)
        self.assertEqual(name, f"mllab-{mllab.__version__}-py3-none-any.whl")
        with zipfile.ZipFile(os.path.join(self.out, name)) as zf:
            names = set(zf.namelist())
            metadata = zf.read(f"mllab-{mllab.__version__}.dist-info/METADATA").decode()
            record = zf.read(f"mllab-{mllab.__version__}.dist-info/RECORD").decode()
        for module in ("__init__", "_backend", "_datasets", "_errors", "_experiments", "_home", "_process",
                       "_run_environment", "_run_lifecycle", "_run_output", "_run_writer", "_unzip"):
            self.assertIn(f"mllab/{module}.py", names)
        self.assertIn("mllab/py.typed", names)
        self.assertFalse(any("__pycache__" in n or n.startswith("tests/") for n in names))
        self.assertIn(f"Version: {mllab.__version__}\n", metadata, "pyproject.toml and __version__ agree")
        self.assertIn("Requires-Python: >=3.8", metadata)
        self.assertEqual(len(record.strip().splitlines()), len(names))

    def test_sdist(self) -> None:
        name = self.backend.build_sdist(self.out)
        with tarfile.open(os.path.join(self.out, name)) as tar:
            names = set(tar.getnames())
        base = f"mllab-{mllab.__version__}"
        for rel in ("PKG-INFO", "pyproject.toml", "README.md", "mllab/__init__.py",
                    "_packaging/mllab_build_backend.py", "tests/support.py"):
            self.assertIn(f"{base}/{rel}", names)

    def test_offline_pip_install_without_build_isolation(self) -> None:
        if subprocess.run([sys.executable, "-m", "pip", "--version"], capture_output=True).returncode != 0:
            self.skipTest("pip is not available")
        target = os.path.join(self.out, "site")
        env = dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1")
        run = subprocess.run(
            [sys.executable, "-m", "pip", "install", "--no-build-isolation", "--no-index", "--no-deps",
             "--target", target, ROOT],
            capture_output=True, text=True, env=env,
        )
        self.assertEqual(run.returncode, 0, run.stdout + run.stderr)
        probe = subprocess.run(
            [sys.executable, "-c", "import mllab; print(mllab.__file__, mllab.__version__)"],
            capture_output=True, text=True, cwd=self.out, env=dict(env, PYTHONPATH=target),
        )
        self.assertEqual(probe.returncode, 0, probe.stderr)
        self.assertTrue(probe.stdout.startswith(os.path.join(target, "mllab")), probe.stdout)
        self.assertIn(mllab.__version__, probe.stdout)


if __name__ == "__main__":
    unittest.main()
