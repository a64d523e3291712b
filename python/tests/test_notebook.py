"""Running a notebook as a script (python -m mllab.notebook), as "Run as Experiment" does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import unittest
from typing import List

import support  # noqa: F401  (puts the package on sys.path)
from mllab import notebook

SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def write_notebook(folder: str, cells: List[str], name: str = "nb.ipynb") -> str:
    nb = {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {},
        "cells": [{"cell_type": "markdown", "metadata": {}, "source": ["# title"]}]
        + [{"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
            "source": c.splitlines(keepends=True)} for c in cells],
    }
    path = os.path.join(folder, name)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(nb, f)
    return path


def run_notebook(path: str, env_home: str):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLLAB_")}
    env.update(PYTHONPATH=SRC, MLLAB_HOME=env_home)
    return subprocess.run([sys.executable, "-m", "mllab.notebook", path], capture_output=True, text=True,
                          env=env, cwd=os.path.dirname(path), timeout=60)


class NotebookRunnerTest(unittest.TestCase):
    def setUp(self) -> None:
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name
        self.home = os.path.join(self.dir, ".mllab")
        os.makedirs(self.home)

    def tearDown(self) -> None:
        self.tmp.cleanup()

    def test_runs_code_cells_in_order_in_one_namespace_and_records_an_experiment(self) -> None:
        path = write_notebook(self.dir, [
            "%matplotlib inline\nimport mllab\nvalues = []",
            "!echo from-the-shell\nfor i in range(3):\n    values.append(i * i)\ndisplay(values)",
            "with mllab.experiment('nb-run', params={'n': len(values)}) as exp:\n"
            "    for step, v in enumerate(values):\n        exp.log_metric('sq', v, step=step)\n",
        ])
        res = run_notebook(path, self.home)
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertIn("from-the-shell", res.stdout)
        self.assertIn("[0, 1, 4]", res.stdout)
        self.assertIn("cell 2: skipped '%matplotlib inline' (IPython magic)", res.stderr)
        runs = os.listdir(os.path.join(self.home, "runs"))
        self.assertEqual(len(runs), 1)
        with open(os.path.join(self.home, "runs", runs[0], "events.jsonl"), encoding="utf-8") as f:
            points = [json.loads(line) for line in f if '"k": "m"' in line or '"k":"m"' in line]
        self.assertEqual([p["v"] for p in points], [0, 1, 4])

    def test_a_failing_cell_stops_the_run_with_exit_code_1_and_names_the_cell(self) -> None:
        path = write_notebook(self.dir, ["x = 1", "print('before')\nraise ValueError('bad data')", "print('after')"])
        res = run_notebook(path, self.home)
        self.assertEqual(res.returncode, 1)
        self.assertIn("before", res.stdout)
        self.assertNotIn("after", res.stdout)
        self.assertIn("cell 3 failed", res.stderr)  # the markdown cell is cell 1
        self.assertIn("ValueError: bad data", res.stderr)
        self.assertIn("[cell 3]", res.stderr)

    def test_a_failing_shell_line_fails_the_run(self) -> None:
        path = write_notebook(self.dir, ["!exit 4", "print('after')"])
        res = run_notebook(path, self.home)
        self.assertEqual(res.returncode, 1)
        self.assertIn("exit code 4", res.stderr)

    def test_sys_exit_in_a_cell_is_the_exit_code(self) -> None:
        path = write_notebook(self.dir, ["import sys\nsys.exit(7)", "print('after')"])
        self.assertEqual(run_notebook(path, self.home).returncode, 7)

    def test_bash_cells_run_and_other_cell_magics_are_skipped_with_a_warning(self) -> None:
        path = write_notebook(self.dir, ["%%bash\necho bash-cell", "%%timeit\nx = 1", "print('done')"])
        res = run_notebook(path, self.home)
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertIn("bash-cell", res.stdout)
        self.assertIn("skipped the %%timeit cell magic", res.stderr)
        self.assertIn("done", res.stdout)

    def test_a_file_that_is_not_a_notebook_is_refused_with_a_clear_message(self) -> None:
        bad = os.path.join(self.dir, "bad.ipynb")
        with open(bad, "w", encoding="utf-8") as f:
            f.write("print('not json')")
        res = run_notebook(bad, self.home)
        self.assertEqual(res.returncode, 2)
        self.assertIn("is not a notebook (not JSON", res.stderr)
        with open(bad, "w", encoding="utf-8") as f:
            json.dump({"nbformat": 4}, f)
        self.assertIn("has no list of cells", run_notebook(bad, self.home).stderr)
        self.assertIn("cannot read", run_notebook(os.path.join(self.dir, "missing.ipynb"), self.home).stderr)

    def test_translate_keeps_indentation_of_shell_lines(self) -> None:
        code = notebook.translate("if True:\n    !echo hi\n    x = 1", 5)
        self.assertEqual(code, "if True:\n    __mllab_shell__('echo hi', 5)\n    x = 1")
        compile(code, "t", "exec")


if __name__ == "__main__":
    unittest.main()
