"""ML Lab model server: serves predictions of one model file over HTTP.

Standard library only (plus joblib or pickle for scikit-learn estimators, when installed).
Environment:

    MODEL_PATH         the model file (mounted read-only)
    MODEL_ENTRY_POINT  optional ``module:function``: a ``predict(inputs)`` function (or
                       ``predict(inputs, params)``, given /invocations' params) to call instead
                       of unpickling the file (the module is looked up next to the model file, then
                       on sys.path; it can read the model file from $MODEL_PATH)
    MODEL_NAME, MODEL_VERSION  shown by /info
    PORT               default 8080

Routes:

    GET  /health       200 once the model is loaded; 503 while loading, or with the loader's error
    GET  /info         the model, its loader and what it expects
    POST /predict      ML Lab's simple format: {"inputs": rows} or {"instances": rows} or rows (a flat list
                       is one row; dataframe_split and dataframe_records work too), any Content-Type
                       -> {"predictions": [...]}; errors as {"error": {"status", "message"}}
    POST /invocations  MLflow's scoring protocol (MLflow 2.x, ``mlflow models serve``): Content-Type
                       application/json with one of dataframe_split, dataframe_records, instances, inputs
                       (and optional params), or text/csv with a header row; -> {"predictions": ...};
                       errors as MLflow's {"error_code", "message"} (plus ML Lab's "error"), 415 for a
                       content type it does not take

A request the model cannot take (wrong number of features, rows of different lengths, not JSON)
answers 400 with the reason.
"""

import csv
import importlib
import importlib.util
import inspect
import io
import json
import os
import pickle
import re
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

    def invoke(self, inv: "Invocation") -> Any:
        """MLflow's scoring: a model function gets the input in the shape sent (rows for the DataFrame
        formats and CSV, the tensor or dict of named tensors for instances and inputs, the whole body
        for an LLM payload), with ``params=`` when it declares that parameter; an estimator gets rows."""
        if self.predict_fn is None:
            if inv.params:
                log("the request's params are ignored: a pickled estimator takes none")
            return self.predict(estimator_rows(inv, self.feature_names()))
        data = inv.rows if inv.kind == "table" else inv.tensor
        if _wants_params(self.predict_fn):
            return _jsonable(self.predict_fn(data, params=inv.params), records=True)
        if inv.params:
            log("the request's params are ignored: the model's predict function has no params parameter")
        return _jsonable(self.predict_fn(data), records=True)


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


def _jsonable(value: Any, records: bool = False) -> Any:
    if records and hasattr(value, "to_dict") and hasattr(value, "columns"):
        return _jsonable(value.to_dict(orient="records"))  # a pandas DataFrame, as MLflow answers it
    if records and hasattr(value, "to_frame") and hasattr(value, "index"):
        return _jsonable(value.to_frame().to_dict(orient="records"))  # a pandas Series, likewise
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


def _predict_formats(body: Any, feature_names: Optional[List[str]]) -> List[List[Any]]:
    """MLflow's JSON formats as /predict reads them: always rows (see /invocations for MLflow's own rules)."""
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
        return _predict_formats(body, feature_names)
    return _rows(body, "the body", feature_names)


# ---- POST /invocations: MLflow's scoring protocol (mlflow.pyfunc.scoring_server, MLflow 2.x) ----
#
# Written by hand because the server stays standard-library only (it runs in any base image with a
# python3): MLflow's own server needs pandas, numpy and MLflow. Where MLflow hands the model a pandas
# DataFrame or numpy arrays, a model function here gets plain lists (rows) or the JSON as sent.

CONTENT_TYPE_CSV = "text/csv"
CONTENT_TYPE_JSON = "application/json"
CONTENT_TYPES = [CONTENT_TYPE_CSV, CONTENT_TYPE_JSON]
# MLflow's documentation names application/csv for CSV bodies, while its server takes text/csv: both work
CSV_ALIASES = {CONTENT_TYPE_CSV, "application/csv"}
INPUT_FORMATS = ("dataframe_split", "dataframe_records", "instances", "inputs")
# a body with one of these keys is MLflow's "unified LLM" payload: passed to the model as it is
LLM_KEYS = ("messages", "prompt", "input")
REQUIRED_INPUT_FORMAT = ("The input must be a JSON dictionary with exactly one of the input fields "
                         "{'dataframe_split', 'dataframe_records', 'instances', 'inputs'}")
