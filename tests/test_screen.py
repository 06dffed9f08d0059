"""Screening end to end on the synthetic province."""

import json

import pandas as pd
import pytest

import zjfin
from zjfin._cli import main
from zjfin._schema import table_schema

AS_OF = "2019-03-31"


@pytest.fixture(scope="module")
def screened():
    ds = zjfin.datasets.synthetic_province(2_000, seed=5)
    return ds, zjfin.screen(ds, as_of=AS_OF)


def test_planted_cases_land_where_recorded(screened):
    ds, res = screened
    planted = ds.planted
    # Every planted expectation names a real screening column.
    assert set(planted["column"]) <= set(table_schema("screening").names) | {"listed"}
    frame = res.screening.set_index("firm_id")
    checkable = planted[planted["column"].isin(frame.columns)]
    assert len(checkable) >= 3  # the size-class cases exist at this stage
    for row in checkable.itertuples():
        value = str(frame.loc[row.firm_id, row.column])
        if row.column == "reason_codes":  # one code that must be among the firm's
            assert row.expected in value.split(";"), (row, value)
        else:
            assert value == row.expected, row


def test_firms_reconcile_and_columns(screened):
    ds, res = screened
    f = res.validation.firms
    assert f["read"] == len(ds.firms) == f["screened"] + f["not_screened"]
    assert len(res.screening) == f["screened"]
    assert res.screening["firm_id"].is_unique
    built = [c.name for c in table_schema("screening").columns if c.since in ("foundation", "engines", "network", "lists", "bulletin")]
    assert list(res.screening.columns) == built


def test_smes_dominate(screened):
    _, res = screened
    share = res.screening["size_class"].isin(["medium", "small", "micro"]).mean()
    assert share >= 0.98


def test_explain_and_summary(screened):
    ds, res = screened
    firm = res.screening["firm_id"].iat[0]
    explained = res.explain(firm)
    assert explained.loc[("size_class", "企业规模")] == res.screening["size_class"].iat[0]
    with pytest.raises(KeyError, match="not screened"):
        res.explain("91330100799655058B")
    by_city = res.summary(by="city")
    assert by_city["firms"].sum() == len(res.screening)
    assert set(by_city["city"]) <= {f"33{i:02d}" for i in range(1, 12)}
    with pytest.raises(zjfin.ParameterError, match="by must be one of"):
        res.summary(by="planet")
    assert "screened" in res._repr_html_()


def test_demo_command(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["-q", "demo", "--firms", "400", "--seed", "3", "--out", str(out)]) == 0
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["firms"] == {"read": 400, "screened": 400, "not_screened": 0}
    assert manifest["risks_switched_off"] == []
    counts = manifest["counts"]
    for risk in ("bond_risk", "liquidity_risk", "pledge_risk"):
        assert sum(counts[risk].values()) == 400 and counts[risk]["switched_off"] == 0
    assert counts["zombie"] >= 1  # the planted zombie
    assert sorted(p.name for p in (out / "input").iterdir()) == sorted(
        f"{t}.parquet" for t in ["firms", "financials", "bonds", "pledges", "prices", "guarantees", "loans"])
    assert len(pd.read_parquet(out / "screening.parquet")) == 400
    assert "firms read 400 = screened 400" in capsys.readouterr().out


def test_no_inf_and_levels_valid(screened):
    import numpy as np

    _, res = screened
    s = res.screening
    floats = s.select_dtypes("float")
    assert np.isfinite(floats.to_numpy()[~np.isnan(floats.to_numpy())]).all()
    for level in ("bond_risk", "liquidity_risk", "pledge_risk"):
        assert set(s[level].dropna()) <= {"none", "low", "medium", "high"}
    assert set(s["z2_zone"].dropna()) <= {"distress", "grey", "safe"}
    assert set(s["mujun_class"].dropna()) <= {"A", "B", "C", "D"}
    # Every fired code has a sentence in both languages.
    codes = s["reason_codes"].str.split(";").map(lambda c: len([x for x in c if x]))
    assert (codes == s["reasons_zh"].str.split("；").map(lambda c: len([x for x in c if x]))).all()
    assert (codes == s["reasons_en"].str.split("; ").map(lambda c: len([x for x in c if x]))).all()


