"""A small, dependency-free training script to try ML Lab end to end.

Loads the dataset "sensor-readings" (data/sensor-readings.csv, added to the project as a dataset)
through mllab.dataset(), so the run records which version it read; fits a logistic regression that
predicts `label == "fault"` from temperature and vibration with plain gradient descent, logging the
loss and accuracy per epoch; and logs the fitted model (a small Python module with a `predict`
function) so that it is registered, versioned, traced to this run, and can be deployed as a service.

Run it with "ML Lab: Run as Experiment" (params come from params.yaml next to this file), or in a
terminal: mllab run -- python3 train.py
"""
import csv
import math
import os
import sys
import tempfile

import mllab

DATASET = "sensor-readings"

MODEL_TEMPLATE = '''"""The sensor-fault model trained by train.py: a logistic regression over two scaled features."""
import math

WEIGHTS = {weights!r}
BIAS = {bias!r}


def predict(inputs):
    """inputs: a list of {{"temperature": float, "vibration": float}}; returns one answer per input."""
    out = []
    for row in inputs:
        x1 = (float(row["temperature"]) - 65) / 10
        x2 = (float(row["vibration"]) - 0.5) / 0.3
        p = 1 / (1 + math.exp(-(WEIGHTS[0] * x1 + WEIGHTS[1] * x2 + BIAS)))
        out.append({{"label": "fault" if p > 0.5 else "ok", "p_fault": round(p, 4)}})
    return out
'''


def load():
    try:
        path = mllab.dataset(DATASET)  # the latest version; "sensor-readings:v1" would pin one
    except mllab.MLLabError as e:
        if e.code != "not_found":
            raise
        sys.exit(f"There is no dataset {DATASET!r} in the active project yet: right-click "
                 f"data/sensor-readings.csv in the Explorer, choose \"Add to ML Lab as Dataset\" and name it "
                 f"{DATASET}, then run this again. ({e})")
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    xs = [((float(r["temperature"]) - 65) / 10, (float(r["vibration"]) - 0.5) / 0.3) for r in rows]
    ys = [1.0 if r["label"] == "fault" else 0.0 for r in rows]
    return xs, ys


xs, ys = load()
with mllab.experiment("sensor-faults", params={"lr": 0.5, "epochs": 30}) as exp:
    lr, epochs = float(exp.params["lr"]), int(exp.params["epochs"])
    w = [0.0, 0.0]
    b = 0.0
    for epoch in range(epochs):
        gw, gb, loss, correct = [0.0, 0.0], 0.0, 0.0, 0
        for (x1, x2), y in zip(xs, ys):
            p = 1 / (1 + math.exp(-(w[0] * x1 + w[1] * x2 + b)))
            loss -= y * math.log(p + 1e-12) + (1 - y) * math.log(1 - p + 1e-12)
            correct += int((p > 0.5) == (y == 1.0))
            gw[0] += (p - y) * x1
            gw[1] += (p - y) * x2
            gb += p - y
        n = len(xs)
        w = [w[0] - lr * gw[0] / n, w[1] - lr * gw[1] / n]
        b -= lr * gb / n
        exp.log_metrics({"loss": loss / n, "accuracy": correct / n}, step=epoch)
    exp.set_result({"weights": w, "bias": b})
    with tempfile.TemporaryDirectory() as tmp:
        model = os.path.join(tmp, "sensor_model.py")
        with open(model, "w") as f:
            f.write(MODEL_TEMPLATE.format(weights=w, bias=b))
        exp.log_model(model, "sensor-faults", entry_point="sensor_model:predict",
                      description=f"logistic regression, lr={lr}, {epochs} epochs, accuracy {correct / n:.3f}")
    print(f"accuracy {correct / n:.3f} after {epochs} epochs; model sensor-faults logged")
