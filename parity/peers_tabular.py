#!/usr/bin/env python3
"""Peers on a table with text columns and empty cells: XGBoost, LightGBM, CatBoost.

Each library handles categoricals and missing values natively:
  XGBoost   enable_categorical=True, hist, NaN as missing;
  LightGBM  categorical_feature=..., NaN as missing;
  CatBoost  cat_features=... (an empty text cell is the category "<missing>", as
            CatBoost takes no NaN there), numeric NaN as missing.

Text columns (and any named with --categorical) become pandas `category` with the
categories seen on the train rows only (others are NaN). Every model stops early on
the validation rows (its own average-precision metric, same rounds cap and patience)
and is scored on the test rows once: average precision, ROC-AUC, and F1 at the
threshold that maximises F1 on the validation rows (as our trainer picks its own).
Prints one JSON object:

  {"xgboost": {"test_ap": ..., "test_roc_auc": ..., "test_f1": ..., "valid_ap": ...,
               "threshold": ..., "rounds": ..., "seconds": ..., "version": ...},
   "lightgbm": ..., "catboost": ...}

`rounds` is the trees kept (the best validation iteration), `seconds` the fit's wall time.
`cargo xtask compare --schema payments` runs it on our splits, beside our trainer.

Usage:
  python parity/peers_tabular.py --data payments.csv --label is_fraud --id payment_id \
      --categorical mcc_code --train-rows train.txt --valid-rows valid.txt --test-rows test.txt

A rows file holds 0-based indices of the CSV's data rows, one per line. Or give
--split with a `split-SEED.json` that `native-train splits` wrote (its train,
validation and test indices; the CSV's SHA-256 must match the one it names). Without
either the script makes its own stratified 60/20/20 split with --seed (and says so on
stderr). Needs numpy, pandas, scikit-learn, xgboost, lightgbm and catboost (xtask's pins:
xgboost==3.2.0, lightgbm==4.7.0, catboost==1.2.10, pandas==3.1.1).
"""

import argparse
import hashlib
import inspect
import json
import os
import sys
import time

import numpy as np
import pandas as pd


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True, help="CSV with a header")
    p.add_argument("--label", required=True, help="0/1 label column")
    p.add_argument("--id", default=None, help="id column to drop")
    p.add_argument(
        "--categorical",
        action="append",
        default=[],
        help="numeric column(s) to treat as categorical (repeat, or comma-separated)",
    )
    p.add_argument("--drop", action="append", default=[], help="other column(s) to ignore")
    p.add_argument("--train-rows", help="file of 0-based data-row indices, one per line")
    p.add_argument("--valid-rows")
    p.add_argument("--test-rows")
    p.add_argument("--split", help="split-SEED.json from `native-train splits` (instead of the rows files)")
    p.add_argument("--seed", type=int, default=0, help="own split and model seeds")
    p.add_argument("--max-rounds", type=int, default=2000)
    p.add_argument("--patience", type=int, default=50)
    p.add_argument("--learning-rate", type=float, default=0.05)
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    p.add_argument("--only", default="xgboost,lightgbm,catboost", help="comma-separated subset")
    args = p.parse_args(argv)
    args.categorical = [c for group in args.categorical for c in group.split(",") if c]
    given = [args.train_rows, args.valid_rows, args.test_rows]
    if any(given) and not all(given):
        p.error("give all of --train-rows, --valid-rows and --test-rows, or none")
    if args.split and any(given):
        p.error("give either --split or the rows files, not both")
    return args


def read_rows(path, n):
    with open(path) as f:
        return checked_rows(path, [int(line) for line in f if line.strip()], n)


def checked_rows(path, indices, n):
    rows = np.array(indices, dtype=np.int64)
    if rows.size and (rows.min() < 0 or rows.max() >= n):
        sys.exit(f"{path}: row index out of range 0..{n - 1}")
    if np.unique(rows).size != rows.size:
        sys.exit(f"{path}: repeated row indices")
    return rows


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def no_overlap(parts):
    train, valid, test = parts
    if np.intersect1d(train, valid).size or np.intersect1d(train, test).size or np.intersect1d(valid, test).size:
        sys.exit("the train, validation and test rows overlap")
    return parts


