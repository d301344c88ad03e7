"""FraudClassifier as scikit-learn expects an estimator to behave: the estimator checks,
Pipeline, cross_val_score, GridSearchCV, pickling, and a table with text and empty cells.

These train real models (the trainer in process), so `cargo xtask test` runs them once
per run (FRAUD_ESTIMATOR_CHECKS=1), not once per model."""

import os
import pickle

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn.datasets import make_classification  # noqa: E402
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

import fraud_detector as fd  # noqa: E402
from fraud_detector.sklearn import FraudClassifier  # noqa: E402

pytestmark = pytest.mark.skipif(
    os.environ.get("FRAUD_ESTIMATOR_CHECKS", "1") != "1", reason="run once per test run (FRAUD_ESTIMATOR_CHECKS=1)"
)

def expected_failed(estimator):
    """The checks FraudClassifier cannot pass, each with the reason (from its tags)."""
    return estimator.expected_failed_checks()


@parametrize_with_checks([FraudClassifier(candidates=["trees"], seed=0)], expected_failed_checks=expected_failed)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


def imbalanced(n=3000, seed=0):
    X, y = make_classification(
        n_samples=n, n_features=8, n_informative=5, weights=[0.93, 0.07], class_sep=1.2, random_state=seed
    )
    return X, y


def test_fit_returns_self_and_follows_the_conventions():
    X, y = imbalanced()
    clf = FraudClassifier(candidates=["trees"], seed=1)
    assert clf.fit(X, y) is clf
    assert list(clf.classes_) == [0, 1]
    p = clf.predict_proba(X)
    assert p.shape == (len(X), 2) and np.allclose(p.sum(axis=1), 1.0)
    assert clf.n_features_in_ == 8
    assert set(np.unique(clf.predict(X))) <= {0, 1}
    assert clf.get_params()["seed"] == 1
    clf.set_params(seed=2)
    assert clf.seed == 2


def test_labels_other_than_0_and_1_map_back():
    X, y = imbalanced()
    labels = np.where(y == 1, "fraud", "legit")
    clf = FraudClassifier(candidates=["trees"]).fit(X, labels)
    assert list(clf.classes_) == ["fraud", "legit"]
    # classes_[1] is "legit": its probability is the model's positive class.
    assert set(clf.predict(X)) <= {"fraud", "legit"}


def test_the_same_data_and_seed_give_the_same_model():
    X, y = imbalanced()
    a = FraudClassifier(candidates=["trees"], seed=3).fit(X, y)
    b = FraudClassifier(candidates=["trees"], seed=3).fit(X, y)
    assert a.model_.model_id == b.model_.model_id


def test_pipeline_cross_val_score_and_grid_search():
    X, y = imbalanced()
    pipe = make_pipeline(StandardScaler(), FraudClassifier(candidates=["trees"]))
    scores = cross_val_score(pipe, X, y, cv=StratifiedKFold(3, shuffle=True, random_state=0), scoring="average_precision")
    assert scores.shape == (3,) and (scores > 0.3).all(), scores
    grid = GridSearchCV(
        FraudClassifier(), {"candidates": [["baseline"], ["trees"]]}, cv=3, scoring="average_precision"
    ).fit(X, y)
    assert grid.best_params_["candidates"] in (["baseline"], ["trees"])
    assert grid.predict_proba(X).shape == (len(X), 2)


def test_pickling_round_trips_bit_for_bit(tmp_path):
    X, y = imbalanced()
    clf = FraudClassifier(candidates=["trees"]).fit(X, y)
    again = pickle.loads(pickle.dumps(clf))
    assert (again.predict_proba(X).view(np.uint64) == clf.predict_proba(X).view(np.uint64)).all()
    assert (again.predict(X) == clf.predict(X)).all()
    # Saved: the folder every runtime serves; unpickled, model.bin alone.
    clf.save(tmp_path / "fitted")
    assert {"model.bin", "report.json", "replay.csv"} <= {p.name for p in (tmp_path / "fitted").iterdir()}
    served = fd.Model.load(tmp_path / "fitted" / "model.bin")
    assert (served.predict_proba(X).view(np.uint64) == clf.predict_proba(X)[:, 1].view(np.uint64)).all()
    again.save(tmp_path / "unpickled")
    assert fd.Model.load(tmp_path / "unpickled" / "model.bin").model_id == clf.model_.model_id


def test_a_table_with_text_and_empty_cells():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    n = 4000
    merchant = rng.choice(["grocery", "travel", "games", "fuel"], size=n)
    amount = rng.gamma(2.0, 40.0, size=n)
    risk = rng.normal(size=n)
    logit = -4 + 2.5 * (merchant == "games") + 1.2 * risk + 0.004 * amount
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    frame = pd.DataFrame({"merchant": merchant, "amount": amount, "risk": risk})
    frame.loc[rng.random(n) < 0.05, "risk"] = np.nan
    frame.loc[rng.random(n) < 0.05, "merchant"] = None
    clf = FraudClassifier(candidates=["trees"]).fit(frame, y)
    assert list(clf.feature_names_in_) == ["merchant", "amount", "risk"]
    assert clf.model_.kinds == ["text", "number", "number"]
    p = clf.predict_proba(frame)[:, 1]
    assert np.isfinite(p).all()
    # scikit-learn's convention: columns as at fit time, else an error; the model itself goes by name.
    reordered = frame[["risk", "merchant", "amount"]]
    with pytest.raises(ValueError, match="feature names"):
        clf.predict_proba(reordered)
    assert (clf.model_.predict_proba(reordered).view(np.uint64) == p.view(np.uint64)).all()
    # The money: decisions carry expected benefits in the costs' currency.
    d = clf.model_.decide(frame.iloc[:5])
    assert {"refuse", "accept", "currency"} <= set(d[0]["expected_benefit"])


def test_one_class_is_a_clear_error():
    X, y = imbalanced(500)
    with pytest.raises(ValueError, match="class"):
        FraudClassifier().fit(X, np.zeros(len(X), dtype=int))


def test_frames_and_arrays_meet_by_position_as_scikit_learn_warns():
    pd = pytest.importorskip("pandas")
    X, y = imbalanced()
    frame = pd.DataFrame(X, columns=[f"f{j}" for j in range(X.shape[1])])
    by_frame = FraudClassifier(candidates=["trees"]).fit(frame, y)
    with pytest.warns(UserWarning, match="feature names"):
        p = by_frame.predict_proba(X)
    assert (p.view(np.uint64) == by_frame.predict_proba(frame).view(np.uint64)).all()
    by_array = FraudClassifier(candidates=["trees"]).fit(X, y)
    with pytest.warns(UserWarning, match="feature names"):
        q = by_array.predict_proba(frame)
    assert (q.view(np.uint64) == by_array.predict_proba(X).view(np.uint64)).all()


def test_categories_of_numbers_are_coded_and_booleans_refused():
    pd = pytest.importorskip("pandas")
    X, y = imbalanced()
    frame = pd.DataFrame(X[:, :3], columns=["a", "b", "c"])
    frame["shop"] = pd.Series((np.arange(len(y)) % 7), dtype="category")
    clf = FraudClassifier(candidates=["trees"]).fit(frame, y)
    assert clf.model_.kinds[-1] == "coded"
    assert np.isfinite(clf.predict_proba(frame)).all()  # the training frame scores
    frame["flag"] = y.astype(bool)
    with pytest.raises(ValueError, match="flag"):
        FraudClassifier(candidates=["trees"]).fit(frame, y)
