"""The sweep controller (python/mllab/_sweep_controller.py) against real processes, files and Optuna:
a grid runs exactly its grid, at most N trials run at once, a pruner stops the bad trials of a
synthetic curve, a controller killed with SIGKILL mid-sweep resumes without a trial repeated or lost,
and bad input (a metric never logged, a script that always fails) stops the sweep with what to do."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import tempfile
import unittest

import support  # noqa: F401 (puts the package under test on sys.path)
from sweep_support import (PYTHON_DIR, definition, optuna_python, read_pid, run_controller, runs,
                           start_controller, status, wait_for, write_script, write_sweep)


class SweepControllerTest(unittest.TestCase):
    def setUp(self) -> None:
        self.tmp = tempfile.TemporaryDirectory()
        self.home = os.path.join(self.tmp.name, ".mllab")
        self.work = os.path.join(self.tmp.name, "work")
        os.makedirs(self.home)
        os.makedirs(self.work)

    def tearDown(self) -> None:
        self.tmp.cleanup()

    def test_grid_runs_exactly_the_grid_each_trial_a_tagged_run_with_its_params(self) -> None:
        write_script(self.work, 'exp.log_metric("loss", p["x"] * 10 + len(p["opt"]))')
        params = {"x": {"type": "int", "min": 1, "max": 3}, "opt": {"type": "choice", "values": ["sgd", "adam"]}}
        write_sweep(self.home, "g", definition(self.work, method="grid", params=params, trials=6, parallel=2))
        s = run_controller(self.home, "g")
        self.assertEqual(s["state"], "finished")
        seen = sorted((t["params"]["x"], t["params"]["opt"]) for t in s["trials"])
        self.assertEqual(seen, sorted(itertools.product([1, 2, 3], ["sgd", "adam"])))
        self.assertTrue(all(t["state"] == "completed" for t in s["trials"]))
        by_run = {r["id"]: r for r in runs(self.home)}
        self.assertEqual(len(by_run), 6)
        for t in s["trials"]:
            run = by_run[t["runId"]]
            self.assertEqual(run["params"], t["params"])
            self.assertEqual(run["tags"], {"mllab.sweep": "g", "mllab.sweep.trial": str(t["number"])})
            self.assertEqual((run["status"], run["exitCode"]), ("completed", 0))
            self.assertEqual(t["value"], t["params"]["x"] * 10 + len(t["params"]["opt"]))

    def test_parallel_trials_never_exceed_n(self) -> None:
        # each trial notes its start and end; the first two wait until another runs beside them, so a
        # controller that runs fewer than N at once would be seen too (and no sleep decides it)
        log = os.path.join(self.work, "log")
        write_script(self.work, f'''
with open({log!r}, "a") as f:
    f.write(f"start {{os.getpid()}}\\n")
if int(os.environ["MLLAB_EXPERIMENT_NAME"].rsplit("-", 1)[1]) < 2:
    deadline = time.time() + 20
    while open({log!r}).read().count("start") < 2 and time.time() < deadline:
        time.sleep(0.01)
exp.log_metric("loss", p["x"])
with open({log!r}, "a") as f:
    f.write(f"end {{os.getpid()}}\\n")
''')
        write_sweep(self.home, "p", definition(self.work, trials=7, parallel=2))
        s = run_controller(self.home, "p")
        self.assertEqual(s["state"], "finished")
        self.assertEqual(len(s["trials"]), 7)
        running, most = 0, 0
        with open(log) as f:
            for line in f:
                running += 1 if line.startswith("start") else -1
                most = max(most, running)
        self.assertEqual(most, 2, "two ran at once, never three")

    def test_median_pruner_stops_the_bad_trials_of_a_synthetic_curve(self) -> None:
        # loss = slope / (step + 1): a higher slope is worse at every step; trials whose slope is
        # above the median of the earlier ones are stopped early, the others run their 30 steps
        write_script(self.work, '''
for step in range(30):
    exp.log_metric("loss", p["slope"] / (step + 1), step=step)
    exp.flush() if hasattr(exp, "flush") else None
    time.sleep(0.02)
''')
        params = {"slope": {"type": "choice", "values": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]}}
        write_sweep(self.home, "m", definition(self.work, method="grid", params=params, trials=10, seed=3,
                                               earlyStop={"type": "median", "startupTrials": 2,
                                                          "warmupSteps": 2}))
        s = run_controller(self.home, "m")
        self.assertEqual(s["state"], "finished")
        pruned = [t for t in s["trials"] if t["state"] == "pruned"]
        completed = [t for t in s["trials"] if t["state"] == "completed"]
        self.assertTrue(pruned, "bad trials were pruned")
        for t in pruned:
            self.assertGreaterEqual(t["prunedStep"], 2, "not within the warm-up steps")
            self.assertLess(t["prunedStep"], 29, "stopped before its end")
            self.assertIn("median rule: loss", t["reason"])
            self.assertGreater(t["params"]["slope"], min(c["params"]["slope"] for c in completed))
            run = next(r for r in runs(self.home) if r["id"] == t["runId"])
            self.assertEqual(run["status"], "interrupted")
            self.assertIn(f"step {t['prunedStep']}", run["tags"]["mllab.sweep.pruned"])
        best = min(completed, key=lambda t: t["value"])
        self.assertEqual(best["params"]["slope"], 1)

    def test_successive_halving_stops_the_bad_trials_at_its_rungs(self) -> None:
        write_script(self.work, '''
for step in range(12):
    exp.log_metric("loss", p["slope"] / (step + 1), step=step)
    time.sleep(0.02)
''')
        params = {"slope": {"type": "choice", "values": [1, 2, 3, 4, 5, 6, 7, 8, 9]}}
        write_sweep(self.home, "h", definition(self.work, method="grid", params=params, trials=9, seed=5,
                                               earlyStop={"type": "successiveHalving", "minResource": 1,
                                                          "reductionFactor": 3}))
        s = run_controller(self.home, "h")
        self.assertEqual(s["state"], "finished")
        pruned = [t for t in s["trials"] if t["state"] == "pruned"]
        self.assertTrue(pruned, "bad trials were pruned")
        for t in pruned:
            self.assertIn("successive halving: loss", t["reason"])
            self.assertIn(t["prunedStep"], [1, 3, 9], "at a rung: min resource 1, reduction factor 3")
        self.assertNotIn(1, [t["params"]["slope"] for t in pruned], "the best trial is never pruned")

    def test_without_optuna_the_controller_says_how_to_install_it(self) -> None:
        write_script(self.work, 'exp.log_metric("loss", 1)')
        write_sweep(self.home, "o", definition(self.work))
        # -S: no site-packages, so no Optuna, whatever this machine has installed
        r = subprocess.run([optuna_python(), "-S", "-m", "mllab", "sweep-controller", "--home", self.home,
                            "--sweep", "o"], env=dict(os.environ, PYTHONPATH=PYTHON_DIR), capture_output=True,
                           text=True)
        self.assertEqual(r.returncode, 3)
        self.assertIn("sudo apt install python3-optuna", r.stderr)
        s = status(self.home, "o")
        self.assertEqual(s["state"], "failed")
        self.assertIn("Optuna is not installed for this Python", s["message"])
        self.assertIn("`pip install optuna`", s["message"])

    def test_killed_controller_resumes_with_no_trial_repeated_or_lost(self) -> None:
        write_script(self.work, '''
for step in range(5):
    exp.log_metric("loss", p["x"] + step)
    time.sleep(0.05)
''')
        write_sweep(self.home, "k", definition(self.work, trials=8, parallel=2))
        first = start_controller(self.home, "k")
        # killed while trials run and some have ended
        wait_for(lambda: os.path.exists(os.path.join(self.home, "sweeps", "k", "status.json")) and
                 sum(t["state"] != "running" for t in status(self.home, "k")["trials"]) >= 3 and
                 any(t["state"] == "running" for t in status(self.home, "k")["trials"]), what="3 trials ended")
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
        first.stderr.close()
        self.assertEqual(read_pid(os.path.join(self.home, "sweeps", "k", "controller.lock")), first.pid)
        s = run_controller(self.home, "k")
        self.assertEqual(s["state"], "finished")
        numbers = sorted(t["number"] for t in s["trials"])
        self.assertEqual(numbers, list(range(8)), "each trial once")
        self.assertTrue(all(t["state"] == "completed" for t in s["trials"]), s["trials"])
        run_ids = [t["runId"] for t in s["trials"]]
        self.assertEqual(len(set(run_ids)), 8)
        self.assertEqual(sorted(r["id"] for r in runs(self.home)), sorted(run_ids), "one run per trial, no other")
        for r in runs(self.home):
            self.assertEqual(r["status"], "completed")

    def test_a_metric_never_logged_stops_the_sweep_after_the_first_trial(self) -> None:
        write_script(self.work, 'exp.log_metric("accuracy", 0.5)')
        write_sweep(self.home, "n", definition(self.work, trials=20))
        s = run_controller(self.home, "n")
        self.assertEqual(s["state"], "failed")
        self.assertEqual(len(s["trials"]), 1, "said after the first trial")
        self.assertIn('The metric "loss" was never logged', s["message"])
        self.assertIn('exp.log_metric("loss", value)', s["message"])

    def test_a_script_that_always_fails_stops_after_max_failures(self) -> None:
        write_script(self.work, 'raise SystemExit("cannot open data.csv")')
        write_sweep(self.home, "f", definition(self.work, trials=20, maxFailures=3))
        s = run_controller(self.home, "f")
        self.assertEqual(s["state"], "failed")
        self.assertEqual([t["state"] for t in s["trials"]], ["failed"] * 3)
        self.assertIn("3 trials failed in a row", s["message"])
        self.assertIn("cannot open data.csv", s["message"])
        self.assertTrue(all("exited with code 1" in t["reason"] for t in s["trials"]))

    def test_stop_ends_running_trials_and_a_resumed_sweep_goes_on(self) -> None:
        write_script(self.work, '''
exp.log_metric("loss", p["x"])
time.sleep(float(os.environ.get("TRIAL_SLEEP", "30")) if int(os.environ["MLLAB_EXPERIMENT_NAME"].rsplit("-", 1)[1]) == 0 else 0)
''')
        folder = write_sweep(self.home, "s", definition(self.work, trials=3))
        proc = start_controller(self.home, "s")
        wait_for(lambda: os.path.exists(os.path.join(folder, "status.json")) and
                 status(self.home, "s")["trials"], what="the first trial")
        with open(os.path.join(folder, "control.json"), "w") as f:
            json.dump({"state": "stopped", "trials": 3}, f)
        self.assertEqual(proc.wait(timeout=30), 0)
        proc.stderr.close()
        s = status(self.home, "s")
        self.assertEqual(s["state"], "stopped")
        self.assertEqual([(t["state"], t["reason"]) for t in s["trials"]], [("failed", "stopped with the sweep")])
        with open(os.path.join(folder, "control.json"), "w") as f:
            json.dump({"state": "running", "trials": 4}, f)
        s = run_controller(self.home, "s")
        self.assertEqual(s["state"], "finished")
        self.assertEqual([t["state"] for t in s["trials"]], ["failed", "completed", "completed", "completed"])


if __name__ == "__main__":
    unittest.main()