def splits(args, y):
    n = len(y)
    if args.split:
        with open(args.split) as f:
            split = json.load(f)
        expected = split.get("dataset_sha256")
        if expected and expected != sha256(args.data):
            sys.exit(f"{args.split} was written for another file than {args.data} (SHA-256 differs)")
        parts = [checked_rows(f"{args.split}: {k}", split[k], n) for k in ("train", "validation", "test")]
        return no_overlap(parts), f"{args.split} (seed {split.get('seed')})"
    if args.train_rows:
        parts = [read_rows(f, n) for f in (args.train_rows, args.valid_rows, args.test_rows)]
        return no_overlap(parts), "given"
    from sklearn.model_selection import train_test_split

    idx = np.arange(n)
    train, rest = train_test_split(idx, test_size=0.4, stratify=y, random_state=args.seed)
    valid, test = train_test_split(rest, test_size=0.5, stratify=y[rest], random_state=args.seed)
    print(
        f"no rows files given: own stratified 60/20/20 split with seed {args.seed}",
        file=sys.stderr,
    )
    return [np.sort(train), np.sort(valid), np.sort(test)], f"own stratified 60/20/20, seed {args.seed}"


def load(args):
    # Empty cells (and only they) are missing: "NA", "null" and the like stay text.
    raw = pd.read_csv(args.data, keep_default_na=False, na_values=[""], low_memory=False)
    for col in [args.label, args.id, *args.categorical, *args.drop]:
        if col is not None and col not in raw.columns:
            sys.exit(f"{args.data}: no column {col!r}")
    y = raw[args.label]
    if y.isna().any() or not set(y.unique()) <= {0, 1}:
        sys.exit(f"{args.label}: labels must be 0 or 1, with no empty cells")
    y = y.to_numpy(dtype=np.int64)
    features = raw.drop(columns=[c for c in [args.label, args.id, *args.drop] if c is not None])
    categorical = [
        c for c in features.columns if c in args.categorical or not pd.api.types.is_numeric_dtype(features[c])
    ]
    return features, y, categorical


def encode(features, categorical, train):
    """Categoricals with the train rows' categories; the rest as float (NaN = missing)."""
    out = pd.DataFrame(index=features.index)
    for col in features.columns:
        if col in categorical:
            values = features[col]
            seen = pd.unique(values.iloc[train].dropna())
            seen = np.sort(seen.astype(str) if values.dtype == object else seen)
            out[col] = pd.Categorical(values, categories=seen)
        else:
            out[col] = features[col].astype(np.float64)
    return out


def figures(y, parts, p_valid, p_test):
    """Test AP and ROC-AUC; test F1 at the threshold that maximises validation F1."""
    from sklearn.metrics import average_precision_score, f1_score, precision_recall_curve, roc_auc_score

    _, va, te = parts
    precision, recall, thresholds = precision_recall_curve(y[va], p_valid)
    f1 = np.where(precision + recall > 0, 2 * precision * recall / np.maximum(precision + recall, 1e-300), 0.0)
    threshold = float(thresholds[int(np.argmax(f1[:-1]))])
    return {
        "test_ap": float(average_precision_score(y[te], p_test)),
        "test_roc_auc": float(roc_auc_score(y[te], p_test)),
        "test_f1": float(f1_score(y[te], (p_test >= threshold).astype(int))),
        "valid_ap": float(average_precision_score(y[va], p_valid)),
        "threshold": threshold,
    }


