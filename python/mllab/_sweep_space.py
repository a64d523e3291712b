"""A sweep's definition (``src/protocol/sweeps.ts`` ``SweepDefinition``, checked by the backend) as
Optuna sees it: the params one trial suggests, the grid, the sampler and the pruner.

The search itself is Optuna's (samplers and pruners); this module only translates.
"""

from __future__ import annotations

import math
from typing import Any, Dict, List, Mapping, Optional

from ._errors import MLLabError

OPTUNA_MISSING = ("Optuna is not installed for this Python ({python}): install it with "
                  "`sudo apt install python3-optuna` or `pip install optuna`, then resume the sweep.")
CMAES_MISSING = ("The method cmaes needs the cmaes module, which this Python ({python}) lacks: install it with "
                 "`sudo apt install python3-cmaes` or `pip install cmaes`, or choose tpe.")


def _holds(condition: Optional[Mapping[str, Any]], chosen: Mapping[str, Any]) -> bool:
    """Whether every param a condition names was chosen with (one of) its value(s)."""
    for name, wanted in (condition or {}).items():
        if name not in chosen:
            return False
        values = wanted if isinstance(wanted, list) else [wanted]
        if chosen[name] not in values:
            return False
    return True


def suggest(trial: Any, params: Mapping[str, Mapping[str, Any]]) -> Dict[str, Any]:
    """The params of one trial, asked of Optuna in the order written (define-by-run, so that a
    conditional param exists only when its condition holds)."""
    chosen: Dict[str, Any] = {}
    for name, space in params.items():
        if not _holds(space.get("when"), chosen):
            continue
        kind = space["type"]
        if kind == "choice":
            chosen[name] = trial.suggest_categorical(name, list(space["values"]))
        elif kind == "int":
            chosen[name] = trial.suggest_int(name, int(space["min"]), int(space["max"]),
                                             step=int(space.get("step") or 1), log=bool(space.get("log")))
        elif kind == "float":
            chosen[name] = trial.suggest_float(name, float(space["min"]), float(space["max"]),
                                               step=space.get("step"), log=bool(space.get("log")))
        else:  # the backend refuses it first; a hand-written sweep.json may not
            raise MLLabError(f"The param {name!r} has the type {kind!r}: use choice, int or float.",
                             code="invalid_sweep")
    return chosen


def grid_values(space: Mapping[str, Any]) -> List[Any]:
    """Every value a grid takes of one param (a float range needs its step)."""
    kind = space["type"]
    if kind == "choice":
        return list(space["values"])
    low, high = space["min"], space["max"]
    if kind == "int":
        return list(range(int(low), int(high) + 1, int(space.get("step") or 1)))
    step = space.get("step")
    if not step:
        raise MLLabError("A grid cannot enumerate a float range without a step: give it a step.",
                         code="invalid_sweep")
    count = int(math.floor((high - low) / step + 1e-9)) + 1
    # rounded as the step is written, so 0.1 * 3 is 0.3 and not 0.30000000000000004
    digits = max(0, -int(math.floor(math.log10(abs(step))))) + 6 if step else 6
    return [round(low + i * step, digits) for i in range(count)]


def grid_space(params: Mapping[str, Mapping[str, Any]]) -> Dict[str, List[Any]]:
    return {name: grid_values(space) for name, space in params.items()}


def grid_size(params: Mapping[str, Mapping[str, Any]]) -> int:
    size = 1
    for values in grid_space(params).values():
        size *= len(values)
    return size


def sampler(optuna: Any, definition: Mapping[str, Any]) -> Any:
    method, seed = definition["method"], definition.get("seed")
    if method == "grid":
        return _grid_sampler(optuna)(grid_space(definition["params"]), seed=seed)
    if method == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if method == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    if method == "cmaes":
        return optuna.samplers.CmaEsSampler(seed=seed)
    raise MLLabError(f"The method {method!r} is not one of grid, random, tpe, cmaes.", code="invalid_sweep")


def _grid_sampler(optuna: Any) -> Any:
    class GridSampler(optuna.samplers.GridSampler):  # type: ignore[misc,name-defined]
        """Optuna's GridSampler, whose end of the grid is the controller's to see: its own after_trial
        calls study.stop(), which Optuna refuses outside study.optimize (the controller asks and tells)."""

        def after_trial(self, study: Any, trial: Any, state: Any, values: Any) -> None:
            pass

    return GridSampler


def pruner(optuna: Any, early_stop: Optional[Mapping[str, Any]]) -> Any:
    if not early_stop:
        return optuna.pruners.NopPruner()
    kind = early_stop["type"]
    if kind == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=int(early_stop.get("startupTrials", 5)),
                                           n_warmup_steps=int(early_stop.get("warmupSteps", 0)))
    if kind == "successiveHalving":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=early_stop.get("minResource", 1),
                                                      reduction_factor=int(early_stop.get("reductionFactor", 3)))
    if kind == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=int(early_stop.get("minResource", 1)),
                                              max_resource=early_stop.get("maxResource", "auto"),
                                              reduction_factor=int(early_stop.get("reductionFactor", 3)))
    raise MLLabError(f"The early stop {kind!r} is not one of median, successiveHalving, hyperband.",
                     code="invalid_sweep")


def prune_reason(early_stop: Mapping[str, Any], metric: str, value: float, step: int) -> str:
    """Why a trial was pruned, in words (Optuna says only that it should be)."""
    kind = early_stop["type"]
    if kind == "median":
        return (f"median rule: {metric} = {value:.6g} at step {step} is worse than the median of the earlier "
                f"trials at that step")
    rule = "successive halving" if kind == "successiveHalving" else "Hyperband"
    keep = int(early_stop.get("reductionFactor", 3))
    return f"{rule}: {metric} = {value:.6g} at step {step} is not in the best 1/{keep} of the trials at that rung"
