"""ML Lab model server: serves predictions of one model file over HTTP.

Standard library only (plus joblib or pickle for scikit-learn estimators, when installed).
Environment:

    MODEL_PATH         the model file (mounted read-only)
    MODEL_ENTRY_POINT  optional ``module:function``: a ``predict(inputs)`` function to call instead
                       of unpickling the file (the module is looked up next to the model file, then
                       on sys.path; it can read the model file from $MODEL_PATH)
    MODEL_NAME, MODEL_VERSION  shown by /info
    PORT               default 8080

Routes:

    GET  /health       200 once the model is loaded; 503 while loading, or with the loader's error
    GET  /info         the model, its loader and what it expects
    POST /predict      {"inputs": rows} or {"instances": rows} or rows -> {"predictions": [...]}
    POST /invocations  MLflow's formats: dataframe_split, dataframe_records, instances, inputs

A request the model cannot take (wrong number of features, rows of different lengths, not JSON)
answers 400 with the reason.
"""

import importlib
import importlib.util
import json
import os
import pickle
import signal
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List, Optional, Tuple

MAX_BODY_BYTES = 64 * 1024 * 1024


class BadInput(Exception):
    """The request cannot be predicted on: answered with 400 and this message."""


class Model:
    """The loaded model (or the loader's error), loaded once in the background."""

    def __init__(self, path: str, entry_point: Optional[str]) -> None:
        self.path = path
        self.entry_point = entry_point
        self.state = "loading"
        self.error: Optional[str] = None
        self.predict_fn: Any = None
        self.estimator: Any = None
        self.loaded_in_ms: Optional[float] = None

    def load(self) -> None:
        start = time.perf_counter()
        try:
            if self.entry_point:
                self.predict_fn = _load_entry_point(self.entry_point, self.path)
            else:
                self.estimator = _load_pickle(self.path)
                if not callable(getattr(self.estimator, "predict", None)):
                    raise TypeError(f"the unpickled object ({type(self.estimator).__name__}) has no predict() method: "
                                    "register a scikit-learn estimator, or give a predict(inputs) entry point")
            self.loaded_in_ms = round((time.perf_counter() - start) * 1000, 1)
            self.state = "ready"
            log(f"loaded {self.path} in {self.loaded_in_ms} ms ({self.kind()})")
        except BaseException as e:  # noqa: B902 - any loader failure, even SystemExit from user code
            self.error = f"{type(e).__name__}: {e}"
            self.state = "failed"
            log(f"cannot load the model {self.path}: {self.error}")
            traceback.print_exc(file=sys.stderr)

    def kind(self) -> str:
        if self.entry_point:
            return f"entry point {self.entry_point}"
        return f"{type(self.estimator).__module__}.{type(self.estimator).__name__}" if self.estimator is not None else ""

    def n_features(self) -> Optional[int]:
        n = getattr(self.estimator, "n_features_in_", None)
        return int(n) if isinstance(n, int) or (n is not None and hasattr(n, "__int__")) else None

    def feature_names(self) -> Optional[List[str]]:
        names = getattr(self.estimator, "feature_names_in_", None)
        return [str(n) for n in names] if names is not None else None

    def predict(self, rows: Any) -> List[Any]:
        if self.predict_fn is not None:
            return _jsonable(self.predict_fn(rows))
        n = self.n_features()
        if n is not None:
            for i, row in enumerate(rows):
                if len(row) != n:
                    raise BadInput(f"row {i} has {len(row)} values, but the model expects {n} features per row")
        try:
            return _jsonable(self.estimator.predict(rows))
        except (ValueError, TypeError) as e:
            raise BadInput(f"the model cannot predict on this input: {e}") from e


def log(message: str) -> None:
    sys.stderr.write(f"model-server: {message}\n")
    sys.stderr.flush()


def _load_pickle(path: str) -> Any:
    try:
        import joblib  # type: ignore[import-not-found]
    except ImportError:
        joblib = None
    if joblib is not None:
        return joblib.load(path)
    with open(path, "rb") as f:
        return pickle.load(f)


