"""Tests of the synthetic province generator (SPEC §9)."""

from __future__ import annotations

from importlib import resources

import networkx as nx
import numpy as np
import pandas as pd
import pytest

import zjfin
from zjfin._codes import uscc_status
from zjfin.datasets._synthetic import TABLE_COLUMNS, build_tables

N = 2_000
AS_OF = pd.Timestamp("2019-03-31")
TABLES = ("firms", "financials", "bonds", "pledges", "prices", "guarantees", "loans")
MONEY_2DP = ("revenue", "total_assets", "total_liabilities", "equity", "cash", "net_profit")


@pytest.fixture(scope="module")
def built():
    return build_tables(N, 0)


@pytest.fixture(scope="module")
def tables(built):
    return built[0]


@pytest.fixture(scope="module")
def planted(built):
    return built[1]


@pytest.fixture(scope="module")
def fin18(tables):
    fin = tables["financials"]
    return fin[fin["period_end"] == "2018-12-31"].set_index("firm_id")


def firm_of(planted, case, column=None):
    rows = planted[planted["case"] == case]
    if column is not None:
        rows = rows[rows["column"] == column]
    return list(dict.fromkeys(rows["firm_id"]))  # each firm once, in order


def active(frame, start="start_date", end="end_date"):
    return frame[(frame[start] <= AS_OF) & (frame[end] > AS_OF)]


# ------------------------------------------------------------------ shape and determinism


def test_same_seed_same_tables(built):
    again, planted_again = build_tables(N, 0)
    for name in TABLES:
        pd.testing.assert_frame_equal(built[0][name], again[name])
    pd.testing.assert_frame_equal(built[1], planted_again)


def test_other_seed_other_tables(tables):
    other, _ = build_tables(N, 1)
    assert not tables["firms"]["firm_id"].equals(other["firms"]["firm_id"])
    assert not tables["financials"]["revenue"].equals(other["financials"]["revenue"])
    assert not tables["guarantees"].equals(other["guarantees"])


def test_columns_in_spec_order(tables):
    assert set(tables) == set(TABLES)
    for name in TABLES:
        assert list(tables[name].columns) == TABLE_COLUMNS[name]


def test_columns_agree_with_schema_files(tables):
    schemas = resources.files("zjfin.data_schemas")
    checked = 0
    for name in TABLES:
        if not (schemas / f"{name}.json").is_file():
            continue
        from zjfin._schema import table_schema

        schema = table_schema(name)
        # SPEC's columns in the contract's order; the contract's others are optional ones
        # of vendor layouts (issuer names, price lines …) that the synthetic province has no use for.
        assert [n for n in schema.names if n in TABLE_COLUMNS[name]] == TABLE_COLUMNS[name], name
        assert all(not schema.column(n).required for n in schema.names if n not in TABLE_COLUMNS[name]), name
        checked += 1
    assert checked >= 1  # firms.json at least


def test_dtypes(tables):
    from zjfin._schema import table_schema

    for name in TABLES:
        frame = tables[name]
        for column in table_schema(name).columns:
            if column.name not in TABLE_COLUMNS[name]:
                continue
            s = frame[column.name]
            if column.type == "str":
                assert s.dtype == object, (name, column.name)
                assert s.map(lambda v: v is None or type(v) is str).all(), (name, column.name)
            elif column.type in ("float", "int"):
                assert s.dtype == np.float64, (name, column.name)
            elif column.type == "date":
                assert s.dtype == "datetime64[ns]", (name, column.name)
            else:
                assert s.dtype == np.bool_, (name, column.name)
    assert (tables["firms"]["employees"] % 1 == 0).all()
    for name, column in [("financials", c) for c in MONEY_2DP] + [("guarantees", "amount"), ("loans", "amount"), ("pledges", "loan_amount")]:
        values = tables[name][column].dropna()
        assert (np.round(values, 2) == values).all(), (name, column)


def test_small_province_builds():
    small, small_planted = build_tables(200, 3)
    assert len(small["firms"]) == 200
    assert small_planted["case"].nunique() == 10
    assert small_planted["firm_id"].isin(small["firms"]["firm_id"]).all()
    with pytest.raises(ValueError):
        build_tables(100, 0)


