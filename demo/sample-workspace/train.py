"""A small, dependency-free training script to try ML Lab's experiment tracking.

Fits a logistic regression that predicts `label == "fault"` from temperature and vibration in
data/sensor-readings.csv with plain gradient descent, logging the loss and accuracy per epoch.
Run it with "ML Lab: Run as Experiment" (params come from params.yaml next to this file).
"""
import csv
import math
import os

import mllab

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "sensor-readings.csv")


def load():
    with open(DATA, newline="") as f:
        rows = list(csv.DictReader(f))
    xs = [((float(r["temperature"]) - 65) / 10, (float(r["vibration"]) - 0.5) / 0.3) for r in rows]
    ys = [1.0 if r["label"] == "fault" else 0.0 for r in rows]
    return xs, ys


with mllab.experiment("sensor-faults", params={"lr": 0.5, "epochs": 30}) as exp:
    lr, epochs = float(exp.params["lr"]), int(exp.params["epochs"])
    xs, ys = load()
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
    print(f"accuracy {correct / n:.3f} after {epochs} epochs")
