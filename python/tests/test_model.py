"""fraud_detector.Model against the golden file and the server, and its documented
results for DataFrames that are not what the model expects."""

import pickle

import numpy as np
import pytest

import fraud_detector as fd
from conftest import as_json_row, get, post, typed


def ids_of(model, replay):
    """What the golden file's rules saw as each row's id: the id column, else the row index."""
    column = model._native.id_column
    if column is not None and column in replay[0]:
        return [r[column] for r in replay]
    return [str(i) for i in range(len(replay))]


def test_probabilities_are_the_golden_files_bit_for_bit(model, frame, golden):
    p = model.predict_proba(frame)
    assert p.dtype == np.float64 and p.shape == (len(golden),)
    want = np.array([int(g["probability_bits"], 16) for g in golden], dtype=np.uint64)
    differ = np.flatnonzero(p.view(np.uint64) != want)
    assert differ.size == 0, f"{differ.size} of {len(golden)} rows differ, first at {differ[:5]}"


def test_decisions_are_the_golden_files(model, frame, replay, golden):
    decided = model.decide(frame, ids=ids_of(model, replay))
    assert len(decided) == len(golden)
    for i, (d, g) in enumerate(zip(decided, golden)):
        assert int(d["is_fraud"]) == int(g["is_fraud"]), i
        assert d["action"] == g["action"], i
        assert (d["rule"] or "") == g["rule"], i


def test_a_numpy_matrix_and_a_polars_frame_score_the_same(model, frame):
    want = model.predict_proba(frame)
    if all(k == "number" for k in model.kinds):
        x = np.ascontiguousarray(frame[model.features].to_numpy(dtype=np.float64))
        assert (model.predict_proba(x).view(np.uint64) == want.view(np.uint64)).all()
        # Column-major and strided arrays go by columns, to the same bits.
        assert (model.predict_proba(np.asfortranarray(x)).view(np.uint64) == want.view(np.uint64)).all()
    polars = pytest.importorskip("polars")
    pl = polars.DataFrame({name: frame[name].tolist() for name in model.features})
    assert (model.predict_proba(pl).view(np.uint64) == want.view(np.uint64)).all()


def test_decisions_and_explanations_are_the_servers(model, replay, frame, server):
    n = min(len(replay), 300)
    ids = ids_of(model, replay)[:n]
    body = {"transactions": [{"id": ids[i], **as_json_row(model, replay[i])} for i in range(n)]}
    answered = post(f"{server}/predict/batch?explain=3", body)["results"]
    ours = model.decide(frame.iloc[:n], explain=3, ids=ids)
    assert len(ours) == n
    for i, (a, o) in enumerate(zip(answered, ours)):
        a.pop("logged_id", None)
        assert o == a, f"row {i}"
    # One at a time: /predict?explain=3's contributions and base value.
    explained = model.explain(frame.iloc[:20], k=3)
    for i in range(20):
        a = post(f"{server}/predict?explain=3", {"id": ids[i], **as_json_row(model, replay[i])})
        assert explained[i]["contributions"] == a["contributions"], i
        assert explained[i]["base_value"] == a["base_value"], i


def test_the_card_is_the_servers(model, server):
    card = model.card()
    served = get(f"{server}/model")
    assert card["schema"]["features"] == model.features == served["schema"]["features"]
    assert card["kind"] == served["kind"]
    assert card["name"] == model.name


def test_explanations_are_exact(model, frame):
    """All contributions plus the base value make the logit of the probability's model
    (before calibration, so checked against the uncalibrated sum's ordering only by sign)."""
    k = len(model.features)
    explained = model.explain(frame.iloc[:10], k=k)
    for e in explained:
        assert len(e["contributions"]) == k
        sizes = [abs(c["contribution"]) for c in e["contributions"]]
        assert sizes == sorted(sizes, reverse=True)


def test_columns_in_another_order_and_an_extra_column_change_nothing(model, frame):
    want = model.predict_proba(frame).view(np.uint64)
    shuffled = frame[list(reversed(frame.columns))].copy()
    shuffled["not_a_feature"] = "anything"
    assert (model.predict_proba(shuffled).view(np.uint64) == want).all()


def test_a_missing_column_is_invalid_input_naming_it(model, frame):
    gone = model.features[0]
    with pytest.raises(fd.InvalidInput) as e:
        model.predict_proba(frame.drop(columns=[gone]))
    assert e.value.code == "missing_field"
    assert e.value.fields == [gone]
    assert isinstance(e.value, ValueError)