# ------------------------------------------------------------------ firms


def test_firm_ids_unique_and_valid(tables):
    ids = tables["firms"]["firm_id"]
    assert ids.is_unique
    status = uscc_status(ids)
    assert not status.any(axis=None)
    assert (ids.str[:2] == "91").all()
    assert (ids.str[2:8] == tables["firms"]["region_code"]).all()


def test_regions_are_zhejiang_counties(tables):
    path = resources.files("zjfin.datasets") / "zhejiang_counties.csv"
    with path.open(encoding="utf-8") as handle:
        counties = pd.read_csv(handle, dtype=str)
    assert list(counties.columns) == ["code", "name_zh", "city_code", "city_zh"]
    assert 80 <= len(counties) <= 100 and counties["code"].is_unique
    assert counties["city_code"].nunique() == 11
    assert (counties["code"].str[:4] == counties["city_code"].str[:4]).all()
    regions = tables["firms"]["region_code"]
    assert regions.isin(counties["code"]).all()
    city = regions.str[:4].value_counts(normalize=True)
    assert city["3301"] > city["3309"] and city["3302"] > city["3311"]


def test_industry_mix(tables):
    codes = tables["firms"]["industry_code"]
    assert codes.str.fullmatch(r"[A-T]\d{4}").all()
    assert 0.55 <= (codes.str[0] == "C").mean() <= 0.65
    assert codes.str[:3].isin(["C17", "C18", "C19", "C26", "C29", "C33", "C36", "C38"]).sum() > 0


def test_sme_share_from_2011_thresholds(tables, fin18):
    firms = tables["firms"].set_index("firm_id")
    industrial = firms[firms["industry_code"].str[0].isin(["B", "C", "D"])]
    e = industrial["employees"]
    r = fin18.loc[industrial.index, "revenue"] / 1e4  # 万元
    large = (e >= 1000) & (r >= 40000)
    medium = ~large & (e >= 300) & (r >= 2000)
    small = ~large & ~medium & (e >= 20) & (r >= 300)
    micro = ~large & ~medium & ~small
    assert len(industrial) > 1000
    assert (~large).mean() >= 0.98
    assert micro.mean() > small.mean() > medium.mean() > large.mean()


def test_flags_and_land(tables):
    firms = tables["firms"]
    manu = firms["industry_code"].str[0] == "C"
    assert firms.loc[~manu, ["land_mu", "energy_tce", "emissions_t"]].isna().all(axis=None)
    assert 0.6 <= firms.loc[manu, "land_mu"].notna().mean() <= 0.8
    assert firms["dishonest_debtor"].mean() < 0.03
    assert firms["backward_capacity"].mean() < 0.02
    assert (firms["ownership"] == "private").mean() > 0.8
    assert 0.08 <= firms["financing_demand"].notna().mean() <= 0.2


# ------------------------------------------------------------------ financials


def test_three_periods_per_firm(tables):
    fin = tables["financials"]
    assert len(fin) == 3 * N
    per_firm = fin.groupby("firm_id")["period_end"].agg(["size", "nunique"])
    assert (per_firm["size"] == 3).all() and (per_firm["nunique"] == 3).all()
    assert set(fin["firm_id"]) == set(tables["firms"]["firm_id"])
    assert set(fin["period_end"].dt.strftime("%Y-%m-%d")) == {"2016-12-31", "2017-12-31", "2018-12-31"}