PROTOCOL_HINT = ("Note: MLflow 2.0 dropped the 1.x request formats (Content-Type parameters such as "
                 "format=pandas-split, bare DataFrame JSON): send Content-Type: application/json with the "
                 "data wrapped in one of dataframe_split, dataframe_records, instances or inputs, or text/csv.")
# pandas.read_csv's default missing-value markers
CSV_NA_VALUES = {"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
                 "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"}
CSV_TRUE = {"True", "TRUE", "true"}
CSV_FALSE = {"False", "FALSE", "false"}
_INT = re.compile(r"\s*[+-]?\d+\s*")
_FLOAT = re.compile(r"\s*[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?|inf|infinity)\s*", re.IGNORECASE)


class InvocationError(Exception):
    """An /invocations request that fails: answered as MLflow does, {"error_code": ..., "message": ...}."""

    def __init__(self, status: int, error_code: str, message: str, stack_trace: Optional[str] = None) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code
        self.message = message
        self.stack_trace = stack_trace


class Invocation:
    """A parsed /invocations body: a table (DataFrame formats, CSV), a tensor (instances, inputs: a
    list of any rank or a dict of named tensors) or an LLM payload, and MLflow's optional params.

    A model function gets a tensor as sent (lists of different lengths too: a function is not a numpy
    array); an estimator needs a table, so estimator_rows checks the shape there."""

    def __init__(self, kind: str, source: str, *, rows: Optional[List[List[Any]]] = None,
                 columns: Optional[List[str]] = None, tensor: Any = None,
                 params: Optional[Dict[str, Any]] = None) -> None:
        self.kind = kind  # "table", "tensor" or "llm"
        self.source = source  # what the data came as, for messages
        self.rows = rows
        self.columns = columns
        self.tensor = tensor
        self.params = params


def content_type_problem(header: Optional[str]) -> Tuple[Optional[str], Optional[str]]:
    """(the media type, None) when /invocations takes `header`, else (None, the reason for a 415).

    MLflow's rules: charset must be utf-8, no other parameter is accepted, the type must be text/csv
    or application/json. Types and parameter names are compared case-insensitively (RFC 9110), and
    an empty parameter (``application/json;``, as in MLflow's own curl example) is ignored.
    """
    if header is None or not header.strip():
        return None, (f"This predictor only supports the following content types: Types: {CONTENT_TYPES}. "
                      "Got no Content-Type header.")
    parts = [p.strip() for p in header.split(";")]
    media_type = parts[0].lower()
    parameters: Dict[str, str] = {}
    for part in parts[1:]:
        if part:
            key, _, value = part.partition("=")
            parameters[key.strip().lower()] = value.strip().strip('"')
    if parameters.get("charset", "utf-8").lower() != "utf-8":
        return None, "The scoring server only supports UTF-8"
    unexpected = sorted(set(parameters) - {"charset"})
    if unexpected:
        return None, f"Unrecognized content type parameters: {', '.join(unexpected)}. {PROTOCOL_HINT}"
    if media_type in CSV_ALIASES:
        return CONTENT_TYPE_CSV, None
    if media_type == CONTENT_TYPE_JSON:
        return CONTENT_TYPE_JSON, None
    return None, f"This predictor only supports the following content types: Types: {CONTENT_TYPES}. Got '{header}'."


def _type_name(value: Any) -> str:
    return {dict: "dictionary", list: "list", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), type(value).__name__)


def _shape(value: Any, what: str, path: Tuple[int, ...] = ()) -> Tuple[int, ...]:
    """The shape of a nested list as numpy.array would make it; a ragged list is refused, naming the row."""
    if not isinstance(value, list):
        return ()
    if not any(isinstance(item, list) for item in value):
        return (len(value),)  # the common case, a row of values (or no values), without a call per value
    shapes = [_shape(item, what, path + (i,)) for i, item in enumerate(value)]
    first = shapes[0]
    for i, s in enumerate(shapes):
        if s != first:
            def where(j: int) -> str:
                p = path + (j,)
                return f"row {p[0]}" + "".join(f"[{k}]" for k in p[1:])

            if s and first and s[0] != first[0]:
                detail = f"has {s[0]} values but {where(0)} has {first[0]}"
            elif not s:
                detail = f"is a single value but {where(0)} is a list"
            elif not first:
                detail = f"is a list but {where(0)} is a single value"
            else:
                detail = f"has the shape {'x'.join(map(str, s))} but {where(0)} has {'x'.join(map(str, first))}"
            raise BadInput(f"{what}: {where(i)} {detail}: a tensor needs rows of the same shape")
    return (len(value),) + shapes[0]


