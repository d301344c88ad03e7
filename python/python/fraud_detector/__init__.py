"""The fraud detector from Python: the very scoring core the server, the browser and the
edge run, and its trainer, in process.

    import fraud_detector as fd
    m = fd.Model.load("model/model.bin")   # core's checks; a bad file raises fd.InvalidModel (a ValueError)
    p = m.predict_proba(df)                # P(fraud) per row, bit for bit the server's fraud_probability
    d = m.decide(df)                       # the server's batch results: action, rules, money
    e = m.explain(df.iloc[:5], k=3)        # exact contributions (TreeSHAP for trees)
    m.card()                               # the model card as a dict

Rows come as a pandas or polars DataFrame (columns matched by name: any order; extra
columns are ignored; a missing one is an error), a mapping of column name to values, or a
2-D numpy array whose columns are the model's features in order. Empty cells (None, NaN,
pandas.NA) are missing values where the model accepts them, else errors.
"""

from __future__ import annotations

import json
from os import PathLike
from typing import Any, Iterable, Optional, Sequence, Union

import numpy as np

from . import _native
from ._native import FraudError, InvalidInput, InvalidModel, TrainingFailed

__all__ = ["Model", "FraudError", "InvalidInput", "InvalidModel", "TrainingFailed", "columns_of"]


def _id_text(value: Any) -> Optional[str]:
    """An id as the server reads it as text: empty cells none, whole floats (an integer
    column with a gap) as integers."""
    if _empty(value):
        return None
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _invalid(code: str, message: str, fields: Sequence[str] = (), row: Optional[int] = None) -> InvalidInput:
    err = InvalidInput(message)
    err.code, err.fields, err.row, err.message = code, list(fields), row, message
    return err


def _is_pandas(x: Any) -> bool:
    return type(x).__module__.split(".")[0] == "pandas" and hasattr(x, "columns")


def _is_polars(x: Any) -> bool:
    return type(x).__module__.split(".")[0] == "polars" and hasattr(x, "columns")


def _pandas_column(s: Any) -> Any:
    """A float64 array for a numeric column (a view where pandas holds one), else Python objects."""
    import pandas as pd

    dtype = s.dtype
    if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
        return s.to_numpy(dtype=np.float64, na_value=np.nan)
    values = s.astype(object)
    return values.where(s.notna(), None).tolist()


def _polars_column(s: Any) -> Any:
    if s.dtype.is_numeric():
        return s.cast(float).to_numpy()
    return s.to_list()


def _empty(v: Any) -> bool:
    """An empty cell: None, a NaN, pandas.NA or NaT."""
    return v is None or (isinstance(v, float) and v != v) or type(v).__name__ in ("NAType", "NaTType")


def _array_column(a: Any) -> Any:
    library = type(a).__module__.split(".")[0]
    if library == "pandas" and getattr(a, "ndim", 0) == 1:
        return _pandas_column(a)
    if library == "polars" and hasattr(a, "dtype") and not hasattr(a, "columns"):
        return _polars_column(a)
    a = np.asarray(a)
    if a.dtype.kind in "fiu":
        return np.asarray(a, dtype=np.float64)
    return [None if _empty(v) else v for v in a.tolist()]


def columns_of(features: Sequence[str], X: Any) -> list:
    """The columns of X in the order of `features`, each a float64 array or a list of Python values."""
    if _is_pandas(X) or _is_polars(X):
        given = [str(c) for c in X.columns]
        missing = [f for f in features if f not in set(given)]
        if missing:
            raise _invalid("missing_field", f"missing column(s): {', '.join(missing)}", missing)
        wanted = set(features)
        twice = sorted({c for c in given if c in wanted and given.count(c) > 1})
        if twice:
            raise _invalid("duplicate_field", f"column(s) given more than once: {', '.join(twice)}", twice)
        take = _pandas_column if _is_pandas(X) else _polars_column
        by_name = dict(zip(given, X.columns))
        return [take(X[by_name[f]]) for f in features]
    if isinstance(X, dict):
        missing = [f for f in features if f not in X]
        if missing:
            raise _invalid("missing_field", f"missing column(s): {', '.join(missing)}", missing)
        columns = []
        for f in features:
            v = X[f]
            if isinstance(v, (str, bytes)) or np.ndim(v) != 1:
                raise _invalid(
                    "invalid_fields", f"column {f} must be a sequence of values (one per row), not {type(v).__name__}", [f]
                )
            columns.append([None if _empty(x) else x for x in v] if isinstance(v, list) else _array_column(v))
        return columns
    a = np.asarray(X)
    if a.ndim == 1 and len(features) == 1:
        a = a.reshape(-1, 1)
    if a.ndim != 2:
        raise _invalid("invalid_fields", f"rows must be 2-D (a DataFrame or an array of shape (n, {len(features)}))")
    if a.shape[1] != len(features):
        raise _invalid(
            "invalid_fields",
            f"X has {a.shape[1]} columns, the model takes {len(features)}: {', '.join(features)}",
        )
    return [_array_column(a[:, j]) for j in range(a.shape[1])]