def test_balance_sheet_identity_and_inequalities(tables):
    f = tables["financials"]
    assert (np.round(f["total_liabilities"] + f["equity"], 2) == f["total_assets"]).all()
    assert (f["total_assets"] > 0).all()
    assert (f["current_assets"] <= f["total_assets"]).all()
    assert (f["cash"] <= f["current_assets"]).all()
    assert (f["restricted_cash"] <= f["cash"]).all()
    parts = f["accounts_receivable"] + f["inventory"] + f["prepayments"] + f["cash"]
    assert (parts <= f["current_assets"]).all()
    debts = (f["short_term_debt"] + f["notes_payable"] + f["accounts_payable"]
             + f["advances_from_customers"] + f["current_portion_long_term_debt"])
    assert (debts <= f["current_liabilities"]).all()
    assert (f["current_liabilities"] + f["long_term_debt"] + f["bonds_payable"] <= f["total_liabilities"] + 0.02).all()
    assert (np.abs(f["ebit"] - f["operating_profit"] - f["interest_expense"]) <= 0.011).all()
    nonneg = ["revenue", "cost_of_sales", "interest_expense", "depreciation_amortization",
              "government_subsidies", "taxes_paid", "rd_expense", "current_assets", "cash",
              "restricted_cash", "accounts_receivable", "inventory", "prepayments",
              "current_liabilities", "short_term_debt", "notes_payable", "accounts_payable",
              "advances_from_customers", "current_portion_long_term_debt", "long_term_debt",
              "bonds_payable", "total_liabilities"]
    assert (f[nonneg] >= 0).all(axis=None)
    assert (f["cost_of_sales"] < f["revenue"]).mean() > 0.95
    assert (f["revenue"] > 0).mean() > 0.998
    manu = f["firm_id"].map(tables["firms"].set_index("firm_id")["industry_code"]).str[0] == "C"
    assert f.loc[manu, "value_added"].notna().all() and f.loc[~manu, "value_added"].isna().all()
    assert np.corrcoef(f["operating_cash_flow"], f["net_profit"])[0, 1] > 0.3


# ------------------------------------------------------------------ guarantees


def test_guarantee_network_shape(tables):
    g = tables["guarantees"]
    ids = set(tables["firms"]["firm_id"])
    assert abs(len(g) - 0.78 * N) <= 0.2 * 0.78 * N
    assert (g["guarantor_id"] != g["borrower_id"]).all()
    assert g["guarantor_id"].isin(ids).all() and g["borrower_id"].isin(ids).all()
    assert (g["end_date"] > g["start_date"]).all() and (g["start_date"] <= AS_OF).all()
    assert (g["end_date"] <= AS_OF).any()  # some expired
    assert g["amount"].between(1e5, 1e9).all() and g["amount"].max() > 20 * g["amount"].median()
    assert set(g["kind"]) <= {"general", "joint"} and 0.01 < (g["kind"] == "joint").mean() < 0.15
    pairs = pd.MultiIndex.from_arrays([g["guarantor_id"], g["borrower_id"]])
    reverse = pd.MultiIndex.from_arrays([g["borrower_id"], g["guarantor_id"]])
    assert 0.001 < reverse.isin(pairs).mean() < 0.02  # mutual guarantees: a few pairs, as in real networks
    out_degree = g.groupby("guarantor_id").size()
    assert out_degree.max() >= 5  # focal guarantors


@pytest.mark.parametrize("n", [20_000, 200_000])
def test_network_has_the_shape_of_a_real_bank_network(n):
    """vendor_layouts.md §3, a real network of 19,700 firms: 0.3 % of firms in circles, 0.2 %
    in mutual pairs, the largest group 539 firms, the longest chain 5. Measured here with
    networkx, independently of zjfin's network stage; the group size must not grow with the
    province."""
    g = build_tables(n, 1)[0]["guarantees"]
    graph = nx.DiGraph()
    graph.add_edges_from(zip(g["guarantor_id"], g["borrower_id"]))
    circles = [c for c in nx.strongly_connected_components(graph) if len(c) > 2]
    in_circles = sum(len(c) for c in circles) / n
    mutual = {frozenset(e) for e in graph.edges() if graph.has_edge(e[1], e[0])}
    in_pairs = len(set().union(*mutual)) / n if mutual else 0.0
    largest_group = max(len(c) for c in nx.weakly_connected_components(graph))
    chain = nx.dag_longest_path_length(nx.condensation(graph))
    assert 0.002 <= in_circles <= 0.004 and 0.0015 <= in_pairs <= 0.003
    assert 200 <= largest_group <= 600 and chain == 5
    assert abs(len(g) - 0.78 * n) <= 0.05 * 0.78 * n