def _load_entry_point(entry_point: str, path: str) -> Any:
    module_name, _, function = entry_point.partition(":")
    folder = os.path.dirname(path)
    stem = os.path.splitext(os.path.basename(path))[0]
    if path.endswith(".py") and stem == module_name:
        # the registered model file is the module itself
        spec = importlib.util.spec_from_file_location(module_name, path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot import {path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
    else:
        sys.path.insert(0, folder)
        module = importlib.import_module(module_name)
    fn = getattr(module, function, None)
    if not callable(fn):
        raise AttributeError(f"the module {module_name} has no function {function}(inputs)")
    return fn


def _jsonable(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if hasattr(value, "item"):
        return value.item()
    return value


def _rows(value: Any, what: str, columns: Optional[List[str]] = None) -> List[List[Any]]:
    """A list of rows (lists of the same length) from lists or records ({column: value})."""
    if not isinstance(value, list) or not value:
        raise BadInput(f"{what} must be a non-empty list of rows, e.g. [[5.1, 3.5, 1.4, 0.2]]")
    if all(isinstance(r, dict) for r in value):
        names = columns or list(value[0].keys())
        missing = [c for c in names if c not in value[0]]
        if missing:
            raise BadInput(f"{what}: the records lack the columns {missing}")
        value = [[r.get(c) for c in names] for r in value]
    elif all(not isinstance(r, (list, dict)) for r in value):
        value = [value]  # one row
    if not all(isinstance(r, list) for r in value):
        raise BadInput(f"{what} mixes rows of different kinds: send a list of lists or a list of records")
    width = len(value[0])
    for i, r in enumerate(value):
        if len(r) != width:
            raise BadInput(f"{what}: row {i} has {len(r)} values but row 0 has {width}: every row needs the same length")
        for v in r:
            if isinstance(v, (list, dict)):
                raise BadInput(f"{what}: row {i} holds a nested value; each row must be a flat list of values")
    return value


def parse_invocation(body: Any, feature_names: Optional[List[str]]) -> List[List[Any]]:
    """MLflow's scoring formats."""
    if not isinstance(body, dict):
        raise BadInput('send a JSON object with one of "dataframe_split", "dataframe_records", "instances", "inputs"')
    keys = [k for k in ("dataframe_split", "dataframe_records", "instances", "inputs") if k in body]
    if len(keys) != 1:
        raise BadInput('send exactly one of "dataframe_split", "dataframe_records", "instances", "inputs"')
    key = keys[0]
    value = body[key]
    if key == "dataframe_split":
        if not isinstance(value, dict) or "data" not in value:
            raise BadInput('dataframe_split must be {"columns": [...], "data": [[...], ...]}')
        rows = _rows(value["data"], "dataframe_split.data")
        columns = value.get("columns")
        if columns is not None:
            if not isinstance(columns, list) or len(columns) != len(rows[0]):
                raise BadInput(f"dataframe_split has {len(columns) if isinstance(columns, list) else 0} columns "
                               f"but its rows have {len(rows[0])} values")
            if feature_names:
                missing = [c for c in feature_names if c not in columns]
                if missing:
                    raise BadInput(f"dataframe_split lacks the columns {missing}")
                order = [columns.index(c) for c in feature_names]
                rows = [[r[i] for i in order] for r in rows]
        return rows
    if key == "dataframe_records":
        return _rows(value, "dataframe_records", feature_names)
    return _rows(value, key, feature_names)


def parse_predict(body: Any, feature_names: Optional[List[str]]) -> List[List[Any]]:
    if isinstance(body, dict):
        for key in ("inputs", "instances"):
            if key in body:
                return _rows(body[key], key, feature_names)
        return parse_invocation(body, feature_names)
    return _rows(body, "the body", feature_names)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # headers and body go out in two writes: without TCP_NODELAY the body waits for the client's
    # delayed ACK of the headers (about 40 ms per request on Linux)
    disable_nagle_algorithm = True
    server_version = "mllab-model-server/1"
    model: Model

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass  # one line per request would cost more than a prediction

    def _send(self, status: int, value: Any) -> None:
        data = json.dumps(value).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, message: str) -> None:
        self._send(status, {"error": {"status": status, "message": message}})

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        path = self.path.split("?", 1)[0]
        m = self.model
        if path in ("/health", "/ping"):
            if m.state == "ready":
                self._send(200, {"status": "ok"})
            elif m.state == "loading":
                self._send(503, {"status": "loading"})
            else:
                self._send(503, {"status": "failed", "error": m.error})
        elif path == "/info":
            self._send(200, self.info())
        else:
            self._error(404, f"no route GET {path}: use /health, /info, POST /predict or POST /invocations")

    def info(self) -> Dict[str, Any]:
        m = self.model
        versions = {"python": sys.version.split()[0]}
        try:
            import sklearn  # type: ignore[import-not-found]

            versions["sklearn"] = sklearn.__version__
        except ImportError:
            pass
        return {
            "name": os.environ.get("MODEL_NAME"),
            "version": int(os.environ["MODEL_VERSION"]) if os.environ.get("MODEL_VERSION", "").isdigit() else None,
            "path": m.path,
            "status": m.state,
            "error": m.error,
            "loader": "entry point" if m.entry_point else "pickle",
            "entryPoint": m.entry_point,
            "modelType": m.kind(),
            "nFeatures": m.n_features(),
            "featureNames": m.feature_names(),
            "loadedInMs": m.loaded_in_ms,
            "runtime": versions,
        }

    def _body(self) -> Tuple[Optional[Any], Optional[str]]:
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            return None, "send the input as a JSON body with a Content-Length"
        n = int(length)
        if n > MAX_BODY_BYTES:
            self.rfile.read(n)
            return None, f"the body is {n} bytes; at most {MAX_BODY_BYTES} are accepted"
        raw = self.rfile.read(n)
        try:
            return json.loads(raw), None
        except ValueError as e:
            return None, f"the body is not JSON: {e}"

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        path = self.path.split("?", 1)[0]
        body, problem = self._body()
        if path not in ("/predict", "/invocations"):
            self._error(404, f"no route POST {path}: use /predict or /invocations")
            return
        if problem:
            self._error(400, problem)
            return
        m = self.model
        if m.state != "ready":
            self._error(503, "the model is still loading" if m.state == "loading" else f"the model failed to load: {m.error}")
            return
        try:
            if m.entry_point and path == "/predict":
                # an entry point gets the inputs as sent
                inputs = body.get("inputs", body.get("instances", body)) if isinstance(body, dict) else body
            else:
                inputs = (parse_predict if path == "/predict" else parse_invocation)(body, m.feature_names())
            predictions = m.predict(inputs)
        except BadInput as e:
            self._error(400, str(e))
            return
        except Exception as e:  # noqa: BLE001 - the model's own failure
            log(f"prediction failed: {type(e).__name__}: {e}")
            self._error(500, f"the model failed: {type(e).__name__}: {e}")
            return
        self._send(200, {"predictions": predictions})


def main() -> None:
    path = os.environ.get("MODEL_PATH", "/model/model.pkl")
    entry_point = os.environ.get("MODEL_ENTRY_POINT") or None
    port = int(os.environ.get("PORT", "8080"))
    model = Model(path, entry_point)
    Handler.model = model
    server = ThreadingHTTPServer(("0.0.0.0", port), Handler)
    server.daemon_threads = True

    def stop(_signum: int, _frame: Any) -> None:
        # as PID 1 of a container, SIGTERM does nothing without a handler
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    threading.Thread(target=model.load, daemon=True).start()
    log(f"listening on port {port}, loading {path}")
    server.serve_forever()


if __name__ == "__main__":
    main()
