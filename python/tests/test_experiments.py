"""Experiments: the run directory (run.json, events.jsonl, logs, artifacts) written with no backend."""

from __future__ import annotations

import io
import json
import math
import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
import unittest
from typing import Any, Dict, List
from unittest import mock

import support  # noqa: F401  (puts the package on sys.path)
import mllab
from mllab import MLLabError
from mllab import _experiments, _run_environment, _run_lifecycle

RUN_LINE_BYTES = _experiments.RUN_LIMITS["lineBytes"]

SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ID = re.compile(r"^\d{8}-\d{6}-[0-9a-f]{6}$")
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
MANIFEST_KEYS = {"format", "id", "name", "project", "status", "startedAt", "endedAt", "exitCode", "pid",
                 "operator", "command", "cwd", "script", "host", "runtime", "packages", "git", "params", "tags"}


def read_events(run_dir: str) -> List[Dict[str, Any]]:
    with open(os.path.join(run_dir, "events.jsonl"), encoding="utf-8") as f:
        data = f.read()
    assert data == "" or data.endswith("\n"), "events.jsonl ends with an unfinished line"
    return [json.loads(line) for line in data.splitlines()]


def read_manifest(run_dir: str) -> Dict[str, Any]:
    with open(os.path.join(run_dir, "run.json"), encoding="utf-8") as f:
        return json.load(f)


def _restore_env(var: str, value: "str | None") -> None:
    if value is None:
        os.environ.pop(var, None)
    else:
        os.environ[var] = value


