"""JSON persistence: identical predictions after a round trip, versions, tampering, no pickle."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import zjfin
from zjfin._errors import ModelFormatError
from zjfin.model import DefaultModel


def mixed_data(n: int = 3000, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({
        "leverage": rng.uniform(0, 1, n),
        "coverage": np.where(rng.uniform(size=n) < 0.1, -999.0, rng.lognormal(size=n)),
        "sector": rng.choice(["C", "F", "K", "Z"], size=n, p=[0.5, 0.3, 0.17, 0.03]),
    })
    X.loc[rng.uniform(size=n) < 0.05, "leverage"] = np.nan
    risk = 0.03 + 0.15 * X["leverage"].fillna(0.9) + 0.1 * (X["sector"] == "K")
    return X, (rng.uniform(size=n) < risk).astype(int)


@pytest.mark.parametrize("calibration", [None, "platt", "isotonic"])
def test_round_trip_gives_identical_predictions(tmp_path, calibration):
    X, y = mixed_data()
    m = DefaultModel(special_values={"coverage": [-999.0]}, calibration=calibration, random_state=0).fit(X, y)
    path = tmp_path / "model.json"
    m.to_json(path)
    again = DefaultModel.from_json(path)
    assert np.array_equal(again.predict_proba(X), m.predict_proba(X))
    assert np.array_equal(again.points(X), m.points(X))
    assert again.get_params() == m.get_params()
    pd.testing.assert_frame_equal(again.points_table(), m.points_table())
    pd.testing.assert_frame_equal(again.coef_table_, m.coef_table_)
    pd.testing.assert_frame_equal(again.binning_table(), m.binning_table())
    # Written twice, the file is the same bytes.
    again.to_json(tmp_path / "again.json")
    assert (tmp_path / "again.json").read_bytes() == path.read_bytes()


def test_the_file_says_what_it_is():
    X, y = mixed_data()
    document = json.loads(DefaultModel().fit(X, y).to_json())
    assert document["format"] == "zjfin.DefaultModel"
    assert document["format_version"] == zjfin.model.FORMAT_VERSION == 1
    assert document["zjfin_version"] == zjfin.__version__
    assert len(document["sha256"]) == 64


def test_an_unknown_version_is_refused(tmp_path):
    X, y = mixed_data()
    document = json.loads(DefaultModel().fit(X, y).to_json())
    document["format_version"] = 2
    path = tmp_path / "future.json"
    path.write_text(json.dumps(document))
    with pytest.raises(ModelFormatError, match="version 2 is not one this zjfin reads"):
        DefaultModel.from_json(path)


def test_a_tampered_file_is_refused(tmp_path):
    X, y = mixed_data()
    document = json.loads(DefaultModel().fit(X, y).to_json())
    document["content"]["coef"][0] *= 0.5  # someone "adjusted" a coefficient
    path = tmp_path / "tampered.json"
    path.write_text(json.dumps(document))
    with pytest.raises(ModelFormatError, match="do not match their checksum"):
        DefaultModel.from_json(path)


@pytest.mark.parametrize("text, message", [
    ("not json at all", "not JSON"),
    ('{"format": "sklearn"}', "not a zjfin model file"),
    ('{"format": "zjfin.DefaultModel", "content": {"coef": [NaN]}}', "NaN is no JSON number"),
    ('{"format": "zjfin.DefaultModel", "content": {"coef": [-Infinity]}}', "-Infinity is no JSON number"),
    ("[" * 6000 + "]" * 6000, "nested too deep"),
])
def test_other_files_are_refused(tmp_path, text, message):
    path = tmp_path / "model.json"
    path.write_text(text)
    with pytest.raises(ModelFormatError, match=message):
        DefaultModel.from_json(path)
    with pytest.raises(ModelFormatError, match="cannot be read"):
        DefaultModel.from_json(tmp_path / "absent.json")


def test_no_pickle_anywhere_in_the_package():
    package = Path(zjfin.__file__).parent
    for source in package.rglob("*.py"):
        text = source.read_text(encoding="utf-8")
        for word in ("import pickle", "from pickle", "joblib", "cloudpickle", "dill"):
            assert word not in text, f"{source.name} uses {word}"


def test_a_shared_key_signs_and_checks_the_model(tmp_path):
    X, y = mixed_data()
    m = DefaultModel().fit(X, y)
    path = tmp_path / "signed.json"
    m.to_json(path, key="bank-and-regulator secret")
    assert np.array_equal(DefaultModel.from_json(path, key="bank-and-regulator secret").predict_proba(X),
                          m.predict_proba(X))
    with pytest.raises(ModelFormatError, match="not signed with this key"):
        DefaultModel.from_json(path, key="another secret")
    # A forger who changes a coefficient and recomputes the plain checksum passes the
    # checksum but not the key.
    from zjfin.model.persist import _checksum

    document = json.loads(path.read_text())
    document["content"]["coef"][0] *= -1
    document["sha256"] = _checksum(document["content"])
    path.write_text(json.dumps(document))
    DefaultModel.from_json(path)  # the checksum alone cannot tell
    with pytest.raises(ModelFormatError, match="HMAC does not match"):
        DefaultModel.from_json(path, key="bank-and-regulator secret")
    unsigned = tmp_path / "unsigned.json"
    m.to_json(unsigned)
    with pytest.raises(ModelFormatError, match="HMAC missing"):
        DefaultModel.from_json(unsigned, key="bank-and-regulator secret")


def test_a_boolean_version_and_incomplete_contents_are_refused(tmp_path):
    from zjfin.model.persist import _checksum

    X, y = mixed_data()
    document = json.loads(DefaultModel().fit(X, y).to_json())
    path = tmp_path / "model.json"
    path.write_text(json.dumps({**document, "format_version": True}))
    with pytest.raises(ModelFormatError, match="version True is not one"):
        DefaultModel.from_json(path)
    del document["content"]["binnings"]
    document["sha256"] = _checksum(document["content"])
    path.write_text(json.dumps(document))
    with pytest.raises(ModelFormatError, match="not a complete model"):
        DefaultModel.from_json(path)