def test_planted_circle_is_directed_four_cycle(tables, planted):
    members = set(firm_of(planted, "guarantee_circle_defaulter"))
    (a,) = firm_of(planted, "guarantee_circle_defaulter", "bond_risk")
    assert len(members) == 4 and a in members
    g = active(tables["guarantees"])
    graph = nx.DiGraph()
    graph.add_edges_from(zip(g["guarantor_id"], g["borrower_id"]))
    scc = next(c for c in nx.strongly_connected_components(graph) if a in c)
    assert scc == members
    sub = graph.subgraph(members)
    assert sub.number_of_edges() == 4
    assert all(sub.in_degree(m) == 1 and sub.out_degree(m) == 1 for m in members)
    cycles = list(nx.simple_cycles(sub))
    assert len(cycles) == 1 and len(cycles[0]) == 4
    bonds = tables["bonds"]
    assert (bonds.loc[bonds["issuer_id"] == a, "status"] == "defaulted").any()
    assert not bonds["issuer_id"].isin(members - {a}).any()
    for m in planted.query("case == 'guarantee_circle_defaulter'").itertuples():
        if m.column == "guarantee_circle_size":
            assert m.expected == "4"


def test_planted_mutual_pair(tables, planted):
    e, f = sorted(set(firm_of(planted, "mutual_pair")))
    g = active(tables["guarantees"])
    edges = set(zip(g["guarantor_id"], g["borrower_id"]))
    assert (e, f) in edges and (f, e) in edges
    involved = g[g["guarantor_id"].isin([e, f]) | g["borrower_id"].isin([e, f])]
    assert len(involved) == 2


def test_circles_are_designed_only(tables, planted):
    g = active(tables["guarantees"])
    graph = nx.DiGraph()
    graph.add_edges_from(zip(g["guarantor_id"], g["borrower_id"]))
    sizes = [len(c) for c in nx.strongly_connected_components(graph) if len(c) > 1]
    assert 4 in sizes and max(sizes) <= 6


# ------------------------------------------------------------------ listed firms, prices, pledges


def test_listed_firms_and_prices(tables):
    firms = tables["firms"]
    listed = firms[firms["listed"]]
    assert 0.01 * N <= len(listed) <= 0.05 * N
    assert listed["stock_code"].is_unique
    assert listed["stock_code"].str.fullmatch(r"(60\d{4}\.SH|00\d{4}\.SZ|30\d{4}\.SZ)").all()
    assert firms.loc[~firms["listed"], "stock_code"].isna().all()
    assert (listed["total_shares"] > 0).all() and firms.loc[~firms["listed"], "total_shares"].isna().all()
    prices = tables["prices"]
    assert set(prices["stock_code"]) == set(listed["stock_code"])
    assert prices["date"].min() == pd.Timestamp("2018-01-02")
    assert prices["date"].max() == pd.Timestamp("2019-03-29")
    assert prices.groupby("stock_code").size().min() >= 300
    assert (prices["close"] > 0).all() and (np.round(prices["close"], 2) == prices["close"]).all()
    assert (prices["date"].dt.day_of_week < 5).all()
    # Sizeable firms are listed: the median listed firm is far larger than the median firm.
    revenue = tables["financials"].groupby("firm_id")["revenue"].last()
    assert revenue[listed["firm_id"]].median() > 10 * revenue.median()


def test_pledges(tables):
    pl = tables["pledges"]
    firms = tables["firms"].set_index("firm_id")
    assert pl["pledge_id"].is_unique
    assert firms.loc[pl["company_id"], "listed"].all()
    person = pl["pledger_id"].str.fullmatch(r"P\d{17}")
    assert (person | pl["pledger_id"].isin(firms.index)).all()
    assert person.any()
    assert (pl["pledger_id"] != pl["company_id"]).all()
    total = pl.groupby("company_id")["pledged_shares"].sum()
    assert (total < firms.loc[total.index, "total_shares"]).all()
    assert (pl["pledged_shares"] <= pl["pledger_holding_shares"]).all()
    share = pl["pledger_holding_shares"] / firms.loc[pl["company_id"], "total_shares"].to_numpy()
    assert share.between(0.19, 0.61).all()
    assert pl["pledger_is_controlling"].all()
    assert ((pl["warning_ratio"] == 1.6) & (pl["liquidation_ratio"] == 1.4)).all()
    assert pl["start_date"].dt.year.isin([2017, 2018]).all() and (pl["end_date"] > pl["start_date"]).all()
    assert pl["interest_rate"].between(0.05, 0.08).all()
    assert set(pl["status"]) == {"active", "released"} and (pl["status"] == "active").mean() > 0.5
    n_listed = int(firms["listed"].sum())
    assert 0.3 * n_listed <= pl["company_id"].nunique() <= 0.7 * n_listed


