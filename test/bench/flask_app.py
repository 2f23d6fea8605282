"""The design document's baseline server, for test/bench/serve.bench.mjs to compare with.

Flask under gunicorn (2 sync workers), one row per POST /predict. Debian has no
onnxruntime for Python, so this serves the same logistic regression with numpy: the
weights and bias are read from the ONNX file's initializers with python3-onnx, and the
graph (MatMul, Add, Softmax, ArgMax) is evaluated by hand. That is, if anything, faster
than an onnxruntime session call per request, so the comparison favours the baseline.

Run: MODEL=examples/fraud/fraud-v1.onnx gunicorn -w 2 -b 127.0.0.1:8001 --chdir test/bench flask_app:app
(Debian packages: python3-flask gunicorn python3-onnx python3-numpy)
"""
import os
import uuid
from datetime import datetime, timezone

import numpy as np
import onnx
from flask import Flask, jsonify, request
from onnx import numpy_helper

MODEL = os.environ.get("MODEL", os.path.join(os.path.dirname(__file__), "..", "..", "examples", "fraud", "fraud-v1.onnx"))
_graph = onnx.load(MODEL).graph
_init = {t.name: numpy_helper.to_array(t) for t in _graph.initializer}
W = _init["W"].astype(np.float32)
B = _init["B"].astype(np.float32)
WIDTH = W.shape[0]

app = Flask(__name__)


@app.route("/predict", methods=["POST"])
def predict():
    body = request.get_json(force=True)
    x = np.asarray(body["features"], dtype=np.float32).reshape(1, WIDTH)
    logits = x @ W + B
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    label = int(p.argmax(axis=1)[0])
    return jsonify(
        prediction=label,
        probability=float(p[0, 1]),
        model="fraud",
        version="v1.0.0",
        request_id=str(uuid.uuid4()),
        timestamp=datetime.now(timezone.utc).isoformat(),
    )


@app.route("/healthz")
def healthz():
    return jsonify(status="ok")
