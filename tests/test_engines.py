"""The engine contract (zjfin._engines): declarations, a stable screening schema, coverage."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import zjfin
from builders import minimal_tables
from zjfin._engines import ENGINES, UNUSABLE, Engine, EngineContext, column_owner, register, unregister
from zjfin._schema import risk_level_columns, table_schema
from zjfin._write import write_parquet
from zjfin.risks import EngineOutput

AS_OF = "2019-03-31"
OPTIONAL = ("bonds", "pledges", "prices", "guarantees", "loans")


def _province(drop: tuple[str, ...] = (), n: int = 400):
    ds = zjfin.datasets.synthetic_province(n, seed=3)
    for table in drop:
        del ds.tables[table]
    return ds


@pytest.fixture(scope="module")
def full():
    return zjfin.screen(_province(), as_of=AS_OF)


def test_screening_has_every_schema_column_in_order(full):
    assert list(full.screening.columns) == table_schema("screening").names


@pytest.mark.parametrize("drop", [d for k in (1, 2, 5) for d in itertools.combinations(OPTIONAL, k)])
def test_screening_columns_do_not_depend_on_the_tables(full, drop, tmp_path):
    res = zjfin.screen(_province(drop), as_of=AS_OF)
    assert list(res.screening.columns) == list(full.screening.columns)
    # Written out, the two tables have one Parquet schema: a system loading them sees no change.
    write_parquet(full.screening, tmp_path / "full.parquet")
    write_parquet(res.screening, tmp_path / "part.parquet")
    assert pq.read_schema(tmp_path / "full.parquet").types == pq.read_schema(tmp_path / "part.parquet").types
    # An engine whose table is missing writes nulls, never a guessed value.
    for name, engine in ENGINES.items():
        if any(t in drop for t in engine.tables):
            for column in engine.outputs:
                assert res.screening[column].isna().all(), (name, column)


def test_only_the_required_tables_give_the_same_columns(full):
    res = zjfin.screen(zjfin.Dataset(minimal_tables(4)), as_of=AS_OF)
    assert list(res.screening.columns) == list(full.screening.columns)
    assert {o["risk"] for o in res.switched_off} == set(risk_level_columns())
    assert "mutual_partners" in res.screening  # required by the schema, absent before


def test_every_engine_writes_exactly_the_columns_the_schema_gives_it(full):
    schema = table_schema("screening")
    owners = {c.engine for c in schema.columns}
    # Every owner is an engine or one of the three stages around them.
    assert owners == set(ENGINES) | {"frame", "lists", "reasons"}
    clean = zjfin.validate(_province(), as_of=AS_OF).dataset
    frame = zjfin.firm_frame(clean["firms"], clean["financials"], AS_OF)
    context = EngineContext(frame, {t: clean[t] for t in clean.tables_present()}, pd.Timestamp(AS_OF),
                            zjfin.Policy.default())
    outputs: dict[str, EngineOutput] = {}
    for name, engine in ENGINES.items():
        if engine.needs_model:
            continue
        inputs = {d: outputs[d] for d in (*engine.depends, *engine.uses)}
        outputs[name] = engine.run(EngineContext(frame, context.tables, context.as_of, context.policy, inputs))
        written = set(outputs[name].columns.columns)
        mine = {c.name for c in schema.columns if c.engine == name}
        assert mine and mine <= written, name
        # Its further (internal) columns are no other engine's screening columns.
        assert not {c for c in written - mine if column_owner(c) is not None}, name
        # Reason codes it fires are in the catalogue.
        assert set(outputs[name].fired.columns) <= set(zjfin._reasons.reason_catalogue().index)


def test_dependencies_come_first():
    seen: set[str] = set()
    for name, engine in ENGINES.items():
        assert set(engine.depends) | set(engine.uses) <= seen, name
        seen.add(name)


def test_the_maturity_wall_table_is_the_bond_engines(full):
    bonds = full.tables["bonds"]
    clean = full.validation.dataset["bonds"]
    assert len(bonds) == len(clean)
    # Due within 12 months by the engine's effective maturity, summed by issuer: bond_due_12m.
    as_of = pd.Timestamp(AS_OF)
    due = bonds["effective_maturity"].gt(as_of) & bonds["effective_maturity"].le(as_of + pd.DateOffset(months=12))
    by_issuer = bonds["amount_outstanding"].where(due, 0.0).fillna(0.0).groupby(bonds["issuer_id"]).sum()
    expected = full.screening.set_index("firm_id")["bond_due_12m"]
    np.testing.assert_allclose(expected.loc[by_issuer.index].to_numpy(), by_issuer.to_numpy(), rtol=1e-12)
    # Later of the two dates never wins: the effective maturity is the put or the maturity date.
    put = pd.to_datetime(bonds["put_date"])
    assert (bonds["effective_maturity"].eq(bonds["maturity_date"]) | bonds["effective_maturity"].eq(put)).all()


# --- coverage ------------------------------------------------------------------------

def _coverage(res, engine, rule=""):
    rows = res.coverage[(res.coverage["engine"] == engine) & (res.coverage["rule"] == rule)]
    assert len(rows) == 1, (engine, rule)
    return rows.iloc[0]


def test_coverage_with_only_the_required_columns():
    """Computed by hand: four C17 manufacturers with revenue, assets, liabilities (half the
    assets), equity and employees only."""
    res = zjfin.screen(zjfin.Dataset(minimal_tables(4)), as_of=AS_OF)
    counts = ["evaluated", "estimated", "not_evaluated", "not_applicable"]
    assert _coverage(res, "size_class")[counts].tolist() == [4, 0, 0, 0]  # C17: employees and revenue
    # Viability rests on what can be judged: a debt ratio of exactly 50 % is no zombie (V1),
    # so the firms are viable, with every other criterion unchecked (V8 names them).
    assert _coverage(res, "distress")[counts].tolist() == [4, 0, 0, 0]
    assert _coverage(res, "distress", "V1")[counts].tolist() == [4, 0, 0, 0]
    for rule, lacking in (("Z1", {"current_assets": 4, "current_liabilities": 4, "retained_earnings": 4,
                                  "ebit or operating_profit": 4}),
                          ("V2", {"backward_capacity": 4}), ("V3", {"dishonest_debtor": 4}), ("V4", {"major_violation": 4}),
                          ("V5", {"cost_of_sales": 4}), ("V6", {"ebit or operating_profit": 4}), ("V7", {"revenue_prev": 4})):
        row = _coverage(res, "distress", rule)
        assert row[counts].tolist() == [0, 0, 4, 0] and row["missing_inputs"] == lacking, rule
    assert res.screening["viable"].tolist() == [True] * 4
    assert res.screening["viability_unchecked"].tolist() == ["V2;V3;V4;V5;V6;V7"] * 4
    assert all("V8" in codes.split(";") for codes in res.screening["reason_codes"])
    assert _coverage(res, "funding")["missing_inputs"] == {"short_term_debt or notes_payable or current_portion_long_term_debt": 4}
    assert _coverage(res, "mujun")[counts].tolist() == [0, 0, 4, 0]
    assert _coverage(res, "mujun")["missing_inputs"] == {"land_mu": 4, "taxes_paid or value_added or rd_expense": 4}
    assert _coverage(res, "working_capital")["missing_inputs"] == {
        "cost_of_sales": 4, "operating_profit": 4, "cash": 4,
        "inventory or accounts_receivable or prepayments or accounts_payable or advances_from_customers": 4}
    for engine, lacking in (("bonds", ["bonds"]), ("liquidity", ["loans"]), ("pledges", ["pledges"]),
                            ("guarantee_network", ["guarantees"]), ("model", ["model"])):
        row = _coverage(res, engine)
        assert row["status"] == "switched_off" and row["missing"] == lacking
        assert row[counts].tolist() == [0, 0, 4, 0]
    assert (res.coverage[counts].sum(axis=1) == res.coverage["firms"]).all()
    # Per firm, the engines' own verdicts.
    assert res.evaluated["distress"].eq(True).all() and res.evaluated["mujun"].eq(False).all()
    # In the manifest, engine by engine, its rules inside.
    record = res.manifest()["coverage"]
    assert record["distress"]["rules"]["V5"]["missing_inputs"] == {"cost_of_sales": 4}
    assert record["bonds"]["missing"] == ["bonds"]
    # Below [validation] min_coverage (half the firms in scope): flagged.
    assert bool(_coverage(res, "distress", "V5")["low_coverage"]) and not bool(_coverage(res, "size_class")["low_coverage"])
    assert record["distress"]["rules"]["V5"]["low_coverage"] is True
    relaxed = zjfin.screen(zjfin.Dataset(minimal_tables(4)), as_of=AS_OF,
                           policy=zjfin.Policy.default().update({"validation": {"min_coverage": 0.0}}))
    assert not relaxed.coverage["low_coverage"].any()


def test_viability_unknown_when_no_criterion_can_be_judged():
    tables = minimal_tables(2)
    tables["financials"]["total_liabilities"] = [3e7, 3e7]  # 75 %: a zombie needs three years to tell
    tables["financials"]["equity"] = [1e7, 1e7]
    res = zjfin.screen(zjfin.Dataset(tables), as_of=AS_OF)
    assert res.screening["viable"].isna().all()
    assert _coverage(res, "distress")[["evaluated", "not_evaluated"]].tolist() == [0, 2]
    assert res.screening["viability_unchecked"].tolist() == ["V1;V2;V3;V4;V5;V6;V7"] * 2


def test_coverage_counts_firms_one_by_one():
    tables = minimal_tables(5)
    fin = tables["financials"]
    fin["cost_of_sales"] = [4e7, np.nan, 4e7, 4e7, 4e7]
    fin["operating_profit"] = [5e6] * 5
    fin["cash"] = [1e6, 1e6, np.nan, 1e6, 1e6]
    tables["firms"]["industry_code"] = ["C1711", "C1711", "C1711", "F5123", "C1711"]  # one wholesaler
    tables["firms"]["land_mu"] = [10.0, np.nan, 20.0, 30.0, 40.0]
    fin["taxes_paid"] = [1e6] * 5
    fin["inventory"] = [8e6, 8e6, 8e6, 8e6, np.nan]  # firm 4: no balance that turns over
    res = zjfin.screen(zjfin.Dataset(tables), as_of=AS_OF)
    cov = res.coverage[res.coverage["rule"] == ""].set_index("engine")
    # 亩均 applies to the four manufacturers; one has no land.
    assert cov.loc["mujun", ["evaluated", "not_evaluated", "not_applicable"]].tolist() == [3, 1, 1]
    assert cov.loc["mujun", "missing_inputs"] == {"land_mu": 1}
    assert res.evaluated["mujun"].isna().tolist() == [False, False, False, True, False]
    # Working capital: firm 1 lacks cost of sales, firm 2 cash, firm 4 every balance that
    # turns over; firms 0 and 3 have inventory alone, a 72-day cycle (360 · 8e6 / 4e7 on cost).
    assert res.evaluated["working_capital"].tolist() == [True, False, False, True, False]
    assert cov.loc["working_capital", "missing_inputs"] == {
        "cost_of_sales": 1, "cash": 1,
        "inventory or accounts_receivable or prepayments or accounts_payable or advances_from_customers": 1}
    assert res.screening["turnover_days"].iloc[0] == pytest.approx(360 * 8e6 / 4e7)


# --- a new engine is one declaration and one function ---------------------------------

def _esg(ctx: EngineContext) -> EngineOutput:
    revenue = ctx.frame["revenue"].to_numpy(dtype=float)
    emissions = ctx.frame["emissions_t"].to_numpy(dtype=float) if "emissions_t" in ctx.frame else np.full(len(revenue), np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        intensity = np.where(revenue > 0, emissions / (revenue / 1e8), np.nan)
    fired = pd.DataFrame(index=ctx.frame.index)
    return EngineOutput(pd.DataFrame({"emission_intensity": intensity}, index=ctx.frame.index), fired)


@pytest.fixture
def toy_engine():
    engine = register(Engine("emissions", _esg, reads=("emissions_t", "revenue"), needs=("emissions_t",),
                             verdict="emission_intensity", columns={"emission_intensity": "float"}))
    yield engine
    unregister("emissions")


def test_a_toy_engine_is_one_declaration_and_one_function(toy_engine, full):
    res = zjfin.screen(_province(), as_of=AS_OF)
    s = res.screening
    assert list(s.columns) == [*full.screening.columns, "emission_intensity"]
    expected = np.where(s["revenue"] > 0, _province().tables["firms"].set_index("firm_id").loc[s["firm_id"], "emissions_t"]
                        .to_numpy(dtype=float) / (s["revenue"] / 1e8), np.nan)
    np.testing.assert_allclose(s["emission_intensity"].to_numpy(), expected, rtol=1e-12)
    cov = _coverage(res, "emissions")
    assert cov["evaluated"] == int(s["emission_intensity"].notna().sum())
    assert "emissions" in zjfin._screen.stages() and "emissions" in res.timings


def test_a_toy_engine_with_a_table_is_switched_off_without_it():
    engine = register(Engine("from_loans", _esg, tables=("loans",), columns={"emission_intensity": "float"}))
    try:
        res = zjfin.screen(_province(("loans",)), as_of=AS_OF)
        assert res.screening["emission_intensity"].isna().all()
        assert _coverage(res, "from_loans")["missing"] == ["loans"]
    finally:
        unregister(engine.name)


def test_registering_checks_the_declaration():
    with pytest.raises(zjfin.SchemaError, match="registered already"):
        register(Engine("distress", _esg, columns={"x": "float"}))
    with pytest.raises(zjfin.SchemaError, match="not registered before it"):
        register(Engine("late", _esg, depends=("nowhere",), columns={"x": "float"}))
    with pytest.raises(zjfin.SchemaError, match="belong to"):
        register(Engine("thief", _esg, columns={"bond_risk": "str"}))
    with pytest.raises(zjfin.SchemaError, match="policy does not have"):
        register(Engine("lost", _esg, policy=("nowhere",), columns={"x": "float"}))
    with pytest.raises(zjfin.SchemaError, match="writes no screening column"):
        register(Engine("silent", _esg))
    with pytest.raises(zjfin.SchemaError, match="used by"):
        unregister("funding")


def test_an_engine_that_does_not_write_its_columns_is_caught():
    register(Engine("forgetful", _esg, columns={"never_written": "float"}))
    try:
        with pytest.raises(zjfin.SchemaError, match="did not write its columns"):
            zjfin.screen(_province(), as_of=AS_OF)
    finally:
        unregister("forgetful")


def test_pledges_without_prices_degrade_and_say_why():
    ds = zjfin.datasets.synthetic_province(3000, seed=11)
    with_prices = zjfin.screen(ds, as_of="2019-03-31", n_jobs=1)
    ds.tables.pop("prices")
    res = zjfin.screen(ds, as_of="2019-03-31", n_jobs=1)
    contracts = res.tables["pledges"]  # the per-contract table is always there
    in_force = ~contracts["status"].isin(["released"]) & contracts["years_elapsed"].notna()
    assert len(contracts) == len(with_prices.tables["pledges"]) and (contracts.loc[in_force, "price_gap"] == "no prices table").all()
    s, p = res.screening, with_prices.screening
    # The ratio needs no price: identical; the price-based figures are empty, with the reason.
    pd.testing.assert_series_equal(s["pledge_ratio"], p["pledge_ratio"])
    pledged = s["pledge_ratio"] > 0
    assert pledged.sum() > 10 and s.loc[pledged, "pledge_hit_prob"].isna().all()
    assert (s.loc[pledged, "pledge_price_gap"] == "no prices table").all()
    row = _coverage(res, "pledges", "P1–P4")
    assert row["evaluated"] == len(s) - pledged.sum() and row["missing_inputs"] == {"no prices table": int(pledged.sum())}
    assert _coverage(with_prices, "pledges", "P1–P4")["not_evaluated"] == 0


_GROUPS = {
    # group: (table, columns, engine, rule whose coverage names them)
    "turnover balances": ("financials", ["inventory", "accounts_receivable", "prepayments", "accounts_payable",
                                         "advances_from_customers"], "working_capital", ""),
    "list flags": ("firms", ["backward_capacity", "dishonest_debtor", "major_violation"], "distress", "V3"),
    "land and energy": ("firms", ["land_mu", "energy_tce", "emissions_t"], "mujun", ""),
    "short-term debt": ("financials", ["short_term_debt", "notes_payable", "current_portion_long_term_debt"], "funding", ""),
}


@pytest.fixture(scope="module")
def province():
    ds = zjfin.datasets.synthetic_province(3000, seed=5)
    return ds, zjfin.screen(ds, as_of="2019-03-31", n_jobs=1)


@pytest.mark.parametrize("group", list(_GROUPS))
def test_each_optional_column_group_removed(province, group):
    ds, full = province
    table, columns, engine, rule = _GROUPS[group]
    data = dict(ds.tables)
    data[table] = data[table].drop(columns=columns)
    res = zjfin.screen(zjfin.Dataset(data), as_of="2019-03-31", n_jobs=1)
    s = res.screening
    row = _coverage(res, engine, rule)
    if group == "turnover balances":
        # No firm reports them: nothing to estimate from. Said in the coverage, below the threshold.
        assert row["not_evaluated"] == row["firms"] and row["low_coverage"]
        assert row["missing_inputs"] == {" or ".join(columns): row["firms"]}
    elif group == "list flags":
        # Viability from the criteria that can be judged; the others are listed per firm.
        assert row["not_evaluated"] == row["firms"] and s["viable"].notna().mean() > 0.9
        assert s["viability_unchecked"].str.contains("V3").all()
    else:
        assert row["not_evaluated"] > 0 and set(row["missing_inputs"]) <= {*columns, " or ".join(columns), UNUSABLE}
        assert any(c in " ".join(row["missing_inputs"]) for c in columns)
    at_risk = s[list(risk_level_columns())].isin(["medium", "high"]).any(axis=1) & (s["list"] == "none")
    assert s.loc[at_risk, "reason_codes"].str.contains("K3|K4").all()
    assert list(s.columns) == list(full.screening.columns)


def test_turnover_balances_missing_for_most_firms_are_estimated_from_peers(province):
    ds, full = province
    data = dict(ds.tables)
    fin = data["financials"].copy()
    blank = np.random.default_rng(0).random(len(fin)) < 0.6  # 60 % of statements without them
    fin.loc[blank, _GROUPS["turnover balances"][1]] = np.nan
    data["financials"] = fin
    res = zjfin.screen(zjfin.Dataset(data), as_of="2019-03-31", n_jobs=1)
    s = res.screening
    row = _coverage(res, "working_capital")
    # Peer turnover days stand in: the SME list is not emptied, and the estimate says so (W2).
    assert row["estimated"] > 0.2 * row["firms"] and row["evaluated"] > 0.3 * row["firms"] and row["not_evaluated"] < 10
    assert (s["list"] == "sme_funding").sum() > 0.5 * (full.screening["list"] == "sme_funding").sum()
    estimated = s["working_capital_estimated"].fillna(False).astype(bool)
    sme = s["list"] == "sme_funding"
    assert (sme & estimated).sum() > 10 and s.loc[sme & estimated, "reason_codes"].str.contains("W2").all()


def test_pledge_ratio_coverage_counts_only_firms_with_pledges():
    ds = zjfin.datasets.synthetic_province(3000, seed=11)
    res = zjfin.screen(ds, as_of="2019-03-31", n_jobs=1)
    assert _coverage(res, "pledges", "P5")["not_evaluated"] == 0
    data = dict(ds.tables)
    data["firms"] = data["firms"].drop(columns="total_shares")
    res = zjfin.screen(zjfin.Dataset(data), as_of="2019-03-31", n_jobs=1)
    pledged = int((res.tables["pledges"].groupby("company_id")["years_elapsed"].count() > 0).sum())
    row = _coverage(res, "pledges", "P5")
    assert row["not_evaluated"] == pledged > 0 and row["missing_inputs"] == {"total_shares": pledged}


def test_each_engine_reads_only_the_columns_it_declares():
    """A screening by county hands a partition only the firm-frame columns its engines
    declare in ``reads``: each engine on the frame cut to them gives what it gives on the
    whole frame (the model, which declares none, gets the whole frame)."""
    from zjfin._engines import ENGINES, EngineContext, run_engines
    from zjfin._lanes import Lanes

    dataset = zjfin.datasets.synthetic_province(3_000, seed=8)
    clean = zjfin.validate(dataset, as_of=AS_OF).dataset
    frame = zjfin.firm_frame(clean["firms"], clean["financials"], AS_OF)
    frame["industry_section"] = frame["industry_code"].str[0]
    tables = {t: clean[t] for t in clean.tables_present()}
    policy = zjfin.Policy.default()
    with Lanes(1) as lanes:
        whole = run_engines(EngineContext(frame, tables, pd.Timestamp(AS_OF), policy), lanes)
    for engine in ENGINES.values():
        if engine.name in whole.switched_off or not engine.reads:
            continue
        inputs = {d: whole.outputs[d] for d in (*engine.depends, *engine.uses) if d in whole.outputs}
        cut = frame[[c for c in frame.columns if c in engine.reads]]
        out = engine.run(EngineContext(cut, tables, pd.Timestamp(AS_OF), policy, inputs))
        pd.testing.assert_frame_equal(out.columns, whole.outputs[engine.name].columns, obj=engine.name)
        pd.testing.assert_frame_equal(out.fired, whole.outputs[engine.name].fired, obj=engine.name)


def _engines_ran(dataset):
    """The engines run on a dataset as the screening runs them: (run, frame, every column)."""
    from zjfin._engines import run_engines
    from zjfin._features import firm_frame
    from zjfin._lanes import Lanes

    report = zjfin.validate(dataset, as_of=AS_OF)
    frame = firm_frame(report.dataset["firms"], report.dataset["financials"], pd.Timestamp(AS_OF))
    frame["industry_section"] = frame["industry_code"].str[0]
    context = EngineContext(frame, {t: report.dataset[t] for t in report.dataset.tables_present()}, pd.Timestamp(AS_OF),
                            zjfin.Policy.default())
    with Lanes(1) as lanes:
        run = run_engines(context, lanes)
    columns = {name: frame[name] for name in frame.columns}
    for output in run.outputs.values():
        columns.update((name, output.columns[name]) for name in output.columns.columns)
    return run, frame, columns


def _patchy_province():
    """Inputs missing for some firms only, values a rule cannot use, a yes/no list given for
    some firms, no loans: every kind of coverage count."""
    ds = _province(drop=("loans",), n=600)
    firms, fin = ds.tables["firms"].copy(), ds.tables["financials"].copy()
    ds.tables["firms"], ds.tables["financials"] = firms, fin
    rng = np.random.default_rng(0)
    for name in ("land_mu", "taxes_paid", "dishonest_debtor"):
        firms.loc[rng.random(len(firms)) < 0.3, name] = None
    for name in ("cost_of_sales", "short_term_debt", "cash", "operating_cash_flow"):
        fin.loc[rng.random(len(fin)) < 0.2, name] = None
    fin.loc[rng.random(len(fin)) < 0.05, "revenue"] = -1.0  # present, not usable
    return ds


PATCHY = _patchy_province()


@settings(max_examples=15, deadline=None)
@given(st.integers(1, 6), st.integers(0, 2**32 - 1))
def test_coverage_of_parts_adds_up_to_the_whole(k, seed):
    from zjfin._engines import coverage, coverage_counts, coverage_summary

    run, frame, columns = _ENGINES_RAN
    whole, evaluated = coverage(run, frame, columns, 0.9)
    part_of = np.random.default_rng(seed).integers(0, k, len(frame))
    parts, flags = [], {}
    for p in range(k):
        rows = np.flatnonzero(part_of == p)
        counts, per_firm = coverage_counts(
            run.switched_off, {n: a[rows] for n, a in run.applicable.items()}, frame.iloc[rows].reset_index(drop=True),
            {n: pd.Series(c).iloc[rows].reset_index(drop=True) for n, c in columns.items()})
        parts.append(counts)
        for name, f in per_firm.items():
            flags.setdefault(name, []).append((rows, f))
    pd.testing.assert_frame_equal(coverage_summary(parts, 0.9), whole)
    assert [list(m) for m in whole["missing_inputs"]] == [list(m) for m in coverage_summary(parts, 0.9)["missing_inputs"]]
    for name, pieces in flags.items():
        back = pd.array(np.zeros(len(frame), dtype=bool), dtype="boolean")
        for rows, f in pieces:
            back[rows] = f
        pd.testing.assert_extension_array_equal(back, evaluated[name])


_ENGINES_RAN = _engines_ran(PATCHY)


def test_the_patchy_province_has_every_kind_of_coverage_count():
    from zjfin._engines import coverage

    summary, _ = coverage(*_ENGINES_RAN, 0.9)
    assert (summary["status"] == "switched_off").any() and summary["low_coverage"].any()
    several = [m for m in summary["missing_inputs"] if len(m) > 1]
    assert several and any(UNUSABLE in m for m in summary["missing_inputs"])
    assert (summary["not_applicable"] > 0).any()