class ExperimentTestCase(support.LabTestCase):
    start_backend = False

    def setUp(self) -> None:
        super().setUp()
        for var in (_experiments.RUN_DIR_ENV, _experiments.EXPERIMENT_NAME_ENV):
            # restored as it was, also when a test set it: nothing leaks into later tests
            self.addCleanup(_restore_env, var, os.environ.pop(var, None))
        self.stdout, self.stderr = sys.stdout, sys.stderr
        self.addCleanup(self._restore_streams)

    def _restore_streams(self) -> None:
        with _run_lifecycle._active_lock:
            runs = list(_run_lifecycle._active)
        for exp in runs:
            exp.end()
        sys.stdout, sys.stderr = self.stdout, self.stderr

    def start(self, name: str = "test", **kwargs: Any) -> mllab.Experiment:
        exp = mllab.start_experiment(name, home=self.home, **kwargs)
        self.addCleanup(exp.end)
        return exp

    def run_script(self, code: str, *, env: Any = None, timeout: float = 30) -> subprocess.CompletedProcess:
        path = os.path.join(self.workspace, "train.py")
        with open(path, "w", encoding="utf-8") as f:
            f.write(textwrap.dedent(code))
        full_env = dict(os.environ, PYTHONPATH=SRC, MLLAB_HOME=self.home, PYTHONIOENCODING="utf-8")
        full_env.update(env or {})
        return subprocess.run([sys.executable, path, "arg1"], cwd=self.workspace, env=full_env, timeout=timeout,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8")

    def only_run(self) -> str:
        runs = os.listdir(os.path.join(self.home, "runs"))
        self.assertEqual(len(runs), 1, runs)
        return os.path.join(self.home, "runs", runs[0])


class ManifestTest(ExperimentTestCase):
    def test_start_writes_the_manifest(self) -> None:
        t0 = time.time()
        exp = self.start("baseline", params={"lr": 0.01, "layers": [64, 32]}, tags={"team": "a", "n": 3},
                         project="churn")
        started = time.time() - t0
        self.assertLess(started, 1.0, "start must be fast (well under 300 ms on a normal machine)")
        self.assertRegex(exp.id, ID)
        self.assertEqual(exp.dir, os.path.join(self.home, "runs", exp.id))
        m = read_manifest(exp.dir)
        self.assertEqual(set(m), MANIFEST_KEYS)
        self.assertEqual(m["format"], 1)
        self.assertEqual(m["id"], exp.id)
        self.assertEqual(m["name"], "baseline")
        self.assertEqual(m["project"], "churn")
        self.assertEqual(m["status"], "running")
        self.assertRegex(m["startedAt"], ISO)
        self.assertTrue(exp.id.startswith(m["startedAt"][:10].replace("-", "")))
        self.assertIsNone(m["endedAt"])
        self.assertIsNone(m["exitCode"])
        self.assertEqual(m["pid"], os.getpid())
        self.assertIsInstance(m["operator"], str)
        self.assertEqual(m["command"], sys.argv)
        self.assertEqual(m["cwd"], os.getcwd())
        self.assertEqual(set(m["host"]), {"hostname", "os", "cpus", "memoryBytes", "gpus"})
        self.assertGreater(m["host"]["cpus"], 0)
        self.assertGreater(m["host"]["memoryBytes"], 0)
        self.assertIsInstance(m["host"]["gpus"], list)
        self.assertEqual(m["runtime"], {"python": __import__("platform").python_version()})
        self.assertEqual(m["params"], {"lr": 0.01, "layers": [64, 32]})
        self.assertEqual(m["tags"], {"team": "a", "n": "3"})
        self.assertEqual(m["packages"], "packages.txt")
        with open(os.path.join(exp.dir, "packages.txt"), encoding="utf-8") as f:
            for line in f:
                self.assertRegex(line, r"^\S+==\S+\n$")
        if m["git"] is not None:
            self.assertEqual(set(m["git"]) - {"script"}, {"commit", "branch", "dirty", "diff"})
        for name in ("events.jsonl", "stdout.log", "stderr.log", "artifacts"):
            self.assertTrue(os.path.exists(os.path.join(exp.dir, name)), name)
        self.assertEqual([n for n in os.listdir(exp.dir) if ".tmp-" in n], [])

    def test_end_rewrites_the_manifest_and_appends_the_status(self) -> None:
        exp = self.start(params={"a": 1})
        exp.log_param("b", 2)
        exp.set_tag("phase", "final")
        exp.end()
        self.assertEqual(exp.status, "completed")
        m = read_manifest(exp.dir)
        self.assertEqual(m["status"], "completed")
        self.assertRegex(m["endedAt"], ISO)
        self.assertGreaterEqual(m["endedAt"], m["startedAt"])
        self.assertIsNone(m["exitCode"])
        self.assertEqual(m["params"], {"a": 1, "b": 2})
        self.assertEqual(m["tags"], {"phase": "final"})
        last = read_events(exp.dir)[-1]
        self.assertEqual({k: last[k] for k in ("k", "status", "exitCode")},
                         {"k": "status", "status": "completed", "exitCode": None})
        self.assertEqual([n for n in os.listdir(exp.dir) if ".tmp-" in n], [])

    def test_run_json_is_written_through_a_temp_file_and_os_replace(self) -> None:
        calls: List[Any] = []
        real_replace = os.replace

        def replace(src: str, dst: str) -> None:
            calls.append((src, dst, os.path.exists(dst)))
            real_replace(src, dst)

        with mock.patch.object(_experiments.os, "replace", replace):
            exp = self.start()
            exp.end("failed", exit_code=2)
        manifest_writes = [c for c in calls if os.path.basename(c[1]) == "run.json"]
        self.assertEqual(len(manifest_writes), 2)
        for src, dst, _ in manifest_writes:
            self.assertEqual(os.path.dirname(src), os.path.dirname(dst))
            self.assertIn("run.json.tmp-", src)
        self.assertEqual([c[2] for c in manifest_writes], [False, True])
        self.assertEqual(read_manifest(exp.dir)["exitCode"], 2)

    def test_the_public_api_stays_where_it_was(self) -> None:
        import mllab

        self.assertIs(mllab.experiment, _experiments.experiment)
        self.assertIs(mllab.start_experiment, _experiments.start_experiment)
        self.assertIs(mllab.Experiment, _experiments.Experiment)
        for name in _experiments.__all__:
            self.assertTrue(hasattr(_experiments, name), name)
        self.assertEqual((_experiments.RUN_DIR_ENV, _experiments.EXPERIMENT_NAME_ENV),
                         ("MLLAB_RUN_DIR", "MLLAB_EXPERIMENT_NAME"))
        self.assertEqual((_experiments.FLUSH_INTERVAL, _experiments.FLUSH_LINES), (0.1, 10_000))
        self.assertEqual(_experiments.runs_dir("/lab"), os.path.join("/lab", "runs"))

    def test_ids_are_unique_and_sortable(self) -> None:
        ids = []
        for _ in range(5):
            exp = self.start()
            exp.end()
            ids.append(exp.id)
        self.assertEqual(len(set(ids)), 5)
        self.assertEqual(sorted(ids, key=lambda i: i[:15]), ids)

    def test_end_twice_does_nothing_and_checks_its_arguments(self) -> None:
        exp = self.start()
        with self.assertRaises(MLLabError):
            exp.end("running")
        with self.assertRaises(MLLabError):
            exp.end("completed", exit_code="1")  # type: ignore[arg-type]
        exp.end("interrupted", exit_code=130)
        exp.end("completed")
        m = read_manifest(exp.dir)
        self.assertEqual((m["status"], m["exitCode"]), ("interrupted", 130))
        self.assertEqual(sum(1 for e in read_events(exp.dir) if e["k"] == "status"), 1)

    def test_git_commit_branch_and_diff(self) -> None:
        if _experiments.shutil.which("git") is None:
            self.skipTest("git is not installed")
        repo = os.path.join(self.tmp, "repo")
        os.makedirs(repo)
        git = ["git", "-c", "user.email=t@example.com", "-c", "user.name=t", "-c", "commit.gpgsign=false"]
        subprocess.run(["git", "init", "-q", "-b", "work", repo], check=True)
        with open(os.path.join(repo, "a.txt"), "w") as f:
            f.write("one\n")
        subprocess.run(git + ["add", "a.txt"], cwd=repo, check=True)
        subprocess.run(git + ["commit", "-q", "-m", "c"], cwd=repo, check=True)
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True).stdout.strip()
        with open(os.path.join(repo, "a.txt"), "w") as f:
            f.write("two\n")
        old = os.getcwd()
        os.chdir(repo)
        self.addCleanup(os.chdir, old)
        with mock.patch.object(_run_environment, "_script_path", lambda: None):
            exp = self.start()
        m = read_manifest(exp.dir)
        self.assertEqual(m["git"], {"commit": commit, "branch": "work", "dirty": True, "diff": "git.diff"})
        with open(os.path.join(exp.dir, "git.diff"), encoding="utf-8") as f:
            self.assertIn("+two", f.read())

    def test_whether_git_holds_the_script(self) -> None:
        if _experiments.shutil.which("git") is None:
            self.skipTest("git is not installed")
        repo = os.path.join(self.tmp, "repo")
        os.makedirs(os.path.join(repo, "scratch"))
        git = ["git", "-c", "user.email=t@example.com", "-c", "user.name=t", "-c", "commit.gpgsign=false"]
        subprocess.run(["git", "init", "-q", "-b", "work", repo], check=True)
        for name, text in ((".gitignore", "scratch/\n"), ("tracked.py", "x = 1\n"), ("new.py", "x = 2\n"),
                           (os.path.join("scratch", "ignored.py"), "x = 3\n")):
            with open(os.path.join(repo, name), "w") as f:
                f.write(text)
        subprocess.run(git + ["add", ".gitignore", "tracked.py"], cwd=repo, check=True)
        subprocess.run(git + ["commit", "-q", "-m", "c"], cwd=repo, check=True)
        seen = {}
        for name in ("tracked.py", "new.py", os.path.join("scratch", "ignored.py")):
            script = os.path.join(repo, name)
            with mock.patch.object(_run_environment, "_script_path", lambda: script):
                exp = self.start()
            exp.end()
            seen[name] = read_manifest(exp.dir)["git"]["script"]
        self.assertEqual(seen, {"tracked.py": "tracked", "new.py": "untracked",
                                os.path.join("scratch", "ignored.py"): "ignored"})

    def test_not_a_git_repository(self) -> None:
        old = os.getcwd()
        os.chdir(self.tmp)
        self.addCleanup(os.chdir, old)
        with mock.patch.object(_run_environment, "_script_path", lambda: None), \
                mock.patch.dict(os.environ, {"GIT_CEILING_DIRECTORIES": os.path.dirname(self.tmp)}):
            exp = self.start()
        self.assertIsNone(read_manifest(exp.dir)["git"])
        self.assertFalse(os.path.exists(os.path.join(exp.dir, "git.diff")))