def _last_close(tables, firm_id):
    code = tables["firms"].set_index("firm_id").loc[firm_id, "stock_code"]
    prices = tables["prices"]
    p = prices[(prices["stock_code"] == code) & (prices["date"] <= AS_OF)]
    return p.sort_values("date")["close"]


def test_planted_pledge_below_liquidation_line(tables, planted):
    (g,) = firm_of(planted, "pledge_liquidation")
    closes = _last_close(tables, g)
    price = closes.iloc[-1]
    pl = tables["pledges"]
    contracts = pl[(pl["company_id"] == g) & (pl["status"] == "active")]
    assert len(contracts) >= 1 and contracts["pledger_is_controlling"].all()
    years = (AS_OF - contracts["start_date"]).dt.days / 365
    owed = contracts["loan_amount"] * (1 + contracts["interest_rate"] * years)
    coverage = contracts["pledged_shares"] * price / owed
    assert coverage.min() < 1.4
    assert len(closes) >= 61  # enough returns for a volatility


def test_planted_suspended_stock(tables, planted):
    (s,) = firm_of(planted, "suspended_stock")
    firms = tables["firms"].set_index("firm_id")
    assert firms.loc[s, "listed"]
    closes = _last_close(tables, s)
    assert closes.iloc[-60:].nunique() == 1 and closes.iloc[-61] == closes.iloc[-1]
    pl = tables["pledges"]
    assert ((pl["company_id"] == s) & (pl["status"] == "active")).any()


# ------------------------------------------------------------------ bonds, loans


def test_bonds(tables):
    b = tables["bonds"]
    firms = tables["firms"].set_index("firm_id")
    assert b["bond_id"].is_unique and b["issuer_id"].isin(firms.index).all()
    assert 0.002 * N <= b["issuer_id"].nunique() <= 0.01 * N
    assert (b["issue_date"] <= AS_OF).all() and (b["maturity_date"] > b["issue_date"]).all()
    assert (b["put_date"].isna() | (b["put_date"] < b["maturity_date"])).all()
    assert b["coupon_rate"].between(0.04, 0.08).all()
    assert set(b["status"]) <= {"performing", "extended", "defaulted"}
    assert b["rating"].isin(["AAA", "AA+", "AA"]).mean() > 0.6
    assert b["amount_outstanding"].between(1e8, 3e9).all()
    issuer_revenue = tables["financials"].groupby("firm_id")["revenue"].last()
    assert issuer_revenue[b["issuer_id"].unique()].median() > 20 * issuer_revenue.median()


def test_planted_bond_wall(tables, planted, fin18):
    rows = planted[planted["case"] == "bond_wall"].set_index("column")
    w = rows.loc["bond_due_12m", "firm_id"]
    assert rows.loc["bond_risk", "expected"] == "high"
    b = tables["bonds"]
    mine = b[b["issuer_id"] == w]
    effective = mine[["maturity_date", "put_date"]].min(axis=1)
    horizon = AS_OF + pd.DateOffset(months=12)
    due = mine.loc[(effective > AS_OF) & (effective <= horizon), "amount_outstanding"].sum()
    assert str(float(due)) == rows.loc["bond_due_12m", "expected"]
    assert due >= 1e9 and (mine["status"] == "performing").all()
    s = fin18.loc[w]
    st_debt = s["short_term_debt"] + s["notes_payable"] + s["current_portion_long_term_debt"]
    covered = s["cash"] - s["restricted_cash"] + s["operating_cash_flow"]
    assert covered < 0.5 * st_debt
    assert covered < 0.5 * (s["short_term_debt"] + s["notes_payable"] + due)


