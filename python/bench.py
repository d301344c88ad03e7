"""The Python package's figures, printed (run by `cargo xtask bench-python`).

    python bench.py --model DIR [--data creditcard.csv] [--trainer target/release/native-train] [--runs 20]

1. predict_proba on DIR's replay rows (the test split): ours from a pandas DataFrame and
   from a row-major numpy array, against core's batch call on the same rows in the same
   process (`score_matrix`: core's `score_batch` on the array in place, GIL released) —
   and, when installed, XGBoost's and LightGBM's `predict_proba` on the same rows with as
   many trees of the same depth (fitted on those rows only to be timed: quality is not
   the point here). Medians of --runs.
2. With --data: `FraudClassifier(candidates=[...]).fit` on the whole file against
   `native-train train` on the same file and candidates (the same protocol), wall time.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import fraud_detector as fd


def median_ms(f, runs):
    f()  # warm
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        f()
        times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times), min(times)


def scoring(args):
    import pandas as pd

    model = fd.Model.load(Path(args.model) / "model.bin")
    frame = pd.read_csv(Path(args.model) / "replay.csv")
    card = model.card()
    n = len(frame)
    x = np.ascontiguousarray(frame[model.features].to_numpy(dtype=np.float64))
    print(f"\n== predict_proba on {n:,} rows: {card['kind']} model {model.model_id} ({card['name']})")
    rows = []
    native = median_ms(lambda: model._native.score_matrix(x), args.runs)
    rows.append(("core's batch call (score_matrix, in place)", native))
    rows.append(("fraud_detector predict_proba(numpy)", median_ms(lambda: model.predict_proba(x), args.runs)))
    rows.append(("fraud_detector predict_proba(DataFrame)", median_ms(lambda: model.predict_proba(frame), args.runs)))
    params = card.get("parameters", {})
    trees = params.get("trees")
    if trees:
        y = frame[card["schema"]["label"]].to_numpy()
        depth = int(params.get("max_depth") or 6)
        leaves = int(params.get("max_leaves") or 15)
        try:
            import xgboost

            xgb = xgboost.XGBClassifier(
                n_estimators=trees, max_depth=depth, max_leaves=leaves, tree_method="hist", n_jobs=2
            ).fit(x, y)
            rows.append((f"XGBoost {xgboost.__version__} predict_proba ({trees} trees)", median_ms(lambda: xgb.predict_proba(x), args.runs)))
        except ImportError:
            print("(XGBoost not installed: skipped)")
        try:
            import lightgbm

            lgb = lightgbm.LGBMClassifier(
                n_estimators=trees, max_depth=depth, num_leaves=leaves, n_jobs=2, verbose=-1
            ).fit(x, y)
            rows.append((f"LightGBM {lightgbm.__version__} predict_proba ({trees} trees)", median_ms(lambda: lgb.predict_proba(x), args.runs)))
        except ImportError:
            print("(LightGBM not installed: skipped)")
    base = native[0]
    for name, (med, best) in rows:
        print(f"  {name:<58} {med:9.2f} ms median ({best:.2f} min)  {med / base:5.2f}x core's  {med * 1e6 / n:8.0f} ns/row")


def fitting(args):
    import pandas as pd
    from fraud_detector.sklearn import FraudClassifier

    candidates = args.candidates.split(",")
    data = pd.read_csv(args.data)
    y = data["Class"].to_numpy()
    X = data.drop(columns=["Class"])
    print(f"\n== fit on {args.data} ({len(X):,} rows), candidates {candidates}: the same protocol both ways")
    cli, ours = [], []
    for _ in range(args.fit_runs):
        with tempfile.TemporaryDirectory() as out:
            t = time.perf_counter()
            subprocess.run(
                [args.trainer, "train", "--data", args.data, "--candidates", args.candidates, "--out", out],
                check=True,
                stdout=subprocess.DEVNULL,
                env={**os.environ, "RUST_LOG": "warn"},
            )
            cli.append(time.perf_counter() - t)
        t = time.perf_counter()
        clf = FraudClassifier(candidates=candidates).fit(X, y)
        ours.append(time.perf_counter() - t)
    protocol = sum(s for _, s in clf._trained.timings)
    c, o = statistics.median(cli), statistics.median(ours)
    print(f"  native-train train (reads the CSV, writes the folder)  {c:7.2f} s median of {len(cli)}")
    print(f"  FraudClassifier.fit (DataFrame in memory)              {o:7.2f} s median of {len(ours)}  {o / c:5.2f}x the CLI's")
    print(f"  of which the protocol's stages                         {protocol:7.2f} s (selected {clf.selected_})")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="a model folder (model.bin, replay.csv)")
    p.add_argument("--data", help="the CSV to time fitting on (the Kaggle file)")
    p.add_argument("--trainer", default="target/release/native-train")
    p.add_argument("--candidates", default="trees")
    p.add_argument("--runs", type=int, default=20)
    p.add_argument("--fit-runs", type=int, default=3)
    args = p.parse_args()
    scoring(args)
    if args.data:
        fitting(args)


if __name__ == "__main__":
    sys.exit(main())
