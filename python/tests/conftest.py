"""What the suite runs against: a model folder (model.bin, replay.csv, golden.csv and
perhaps parity rules) and a server serving that model, both named by `cargo xtask test`
in the environment (FRAUD_MODEL_DIR, FRAUD_SERVER_URL, FRAUD_RULES, FRAUD_LISTS)."""

import csv
import json
import os
import urllib.request
from pathlib import Path

import pytest

import fraud_detector as fd


def _env_path(name):
    value = os.environ.get(name)
    return Path(value) if value else None


@pytest.fixture(scope="session")
def model_dir():
    d = _env_path("FRAUD_MODEL_DIR")
    if d is None or not (d / "model.bin").is_file():
        pytest.skip("FRAUD_MODEL_DIR names no model folder (cargo xtask test --only python sets it)")
    return d


@pytest.fixture(scope="session")
def model(model_dir):
    m = fd.Model.load(model_dir / "model.bin")
    rules = _env_path("FRAUD_RULES")
    if rules is not None:
        lists = _env_path("FRAUD_LISTS")
        m = m.with_rules(rules, None if lists is None else lists)
    return m


@pytest.fixture(scope="session")
def replay(model_dir):
    """The replay file's rows as read: one dict of strings per row (empty: missing)."""
    with open(model_dir / "replay.csv", newline="") as f:
        return list(csv.DictReader(f))


def typed(model, rows):
    """Columns of the replay rows as a DataFrame user would hold them: numbers as floats
    (NaN where empty), text categories as str (None where empty), the id column as str."""
    import pandas as pd

    kinds = dict(zip(model.features, model.kinds))
    data = {}
    for name in rows[0].keys():
        kind = kinds.get(name)
        if kind in ("number", "coded"):
            data[name] = [float(r[name]) if r[name] != "" else float("nan") for r in rows]
        elif kind == "text":
            data[name] = pd.Series([r[name] if r[name] != "" else None for r in rows], dtype=object)
        else:
            data[name] = [r[name] for r in rows]
    return pd.DataFrame(data)


@pytest.fixture(scope="session")
def frame(model, replay):
    return typed(model, replay)


@pytest.fixture(scope="session")
def golden(model_dir):
    with open(model_dir / "golden.csv", newline="") as f:
        lines = [line for line in f if not line.startswith("#")]
    return list(csv.DictReader(lines))


@pytest.fixture(scope="session")
def server():
    url = os.environ.get("FRAUD_SERVER_URL")
    if not url:
        pytest.skip("FRAUD_SERVER_URL names no server (cargo xtask test --only python starts one)")
    return url.rstrip("/")


def post(url, body):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read())


def get(url):
    with urllib.request.urlopen(url, timeout=60) as r:
        return json.loads(r.read())


def as_json_row(model, row):
    """A replay row as the JSON body the server takes (numbers, text, null)."""
    kinds = dict(zip(model.features, model.kinds))
    out = {}
    for name, value in row.items():
        kind = kinds.get(name)
        if kind in ("number", "coded"):
            out[name] = float(value) if value != "" else None
        elif kind == "text":
            out[name] = value if value != "" else None
    return out