def test_text_in_a_numeric_column_is_invalid_input_naming_the_field_and_row(model, frame):
    numeric = [f for f, k in zip(model.features, model.kinds) if k == "number" and f != frame.columns[0]]
    name = numeric[0]
    bad = frame.iloc[:10].copy()
    bad[name] = bad[name].astype(object)
    bad.loc[bad.index[3], name] = "twelve"
    with pytest.raises(fd.InvalidInput) as e:
        model.predict_proba(bad)
    assert e.value.code == "non_numeric"
    assert e.value.fields == [name]
    assert e.value.row == 3
    assert "row 3" in str(e.value) and name in str(e.value)


def test_a_bad_file_is_a_clear_value_error(tmp_path, model_dir):
    data = (model_dir / "model.bin").read_bytes()
    for broken in (b"", data[: len(data) // 2], b"not a model at all"):
        path = tmp_path / "broken.bin"
        path.write_bytes(broken)
        with pytest.raises(ValueError) as e:
            fd.Model.load(path)
        assert isinstance(e.value, fd.InvalidModel)
        assert str(path) in str(e.value)


def test_a_model_pickles_by_its_bytes(model, frame):
    again = pickle.loads(pickle.dumps(model))
    assert again.model_id == model.model_id
    assert (again.predict_proba(frame).view(np.uint64) == model.predict_proba(frame).view(np.uint64)).all()
    assert again.decide(frame.iloc[:50]) == model.decide(frame.iloc[:50])


def test_an_infinite_value_far_down_is_invalid_input_naming_its_row(model, frame):
    """Rows are checked a block at a time: the error still names the first bad row."""
    if len(frame) < 1200:
        pytest.skip("the replay file is too short")
    name = [f for f, k in zip(model.features, model.kinds) if k == "number"][-1]
    bad = frame.iloc[:1200].copy()
    bad[name] = bad[name].astype(np.float64)
    bad.loc[bad.index[1100], name] = np.inf
    bad.loc[bad.index[1000], name] = -np.inf
    with pytest.raises(fd.InvalidInput) as e:
        model.predict_proba(bad)
    assert (e.value.code, e.value.fields, e.value.row) == ("non_finite", [name], 1000)
    with pytest.raises(fd.InvalidInput) as e:
        model.decide(bad)
    assert e.value.row == 1000


def test_a_feature_given_twice_is_invalid_input(model, frame):
    name = model.features[0]
    twice = frame.iloc[:5].copy()
    twice.insert(0, "dup", twice[name])
    twice = twice.rename(columns={"dup": name})
    with pytest.raises(fd.InvalidInput) as e:
        model.predict_proba(twice)
    assert (e.value.code, e.value.fields) == ("duplicate_field", [name])


def test_odd_values_are_errors_not_crashes(model, frame):
    name = [f for f, k in zip(model.features, model.kinds) if k == "number"][0]
    for odd in (10**400, b"bytes", [1, 2], True, object()):
        bad = frame.iloc[:3].copy()
        bad[name] = bad[name].astype(object)
        bad.at[bad.index[1], name] = odd
        with pytest.raises(fd.InvalidInput) as e:
            model.predict_proba(bad)
        assert e.value.row == 1 and e.value.fields == [name], odd
    assert model.predict_proba(frame.iloc[:0]).shape == (0,)
    with pytest.raises(fd.InvalidInput):
        model.predict_proba(np.zeros((2, 3, 4)))


def test_the_first_bad_row_of_all_columns_is_named(model, frame):
    """A numeric column's error at row 2 comes before an object column's at row 5."""
    numeric = [f for f, k in zip(model.features, model.kinds) if k == "number"][0]
    other = [f for f in model.features if f != numeric][0]
    bad = frame.iloc[:8].copy()
    bad[numeric] = bad[numeric].astype(np.float64)
    bad.loc[bad.index[2], numeric] = np.inf
    bad[other] = bad[other].astype(object)
    bad.at[bad.index[5], other] = [1, 2]
    with pytest.raises(fd.InvalidInput) as e:
        model.predict_proba(bad)
    assert (e.value.row, e.value.fields) == (2, [numeric])


def test_a_mapping_of_columns_and_its_mistakes(model, frame):
    want = model.predict_proba(frame.iloc[:20]).view(np.uint64)
    mapping = {f: frame[f].iloc[:20].tolist() for f in model.features}
    assert (model.predict_proba(mapping).view(np.uint64) == want).all()
    one = {f: mapping[f][0] for f in model.features}  # one transaction's scalars, not columns
    with pytest.raises(fd.InvalidInput) as e:
        model.predict_proba(one)
    assert e.value.code == "invalid_fields"
    with pytest.raises(ValueError):
        model.decide(frame.iloc[:2], explain=-1)