class HomeTest(ExperimentTestCase):
    def test_walks_up_to_the_lab_home(self) -> None:
        deep = os.path.join(self.workspace, "src", "deep")
        os.makedirs(deep)
        old = os.getcwd()
        os.chdir(deep)
        self.addCleanup(os.chdir, old)
        exp = mllab.start_experiment("x")
        self.addCleanup(exp.end)
        self.assertEqual(os.path.dirname(os.path.dirname(exp.dir)), self.home)

    def test_no_lab_home_is_an_error(self) -> None:
        old = os.getcwd()
        os.chdir(self.tmp)
        self.addCleanup(os.chdir, old)
        with self.assertRaises(MLLabError) as ctx:
            mllab.start_experiment("x")
        self.assertEqual(ctx.exception.code, "no_home")
        self.assertIn("MLLAB_HOME", str(ctx.exception))
        self.assertFalse(os.path.exists(os.path.join(self.tmp, ".mllab")))

    def test_mllab_home_is_created(self) -> None:
        home = os.path.join(self.tmp, "new", "home")
        os.environ["MLLAB_HOME"] = home
        self.addCleanup(os.environ.pop, "MLLAB_HOME", None)
        exp = mllab.start_experiment("x")
        self.addCleanup(exp.end)
        self.assertTrue(exp.dir.startswith(os.path.join(home, "runs") + os.sep))

    def test_bad_arguments(self) -> None:
        for kwargs in ({"name": ""}, {"name": 3}, {"params": [1]}, {"tags": "a"}, {"project": ""}):
            with self.assertRaises(MLLabError, msg=str(kwargs)):
                mllab.start_experiment(home=self.home, **kwargs)
        self.assertFalse(os.path.exists(os.path.join(self.home, "runs")))