def _non_empty_list(value: Any, what: str) -> List[Any]:
    if not isinstance(value, list) or not value:
        raise BadInput(f"{what} must be a non-empty list of rows, e.g. [[5.1, 3.5, 1.4, 0.2]]; got {_type_name(value)}"
                       + (" []" if value == [] else ""))
    return value


def _table_rows(data: List[Any], what: str) -> List[List[Any]]:
    """Rows of a DataFrame from lists (all the same length) or, as pandas reads them, single values (one column)."""
    if all(not isinstance(r, list) for r in data):
        return [[r] for r in data]
    if not all(isinstance(r, list) for r in data):
        raise BadInput(f"{what} mixes lists and single values: send every row as a list of values")
    width = len(data[0])
    for i, r in enumerate(data):
        if len(r) != width:
            raise BadInput(f"{what}: row {i} has {len(r)} values but row 0 has {width}: "
                           "every row needs the same length")
    return data


def _dataframe_split(value: Any, params: Optional[Dict[str, Any]]) -> Invocation:
    if not isinstance(value, dict):
        raise BadInput(f"Dataframe split format must be a dictionary. Got {_type_name(value)}.")
    keys = set(value)
    if "data" not in keys or keys - {"columns", "data", "index"}:
        raise BadInput("Dataframe split format must have 'data' field and optionally 'columns' and 'index' fields. "
                       f"Got {sorted(keys)}.")
    rows = _table_rows(_non_empty_list(value["data"], "dataframe_split.data"), "dataframe_split.data")
    columns = value.get("columns")
    if columns is not None:
        if not isinstance(columns, list) or len(columns) != len(rows[0]):
            raise BadInput(f"dataframe_split has {len(columns) if isinstance(columns, list) else 0} columns "
                           f"but its rows have {len(rows[0])} values")
        columns = [str(c) for c in columns]
        twice = sorted({c for c in columns if columns.count(c) > 1})
        if twice:
            raise BadInput(f"dataframe_split names the columns {twice} more than once")
    index = value.get("index")
    if index is not None and (not isinstance(index, list) or len(index) != len(rows)):
        raise BadInput(f"dataframe_split has {len(index) if isinstance(index, list) else 0} index labels "
                       f"but {len(rows)} rows")
    return Invocation("table", "dataframe_split", rows=rows, columns=columns, params=params)


def _dataframe_records(value: Any, params: Optional[Dict[str, Any]]) -> Invocation:
    if not isinstance(value, list):
        raise BadInput(f"Dataframe records format must be a list of records. Got {_type_name(value)}.")
    _non_empty_list(value, "dataframe_records")
    if all(isinstance(r, dict) for r in value):
        # as pandas.DataFrame(records): every name any record has, in the order first seen; a record
        # without a name has a missing value (null) there
        columns: List[str] = []
        seen = set()
        for r in value:
            for k in r:
                if k not in seen:
                    seen.add(k)
                    columns.append(k)
        return Invocation("table", "dataframe_records", rows=[[r.get(c) for c in columns] for r in value],
                          columns=columns, params=params)
    if any(isinstance(r, dict) for r in value):
        raise BadInput("dataframe_records mixes records and other values: send a list of records {name: value}")
    return Invocation("table", "dataframe_records", rows=_table_rows(value, "dataframe_records"), params=params)