def test_loans(tables, fin18):
    loans = tables["loans"]
    assert loans["firm_id"].isin(tables["firms"]["firm_id"]).all()
    assert 0.4 <= loans["firm_id"].nunique() / N <= 0.6
    assert loans.groupby("firm_id").size().max() <= 3
    assert (loans["amount"] > 0).all()
    share = loans["classification"].value_counts(normalize=True)
    assert share["normal"] > 0.9
    assert set(share.index) <= {"normal", "special_mention", "substandard", "doubtful", "loss"}
    normal = loans["classification"] == "normal"
    assert (loans.loc[normal, "overdue_days"] == 0).all()
    bad = loans["classification"].isin(["substandard", "doubtful", "loss"])
    assert (loans.loc[bad, "overdue_days"] > 0).all()
    assert loans.loc[normal, "maturity_date"].dt.year.between(2019, 2021).all()
    debt = fin18["short_term_debt"] + fin18["long_term_debt"] + fin18["current_portion_long_term_debt"]
    total = loans.groupby("firm_id")["amount"].sum()
    assert np.corrcoef(np.log(total), np.log(debt[total.index] + 1))[0, 1] > 0.9


# ------------------------------------------------------------------ other planted cases


def test_planted_cases_present(tables, planted):
    assert list(planted.columns) == ["firm_id", "case", "column", "expected"]
    assert all(planted[c].map(type).eq(str).all() for c in planted.columns)
    assert set(planted["case"]) == {
        "guarantee_circle_defaulter", "mutual_pair", "pledge_liquidation", "zombie",
        "not_zombie_subsidy", "bond_wall", "size_medium_floor", "size_small_below",
        "healthy_sme_need", "suspended_stock",
    }
    firms = tables["firms"].set_index("firm_id")
    assert planted["firm_id"].isin(firms.index).all()
    ids = planted["firm_id"].unique()
    assert len(ids) == 14
    assert not firms.loc[ids, ["backward_capacity", "dishonest_debtor", "major_violation"]].any(axis=None)
    loans = tables["loans"]
    assert (loans.loc[loans["firm_id"].isin(ids), "classification"] == "normal").all()
    # Only the circle and the pair take part in the guarantee network.
    g = tables["guarantees"]
    networked = set(firm_of(planted, "guarantee_circle_defaulter")) | set(firm_of(planted, "mutual_pair"))
    others = set(ids) - networked
    assert not (g["guarantor_id"].isin(others) | g["borrower_id"].isin(others)).any()
    assert set(tables["bonds"].loc[tables["bonds"]["issuer_id"].isin(ids), "issuer_id"]) == {
        firm_of(planted, "guarantee_circle_defaulter", "bond_risk")[0],
        firm_of(planted, "bond_wall", "bond_risk")[0],
    }


def test_planted_zombie(tables, planted):
    fin = tables["financials"].sort_values(["firm_id", "period_end"]).set_index("firm_id")
    (z,) = firm_of(planted, "zombie", "zombie")
    (nz,) = firm_of(planted, "not_zombie_subsidy")
    zf, nf = fin.loc[z], fin.loc[nz]
    real_z = (zf["net_profit"] - zf["government_subsidies"]).to_numpy()
    real_n = (nf["net_profit"] - nf["government_subsidies"]).to_numpy()
    assert (real_z < 0).all()
    assert (real_n[:2] < 0).all() and real_n[2] >= 0
    for f in (zf, nf):
        assert f["total_liabilities"].iloc[2] / f["total_assets"].iloc[2] > 0.5
        assert f["total_liabilities"].iloc[2] > f["total_liabilities"].iloc[1]
        assert (f["revenue"] > f["cost_of_sales"]).all()
        # No liquidity alarm by accident: cash covers short-term debt, cash flow positive.
        last = f.iloc[2]
        st_debt = last["short_term_debt"] + last["notes_payable"] + last["current_portion_long_term_debt"]
        assert last["cash"] - last["restricted_cash"] > st_debt and last["operating_cash_flow"] > 0
    cols = ["revenue", "total_assets", "total_liabilities", "cost_of_sales"]
    pd.testing.assert_frame_equal(zf[cols].reset_index(drop=True), nf[cols].reset_index(drop=True))
    assert planted.query("case == 'zombie' and column == 'viable'")["expected"].item() == "False"


