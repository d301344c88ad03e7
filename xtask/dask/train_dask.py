"""`cargo xtask dask`'s distributed half: XGBoost trained on a Dask cluster, and its margins.

    python train_dask.py --data creditcard.csv --out target/dask [--rounds 200] [--blocksize 16MB]

Starts a LocalCluster of 2 worker processes (1 thread each), reads the CSV into
partitions with dask.dataframe, trains `xgboost.dask.train` (binary:logistic, hist)
on every column but `Class`, saves the booster as `OUT/model.json`, and writes what
the cluster predicts for every row of the file, in file order, as raw little-endian
float32: `OUT/margins.f32` (output_margin=True) and `OUT/probs.f32`.

Then, with the cluster stopped, times XGBoost's own prediction for the side-by-side
speed figures, in a child process of this script (`--speed`, with OMP_NUM_THREADS=2:
the caller's OMP_NUM_THREADS=1 would cap XGBoost's nthread): the saved model as a
plain in-process Booster (nthread=2) on the file's first --speed-rows rows (copied
verbatim to `OUT/head.csv`, for the native bench to read the same rows) as a float64
array. Batch: the median of 5 whole-block calls, per row; one row: the median of
1,000 single-row calls, in microseconds; both for `inplace_predict(predict_type=
"margin")` and for `predict(DMatrix(block), output_margin=True)` with a fresh
DMatrix each call (its creation timed too: XGBoost caches predictions per DMatrix).
Written to `OUT/xgboost_speed.json`, with how many of the timed margins differ from
the cluster's (figures, not checks).

Last `OUT/summary.json` (rows, partitions, trees, seconds). Tooling only: the
product never runs Python.
"""
import argparse
import json
import logging
import os
import statistics
import subprocess
import sys
import time