def _instances(value: Any, params: Optional[Dict[str, Any]]) -> Invocation:
    if not isinstance(value, list):
        raise BadInput(f"instances must be a list of rows or of records {{name: value}}; got {_type_name(value)} "
                       "(send named tensors as inputs)")
    _non_empty_list(value, "instances")
    if isinstance(value[0], dict):
        # TF serving's row format: records become named tensors (columns), so every record needs the same names
        names = list(value[0])
        for i, r in enumerate(value):
            if not isinstance(r, dict):
                raise BadInput(f"instances: row {i} is a {_type_name(r)} but row 0 is a record: "
                               "send all rows as records")
            if set(r) != set(names):
                raise BadInput(f"instances: row {i} has the names {list(r)} but row 0 has {names}: every record "
                               "needs the same names (dataframe_records fills missing values with null)")
        tensor = {k: [r[k] for r in value] for k in names}
        return Invocation("tensor", "instances", tensor=tensor, params=params)
    return Invocation("tensor", "instances", tensor=value, params=params)


def _inputs(value: Any, params: Optional[Dict[str, Any]]) -> Invocation:
    if isinstance(value, list):
        _non_empty_list(value, "inputs")
    return Invocation("tensor", "inputs", tensor=value, params=params)


def parse_invocation_json(text: str) -> Invocation:
    """An application/json body as MLflow's scoring server reads it."""
    try:
        body = json.loads(text)
    except ValueError as e:
        raise BadInput(f"the body is not JSON: {e}") from e
    if isinstance(body, list):
        raise BadInput(f"{REQUIRED_INPUT_FORMAT}. Received a list.")
    if not isinstance(body, dict):
        raise BadInput(f"{REQUIRED_INPUT_FORMAT}. Received unexpected input type '{_type_name(body)}'.")
    if any(k in body for k in LLM_KEYS):
        return Invocation("llm", "the body", tensor=body, params={})
    keys = [k for k in INPUT_FORMATS if k in body]
    if len(keys) != 1:
        raise BadInput(f"{REQUIRED_INPUT_FORMAT}. Received dictionary with input fields: {list(body)}. {PROTOCOL_HINT}")
    params = body.get("params")
    if params is not None and not isinstance(params, dict):
        raise BadInput(f"params must be a JSON object of parameter names and values; got {_type_name(params)}")
    parse = {"dataframe_split": _dataframe_split, "dataframe_records": _dataframe_records,
             "instances": _instances, "inputs": _inputs}[keys[0]]
    return parse(body[keys[0]], params)


def _csv_column(cells: List[Optional[str]]) -> List[Any]:
    """One CSV column's values as pandas.read_csv infers them: ints, else floats (also ints with a
    missing value), else booleans, else the text; a missing value is None."""
    present = [c for c in cells if c is not None]
    if present and all(_INT.fullmatch(c) for c in present):
        if len(present) == len(cells):
            return [int(c) for c in cells]
        return [float(c) if c is not None else None for c in cells]
    if present and all(_INT.fullmatch(c) or _FLOAT.fullmatch(c) for c in present):
        return [float(c) if c is not None else None for c in cells]
    if present and all(c in CSV_TRUE or c in CSV_FALSE for c in present):
        return [(c in CSV_TRUE) if c is not None else None for c in cells]
    return cells


def parse_invocation_csv(text: str) -> Invocation:
    """A text/csv body as pandas.read_csv reads it (MLflow's CSV input): a header row of column names,
    then data rows; RFC 4180 quoting (quoted fields hold commas, quotes and line breaks)."""
    if text.startswith("\ufeff"):
        text = text[1:]
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    records: List[List[str]] = []
    lines: List[int] = []
    try:
        for record in reader:
            if record:  # pandas skips blank lines
                records.append(record)
                lines.append(reader.line_num)
    except csv.Error as e:
        raise BadInput(f"the CSV body is not valid CSV (RFC 4180) at line {reader.line_num}: {e}") from e
    if not records:
        raise BadInput("the CSV body is empty: send a header row of column names, then the rows, "
                       "as DataFrame.to_csv(index=False) writes them")
    header = records[0]
    if len(records) == 1:
        raise BadInput(f"the CSV body has only a header row ({','.join(header)}): its first line names the columns, "
                       "the rows follow it (as DataFrame.to_csv(index=False) writes them)")
    # column names as pandas makes them: "Unnamed: i" for an empty one, "a.1" for a second "a"
    columns: List[str] = []
    for i, name in enumerate(header):
        name = name or f"Unnamed: {i}"
        base, n = name, 0
        while name in columns:
            n += 1
            name = f"{base}.{n}"
        columns.append(name)
    width = len(columns)
    cells: List[List[Optional[str]]] = []
    for record, line in zip(records[1:], lines[1:]):
        if len(record) > width:
            raise BadInput(f"the CSV body has {len(record)} fields on line {line} but its header has {width}")
        padded = record + [""] * (width - len(record))  # pandas fills a short row with missing values
        cells.append([None if c in CSV_NA_VALUES else c for c in padded])
    values = [_csv_column([row[j] for row in cells]) for j in range(width)]
    rows = [[values[j][i] for j in range(width)] for i in range(len(cells))]
    return Invocation("table", "the CSV body", rows=rows, columns=columns)