class MetricsTest(ExperimentTestCase):
    def metrics(self, exp: mllab.Experiment, key: Any = None) -> List[Dict[str, Any]]:
        exp.flush()
        return [e for e in read_events(exp.dir) if e["k"] == "m" and (key is None or e["key"] == key)]

    def test_line_format(self) -> None:
        exp = self.start()
        before = time.time() * 1000
        exp.log_metric("loss", 0.25)
        after = time.time() * 1000
        exp.flush()
        with open(os.path.join(exp.dir, "events.jsonl"), encoding="utf-8") as f:
            line = f.readline()
        self.assertRegex(line, r'^\{"k":"m","key":"loss","v":0\.25,"s":0,"t":\d+\}\n$')
        t = json.loads(line)["t"]
        self.assertTrue(before - 1 <= t <= after + 1, (before, t, after))

    def test_steps_auto_increment_per_key(self) -> None:
        exp = self.start()
        for i in range(3):
            exp.log_metric("a", i)
        exp.log_metric("b", 1.0)
        exp.log_metrics({"a": 10, "b": 20})
        self.assertEqual([e["s"] for e in self.metrics(exp, "a")], [0, 1, 2, 3])
        self.assertEqual([e["s"] for e in self.metrics(exp, "b")], [0, 1])

    def test_explicit_duplicate_and_backward_steps_are_written_as_logged(self) -> None:
        exp = self.start()
        exp.log_metric("x", 1, step=10)
        exp.log_metric("x", 2, step=10)
        exp.log_metric("x", 3, step=5)
        exp.log_metric("x", 4)  # the last step + 1
        exp.log_metrics({"x": 5, "y": 6}, step=100)
        exp.log_metric("x", 7, step=-1)
        self.assertEqual([(e["s"], e["v"]) for e in self.metrics(exp, "x")],
                         [(10, 1.0), (10, 2.0), (5, 3.0), (6, 4.0), (100, 5.0), (-1, 7.0)])
        self.assertEqual([e["s"] for e in self.metrics(exp, "y")], [100])

    def test_non_finite_values_are_strings(self) -> None:
        exp = self.start()
        for v in (math.nan, math.inf, -math.inf, 1e308 * 10, 0.0, -0.0, 1e-320, 2**70):
            exp.log_metric("v", v)
        self.assertEqual([e["v"] for e in self.metrics(exp)],
                         ["NaN", "Infinity", "-Infinity", "Infinity", 0.0, -0.0, 1e-320, float(2**70)])

    def test_accepted_value_types(self) -> None:
        class Scalar:  # like a numpy or torch scalar
            def __float__(self) -> float:
                return 1.5

        from decimal import Decimal
        from fractions import Fraction

        exp = self.start()
        for v in (3, True, False, Scalar(), Decimal("0.5"), Fraction(1, 4), float("nan")):
            exp.log_metric("v", v)
        values = [e["v"] for e in self.metrics(exp)]
        self.assertEqual(values, [3.0, 1.0, 0.0, 1.5, 0.5, 0.25, "NaN"])

    def test_non_numeric_values_are_refused(self) -> None:
        exp = self.start()
        for v in ("0.5", b"1", None, [1.0], {"a": 1}, 1j, object(), 10**400):
            with self.assertRaises(MLLabError, msg=repr(v)) as ctx:
                exp.log_metric("v", v)
            self.assertEqual(ctx.exception.code, "invalid_value")
            self.assertIn("not a number", str(ctx.exception))
        with self.assertRaises(MLLabError):
            exp.log_metrics([("a", 1)])  # type: ignore[arg-type]
        self.assertEqual(self.metrics(exp), [])

    def test_bad_steps_and_keys_are_refused(self) -> None:
        exp = self.start()
        for step in (1.5, 2.0, "3", True):
            with self.assertRaises(MLLabError, msg=repr(step)) as ctx:
                exp.log_metric("v", 1, step=step)  # type: ignore[arg-type]
            self.assertEqual(ctx.exception.code, "invalid_step")
        for key in ("", None, 3, b"k"):
            with self.assertRaises(MLLabError, msg=repr(key)) as ctx:
                exp.log_metric(key, 1)  # type: ignore[arg-type]
            self.assertEqual(ctx.exception.code, "invalid_key")
        self.assertEqual(self.metrics(exp), [])

    def test_index_like_steps(self) -> None:
        class Index:
            def __index__(self) -> int:
                return 7

        exp = self.start()
        exp.log_metric("v", 1, step=Index())  # type: ignore[arg-type]
        exp.log_metric("v", 1)
        self.assertEqual([e["s"] for e in self.metrics(exp)], [7, 8])

    def test_unicode_and_odd_keys(self) -> None:
        exp = self.start()
        keys = ["verlust/Größe", "损失", "emoji 🚀", 'quote " and \\ backslash', "new\nline", "a/b/c"]
        for k in keys:
            exp.log_metric(k, 1.0)
        self.assertEqual([e["key"] for e in self.metrics(exp)], keys)

    def test_background_thread_flushes_within_100_ms(self) -> None:
        exp = self.start()
        exp.log_metric("v", 1.0)
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            if os.path.getsize(os.path.join(exp.dir, "events.jsonl")) > 0:
                break
            time.sleep(0.01)
        self.assertEqual(len(read_events(exp.dir)), 1)

    def test_a_full_buffer_is_written_at_once(self) -> None:
        exp = self.start()
        with _run_lifecycle._active_lock:
            _run_lifecycle._active.remove(exp)  # out of the background thread's sight
        self.addCleanup(_run_lifecycle._active.append, exp)
        for i in range(_experiments.FLUSH_LINES):
            exp.log_metric("v", i)
        time.sleep(0.25)
        self.assertEqual(os.path.getsize(os.path.join(exp.dir, "events.jsonl")), 0)
        exp.log_metric("v", 0)
        self.assertEqual(len(read_events(exp.dir)), _experiments.FLUSH_LINES + 1)

    def test_many_threads(self) -> None:
        exp = self.start()
        n, threads = 20_000, 4

        def work() -> None:
            for i in range(n):
                exp.log_metric("shared", i)
                exp.log_metric(f"own-{threading.get_ident()}", i)

        ts = [threading.Thread(target=work) for _ in range(threads)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        exp.end()
        events = read_events(exp.dir)
        shared = [e["s"] for e in events if e["k"] == "m" and e["key"] == "shared"]
        self.assertEqual(sorted(shared), list(range(n * threads)))
        self.assertEqual(shared, sorted(shared), "auto steps are in file order")
        own = [e for e in events if e["k"] == "m" and e["key"].startswith("own-")]
        self.assertEqual(len(own), n * threads)

    def test_log_metric_is_fast(self) -> None:
        exp = self.start()
        log = exp.log_metric
        n = 200_000
        t0 = time.perf_counter()
        for i in range(n):
            log("loss", 0.5)
        exp.flush()
        per_call = (time.perf_counter() - t0) / n * 1e6
        # the requirement is 3 us on the reference machine (bench/python-log-metric.py); leave room for CI
        self.assertLess(per_call, 15, f"{per_call:.2f} us per call")
        self.assertEqual(len(self.metrics(exp)), n)


class EventsTest(ExperimentTestCase):
    def test_params_tags_inputs_outputs_result(self) -> None:
        class Opaque:
            def __str__(self) -> str:
                return "opaque!"

        exp = self.start()
        big = "x" * 5999 + "é"  # as long as a param value may be (see LimitsTest for longer ones)
        exp.log_param("big", big)
        exp.log_params({"ünï": {"nested": (1, 2), "nan": math.nan, 3: {4}}, "obj": Opaque(), "none": None})
        exp.set_tag("stage", 2)
        exp.log_input("churn:v2")
        exp.log_input("images", version=3)
        exp.log_input("raw")
        exp.log_output("out/model.pt")
        exp.set_result({"acc": 0.9, "best": math.inf})
        exp.end()
        events = read_events(exp.dir)
        by_kind: Dict[str, List[Dict[str, Any]]] = {}
        for e in events:
            self.assertIsInstance(e["t"], int)
            by_kind.setdefault(e["k"], []).append(e)
        params = {e["key"]: e["v"] for e in by_kind["param"]}
        self.assertEqual(params["big"], big)
        self.assertEqual(params["ünï"], {"nested": [1, 2], "nan": "NaN", "3": [4]})
        self.assertEqual(params["obj"], "opaque!")
        self.assertIsNone(params["none"])
        self.assertEqual([(e["key"], e["v"]) for e in by_kind["tag"]], [("stage", "2")])
        self.assertEqual([(e["dataset"], e["version"]) for e in by_kind["input"]],
                         [("churn", 2), ("images", 3), ("raw", None)])
        self.assertEqual([e["path"] for e in by_kind["output"]], [os.path.abspath("out/model.pt")])
        self.assertEqual(by_kind["result"][0]["v"], {"acc": 0.9, "best": "Infinity"})
        m = read_manifest(exp.dir)
        self.assertEqual(m["params"]["big"], big)
        self.assertEqual(m["tags"], {"stage": "2"})

    def test_bad_inputs_and_keys(self) -> None:
        exp = self.start()
        with self.assertRaises(MLLabError):
            exp.log_input("a:v1", version=2)
        with self.assertRaises(MLLabError):
            exp.log_param("", 1)
        with self.assertRaises(MLLabError):
            exp.set_tag(None, "x")  # type: ignore[arg-type]

    def test_artifacts_are_copied(self) -> None:
        exp = self.start()
        f = self.write("files/model.pt", b"weights-1")
        folder = os.path.join(self.tmp, "files", "plots")
        os.makedirs(os.path.join(folder, "sub"))
        with open(os.path.join(folder, "sub", "a.png"), "wb") as fh:
            fh.write(b"png")
        dest = exp.log_artifact(f)
        self.assertEqual(dest, os.path.join(exp.dir, "artifacts", "model.pt"))
        exp.log_artifact(folder)
        exp.log_artifact(f, name="checkpoints/epoch-1.pt")
        with open(f, "wb") as fh:
            fh.write(b"weights-2")
        exp.log_artifact(f)  # the same name again: replaces the copy
        exp.log_artifact(folder)
        with open(os.path.join(exp.dir, "artifacts", "model.pt"), "rb") as fh:
            self.assertEqual(fh.read(), b"weights-2")
        with open(os.path.join(exp.dir, "artifacts", "checkpoints", "epoch-1.pt"), "rb") as fh:
            self.assertEqual(fh.read(), b"weights-1")
        with open(os.path.join(exp.dir, "artifacts", "plots", "sub", "a.png"), "rb") as fh:
            self.assertEqual(fh.read(), b"png")
        exp.flush()
        arts = [(e["path"], e["source"]) for e in read_events(exp.dir) if e["k"] == "artifact"]
        self.assertEqual(arts, [("artifacts/model.pt", f), ("artifacts/plots", folder),
                                ("artifacts/checkpoints/epoch-1.pt", f), ("artifacts/model.pt", f),
                                ("artifacts/plots", folder)])
        self.assertEqual(sorted(os.listdir(os.path.join(exp.dir, "artifacts"))), ["checkpoints", "model.pt", "plots"])
        with self.assertRaises(MLLabError):
            exp.log_artifact(os.path.join(self.tmp, "missing"))
        for bad in ("../escape", "/abs", "a/../../b", ""):
            with self.assertRaises(MLLabError, msg=bad):
                exp.log_artifact(f, name=bad)


class EndingTest(ExperimentTestCase):
    def test_with_block_completed(self) -> None:
        with mllab.experiment("ok", home=self.home) as exp:
            exp.log_metric("a", 1)
        m = read_manifest(exp.dir)
        self.assertEqual((m["status"], m["exitCode"]), ("completed", None))

    def test_with_block_exception_fails_and_reraises(self) -> None:
        with self.assertRaises(ZeroDivisionError):
            with mllab.experiment("bad", home=self.home) as exp:
                exp.log_metric("a", 1)
                1 / 0  # noqa: B018
        m = read_manifest(exp.dir)
        self.assertEqual(m["status"], "failed")
        self.assertEqual(m["tags"]["error"], "ZeroDivisionError: division by zero")
        events = read_events(exp.dir)
        self.assertEqual([e["k"] for e in events], ["m", "tag", "status"])
        self.assertEqual(events[-1]["status"], "failed")

    def test_keyboard_interrupt_and_system_exit(self) -> None:
        with self.assertRaises(KeyboardInterrupt):
            with mllab.experiment("ctrl-c", home=self.home) as exp:
                raise KeyboardInterrupt
        self.assertEqual(read_manifest(exp.dir)["status"], "interrupted")
        with self.assertRaises(SystemExit):
            with mllab.experiment("exit0", home=self.home) as exp:
                sys.exit(0)
        self.assertEqual((read_manifest(exp.dir)["status"], read_manifest(exp.dir)["exitCode"]), ("completed", 0))
        with self.assertRaises(SystemExit):
            with mllab.experiment("exit3", home=self.home) as exp:
                sys.exit(3)
        self.assertEqual((read_manifest(exp.dir)["status"], read_manifest(exp.dir)["exitCode"]), ("failed", 3))

    def test_output_is_teed_and_streams_restored(self) -> None:
        fake_out, fake_err = io.StringIO(), io.StringIO()
        sys.stdout, sys.stderr = fake_out, fake_err
        exp = mllab.start_experiment("tee", home=self.home)
        print("héllo out")
        print("to err", file=sys.stderr)
        self.assertIsNot(sys.stdout, fake_out)
        self.assertEqual(sys.stdout.getvalue(), "héllo out\n")  # attributes reach the real stream
        exp.end()
        self.assertIs(sys.stdout, fake_out)
        self.assertIs(sys.stderr, fake_err)
        print("after")
        self.assertEqual(fake_out.getvalue(), "héllo out\nafter\n")
        with open(os.path.join(exp.dir, "stdout.log"), encoding="utf-8") as f:
            self.assertEqual(f.read(), "héllo out\n")
        with open(os.path.join(exp.dir, "stderr.log"), encoding="utf-8") as f:
            self.assertEqual(f.read(), "to err\n")

    def test_notebook_style_start_and_end(self) -> None:
        exp = mllab.start_experiment("nb", home=self.home, params={"p": 1})
        exp.log_metric("loss", 1.0)
        self.assertEqual(read_manifest(exp.dir)["status"], "running")
        exp.end("interrupted", exit_code=None)
        m = read_manifest(exp.dir)
        self.assertEqual((m["status"], m["exitCode"]), ("interrupted", None))
        self.assertEqual([e["k"] for e in read_events(exp.dir)], ["m", "status"])
        self.assertNotIn(exp, _run_lifecycle._active)

    def test_notebook_path_and_command(self) -> None:
        notebook = self.write("nb/analysis.ipynb", b'{"cells": []}')

        class ZMQInteractiveShell:
            user_ns = {"__vsc_ipynb_file__": notebook}

        fake_ipython = type(sys)("IPython")
        fake_ipython.get_ipython = lambda: ZMQInteractiveShell()  # type: ignore[attr-defined]
        with mock.patch.dict(sys.modules, {"IPython": fake_ipython}):
            exp = self.start()
        m = read_manifest(exp.dir)
        self.assertEqual(m["command"], ["<notebook>"])
        self.assertEqual(m["script"], {"path": notebook, "copy": "source/analysis.ipynb"})
        with open(os.path.join(exp.dir, "source", "analysis.ipynb"), "rb") as f:
            self.assertEqual(f.read(), b'{"cells": []}')


class ScriptTest(ExperimentTestCase):
    def test_script_ends_completed_at_exit_with_logs_and_a_copy(self) -> None:
        proc = self.run_script("""
            import sys, mllab
            exp = mllab.start_experiment("script", params={"epochs": 2})
            print("training ✓")
            print("warn", file=sys.stderr)
            for i in range(5):
                exp.log_metric("loss", 1 / (i + 1))
        """)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(proc.stdout, "training ✓\n")
        run = self.only_run()
        m = read_manifest(run)
        self.assertEqual((m["status"], m["exitCode"]), ("completed", None))
        self.assertEqual(m["command"], [os.path.join(self.workspace, "train.py"), "arg1"])
        self.assertEqual(m["cwd"], os.path.realpath(self.workspace))
        self.assertEqual(m["script"], {"path": os.path.join(self.workspace, "train.py"), "copy": "source/train.py"})
        self.assertNotEqual(m["pid"], os.getpid())
        with open(os.path.join(run, "source", "train.py"), encoding="utf-8") as f:
            self.assertIn('start_experiment("script"', f.read())
        with open(os.path.join(run, "stdout.log"), encoding="utf-8") as f:
            self.assertEqual(f.read(), "training ✓\n")
        with open(os.path.join(run, "stderr.log"), encoding="utf-8") as f:
            self.assertEqual(f.read(), "warn\n")
        self.assertEqual([e["s"] for e in read_events(run) if e["k"] == "m"], [0, 1, 2, 3, 4])

    def test_script_that_raises_fails_with_exit_code_1(self) -> None:
        proc = self.run_script("""
            import mllab
            exp = mllab.start_experiment("boom")
            exp.log_metric("loss", 1.0)
            raise ValueError("bad data")
        """)
        self.assertEqual(proc.returncode, 1)
        self.assertIn("ValueError: bad data", proc.stderr)
        run = self.only_run()
        m = read_manifest(run)
        self.assertEqual((m["status"], m["exitCode"]), ("failed", 1))
        self.assertEqual(m["tags"]["error"], "ValueError: bad data")
        with open(os.path.join(run, "stderr.log"), encoding="utf-8") as f:
            self.assertIn("ValueError: bad data", f.read())
        self.assertEqual(read_events(run)[-1]["status"], "failed")

    def test_with_block_script_that_raises(self) -> None:
        proc = self.run_script("""
            import mllab
            with mllab.experiment("boom") as exp:
                exp.log_metric("loss", 1.0)
                raise RuntimeError("diverged")
        """)
        self.assertEqual(proc.returncode, 1)
        m = read_manifest(self.only_run())
        self.assertEqual(m["status"], "failed")
        self.assertEqual(m["tags"]["error"], "RuntimeError: diverged")

    def test_uncaught_keyboard_interrupt(self) -> None:
        proc = self.run_script("""
            import mllab
            exp = mllab.start_experiment("ctrl-c")
            raise KeyboardInterrupt
        """)
        self.assertNotEqual(proc.returncode, 0)
        m = read_manifest(self.only_run())
        self.assertEqual((m["status"], m["exitCode"]), ("interrupted", 130))

    @unittest.skipIf(sys.platform == "win32", "SIGKILL is POSIX")
    def test_killed_script_leaves_running_and_complete_lines(self) -> None:
        path = os.path.join(self.workspace, "killed.py")
        with open(path, "w", encoding="utf-8") as f:
            f.write(textwrap.dedent("""
                import sys, time, mllab
                exp = mllab.start_experiment("killed")
                for i in range(1000):
                    exp.log_metric("loss", i)
                sys.__stdout__.write("READY\\n"); sys.__stdout__.flush()
                time.sleep(60)
            """))
        env = dict(os.environ, PYTHONPATH=SRC, MLLAB_HOME=self.home)
        proc = subprocess.Popen([sys.executable, path], cwd=self.workspace, env=env, stdout=subprocess.PIPE,
                                text=True)
        self.addCleanup(proc.wait)
        self.addCleanup(proc.kill)
        self.assertEqual(proc.stdout.readline(), "READY\n")  # type: ignore[union-attr]
        time.sleep(0.4)  # no explicit flush: the background thread writes within 100 ms
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stdout.close()  # type: ignore[union-attr]
        run = self.only_run()
        m = read_manifest(run)
        self.assertEqual((m["status"], m["endedAt"], m["pid"]), ("running", None, proc.pid))
        events = read_events(run)  # asserts that the file ends with a complete line
        self.assertEqual([e["s"] for e in events], list(range(1000)))


class AttachedRunTest(ExperimentTestCase):
    """Under `mllab run`: $MLLAB_RUN_DIR names a run the wrapper created; the client only appends events."""

    def setUp(self) -> None:
        super().setUp()
        self.run_dir = os.path.join(self.home, "runs", "20240101-000000-abcdef")
        os.makedirs(self.run_dir)
        self.manifest = json.dumps({"format": 1, "id": "20240101-000000-abcdef", "name": "from-cli",
                                    "status": "running"})
        with open(os.path.join(self.run_dir, "run.json"), "w", encoding="utf-8") as f:
            f.write(self.manifest)
        with open(os.path.join(self.run_dir, "events.jsonl"), "w", encoding="utf-8") as f:
            f.write('{"k":"tag","key":"wrapper","v":"yes","t":1}\n')
        os.environ[_experiments.RUN_DIR_ENV] = self.run_dir
        os.environ[_experiments.EXPERIMENT_NAME_ENV] = "from-cli"

    def environment_of_this_python(self) -> Dict[str, Any]:
        return {"runtime": {"python": __import__("platform").python_version(), "python executable": sys.executable},
                "packages": "packages.txt"}

    def test_appends_events_and_leaves_the_rest_to_the_wrapper(self) -> None:
        out = sys.stdout
        with mllab.experiment("in-script", params={"lr": 0.1}, tags={"t": "v"}) as exp:
            self.assertIs(sys.stdout, out, "no tee: the wrapper captures the output")
            self.assertEqual((exp.id, exp.dir, exp.name), ("20240101-000000-abcdef", self.run_dir, "from-cli"))
            exp.log_metric("loss", 0.5)
        self.assertIn(exp, _run_lifecycle._active)  # still open: the wrapper ends the run
        events = read_events(self.run_dir)
        self.assertEqual([(e["k"], e.get("key")) for e in events],
                         [("tag", "wrapper"), ("tag", "mllab.experiment"), ("param", "lr"), ("tag", "t"),
                          ("m", "loss")])
        # the name given to the wrapper stays; the Python that ran is recorded
        self.assertEqual(read_manifest(self.run_dir), dict(json.loads(self.manifest),
                                                           **self.environment_of_this_python()))
        self.assertEqual(sorted(os.listdir(self.run_dir)), ["events.jsonl", "packages.txt", "run.json"])
        exp.end("failed")  # only flushes
        self.assertNotIn("status", [e["k"] for e in read_events(self.run_dir)])
        self.assertEqual(read_manifest(self.run_dir)["status"], "running")

    def test_the_name_in_code_wins_over_the_wrappers_default(self) -> None:
        # Run as Experiment and `mllab run` without --name name the run after the file
        del os.environ[_experiments.EXPERIMENT_NAME_ENV]
        with open(os.path.join(self.run_dir, "run.json"), "w", encoding="utf-8") as f:
            json.dump({"format": 1, "id": "20240101-000000-abcdef", "name": "train", "status": "running",
                       "runtime": {"node": "20.0.0"}, "packages": None}, f)
        with mllab.experiment("sensor-faults") as exp:
            self.assertEqual(exp.name, "sensor-faults")
        m = read_manifest(self.run_dir)
        self.assertEqual(m["name"], "sensor-faults")
        self.assertEqual({"runtime": m["runtime"], "packages": m["packages"]}, self.environment_of_this_python())
        self.assertNotIn("mllab.experiment", [e.get("key") for e in read_events(self.run_dir)])
        with open(os.path.join(self.run_dir, "packages.txt"), encoding="utf-8") as f:
            self.assertTrue(all(re.match(r"^\S+==\S+$", line) for line in f.read().splitlines()))

    def test_no_name_in_code_keeps_the_wrappers_default(self) -> None:
        del os.environ[_experiments.EXPERIMENT_NAME_ENV]
        with mllab.experiment() as exp:
            self.assertEqual(exp.name, "from-cli")
        self.assertEqual(read_manifest(self.run_dir)["name"], "from-cli")

    def test_a_manifest_that_is_a_link_is_not_written(self) -> None:
        target = os.path.join(self.tmp, "elsewhere.json")
        os.replace(os.path.join(self.run_dir, "run.json"), target)
        os.symlink(target, os.path.join(self.run_dir, "run.json"))
        del os.environ[_experiments.EXPERIMENT_NAME_ENV]
        with mllab.experiment("renamed"):
            pass
        self.assertTrue(os.path.islink(os.path.join(self.run_dir, "run.json")))
        with open(target, encoding="utf-8") as f:
            self.assertEqual(f.read(), self.manifest)

    def test_an_exception_is_tagged_but_the_status_is_the_wrappers(self) -> None:
        with self.assertRaises(ValueError):
            with mllab.experiment() as exp:
                raise ValueError("x")
        events = read_events(self.run_dir)
        self.assertEqual([(e["k"], e.get("v")) for e in events][-1], ("tag", "ValueError: x"))
        self.assertNotIn("status", [e["k"] for e in events])
        self.assertEqual(read_manifest(self.run_dir)["status"], "running")

    def test_params_of_the_run_override_the_defaults_in_code(self) -> None:
        with open(os.path.join(self.run_dir, "run.json"), "w", encoding="utf-8") as f:
            json.dump({"format": 1, "id": "20240101-000000-abcdef", "name": "from-cli", "status": "running",
                       "params": {"lr": 0.5, "extra": "x"}}, f)
        with mllab.experiment("in-script", params={"lr": 0.1, "epochs": 3}) as exp:
            self.assertEqual(exp.params, {"lr": 0.5, "epochs": 3, "extra": "x"})
        logged = [(e["key"], e["v"]) for e in read_events(self.run_dir) if e["k"] == "param"]
        self.assertEqual(logged, [("epochs", 3)], "only defaults the run did not set are logged")

    def test_missing_run_dir(self) -> None:
        os.environ[_experiments.RUN_DIR_ENV] = os.path.join(self.tmp, "nope")
        with self.assertRaises(MLLabError) as ctx:
            mllab.experiment("x")
        self.assertEqual(ctx.exception.code, "no_run_dir")

    def test_script_under_the_wrapper(self) -> None:
        proc = self.run_script("""
            import mllab
            exp = mllab.start_experiment(params={"a": 1})
            exp.log_metric("m", 2)
            raise SystemExit(4)
        """)
        self.assertEqual(proc.returncode, 4)
        events = read_events(self.run_dir)
        self.assertEqual([e["k"] for e in events], ["tag", "param", "m"])
        self.assertEqual(read_manifest(self.run_dir)["status"], "running")


class LimitsTest(ExperimentTestCase):
    """Every value a run records is bounded (RUN_LIMITS, as src/protocol/limits.ts): long keys and
    names are refused, long values cut with a warning in the run."""

    def setUp(self) -> None:
        super().setUp()
        self.err = io.StringIO()
        patcher = mock.patch.object(sys, "__stderr__", self.err)
        patcher.start()
        self.addCleanup(patcher.stop)

    def warnings(self, exp: mllab.Experiment) -> List[str]:
        return [e["message"] for e in read_events(exp.dir) if e["k"] == "warning"]

    def test_long_param_and_tag_values_are_cut_with_a_warning(self) -> None:
        exp = self.start()
        exp.log_param("big", "p" * 50_000_000)
        exp.log_params({"nested": {"list": list(range(10_000))}, "fine": "ok"})
        exp.set_tag("note", "t" * 20_000)
        exp.set_result({"values": ["r" * 100] * 1000})
        exp.flush()
        events = read_events(exp.dir)
        params = {e["key"]: e["v"] for e in events if e["k"] == "param"}
        self.assertEqual(params["big"], "p" * 6000)
        self.assertIsInstance(params["nested"], str)
        self.assertEqual(len(params["nested"]), 6000)
        self.assertTrue(params["nested"].startswith('{"list":[0,1,2'))
        self.assertEqual(params["fine"], "ok")
        self.assertEqual([e["v"] for e in events if e["k"] == "tag"], ["t" * 8000])
        result = [e["v"] for e in events if e["k"] == "result"][0]
        self.assertEqual(len(result), 65_536)
        warnings = self.warnings(exp)
        self.assertEqual(len(warnings), 4, warnings)
        self.assertIn("the value of the param 'big' has 50000000 characters: kept its first 6000", warnings[0])
        self.assertIn("'nested'", warnings[1])
        self.assertIn("the value of the tag 'note' has 20000 characters: kept its first 8000", warnings[2])
        self.assertIn("the result has", warnings[3])
        self.assertIn("kept its first 6000", self.err.getvalue())
        with open(os.path.join(exp.dir, "events.jsonl"), "rb") as f:
            self.assertTrue(all(len(line) < RUN_LINE_BYTES for line in f))

    def test_long_keys_and_names_are_refused(self) -> None:
        exp = self.start()
        long = "k" * 251
        calls = [
            lambda: exp.log_param(long, 1),
            lambda: exp.log_params({long: 1}),
            lambda: exp.set_tag(long, "v"),
            lambda: exp.log_metric(long, 1.0),
            lambda: exp.log_metrics({long: 1.0}),
            lambda: exp.log_input("d" * 251),
            lambda: exp.log_input("d" * 251 + ":v2"),
            lambda: exp.log_output("/" + "o" * 4096),
            lambda: exp.log_artifact(self.artifact(), name="a/" * 2100 + "x"),
            lambda: mllab.start_experiment("n" * 251, home=self.home),
            lambda: mllab.start_experiment("ok", home=self.home, params={long: 1}),
            lambda: mllab.start_experiment("ok", home=self.home, tags={long: "v"}),
        ]
        for i, call in enumerate(calls):
            with self.assertRaises(MLLabError, msg=f"call {i}") as ctx:
                call()
            self.assertRegex(str(ctx.exception), r"characters: at most (250|4096) are allowed")
        # keys at the limit are fine
        exp.log_param("k" * 250, 1)
        exp.log_metric("m" * 250, 1.0)
        exp.flush()
        kinds = [(e["k"], e.get("key")) for e in read_events(exp.dir)]
        self.assertEqual(kinds, [("param", "k" * 250), ("m", "m" * 250)])
        self.assertEqual(len(os.listdir(os.path.join(self.home, "runs"))), 1)  # refused runs leave nothing

    def test_start_params_and_tags_and_model_description_are_bounded(self) -> None:
        exp = self.start(params={"big": "p" * 7000}, tags={"t": "t" * 9000})
        manifest = read_manifest(exp.dir)
        self.assertEqual(manifest["params"]["big"], "p" * 6000)
        self.assertEqual(manifest["tags"]["t"], "t" * 8000)
        exp.log_model(self.artifact(), "m", description="d" * 70_000, tags=["x" * 300] * 1200)
        exp.flush()
        model = [e for e in read_events(exp.dir) if e["k"] == "model"][0]
        self.assertEqual(len(model["description"]), 65_536)
        self.assertEqual(len(model["tags"]), 1000)
        self.assertEqual(model["tags"][0], "x" * 250)
        self.assertEqual(len(self.warnings(exp)), 3)

    def test_limits_are_the_protocol_limits(self) -> None:
        with open(os.path.join(os.path.dirname(SRC), "src", "protocol", "limits.ts"), encoding="utf-8") as f:
            text = f.read()
        for key, value in _experiments.RUN_LIMITS.items():
            m = re.search(rf"\b{key}: ([0-9_ *]+),", text)
            self.assertIsNotNone(m, key)
            self.assertEqual(eval(m.group(1).replace("_", "")), value, key)  # noqa: S307 (digits and *)

    def artifact(self) -> str:
        path = os.path.join(self.workspace, "model.pkl")
        with open(path, "wb") as f:
            f.write(b"model")
        return path


class PrivacyTest(ExperimentTestCase):
    """Run directories are 0700 and their files 0600 whatever the umask."""

    def test_modes_with_an_open_umask(self) -> None:
        old = os.umask(0)
        self.addCleanup(os.umask, old)
        exp = self.start(params={"a": 1})
        exp.log_metric("loss", 1.0)
        exp.log_artifact(self.make("model.pkl"))
        tree = os.path.join(self.workspace, "tree")
        os.makedirs(os.path.join(tree, "sub"))
        self.make("tree/sub/f.txt")
        exp.log_artifact(tree)
        print("to stdout")
        exp.end()
        self.assertEqual(os.stat(os.path.join(self.home, "runs")).st_mode & 0o777, 0o700)
        for root, dirs, files in os.walk(exp.dir):
            self.assertEqual(os.stat(root).st_mode & 0o777, 0o700, root)
            for name in files:
                self.assertEqual(os.stat(os.path.join(root, name)).st_mode & 0o777, 0o600, name)
        self.assertIn("events.jsonl", os.listdir(exp.dir))
        self.assertIn("stdout.log", os.listdir(exp.dir))

    def test_events_file_that_is_a_link_is_not_written_through(self) -> None:
        target = os.path.join(self.workspace, "host-file")
        with open(target, "w", encoding="utf-8") as f:
            f.write("untouched\n")
        run_dir = os.path.join(self.home, "runs", "20260101-000000-abcdef")
        os.makedirs(run_dir)
        _experiments._write_json_atomic(os.path.join(run_dir, "run.json"), {"id": "x", "status": "running"})
        os.symlink(target, os.path.join(run_dir, "events.jsonl"))
        os.environ[_experiments.RUN_DIR_ENV] = run_dir
        with self.assertRaises(MLLabError):
            mllab.start_experiment("attached")
        with open(target, encoding="utf-8") as f:
            self.assertEqual(f.read(), "untouched\n")

    def make(self, rel: str) -> str:
        path = os.path.join(self.workspace, rel)
        with open(path, "w", encoding="utf-8") as f:
            f.write("x")
        return path


if __name__ == "__main__":
    unittest.main()
