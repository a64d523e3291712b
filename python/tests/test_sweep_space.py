"""The sweep's spaces and samplers with Optuna (python/mllab/_sweep_space.py): random and TPE keep to
the spaces (log scale, int with a step, a conditional param), a grid lists every point once, and TPE
reaches the minimum of a known function in fewer trials than random search."""

from __future__ import annotations

import json
import math
import os
import statistics
import subprocess
import unittest

import support  # noqa: F401 (puts the package under test on sys.path)
from mllab import _sweep_space as space
from sweep_support import HERE, PYTHON_DIR, optuna_python


def search(*args: str):
    out = subprocess.run([optuna_python(), os.path.join(HERE, "sweep_search_main.py"), *args], check=True,
                         capture_output=True, env=dict(os.environ, PYTHONPATH=PYTHON_DIR))
    return json.loads(out.stdout)


class SweepSpaceTest(unittest.TestCase):
    def check_space(self, method: str) -> None:
        trials = search("spaces", method)
        self.assertEqual(len(trials), 300)
        for p in trials:
            self.assertTrue(1e-5 <= p["lr"] <= 1.0)
            self.assertIn(p["layers"], [2, 4, 6, 8, 10])
            self.assertIsInstance(p["units"], int)
            self.assertTrue(1 <= p["units"] <= 1024)
            self.assertEqual("momentum" in p, p["optimizer"] == "sgd", p)
            if "momentum" in p:
                self.assertTrue(0.0 <= p["momentum"] <= 0.99)
        # a log scale: as many values in each decade, where a linear scale would put 99.99% above 1e-4
        below = sum(p["lr"] < 1e-3 for p in trials)
        self.assertGreater(below, 30, "lr is sampled on a log scale")
        self.assertGreater(sum(p["units"] <= 32 for p in trials), 30, "units is sampled on a log scale")

    def test_random_keeps_to_the_spaces(self) -> None:
        self.check_space("random")

    def test_tpe_keeps_to_the_spaces(self) -> None:
        self.check_space("tpe")

    def test_cmaes_keeps_to_the_spaces(self) -> None:
        # CMA-ES samples the numbers; Optuna samples its choice and conditional params independently
        self.check_space("cmaes")

    def test_tpe_reaches_the_minimum_in_fewer_trials_than_random(self) -> None:
        # f = (x - 1.3)^2 + (y + 0.7)^2 on [-5, 5]^2, trials until f < 0.1 (at most 300), seeds 0..19.
        # Margin: TPE needs fewer trials than random with the same seed in at least 15 of 20 seeds; if
        # TPE were no better than random, that would happen with probability 0.021 (one-sided sign test).
        race = search("race")
        wins = sum(t < r for t, r in zip(race["tpe"], race["random"]))
        self.assertGreaterEqual(wins, 15, race)
        self.assertLess(statistics.median(race["tpe"]), statistics.median(race["random"]) / 2, race)

    def test_grid_values_list_each_point_once(self) -> None:
        self.assertEqual(space.grid_values({"type": "float", "min": 0.1, "max": 0.5, "step": 0.1}),
                         [0.1, 0.2, 0.3, 0.4, 0.5])
        self.assertEqual(space.grid_values({"type": "int", "min": 1, "max": 9, "step": 4}), [1, 5, 9])
        self.assertEqual(space.grid_size({"a": {"type": "choice", "values": [1, 2, 3]},
                                          "b": {"type": "int", "min": 0, "max": 3}}), 12)
        self.assertTrue(math.isclose(sum(space.grid_values({"type": "float", "min": 0, "max": 1, "step": 0.25})),
                                     2.5))


if __name__ == "__main__":
    unittest.main()