def _restore(data: bytes, rules: Optional[tuple]) -> "Model":
    m = Model.from_bytes(data)
    return m if rules is None else m.with_rules(*rules)


class Model:
    """A model every runtime serves: loaded through core's decoder and checks."""

    def __init__(self, native: "_native.NativeModel", rules: Optional[tuple] = None):
        self._native = native
        self._rules = rules

    @classmethod
    def load(cls, path: Union[str, "PathLike[str]"]) -> "Model":
        """Reads `model.bin`; a file core refuses raises InvalidModel (a ValueError) saying why."""
        with open(path, "rb") as f:
            data = f.read()
        try:
            return cls(_native.NativeModel.from_bytes(data))
        except InvalidModel as e:
            raise InvalidModel(f"{path}: {e}") from None

    @classmethod
    def from_bytes(cls, data: bytes) -> "Model":
        return cls(_native.NativeModel.from_bytes(bytes(data)))

    def with_rules(self, rules: Union[str, "PathLike[str]"], lists: Optional[str] = None) -> "Model":
        """The same model deciding with a rules file (and lists folder), as `fraud-server --rules`."""
        paths = (str(rules), None if lists is None else str(lists))
        return Model(self._native.with_rules(*paths), paths)

    def __reduce__(self):
        # Pickled as the artifact's bytes (and the rules' paths, read again on loading).
        return (_restore, (self.to_bytes(), self._rules))

    def to_bytes(self) -> bytes:
        return bytes(self._native.artifact())

    def save(self, path: Union[str, "PathLike[str]"]) -> None:
        with open(path, "wb") as f:
            f.write(self.to_bytes())

    @property
    def features(self) -> list:
        return list(self._native.features)

    @property
    def kinds(self) -> list:
        """Per feature: "number", "text" or "coded" (numeric-coded categories)."""
        return list(self._native.kinds)

    @property
    def model_id(self) -> str:
        return self._native.model_id

    @property
    def name(self) -> str:
        return self._native.name

    @property
    def threshold(self) -> float:
        return self._native.threshold

    def _columns(self, X: Any) -> list:
        return columns_of(self._native.features, X)

    def predict_proba(self, X: Any) -> np.ndarray:
        """P(fraud) per row (1-D float64), bit for bit the server's `fraud_probability`."""
        a = X if isinstance(X, np.ndarray) else None
        if (
            a is not None
            and a.ndim == 2
            and a.dtype == np.float64
            and a.flags.c_contiguous
            and all(k == "number" for k in self._native.kinds)
            and not self._native.accepts_missing
        ):
            # Row-major float64 is core's own layout: scored in place.
            return self._native.score_matrix(a)
        return self._native.score(self._columns(X))

    def _ids(self, X: Any, ids: Optional[Iterable[Any]]) -> Optional[list]:
        if ids is None:
            column = self._native.id_column
            if column is None or not (_is_pandas(X) or _is_polars(X)) or column not in [str(c) for c in X.columns]:
                return None
            ids = X[column].to_list() if _is_polars(X) else X[column].astype(object).tolist()
        return [_id_text(i) for i in ids]

    def decide(self, X: Any, explain: Optional[int] = None, ids: Optional[Iterable[Any]] = None) -> list:
        """What the server's `/predict/batch` answers per row, as dicts: `fraud_probability`,
        `is_fraud`, `action`, `rule`, `shadow_rules`, `expected_benefit` (money), and with
        `explain=k` the k largest `contributions`. Ids come from `ids`, else the model's id column."""
        if explain is not None and explain < 0:
            raise ValueError("explain must be >= 0")
        cols = self._columns(X)
        return json.loads(self._native.decide(cols, self._ids(X, ids), explain))

    def explain(self, X: Any, k: int = 3) -> list:
        """Per row, the k largest exact contributions (TreeSHAP for trees, largest first) and
        the base value, as `/predict?explain=k` answers."""
        if k < 0:
            raise ValueError("k must be >= 0")
        return json.loads(self._native.explain(self._columns(X), int(k)))

    def card(self) -> dict:
        """The model card: what `GET /model` and the report say about the model."""
        return json.loads(self._native.card())

    def __repr__(self) -> str:
        return f"Model({self.name!r}, id={self.model_id!r}, features={len(self.features)})"