import numpy as np


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--blocksize", default="16MB")
    parser.add_argument("--label", default="Class")
    parser.add_argument("--speed-rows", type=int, default=20_000)
    parser.add_argument("--speed", action="store_true",
                        help="only time XGBoost's predict on OUT/model.json (what the full run does last)")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    if args.speed:
        time_xgboost(args.data, args.label, args.out, args.speed_rows)
        return

    import dask
    import dask.dataframe as dd
    import distributed
    import xgboost as xgb
    import xgboost.dask  # noqa: F401 (xgb.dask)
    from distributed import Client, LocalCluster

    print(f"dask {dask.__version__}, distributed {distributed.__version__}, xgboost {xgb.__version__}", flush=True)
    t0 = time.perf_counter()
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                      silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
        started = time.perf_counter() - t0
        # Every column as float64. pandas 3.1 has one correctly rounded float converter (its
        # `float_precision` modes are gone), as Rust's `str::parse`: the cluster and the
        # native scorer see the same doubles.
        frame = dd.read_csv(args.data, blocksize=args.blocksize, dtype="float64")
        partitions = frame.npartitions
        if partitions < 4:
            raise SystemExit(f"{args.data} makes {partitions} partitions at blocksize {args.blocksize}; need >= 4")
        X = frame.drop(columns=[args.label]).persist()
        y = frame[args.label].persist()
        distributed.wait([X, y])
        rows = int(X.shape[0].compute())
        loaded = time.perf_counter() - t0 - started
        print(f"cluster up in {started:.1f} s ({len(client.scheduler_info()['workers'])} workers); "
              f"{rows} rows in {partitions} partitions read in {loaded:.1f} s", flush=True)

        t = time.perf_counter()
        dtrain = xgb.dask.DaskDMatrix(client, X, y)
        params = {
            "objective": "binary:logistic",
            "tree_method": "hist",
            "max_depth": 6,
            "eta": 0.1,
            "nthread": 1,
            "seed": 0,
            "eval_metric": "aucpr",
        }
        output = xgb.dask.train(client, params, dtrain, num_boost_round=args.rounds,
                                evals=[(dtrain, "train")], verbose_eval=50)
        booster = output["booster"]
        train_seconds = time.perf_counter() - t
        trees = len(booster.get_dump())
        aucpr = output["history"]["train"]["aucpr"][-1]
        print(f"trained {trees} trees in {train_seconds:.1f} s on the cluster (train AUC-PR {aucpr:.4f})", flush=True)
        model_path = os.path.join(args.out, "model.json")
        booster.save_model(model_path)

        t = time.perf_counter()
        margins = xgb.dask.predict(client, booster, X, output_margin=True).compute()
        probs = xgb.dask.predict(client, booster, X).compute()
        predict_seconds = time.perf_counter() - t
    margins = np.asarray(margins, dtype=np.float32)
    probs = np.asarray(probs, dtype=np.float32)
    if margins.shape != (rows,) or probs.shape != (rows,):
        raise SystemExit(f"predictions have shapes {margins.shape} and {probs.shape}, expected ({rows},)")
    margins.astype("<f4").tofile(os.path.join(args.out, "margins.f32"))
    probs.astype("<f4").tofile(os.path.join(args.out, "probs.f32"))
    print(f"predicted {rows} rows on the cluster in {predict_seconds:.1f} s; wrote {model_path}, margins.f32, "
          f"probs.f32 (total {time.perf_counter() - t0:.1f} s)", flush=True)
    subprocess.run([sys.executable, os.path.abspath(__file__), "--speed", "--data", args.data, "--out", args.out,
                    "--label", args.label, "--speed-rows", str(min(args.speed_rows, rows))],
                   env=dict(os.environ, OMP_NUM_THREADS=str(SPEED_THREADS)), check=True)
    summary = {
        "rows": rows,
        "partitions": partitions,
        "trees": trees,
        "features": list(X.columns),
        "base_score": json.loads(booster.save_config())["learner"]["learner_model_param"]["base_score"],
        "cluster_seconds": started,
        "read_seconds": loaded,
        "train_seconds": train_seconds,
        "predict_seconds": predict_seconds,
        "train_aucpr": aucpr,
        "versions": {"dask": dask.__version__, "distributed": distributed.__version__, "xgboost": xgb.__version__},
    }
    with open(os.path.join(args.out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
        f.write("\n")


SPEED_THREADS = 2


def time_xgboost(data, label, out, rows, runs=5, calls=1_000, nthread=SPEED_THREADS):
    """XGBoost's own prediction speed on OUT/model.json, in process (no cluster), to OUT/xgboost_speed.json."""
    import pandas as pd
    import xgboost as xgb

    model_path = os.path.join(out, "model.json")
    cluster_margins = np.fromfile(os.path.join(out, "margins.f32"), dtype="<f4")

    head_path = os.path.join(out, "head.csv")
    with open(data, newline="") as src, open(head_path, "w", newline="") as dst:
        for _ in range(rows + 1):  # the header and `rows` data lines, as written
            dst.write(src.readline())
    X = pd.read_csv(head_path, dtype="float64").drop(columns=[label]).to_numpy(dtype=np.float64)
    X = np.ascontiguousarray(X)
    if X.shape[0] != rows:
        raise SystemExit(f"{head_path} has {X.shape[0]} rows, expected {rows}")
    booster = xgb.Booster(params={"nthread": nthread}, model_file=model_path)
    names = booster.feature_names  # the model's, as the cluster's frame named them

    def inplace(block):
        return booster.inplace_predict(block, predict_type="margin")

    def via_dmatrix(block):
        return booster.predict(xgb.DMatrix(block, feature_names=names, nthread=nthread), output_margin=True)

    def median_seconds(f, blocks):
        times = []
        for block in blocks:
            t = time.perf_counter()
            f(block)
            times.append(time.perf_counter() - t)
        return statistics.median(times)

    t0 = time.perf_counter()
    speed = {"rows": rows, "runs": runs, "calls": calls, "nthread": nthread, "xgboost": xgb.__version__}
    want = cluster_margins[:rows].view("<u4")
    singles = [X[i % rows:i % rows + 1] for i in range(calls)]
    for name, f in [("inplace_predict", inplace), ("predict_dmatrix", via_dmatrix)]:
        got = np.asarray(f(X), dtype="<f4")  # also the warm-up
        speed[f"{name}_margin_mismatches"] = int(np.count_nonzero(got.view("<u4") != want))
        median_seconds(f, singles[:20])
        speed[f"{name}_batch_ns_per_row"] = median_seconds(f, [X] * runs) * 1e9 / rows
        speed[f"{name}_one_row_us"] = median_seconds(f, singles) * 1e6
    with open(os.path.join(out, "xgboost_speed.json"), "w") as fh:
        json.dump(speed, fh, indent=1)
        fh.write("\n")
    print(f"timed XGBoost's predict on {rows} rows in process (nthread={nthread}) in "
          f"{time.perf_counter() - t0:.1f} s", flush=True)


if __name__ == "__main__":
    main()
