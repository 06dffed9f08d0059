"""The model's features from statements, default labels, and screening with a model."""

import json

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

import zjfin
from zjfin._cli import main
from zjfin.model import DefaultModel, default_labels, feature_table, features, firm_features


def test_every_transform_worked_by_hand():
    frame = pd.DataFrame({
        "total_assets": [200.0, 100.0, -5.0], "total_liabilities": [120.0, 0.0, 10.0],
        "current_assets": [80.0, 50.0, 1.0], "current_liabilities": [40.0, 0.0, 1.0], "inventory": [20.0, 5.0, 0.0],
        "revenue": [300.0, 110.0, 1.0], "revenue_prev": [250.0, np.nan, 1.0],
    })
    table = feature_table().set_index("name").loc[
        ["debt_ratio", "quick_ratio", "working_capital_to_assets", "revenue_growth", "log_total_assets"]].reset_index()
    out = firm_features(frame, table)
    np.testing.assert_allclose(out["debt_ratio"], [0.6, 0.0, np.nan])
    np.testing.assert_allclose(out["quick_ratio"], [(80 - 20) / 40, np.nan, 1.0])  # no current liabilities: missing
    np.testing.assert_allclose(out["working_capital_to_assets"], [0.2, 0.5, np.nan])  # assets ≤ 0: missing
    np.testing.assert_allclose(out["revenue_growth"], [0.2, np.nan, 0.0])
    np.testing.assert_allclose(out["log_total_assets"], [np.log(200), np.log(100), np.nan])


def test_feature_table_names_only_statement_columns():
    from zjfin._features import PRIOR_COLUMNS

    known = {c.name for c in zjfin.table_schema("financials").columns} | {f"{c}_prev" for c in PRIOR_COLUMNS}
    table = feature_table()
    for text in pd.concat([table["numerator"], table["denominator"]]):
        for token in text.replace("+", " ").replace("-", " ").split():
            assert token in known, token
    assert table["name"].is_unique


@pytest.fixture(scope="module")
def province():
    return zjfin.datasets.synthetic_province(6000, seed=11)


def test_features_and_labels_line_up(province):
    X = features(province, "2018-03-31")
    y = default_labels(province, "2019-03-31")
    assert X.index.equals(y.index) and X.index.name == "firm_id"
    assert list(X.columns) == feature_table()["name"].tolist()
    assert set(y.unique()) == {0, 1}
    # Firms with a loan in the NPL classes or 90+ days overdue, or a defaulted bond.
    clean = zjfin.validate(province, as_of="2019-03-31").dataset
    loans = clean["loans"]
    npl = loans["classification"].isin(["substandard", "doubtful", "loss"]) | (loans["overdue_days"] > 90)
    bonds = clean["bonds"]
    bad_bonds = bonds["status"].isin(["defaulted", "extended"])
    expected = set(loans.loc[npl, "firm_id"]) | set(bonds.loc[bad_bonds, "issuer_id"])
    assert set(y.index[y == 1]) == expected & set(y.index)


def test_screen_with_a_model_fills_pd_12m(province, tmp_path):
    X = features(province, "2018-03-31")
    y = default_labels(province, "2019-03-31")
    model = DefaultModel().fit(X, y)
    model_file = tmp_path / "model.json"
    model.to_json(model_file)
    data = tmp_path / "data"
    zjfin.write_dataset(province, data, format="parquet")
    out = tmp_path / "out"
    code = main(["-q", "screen", str(data), "--as-of", "2019-03-31", "--out", str(out), "--formats", "parquet",
                 "--model", str(model_file)])
    assert code in (0, 1)
    screening = pq.read_table(out / "screening.parquet").to_pandas().set_index("firm_id")
    assert screening["pd_12m"].notna().all()
    assert screening["pd_12m"].between(0, 1).all()
    # The same probabilities as the model on the same statements.
    expected = model.predict_proba(features(province, "2019-03-31"))[:, 1]
    np.testing.assert_allclose(screening["pd_12m"].to_numpy(), expected, rtol=1e-12)
    # Firms in default score higher.
    assert screening.loc[y.index[y == 1], "pd_12m"].mean() > 3 * screening["pd_12m"].median()
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["model"]["sha256"] == json.loads(model_file.read_text(encoding="utf-8"))["sha256"]
    assert manifest["model"]["features"] == model.features_


def test_the_policy_uses_pd_12m(province):
    X = features(province, "2018-03-31")
    model = DefaultModel().fit(X, default_labels(province, "2019-03-31"))
    strict = zjfin.Policy.default()
    without = zjfin.screen(province, "2019-03-31", policy=strict)
    with_model = zjfin.screen(province, "2019-03-31", policy=strict, model=model)
    assert without.screening["pd_12m"].isna().all()
    # quality also admits a firm outside the Z'' safe zone when its pd_12m is below the line.
    gained = (with_model.screening["list"] == "quality") & (without.screening["list"] != "quality")
    low_pd = with_model.screening["pd_12m"] < strict.lists.quality_max_pd
    assert gained.sum() > 0 and low_pd[gained].all()
    assert with_model.manifest()["model"]["n_train"] == len(X)


def test_a_model_on_other_features_is_refused(province, tmp_path):
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"Attr1": rng.normal(size=500)})
    model = DefaultModel().fit(X, (rng.uniform(size=500) < 0.2).astype(int))
    with pytest.raises(zjfin.ParameterError, match="Attr1"):
        zjfin.screen(province, "2019-03-31", model=model)
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    data = tmp_path / "data"
    zjfin.write_dataset(zjfin.datasets.synthetic_province(300, seed=1), data, format="parquet")
    assert main(["-q", "screen", str(data), "--as-of", "2019-03-31", "--out", str(tmp_path / "o"), "--model", str(bad)]) == 2
    assert not (tmp_path / "o").exists()


def test_screen_command_checks_a_signed_model(province, tmp_path):
    X = features(province, "2018-03-31")
    model = DefaultModel().fit(X, default_labels(province, "2019-03-31"))
    model_file, key_file, wrong_key = tmp_path / "model.json", tmp_path / "key", tmp_path / "wrong"
    key_file.write_text("shared secret\n")
    wrong_key.write_text("not the secret\n")
    model.to_json(model_file, key=b"shared secret")
    data = tmp_path / "data"
    zjfin.write_dataset(province, data, format="parquet")
    common = ["-q", "screen", str(data), "--as-of", "2019-03-31", "--model", str(model_file)]
    assert main([*common, "--out", str(tmp_path / "bad"), "--model-key-file", str(wrong_key)]) == 2
    assert not (tmp_path / "bad").exists()
    assert main([*common, "--out", str(tmp_path / "good"), "--model-key-file", str(key_file), "--formats", "parquet"]) in (0, 1)
    assert pd.read_parquet(tmp_path / "good" / "screening.parquet")["pd_12m"].notna().all()
