"""XGBoost and LightGBM on exactly our splits: `cargo xtask compare` runs this.

Tooling only (the product never needs Python). For each split seed it reads the
train/validation/test row indices that `native-train splits` wrote, fits
XGBoost 3.2 (hist, depth 6, lr 0.05, subsample/colsample 0.8) and LightGBM 4.7
(31 leaves, lr 0.05, bagging 0.8) with early stopping on the validation split,
picks the threshold that maximises F1 on validation (as our trainer does), and
measures test average precision and F1 once. Writes one JSON document.
"""
import argparse
import json
import os
import sys
import time
import warnings

import numpy as np


def load(path):
    """The CSV's rows in file order (the split indices refer to them), features in schema order."""
    import csv

    names = ["Time"] + [f"V{i}" for i in range(1, 29)] + ["Amount"]
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        header = [h.strip() for h in next(reader)]
        cols = [header.index(n) for n in names]
        label = header.index("Class")
        xs, ys = [], []
        for row in reader:
            if not row:
                continue
            xs.append([float(row[c]) for c in cols])
            ys.append(int(float(row[label])))
    return np.array(xs, dtype=np.float64), np.array(ys, dtype=np.int64)


def best_f1_threshold(scores, labels):
    from sklearn.metrics import precision_recall_curve

    precision, recall, thresholds = precision_recall_curve(labels, scores)
    f1 = np.where(precision + recall > 0, 2 * precision * recall / np.maximum(precision + recall, 1e-300), 0)
    i = int(np.argmax(f1[:-1]))
    return float(thresholds[i])


def evaluate(scores, labels, threshold):
    from sklearn.metrics import average_precision_score, f1_score

    return {
        "average_precision": float(average_precision_score(labels, scores)),
        "f1": float(f1_score(labels, (scores >= threshold).astype(int))),
    }


def shared_settings(seed, threads):
    """What both libraries get alike: learning rate, round cap, row sampling, seed and threads."""
    return dict(learning_rate=0.05, n_estimators=2000, subsample=0.8, n_jobs=threads, random_state=seed)


def timed_fit(model, x, y, **fit_args):
    """Fits `model`; returns its fraud-probability function and the fit's wall time."""
    t = time.perf_counter()
    model.fit(x, y, **fit_args)
    return (lambda rows: model.predict_proba(rows)[:, 1]), time.perf_counter() - t


def fit_xgboost(xt, yt, xv, yv, seed, threads):
    import xgboost as xgb

    model = xgb.XGBClassifier(
        tree_method="hist",
        max_depth=6,
        colsample_bytree=0.8,
        early_stopping_rounds=50,
        eval_metric="logloss",
        **shared_settings(seed, threads),
    )
    score, fit = timed_fit(model, xt, yt, eval_set=[(xv, yv)], verbose=False)
    return score, fit, int(model.best_iteration) + 1


def fit_lightgbm(xt, yt, xv, yv, seed, threads):
    import lightgbm as lgb

    # Early stopping on validation average precision: with LightGBM's default
    # leaf constraints its validation log-loss is lowest after the first round
    # on this data (the leaves overshoot), which would stop it at one tree.
    model = lgb.LGBMClassifier(
        num_leaves=31,
        subsample_freq=1,
        metric="average_precision",
        verbose=-1,
        **shared_settings(seed, threads),
    )
    score, fit = timed_fit(model, xt, yt, eval_set=[(xv, yv)], callbacks=[lgb.early_stopping(50, verbose=False)])
    return score, fit, int(model.best_iteration_)


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--data", required=True)
    p.add_argument("--splits", required=True, help="folder of split-SEED.json files")
    p.add_argument("--seeds", default="0,1,2,3,4")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", required=True)
    args = p.parse_args()
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", message=".*eval_set.*")
    x, y = load(args.data)
    results = []
    for seed in [int(s) for s in args.seeds.split(",")]:
        with open(os.path.join(args.splits, f"split-{seed}.json"), encoding="utf-8") as f:
            split = json.load(f)
        tr, va, te = (np.array(split[k], dtype=np.int64) for k in ("train", "validation", "test"))
        for name, fit in (("xgboost", fit_xgboost), ("lightgbm", fit_lightgbm)):
            score, seconds, rounds = fit(x[tr], y[tr], x[va], y[va], seed, args.threads)
            threshold = best_f1_threshold(score(x[va]), y[va])
            test = evaluate(score(x[te]), y[te], threshold)
            results.append({"library": name, "seed": seed, "fit_seconds": seconds, "rounds": rounds, **test})
            print(f"{name:<9} seed {seed}: test AP {test['average_precision']:.4f}, F1 {test['f1']:.4f}, "
                  f"fit {seconds:.2f} s ({rounds} rounds)", file=sys.stderr)
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump({"results": results}, f, indent=1)


if __name__ == "__main__":
    main()