def _cells_for_estimator(rows: List[List[Any]], what: str) -> List[List[Any]]:
    """Rows of plain values for estimator.predict; a missing value (null) as NaN, as pandas has it."""
    out = []
    for i, row in enumerate(rows):
        for v in row:
            if isinstance(v, (list, dict)):
                raise BadInput(f"{what}: row {i} holds a nested value; a scikit-learn estimator takes rows of "
                               "plain feature values")
        out.append([float("nan") if v is None else v for v in row])
    return out


def estimator_rows(inv: Invocation, feature_names: Optional[List[str]]) -> List[List[Any]]:
    """The 2-D table an estimator's predict() takes, from any /invocations input; columns picked by the
    estimator's feature names when both have names."""
    what = inv.source
    columns = inv.columns
    if inv.kind == "llm":
        raise BadInput("a scikit-learn estimator takes no LLM payload (messages, prompt, input): send one of "
                       "dataframe_split, dataframe_records, instances, inputs")
    if inv.kind == "table":
        rows = inv.rows or []
    elif isinstance(inv.tensor, dict):
        columns = list(inv.tensor)
        length = None
        for name, column in inv.tensor.items():
            if not isinstance(column, list) or (column and isinstance(column[0], list)):
                raise BadInput(f"{what}: the tensor '{name}' must be a list with one value per row for a "
                               "scikit-learn estimator")
            if length is None:
                length = len(column)
            elif len(column) != length:
                raise BadInput(f"{what}: the tensor '{name}' has {len(column)} values but '{columns[0]}' has {length}")
        rows = [list(r) for r in zip(*inv.tensor.values())]
        if not rows:
            raise BadInput(f"{what} holds no rows")
    else:
        shape = _shape(inv.tensor, what)
        if len(shape) != 2:
            if len(shape) == 1:
                raise BadInput(f"{what} is a list of {shape[0]} values, but a scikit-learn estimator takes rows: "
                               f"send [[...]] for one row")
            raise BadInput(f"{what} has the shape {'x'.join(map(str, shape)) or 'of a single value'}, but a "
                           "scikit-learn estimator takes rows of feature values (2 dimensions)")
        rows = inv.tensor
    if feature_names and columns is not None:
        missing = [c for c in feature_names if c not in columns]
        if missing:
            raise BadInput(f"{what} lacks the columns {missing}")
        order = [columns.index(c) for c in feature_names]
        rows = [[r[i] for i in order] for r in rows]
    return _cells_for_estimator(rows, what)


