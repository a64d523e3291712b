"""exp.log_model: the model file is copied into the run and a `model` event is recorded for the backend."""

from __future__ import annotations

import json
import os
import unittest
from typing import Any, Dict, List

import support  # noqa: F401  (puts the package on sys.path)
import mllab
from mllab import MLLabError
from mllab import _experiments


def read_events(run_dir: str) -> List[Dict[str, Any]]:
    with open(os.path.join(run_dir, "events.jsonl"), encoding="utf-8") as f:
        return [json.loads(line) for line in f.read().splitlines()]


class LogModelTest(support.LabTestCase):
    start_backend = False

    def setUp(self) -> None:
        super().setUp()
        old = os.environ.pop(_experiments.RUN_DIR_ENV, None)
        if old is not None:
            self.addCleanup(os.environ.__setitem__, _experiments.RUN_DIR_ENV, old)
        self.model_file = os.path.join(self.tmp, "model.pkl")
        with open(self.model_file, "wb") as f:
            f.write(b"\x80\x04pickled estimator")

    def test_copies_the_file_and_records_an_artifact_then_a_model_event(self) -> None:
        with mllab.experiment("train", home=self.home) as exp:
            copy = exp.log_model(self.model_file, "iris", description="logistic regression", tags=["sklearn", 1])
        self.assertEqual(copy, os.path.join(exp.dir, "artifacts", "model.pkl"))
        with open(copy, "rb") as f:
            self.assertEqual(f.read(), b"\x80\x04pickled estimator")
        events = [e for e in read_events(exp.dir) if e["k"] in ("artifact", "model")]
        self.assertEqual([e["k"] for e in events], ["artifact", "model"])
        self.assertEqual(events[0]["path"], "artifacts/model.pkl")
        model = events[1]
        self.assertIsInstance(model.pop("t"), int)
        self.assertEqual(model, {"k": "model", "name": "iris", "path": "artifacts/model.pkl", "entryPoint": None,
                                 "description": "logistic regression", "tags": ["sklearn", "1"]})

    def test_records_an_entry_point(self) -> None:
        with mllab.experiment("train", home=self.home) as exp:
            exp.log_model(self.model_file, "custom", entry_point="predictor:predict")
        model = [e for e in read_events(exp.dir) if e["k"] == "model"][0]
        self.assertEqual(model["entryPoint"], "predictor:predict")

    def test_refuses_bad_input_with_a_message(self) -> None:
        with mllab.experiment("train", home=self.home) as exp:
            cases = [
                ((self.model_file, ""), "give the model a name"),
                ((self.model_file, "a/b"), "is not valid"),
                ((self.model_file, "x" * 65), "is not valid"),
                ((self.model_file, "ends."), "is not valid"),
                ((os.path.join(self.tmp, "missing.pkl"), "m"), "no model file"),
                ((self.tmp, "m"), "one file"),
            ]
            for args, message in cases:
                with self.subTest(args=args):
                    with self.assertRaises(MLLabError) as caught:
                        exp.log_model(*args)
                    self.assertIn(message, str(caught.exception))
            with self.assertRaises(MLLabError) as caught:
                exp.log_model(self.model_file, "m", entry_point="not an entry point")
            self.assertEqual(caught.exception.code, "invalid_entry_point")
        self.assertEqual([e for e in read_events(exp.dir) if e["k"] in ("artifact", "model")], [])

    def test_appends_to_the_run_of_mllab_run_or_a_job(self) -> None:
        # a job's container or `mllab run` names the run directory through MLLAB_RUN_DIR
        with mllab.experiment("owner", home=self.home) as owner:
            os.environ[_experiments.RUN_DIR_ENV] = owner.dir
            self.addCleanup(os.environ.pop, _experiments.RUN_DIR_ENV, None)
            with mllab.experiment(home=self.home) as attached:
                attached.log_model(self.model_file, "iris")
            self.assertEqual(attached.dir, owner.dir)
        self.assertEqual([e["name"] for e in read_events(owner.dir) if e["k"] == "model"], ["iris"])


if __name__ == "__main__":
    unittest.main()