def test_pledges_parquet_masks_person_ids(screened, tmp_path):
    _, res = screened
    res.export(str(tmp_path))
    contracts = pd.read_parquet(tmp_path / "pledges.parquet")
    assert len(contracts) == len(res.tables["pledges"])
    assert {"pledge_id", "company_id", "coverage", "state", "warning_price", "liquidation_price", "distance", "hit_prob"} <= set(contracts.columns)
    people = ~contracts["pledger_id"].isin(set(res.screening["firm_id"]))
    assert people.any()
    assert contracts.loc[people, "pledger_id"].str.contains(r"^.{3}\*+.{4}$").all()
    raw = res.tables["pledges"]["pledger_id"]
    assert (contracts.loc[~people, "pledger_id"].to_numpy() == raw[~people.to_numpy()].to_numpy()).all()
    unmasked = tmp_path / "plain"
    res.export(str(unmasked), mask_person_ids=False)
    assert pd.read_parquet(unmasked / "pledges.parquet")["pledger_id"].tolist() == raw.tolist()
    # The policy screened with is untouched, and is what the manifest records.
    assert res.policy.output.mask_person_ids is True
    manifest = json.loads((unmasked / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["policy"]["output"]["mask_person_ids"] is True


def test_missing_optional_tables_switch_risks_off():
    ds = zjfin.datasets.synthetic_province(300, seed=2)
    for table in ("bonds", "loans", "pledges"):
        del ds.tables[table]
    res = zjfin.screen(ds, as_of=AS_OF)
    off = {o["risk"] for o in res.switched_off}
    assert off == {"bond_risk", "liquidity_risk", "pledge_risk"}
    for column in ("bond_risk", "liquidity_risk", "pledge_risk"):
        assert res.screening[column].isna().all()  # null, never a guessed "none"
    # Guarantees are present: the network runs, but with no bond or loan data it has no
    # seeds, so nobody carries contagion.
    assert res.screening["guarantee_out_ratio"].notna().any()
    assert (res.screening["contagion_loss"] == 0).all()


def test_missing_guarantees_switch_the_network_off(tmp_path):
    ds = zjfin.datasets.synthetic_province(300, seed=2)
    del ds.tables["guarantees"]
    res = zjfin.screen(ds, as_of=AS_OF)
    assert {o["risk"] for o in res.switched_off} == {"guarantee_risk"}
    for column in ("guarantee_out", "guarantee_out_ratio", "mutual_guarantee", "guarantee_circle_id",
                   "chain_depth", "contagion_loss", "systemic_impact", "guarantee_risk"):
        assert res.screening[column].isna().all(), column
    assert "circles" not in res.tables
    assert "circles.parquet" not in res.export(str(tmp_path / "out"))


def test_threads_change_nothing(screened):
    ds, res = screened
    one = zjfin.screen(ds, as_of=AS_OF, n_jobs=1)
    two = zjfin.screen(ds, as_of=AS_OF, n_jobs=2)
    pd.testing.assert_frame_equal(one.screening, two.screening)
    pd.testing.assert_frame_equal(one.screening, res.screening)
    pd.testing.assert_frame_equal(one.tables["pledges"], two.tables["pledges"])
    # Every stage is timed, and the engines' wall time beside them.
    assert {"distress", "bonds", "liquidity", "pledges", "mujun", "working_capital", "risk_engines_wall"} <= set(two.timings)


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2", True])
def test_n_jobs_is_checked(screened, bad):
    ds, _ = screened
    with pytest.raises(zjfin.ParameterError, match="n_jobs must be a whole number"):
        zjfin.screen(ds, as_of=AS_OF, n_jobs=bad)


def test_an_engine_error_on_a_thread_reaches_the_caller(screened, monkeypatch):
    import zjfin.risks.mujun

    def broken(frame, policy, province=None):
        raise zjfin.PolicyError("policy key 'mujun.cap' must be positive, got 0")

    monkeypatch.setattr(zjfin.risks.mujun, "mujun", broken)  # mujun runs on the second lane
    ds, _ = screened
    with pytest.raises(zjfin.PolicyError, match="mujun.cap"):
        zjfin.screen(ds, as_of=AS_OF, n_jobs=2)


def test_releasing_inputs_changes_nothing(screened):
    # keep_inputs=False (the CLI's batch mode) empties the input tables once validated, the
    # statements after the features, and drops the statement columns only the engines read: the same screening, coverage
    # and per-firm verdicts as a screening that keeps everything.
    ds, res = screened
    kept = zjfin.datasets.synthetic_province(2_000, seed=5)
    released = zjfin.screen(kept, as_of=AS_OF, keep_inputs=False)
    pd.testing.assert_frame_equal(released.screening, res.screening)
    pd.testing.assert_frame_equal(released.coverage, res.coverage)
    pd.testing.assert_frame_equal(released.evaluated, res.evaluated)
    assert all(len(kept[t]) == 0 and list(kept[t].columns) == list(ds[t].columns) for t in ds.tables_present())
    assert len(released.validation.dataset["financials"]) == 0 and len(ds["financials"]) > 0
    assert res.screening["list"].value_counts().get("quality", 0) > 0  # the lists read what was kept


def test_only_columns_nothing_later_reads_are_dropped(monkeypatch):
    # Were a statement figure the lists read not declared, the lists would see it missing:
    # the test above would catch it; this one checks that it can, by leaving one out.
    import zjfin._screen as screen_module

    monkeypatch.setattr(screen_module, "STATEMENT_INPUTS", ("revenue", "total_assets", "total_liabilities"))
    ds = zjfin.datasets.synthetic_province(2_000, seed=5)
    full = zjfin.screen(ds, as_of=AS_OF)
    short = zjfin.screen(zjfin.datasets.synthetic_province(2_000, seed=5), as_of=AS_OF, keep_inputs=False)
    assert not full.screening["list"].equals(short.screening["list"]) or not full.screening["list_score"].equals(
        short.screening["list_score"])