def test_planted_sizes(tables, planted, fin18):
    firms = tables["firms"].set_index("firm_id")
    (m,) = firm_of(planted, "size_medium_floor")
    (s,) = firm_of(planted, "size_small_below")
    (h,) = firm_of(planted, "healthy_sme_need")
    for firm, employees in ((m, 300), (s, 299)):
        assert firms.loc[firm, "industry_code"].startswith("C")
        assert firms.loc[firm, "employees"] == employees
        assert fin18.loc[firm, "revenue"] == 20_000_000.0
    assert firms.loc[h, "industry_code"].startswith("C")
    assert 20 <= firms.loc[h, "employees"] < 300 and 3e6 <= fin18.loc[h, "revenue"] < 4e8
    assert firms.loc[h, "financing_demand"] > 0
    assert fin18.loc[h, "net_profit"] > 0 and fin18.loc[h, "cash"] > fin18.loc[h, "short_term_debt"]
    for firm in (m, s, h):
        assert not firms.loc[firm, "listed"]


# ---------------------------------------------------------------- a partitioned province


def test_partitioned_province_blocks_share_the_firms_counties_and_stocks():
    from zjfin.datasets._synthetic import BLOCK_FIRMS, blocks, counties

    for n in (2_000, 20_000, 8_000_000):
        plan = blocks(n, seed=3)
        assert sum(b.firms for b in plan) == n
        assert all(b.firms >= min(BLOCK_FIRMS, n) for b in plan)
        every = np.concatenate([b.counties for b in plan])
        assert sorted(every.tolist()) == list(range(len(counties())))  # each county in one block
        stocks = np.concatenate([b.stock_pool for b in plan])
        assert len(np.unique(stocks)) == len(stocks)  # no stock number in two blocks
        assert all(len(b.stock_pool) == b.listed + 2 for b in plan)
    assert len(blocks(8_000_000)) == len(counties())  # a large province: a county a block


def test_a_partitioned_province_written_county_by_county_reads_back_whole(tmp_path):
    from zjfin.datasets import write_partitioned_province

    rows = write_partitioned_province(tmp_path / "input", 6_000, seed=4)
    back = zjfin.read_dataset(tmp_path / "input")
    in_memory = zjfin.datasets.synthetic_province(6_000, seed=4, partitioned=True)
    files = sorted(p.name for p in (tmp_path / "input" / "firms").iterdir())
    assert files == sorted(f"{code}.parquet" for code in set(in_memory["firms"]["region_code"]))
    for table in in_memory.tables_present():
        assert rows[table] == len(in_memory[table])
        ours = back[table].drop(columns="_row")
        pd.testing.assert_frame_equal(ours, in_memory[table][ours.columns], check_dtype=False, obj=table)
    # Ids stay unique across blocks, and every row is usable.
    for table, key in (("firms", "firm_id"), ("bonds", "bond_id"), ("pledges", "pledge_id")):
        assert back[table][key].is_unique, table
    assert back["firms"]["stock_code"].dropna().is_unique
    report = zjfin.validate(back, as_of="2019-03-31")
    assert report.n_rejected_rows == 0 and report.n_warnings == 0
    # Same arguments, same files.
    write_partitioned_province(tmp_path / "again", 6_000, seed=4)
    for path in sorted((tmp_path / "input").rglob("*.parquet")):
        assert path.read_bytes() == (tmp_path / "again" / path.relative_to(tmp_path / "input")).read_bytes()


def test_a_partitioned_provinces_planted_cases_land_in_every_block():
    ds = zjfin.datasets.synthetic_province(5_000, seed=2, partitioned=True)
    frame = zjfin.screen(ds, as_of="2019-03-31").screening.set_index("firm_id")
    planted = ds.planted
    assert planted["firm_id"].is_unique is False and planted["case"].nunique() == 10
    assert planted["firm_id"].nunique() > 15  # the cases of more than one block
    for row in planted[planted["column"].isin(frame.columns)].itertuples():
        value = str(frame.loc[row.firm_id, row.column])
        assert row.expected in value.split(";") if row.column == "reason_codes" else value == row.expected, row