def fit_xgboost(args, X, y, parts, categorical):
    import xgboost as xgb

    tr, va, te = parts
    model = xgb.XGBClassifier(
        tree_method="hist",
        enable_categorical=True,
        n_estimators=args.max_rounds,
        learning_rate=args.learning_rate,
        early_stopping_rounds=args.patience,
        eval_metric="aucpr",
        n_jobs=args.threads,
        random_state=args.seed,
    )
    start = time.perf_counter()
    model.fit(X.iloc[tr], y[tr], eval_set=[(X.iloc[va], y[va])], verbose=False)
    seconds = time.perf_counter() - start
    # With early stopping, predict_proba uses the best iteration.
    p_valid, p_test = (model.predict_proba(X.iloc[rows])[:, 1] for rows in (va, te))
    return {**figures(y, parts, p_valid, p_test), "rounds": int(model.best_iteration) + 1, "seconds": seconds, "version": xgb.__version__}


def fit_lightgbm(args, X, y, parts, categorical):
    import lightgbm as lgb

    tr, va, te = parts
    model = lgb.LGBMClassifier(
        n_estimators=args.max_rounds,
        learning_rate=args.learning_rate,
        metric="average_precision",
        n_jobs=args.threads,
        random_state=args.seed,
        verbose=-1,
    )
    # LightGBM 4.7 takes eval_X / eval_y (eval_set is deprecated); older versions only eval_set.
    if "eval_X" in inspect.signature(model.fit).parameters:
        evals = {"eval_X": (X.iloc[va],), "eval_y": (y[va],)}
    else:
        evals = {"eval_set": [(X.iloc[va], y[va])]}
    start = time.perf_counter()
    model.fit(
        X.iloc[tr],
        y[tr],
        **evals,
        categorical_feature=categorical,
        callbacks=[lgb.early_stopping(args.patience, verbose=False)],
    )
    seconds = time.perf_counter() - start
    p_valid, p_test = (model.predict_proba(X.iloc[rows])[:, 1] for rows in (va, te))  # best iteration
    return {**figures(y, parts, p_valid, p_test), "rounds": int(model.best_iteration_), "seconds": seconds, "version": lgb.__version__}


def fit_catboost(args, X, y, parts, categorical):
    import catboost
    from catboost import CatBoostClassifier, Pool

    tr, va, te = parts
    X = X.copy()
    for col in categorical:
        # CatBoost takes no NaN in a categorical: an empty (or unseen) cell is its own category.
        X[col] = X[col].astype(str).where(X[col].notna(), "<missing>")

    def pool(rows):
        return Pool(X.iloc[rows], y[rows], cat_features=categorical)

    model = CatBoostClassifier(
        iterations=args.max_rounds,
        learning_rate=args.learning_rate,
        eval_metric="PRAUC",
        od_type="Iter",
        od_wait=args.patience,
        use_best_model=True,
        thread_count=args.threads,
        random_seed=args.seed,
        verbose=False,
        allow_writing_files=False,
    )
    start = time.perf_counter()
    model.fit(pool(tr), eval_set=pool(va))
    seconds = time.perf_counter() - start
    p_valid, p_test = (model.predict_proba(pool(rows))[:, 1] for rows in (va, te))  # the best model
    return {**figures(y, parts, p_valid, p_test), "rounds": int(model.get_best_iteration()) + 1, "seconds": seconds, "version": catboost.__version__}


FITS = {"xgboost": fit_xgboost, "lightgbm": fit_lightgbm, "catboost": fit_catboost}


def main(argv=None):
    args = parse_args(argv)
    features, y, categorical = load(args)
    parts, how = splits(args, y)
    X = encode(features, categorical, parts[0])
    print(
        f"{len(y)} rows ({int(y.sum())} frauds); split {how}: "
        + ", ".join(f"{name} {len(r)} ({int(y[r].sum())} frauds)" for name, r in zip(("train", "valid", "test"), parts))
        + f"; categorical: {', '.join(categorical) or 'none'}",
        file=sys.stderr,
    )
    results = {}
    for name in [n.strip() for n in args.only.split(",") if n.strip()]:
        if name not in FITS:
            sys.exit(f"--only: unknown model {name!r}; choose from {', '.join(FITS)}")
        r = FITS[name](args, X, y, parts, categorical)
        results[name] = {k: round(v, 6) if isinstance(v, float) else v for k, v in r.items()}
        print(f"{name}: {results[name]}", file=sys.stderr)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
