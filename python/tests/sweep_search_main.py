"""Run by test_sweep_space.py with a Python that has Optuna: the sweep's samplers (python/mllab/_sweep_space.py)
on functions, no processes, printing JSON. `spaces METHOD`: the params of 300 trials of a space with a
log, an int and a conditional param. `race`: trials each method needs to reach f < 0.1 on a quadratic."""

from __future__ import annotations

import json
import sys

import support  # noqa: F401 (puts the package under test on sys.path)
import optuna

from mllab import _sweep_space as space

optuna.logging.set_verbosity(optuna.logging.WARNING)

SPACE = {
    "lr": {"type": "float", "min": 1e-5, "max": 1.0, "log": True},
    "layers": {"type": "int", "min": 2, "max": 10, "step": 2},
    "units": {"type": "int", "min": 1, "max": 1024, "log": True},
    "optimizer": {"type": "choice", "values": ["sgd", "adam"]},
    "momentum": {"type": "float", "min": 0.0, "max": 0.99, "when": {"optimizer": "sgd"}},
}

QUADRATIC = {"x": {"type": "float", "min": -5, "max": 5}, "y": {"type": "float", "min": -5, "max": 5}}


def quadratic(p):
    return (p["x"] - 1.3) ** 2 + (p["y"] + 0.7) ** 2


def study_of(method, seed, params):
    return optuna.create_study(sampler=space.sampler(optuna, {"method": method, "seed": seed, "params": params}),
                               direction="minimize")


def spaces(method):
    study = study_of(method, 7, SPACE)
    out = []
    for _ in range(300):
        trial = study.ask()
        p = space.suggest(trial, SPACE)
        out.append(p)
        study.tell(trial, abs(p.get("momentum", 0.5) - 0.5) + p["lr"])
    return out


def trials_to_reach(method, seed, target=0.1, most=300):
    study = study_of(method, seed, QUADRATIC)
    for n in range(1, most + 1):
        trial = study.ask()
        value = quadratic(space.suggest(trial, QUADRATIC))
        study.tell(trial, value)
        if value < target:
            return n
    return most


if __name__ == "__main__":
    if sys.argv[1] == "spaces":
        print(json.dumps(spaces(sys.argv[2])))
    else:
        print(json.dumps({m: [trials_to_reach(m, seed) for seed in range(20)] for m in ("tpe", "random")}))
