"""`FraudClassifier`: the project's trainer as a scikit-learn estimator.

`fit` runs `native-train train`'s protocol in process (stratified 60/20/20 split, the
candidates fitted on the train part, calibration, threshold and policy chosen on
validation, the selected model measured once on the test part), so the model it keeps is
an artifact every runtime serves, bit for bit. `predict_proba` is core's probability;
`predict` is the model's own decision (its policy's threshold, in money where the data
has an amount column), mapped back to `classes_`.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from . import Model, TrainingFailed, _native, columns_of

__all__ = ["FraudClassifier"]


def _is_frame(X: Any) -> bool:
    return type(X).__module__.split(".")[0] in ("pandas", "polars") and hasattr(X, "columns")


def _is_empty(v: Any) -> bool:
    return v is None or (isinstance(v, float) and v != v) or type(v).__name__ in ("NAType", "NaTType")


def _object_column(name: str, values: list) -> tuple:
    """A column of Python values as the trainer takes it, read as scoring will read it:
    all text → ("text", int64 codes with -1 for empty, dictionary); all numbers (a
    categorical dtype of numbers) → ("coded", float64). Booleans and mixtures are refused."""
    present = [v for v in values if not _is_empty(v)]
    if all(isinstance(v, str) for v in present):
        dictionary: dict = {}
        codes = np.empty(len(values), dtype=np.int64)
        for i, v in enumerate(values):
            codes[i] = -1 if _is_empty(v) else dictionary.setdefault(v, len(dictionary))
        return "text", codes, list(dictionary)
    if all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_)) for v in present):
        return "coded", np.array([np.nan if _is_empty(v) else float(v) for v in values], dtype=np.float64), None
    kinds = sorted({type(v).__name__ for v in present})
    raise TrainingFailed(
        f"column {name} holds {', '.join(kinds)} values: a feature is numbers or text categories "
        "(cast booleans to int, mixed columns to str)"
    )


EXPECTED_FAILED_CHECKS = {
    "check_classifiers_train": (
        "predict is the model's decision under its policy (the threshold validation chose for F1 or money, "
        "or each row's cost-optimal choice), not argmax(predict_proba) at 0.5: the two differ for rows "
        "between 0.5 and the policy's threshold"
    ),
}


class FraudClassifier(ClassifierMixin, BaseEstimator):
    """The fraud detector's trainer as a binary classifier.

    Parameters
    ----------
    candidates : list of str or None
        Which candidates the protocol fits and validation chooses among ("baseline",
        "smote", "class_weighted", "trees", "trees_smote", "trees_class_weighted");
        None: the CLI's default set.
    seed : int
        The split's (and SMOTE's) seed: the same data and seed give the same model.
    validation_fraction, test_fraction : float
        Held out of each class for choosing the threshold and policy, and for the one
        test measurement.
    amount : str or None
        The feature money is proportional to; None: a feature named "Amount", else "amount".
    categorical : list of str or None
        Numeric columns to treat as categories (text columns always are).
    """

    def __init__(
        self,
        candidates: Optional[Sequence[str]] = None,
        seed: int = 42,
        validation_fraction: float = 0.2,
        test_fraction: float = 0.2,
        amount: Optional[str] = None,
        categorical: Optional[Sequence[str]] = None,
    ):
        self.candidates = candidates
        self.seed = seed
        self.validation_fraction = validation_fraction
        self.test_fraction = test_fraction
        self.amount = amount
        self.categorical = categorical

    @staticmethod
    def expected_failed_checks() -> dict:
        """The scikit-learn estimator checks this estimator cannot pass, with the reason:
        pass it as `check_estimator(..., expected_failed_checks=...)`."""
        return dict(EXPECTED_FAILED_CHECKS)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        tags.input_tags.allow_nan = True
        tags.non_deterministic = False
        return tags

    # --- fitting -------------------------------------------------------------------

    def _feature_columns(self, X: Any):
        """(names, kinds, columns, dictionaries) for the trainer."""
        categorical = set(self.categorical or ())
        if _is_frame(X):
            names = [str(c) for c in X.columns]
            raw = columns_of(names, X)
        else:
            names = [f"x{j}" for j in range(X.shape[1])]
            raw = [np.ascontiguousarray(X[:, j], dtype=np.float64) for j in range(X.shape[1])]
        kinds, columns, dictionaries = [], [], []
        for name, col in zip(names, raw):
            if isinstance(col, np.ndarray):
                kinds.append("coded" if name in categorical else "number")
                columns.append(np.ascontiguousarray(col, dtype=np.float64))
                dictionaries.append(None)
            else:
                kind, values, dictionary = _object_column(name, col)
                kinds.append(kind)
                columns.append(values)
                dictionaries.append(dictionary)
        return names, kinds, columns, dictionaries

    def fit(self, X: Any, y: Any) -> "FraudClassifier":
        if _is_frame(X):
            # Text columns and empty cells go to the trainer as they are; validate_data
            # records n_features_in_ and feature_names_in_ (and checks y).
            validate_data(self, X, skip_check_array=True)
            y = column_or_1d(np.asarray(y), warn=True)
            if len(y) != X.shape[0]:
                raise ValueError(f"X has {X.shape[0]} rows and y {len(y)} labels")
            frame = X
        else:
            frame, y = validate_data(self, X, y, dtype=np.float64, ensure_all_finite="allow-nan")
        check_classification_targets(y)
        y_type = type_of_target(y, input_name="y", raise_unknown=True)
        if y_type != "binary":
            raise ValueError(f"Only binary classification is supported. The type of the target is {y_type}.")
        self.classes_, y_index = np.unique(y, return_inverse=True)
        if len(self.classes_) != 2:
            raise ValueError(f"FraudClassifier needs both classes in y, it has {len(self.classes_)} class")
        names, kinds, columns, dictionaries = self._feature_columns(frame)
        amount = self.amount
        if amount is None:
            amount = next((a for a in ("Amount", "amount") if a in names), None)
        try:
            trained = self._train(names, kinds, columns, dictionaries, y_index, amount)
        except TrainingFailed as e:
            # Say the data's shape: most refusals are too few rows of a class for the split.
            raise TrainingFailed(f"{e} (n_samples={len(y_index)}, n_features={len(names)})") from None
        self._trained = trained
        self.model_ = Model.from_bytes(trained.artifact())
        self.selected_ = trained.selected
        return self

    def _train(self, names, kinds, columns, dictionaries, y_index, amount):
        return _native.train(
            names,
            kinds,
            columns,
            dictionaries,
            np.ascontiguousarray(y_index, dtype=np.uint8),
            amount=amount,
            seed=int(self.seed),
            candidates=None if self.candidates is None else list(self.candidates),
            validation_fraction=float(self.validation_fraction),
            test_fraction=float(self.test_fraction),
        )

    # --- predicting ----------------------------------------------------------------

    def _rows(self, X: Any) -> Any:
        check_is_fitted(self, "model_")
        named = hasattr(self, "feature_names_in_")
        if _is_frame(X) and named:
            validate_data(self, X, reset=False, skip_check_array=True)
            return X
        # By position (scikit-learn warns when a frame meets a model fitted on an array, or
        # the reverse): the columns are the model's features in order.
        features = self.model_.features
        if _is_frame(X):
            validate_data(self, X, reset=False, skip_check_array=True)
            return {f: X[c] for f, c in zip(features, X.columns)}
        if any(k == "text" for k in self.model_.kinds):
            validate_data(self, X, reset=False, skip_check_array=True)
            X = np.asarray(X, dtype=object)
            return {f: X[:, j].tolist() for j, f in enumerate(features)}
        X = validate_data(self, X, reset=False, dtype=np.float64, ensure_all_finite="allow-nan")
        return {f: X[:, j] for j, f in enumerate(features)}

    def predict_proba(self, X: Any) -> np.ndarray:
        """Shape (n, 2): P(classes_[0]), P(classes_[1]); the second is core's fraud probability."""
        rows = self._rows(X)
        p = self.model_.predict_proba(rows)
        return np.column_stack([1.0 - p, p])

    def predict(self, X: Any) -> np.ndarray:
        """The model's decision (its policy, on core's probability), as labels of classes_."""
        rows = self._rows(X)
        decided = self.model_.decide(rows)
        flagged = np.fromiter((d["is_fraud"] for d in decided), dtype=bool, count=len(decided))
        return self.classes_[flagged.astype(np.intp)]

    # --- keeping -------------------------------------------------------------------

    def save(self, directory: str) -> None:
        """Writes what `native-train train --out` writes (model.bin, model.json, reports,
        replay) when fitted in this process; after unpickling, model.bin alone."""
        check_is_fitted(self, "model_")
        trained = getattr(self, "_trained", None)
        if trained is not None:
            trained.save(str(directory))
            return
        import os

        os.makedirs(directory, exist_ok=True)
        self.model_.save(os.path.join(directory, "model.bin"))

    def __getstate__(self):
        # Picklable by the artifact's bytes: the fitted model is exactly the file.
        state = dict(super().__getstate__())
        state.pop("_trained", None)
        if "model_" in state:
            state["model_"] = state["model_"].to_bytes()
        return state

    def __setstate__(self, state):
        state = dict(state)
        if "model_" in state:
            state["model_"] = Model.from_bytes(state["model_"])
        super().__setstate__(state)
