#!/usr/bin/python3
"""Make the bundled fraud-detection example: two logistic-regression versions as ONNX
files, their metrics, and reference / current / drifted CSV samples.

Run once with Debian's python3-onnx, python3-sklearn and python3-numpy
(`/usr/bin/python3 examples/fraud/make_model.py`); the outputs are committed, so
nothing here is a runtime dependency. Seeded: the same bytes every run.
"""
import json
import os

import numpy as np
import onnx
from onnx import TensorProto, helper
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score, roc_auc_score

HERE = os.path.dirname(os.path.abspath(__file__))
FEATURES = [
    "amount", "hour", "merchant_risk", "distance_km", "account_age_days",
    "tx_last_24h", "avg_amount_30d", "card_present", "foreign", "velocity",
]


def make_data(rng, n, shift=0.0):
    x = np.column_stack([
        rng.lognormal(3.5, 1.0, n) * (1 + shift),      # amount
        rng.integers(0, 24, n).astype(float),           # hour
        rng.beta(2, 5, n),                              # merchant_risk
        rng.exponential(20.0, n),                       # distance_km
        rng.gamma(2.0, 300.0, n),                       # account_age_days
        rng.poisson(3, n).astype(float),                # tx_last_24h
        rng.lognormal(3.4, 0.8, n),                     # avg_amount_30d
        rng.integers(0, 2, n).astype(float),            # card_present
        (rng.random(n) < 0.1).astype(float),            # foreign
        rng.normal(0.0, 1.0, n) + shift * 2,            # velocity
    ])
    z = (0.012 * (x[:, 0] - x[:, 6]) + 3.0 * x[:, 2] + 0.02 * x[:, 3] - 0.002 * x[:, 4]
         + 0.3 * x[:, 5] - 1.2 * x[:, 7] + 1.5 * x[:, 8] + 0.8 * x[:, 9] - 3.0)
    p = 1 / (1 + np.exp(-z))
    y = (rng.random(n) < p).astype(int)
    return x.astype(np.float32), y


def to_onnx(clf, mean, scale, name, doc):
    """features [N,10] -> standardise -> linear -> softmax probabilities [N,2], argmax label [N]."""
    w = (clf.coef_[0] / scale).astype(np.float32)
    b = np.float32(clf.intercept_[0] - np.sum(clf.coef_[0] * mean / scale))
    weights = np.stack([-w / 2, w / 2], axis=1).astype(np.float32)   # softmax of [-z/2, z/2] = sigmoid(z)
    bias = np.array([-b / 2, b / 2], dtype=np.float32)
    nodes = [
        helper.make_node("MatMul", ["features", "W"], ["xw"]),
        helper.make_node("Add", ["xw", "B"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1),
        helper.make_node("ArgMax", ["probabilities"], ["label"], axis=1, keepdims=0),
    ]
    graph = helper.make_graph(
        nodes, name,
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", len(FEATURES)])],
        [helper.make_tensor_value_info("label", TensorProto.INT64, ["batch"]),
         helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", 2])],
        [helper.make_tensor("W", TensorProto.FLOAT, weights.shape, weights.flatten()),
         helper.make_tensor("B", TensorProto.FLOAT, bias.shape, bias)],
    )
    model = helper.make_model(graph, producer_name="mlops-example", doc_string=doc,
                              opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def metrics(clf, mean, scale, x, y):
    xs = (x - mean) / scale
    pred = clf.predict(xs)
    prob = clf.predict_proba(xs)[:, 1]
    return {
        "accuracy": round(float(accuracy_score(y, pred)), 4),
        "precision": round(float(precision_score(y, pred, zero_division=0)), 4),
        "recall": round(float(recall_score(y, pred)), 4),
        "f1_score": round(float(f1_score(y, pred)), 4),
        "auc_roc": round(float(roc_auc_score(y, prob)), 4),
    }


def write_csv(path, x):
    np.savetxt(path, x, delimiter=",", header=",".join(FEATURES), comments="", fmt="%.6g")


def main():
    rng = np.random.default_rng(20261125)
    x_train, y_train = make_data(rng, 20000)
    x_test, y_test = make_data(rng, 5000)
    mean, scale = x_train.mean(axis=0), x_train.std(axis=0)
    xs = (x_train - mean) / scale
    for version, kwargs in (("v1", {"C": 0.001, "max_iter": 200}), ("v2", {"C": 1.0, "max_iter": 500})):
        clf = LogisticRegression(**kwargs).fit(xs, y_train)
        model = to_onnx(clf, mean, scale, f"fraud_{version}", f"fraud detector {version}")
        onnx.save(model, os.path.join(HERE, f"fraud-{version}.onnx"))
        with open(os.path.join(HERE, f"metrics-{version}.json"), "w") as f:
            json.dump(metrics(clf, mean, scale, x_test, y_test), f, indent=2)
            f.write("\n")
    write_csv(os.path.join(HERE, "reference.csv"), x_train[:2000])
    write_csv(os.path.join(HERE, "current.csv"), make_data(rng, 2000)[0])
    write_csv(os.path.join(HERE, "drifted.csv"), make_data(rng, 2000, shift=0.3)[0])
    # Live traffic with its ground truth, for the demo's A/B test and feedback.
    x_live, y_live = make_data(rng, 600)
    np.savetxt(os.path.join(HERE, "traffic.csv"), np.column_stack([x_live, y_live]), delimiter=",",
               header=",".join(FEATURES + ["is_fraud"]), comments="", fmt="%.6g")


if __name__ == "__main__":
    main()
