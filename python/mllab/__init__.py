"""ML Lab client for Python: datasets and experiments of an ML Lab lab home.

Standard library only. It talks to the lab home's backend process over HTTP on
127.0.0.1 (starting one when none runs and the lab home says how)::

    import mllab

    csv_path = mllab.dataset("churn")            # latest version of a single file
    folder = mllab.dataset("images:v3")          # version 3 of a package, unpacked once
    version = mllab.add_dataset("data/raw", name="images", tags=["raw"])
    for d in mllab.datasets():
        print(d["name"], [v["version"] for v in d["versions"]])

The lab home is the ``home`` argument, else ``$MLLAB_HOME``, else the first ``.mllab``
folder found walking up from the working directory.

Experiments write a run directory under ``<home>/runs/`` and need no backend::

    with mllab.experiment("baseline", params={"lr": 0.01}) as exp:
        for step in range(100):
            exp.log_metric("loss", 1 / (step + 1))

With ``MLLAB_URL`` and ``MLLAB_TOKEN`` set (``MLLAB_CA_FILE`` for a self-signed lab), a run is
written to a local journal (``MLLAB_LOCAL_RUNS``, default ``~/.cache/mllab/runs``) and sent to that
lab by a background thread; ``python -m mllab sync`` sends what a run's end could not.

``mllab.sweep("sweep.yaml")`` runs a parameter sweep (each trial a run; docs/SWEEPS.md) and returns
its trials and best one.

Every error is an
:class:`MLLabError` whose message says what to do.
"""

from ._datasets import add_dataset, dataset, datasets
from ._errors import MLLabError
from ._experiments import Experiment, experiment, start_experiment
from ._sweep_client import sweep

__version__ = "0.1.0"

__all__ = ["Experiment", "MLLabError", "__version__", "add_dataset", "dataset", "datasets", "experiment",
           "start_experiment", "sweep"]