def _wants_params(fn: Any) -> bool:
    try:
        return "params" in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


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

    def _raw_body(self) -> Tuple[Optional[bytes], Optional[str]]:
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            return None, "send the input as a JSON body with a Content-Length"
        n = int(length)
        if n > MAX_BODY_BYTES:
            self.rfile.read(n)
            return None, f"the body is {n} bytes; at most {MAX_BODY_BYTES} are accepted"
        return self.rfile.read(n), None

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        path = self.path.split("?", 1)[0]
        raw, problem = self._raw_body()
        if path == "/predict":
            self._predict(raw, problem)
        elif path == "/invocations":
            self._invocations(raw, problem)
        else:
            self._error(404, f"no route POST {path}: use /predict or /invocations")

    def _not_ready(self) -> Optional[str]:
        m = self.model
        if m.state == "ready":
            return None
        return "the model is still loading" if m.state == "loading" else f"the model failed to load: {m.error}"

    def _predict(self, raw: Optional[bytes], problem: Optional[str]) -> None:
        """ML Lab's own format: {"inputs": rows} or {"instances": rows} or rows."""
        body = None
        if raw is not None:
            try:
                body = json.loads(raw)
            except ValueError as e:
                problem = f"the body is not JSON: {e}"
        if problem:
            self._error(400, problem)
            return
        not_ready = self._not_ready()
        if not_ready:
            self._error(503, not_ready)
            return
        m = self.model
        try:
            if m.entry_point:
                # an entry point gets the inputs as sent
                inputs = body.get("inputs", body.get("instances", body)) if isinstance(body, dict) else body
            else:
                inputs = parse_predict(body, m.feature_names())
            predictions = m.predict(inputs)
        except BadInput as e:
            self._error(400, str(e))
            return
        except Exception as e:  # noqa: BLE001 - the model's own failure
            log(f"prediction failed: {type(e).__name__}: {e}")
            self._error(500, f"the model failed: {type(e).__name__}: {e}")
            return
        self._send(200, {"predictions": predictions})

    def _invocations(self, raw: Optional[bytes], problem: Optional[str]) -> None:
        """MLflow's scoring protocol; errors as MLflow's JSON ({"error_code", "message"}), with ML Lab's
        {"error": {"status", "message"}} beside them."""
        try:
            self._send(200, self._invoke(raw, problem))
        except InvocationError as e:
            value: Dict[str, Any] = {"error_code": e.error_code, "message": e.message}
            if e.stack_trace:
                value["stack_trace"] = e.stack_trace
            value["error"] = {"status": e.status, "message": e.message}
            self._send(e.status, value)

    def _invoke(self, raw: Optional[bytes], problem: Optional[str]) -> Any:
        media_type, unsupported = content_type_problem(self.headers.get("Content-Type"))
        if unsupported:
            raise InvocationError(415, "BAD_REQUEST", unsupported)
        if problem or raw is None:
            raise InvocationError(400, "BAD_REQUEST", problem or "send the input with a Content-Length")
        try:
            text = raw.decode("utf-8-sig" if media_type == CONTENT_TYPE_CSV else "utf-8")
        except UnicodeDecodeError as e:
            raise InvocationError(400, "BAD_REQUEST", f"the body is not UTF-8 text: {e}") from e
        try:
            inv = parse_invocation_csv(text) if media_type == CONTENT_TYPE_CSV else parse_invocation_json(text)
        except BadInput as e:
            raise InvocationError(400, "BAD_REQUEST", str(e)) from e
        not_ready = self._not_ready()
        if not_ready:
            raise InvocationError(503, "TEMPORARILY_UNAVAILABLE", not_ready)
        try:
            predictions = self.model.invoke(inv)
            # serialized here, so that a result JSON cannot hold is the model's error, not a dropped connection
            json.dumps(predictions)
        except BadInput as e:
            raise InvocationError(400, "BAD_REQUEST", str(e)) from e
        except Exception as e:  # noqa: BLE001 - the model's own failure: a 400, as MLflow answers it
            log(f"prediction failed: {type(e).__name__}: {e}")
            raise InvocationError(
                400, "BAD_REQUEST",
                "Encountered an unexpected error while evaluating the model. Verify that the input is compatible "
                f"with the model for inference. {type(e).__name__}: {e}",
                traceback.format_exc()) from e
        # MLflow 2.x answers {"predictions": ...}, except for an LLM payload: the model's answer as it is
        return predictions if inv.kind == "llm" else {"predictions": predictions}


def main() -> None:
    path = os.environ.get("MODEL_PATH", "/model/model.pkl")
    entry_point = os.environ.get("MODEL_ENTRY_POINT") or None
    port = int(os.environ.get("PORT", "8080"))
    model = Model(path, entry_point)
    Handler.model = model
    # a client (the lab's endpoint) may open many connections at once: the default queue of 5 would
    # drop some connection attempts, which the client retries only a second later
    ThreadingHTTPServer.request_queue_size = 128
    server = ThreadingHTTPServer(("0.0.0.0", port), Handler)
    # a stop lets the requests being answered finish (server_close joins their threads): a replica
    # stopped by a rolling update drops none of them
    server.daemon_threads = False
    server.block_on_close = True

    def stop(_signum: int, _frame: Any) -> None:
        # as PID 1 of a container, SIGTERM does nothing without a handler
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    threading.Thread(target=model.load, daemon=True).start()
    log(f"listening on port {port}, loading {path}")
    server.serve_forever()
    server.server_close()
    log("stopped")


if __name__ == "__main__":
    main()
