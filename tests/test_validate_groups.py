"""Validation of firms and statements held in groups (zjfin._validate_groups) gives the
report of validation on the whole dataset, however the rows are grouped: the same findings
in the same order, the same usable rows, the same counts and firm positions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import zjfin
from builders import firm_ids, minimal_tables
from zjfin._read import Dataset
from zjfin._validate import validate
from zjfin._validate_groups import validate_groups

AS_OF = "2019-03-31"
TODAY = "2026-12-05"


def _hostile() -> Dataset:
    """A small province with every finding that crosses firms: a firm id twice (its first
    row unusable, so the second wins; and two usable copies), statements of unknown firms
    repeated, repeated statements, a firm with no statement, a bond resolved by its
    issuer's name, a pledge by its stock code and pledger by name, prices of no firm,
    guarantees to unknown firms and to the guarantor itself."""
    ds = zjfin.datasets.synthetic_province(200, seed=5)
    t = {k: v.drop(columns="_row") for k, v in ds.tables.items()}
    f = t["firms"]
    f["stock_code"] = f["stock_code"].astype(object)
    f.loc[3, "stock_code"] = "sh600000"
    bad = f.iloc[[10, 11]].copy()
    bad["region_code"] = "abc"  # unusable: the later copy of the id wins
    bad["industry_code"] = None
    twice = f.iloc[[20, 21, 22]].copy()
    twice["name"] = twice["name"] + "（重复）"
    t["firms"] = pd.concat([bad, f, twice], ignore_index=True)
    fin = t["financials"]
    stranger = fin.iloc[:4].copy()
    stranger["firm_id"] = firm_ids(1, "330106")[0]  # no firm has it: the same periods repeat
    t["financials"] = pd.concat([fin[fin["firm_id"] != f.loc[30, "firm_id"]], stranger, fin.iloc[40:43]],
                                ignore_index=True)
    names = t["firms"]["name"]
    t["bonds"] = pd.DataFrame({"bond_id": ["B1", "B2", "B3"], "issuer_id": [None, None, f.loc[5, "firm_id"]],
                               "issuer_name": [names.iloc[50], "不存在", None], "amount_outstanding": [1e8] * 3,
                               "maturity_date": pd.to_datetime(["2020-01-01"] * 3)})
    t["pledges"] = pd.DataFrame({"pledge_id": ["C1", "C2"], "stock_code": ["600000", "000001.SZ"],
                                 "pledger_id": [names.iloc[60], "李四"], "pledgee": ["某证券", "某银行"],
                                 "pledged_shares": [1e6, 2e6], "liquidation_price": [5.0, 6.0],
                                 "start_date": pd.to_datetime(["2018-06-01"] * 2)})
    t["prices"] = pd.DataFrame({"stock_code": ["600000.SH", "999999.SZ"], "date": pd.to_datetime(["2019-03-29"] * 2),
                                "close": [10.0, 3.0]})
    g = t.get("guarantees")
    g = pd.DataFrame({"guarantor_id": [f.loc[1, "firm_id"], f.loc[2, "firm_id"], f.loc[30, "firm_id"]],
                      "borrower_id": [f.loc[1, "firm_id"], firm_ids(1, "330281")[0], f.loc[4, "firm_id"]],
                      "amount": [1e7, 2e7, 3e7]})
    t["guarantees"] = g
    return Dataset(t, name="hostile")


def _same(grouped, whole) -> None:
    pd.testing.assert_frame_equal(grouped.issues, whole.issues)
    pd.testing.assert_frame_equal(grouped.rows, whole.rows)
    pd.testing.assert_frame_equal(grouped.file_rows, whole.file_rows)
    assert grouped.firms == whole.firms
    for table in whole.dataset.tables_present():
        np.testing.assert_array_equal(grouped.rejected_mask[table], whole.rejected_mask[table])
        pd.testing.assert_frame_equal(grouped.dataset[table], whole.dataset[table])


def _random_groups(dataset: Dataset, draw: np.random.Generator, n: int) -> list[tuple[np.ndarray, np.ndarray]]:
    firms = draw.integers(0, n, len(dataset.firms))
    statements = draw.integers(0, n, len(dataset.financials))
    return [(np.flatnonzero(firms == g), np.flatnonzero(statements == g)) for g in range(n)]


def _by_firm(dataset: Dataset, group_of_firm: np.ndarray, n: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Statements with their firm's (first row's) group; those of no firm in the last."""
    first = pd.Series(group_of_firm, index=dataset.firms["firm_id"].to_numpy())
    first = first[~first.index.duplicated()]
    of_statement = dataset.financials["firm_id"].map(first).fillna(n - 1).to_numpy(dtype=np.int64)
    return [(np.flatnonzero(group_of_firm == g), np.flatnonzero(of_statement == g)) for g in range(n)]


HOSTILE = _hostile()
WHOLE = validate(HOSTILE, as_of=AS_OF, today=TODAY)


def test_the_hostile_province_has_every_finding_that_crosses_firms():
    codes = set(WHOLE.issues["code"])
    assert {"duplicate_key", "unknown_firm", "no_financials", "unresolved_name", "unmatched_stock", "self_reference",
            "unknown_firm_in_network"} <= codes
    dupes = WHOLE.issues[(WHOLE.issues["table"] == "firms") & (WHOLE.issues["code"] == "duplicate_key")]
    assert len(dupes) == 3  # the bad copies lose nothing: they are rejected for their own cells
    assert WHOLE.dataset["bonds"]["issuer_id"].notna().all()
    assert WHOLE.dataset["pledges"]["company_id"].tolist() == [HOSTILE.firms.loc[5, "firm_id"]]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(1, 5), st.integers(0, 2**32 - 1))
def test_any_grouping_gives_the_whole_report(n, seed):
    groups = _random_groups(HOSTILE, np.random.default_rng(seed), n)
    _same(validate_groups(HOSTILE, groups, as_of=AS_OF, today=TODAY), WHOLE)


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 4), st.integers(0, 2**32 - 1))
def test_statements_with_their_firms_give_the_whole_report(n, seed):
    # The layout a county's parts give: a firm's statements in its group.
    groups = _by_firm(HOSTILE, np.random.default_rng(seed).integers(0, n, len(HOSTILE.firms)), n)
    _same(validate_groups(HOSTILE, groups, as_of=AS_OF, today=TODAY), WHOLE)


def test_a_firm_whose_first_row_is_unusable_is_its_later_row_in_another_group():
    tables = minimal_tables(3)
    first = tables["firms"].iloc[[0]].assign(employees=-5.0, region_code="abc")  # rejected on its own
    tables["firms"] = pd.concat([first, tables["firms"]], ignore_index=True)
    ds = Dataset(tables)
    whole = validate(ds, as_of=AS_OF, today=TODAY)
    groups = [(np.array([0]), np.array([], dtype=np.int64)), (np.array([1, 2, 3]), np.arange(len(ds.financials)))]
    grouped = validate_groups(ds, groups, as_of=AS_OF, today=TODAY)
    _same(grouped, whole)
    assert grouped.firms == {"read": 4, "screened": 3, "not_screened": 1}
    assert "duplicate_key" not in set(grouped.issues["code"])


def test_a_table_in_parts_names_each_parts_file_and_row(tmp_path):
    folder = tmp_path / "province"
    zjfin.datasets.write_partitioned_province(folder, 3000, seed=3)
    ds = zjfin.read_dataset(folder)
    whole = validate(ds, as_of=AS_OF, today=TODAY)
    counties = ds.firms["region_code"].to_numpy(dtype=object)
    codes = {c: i for i, c in enumerate(sorted(set(counties)))}
    groups = _by_firm(ds, np.array([codes[c] for c in counties]), len(codes))
    grouped = validate_groups(ds, groups, as_of=AS_OF, today=TODAY)
    _same(grouped, whole)
    assert grouped.file_rows["file"].str.endswith(".parquet").all() and len(grouped.file_rows) > 2


def test_groups_must_hold_every_row_once():
    ds = Dataset(minimal_tables(3))
    with pytest.raises(zjfin.ParameterError, match="every row of firms in one group"):
        validate_groups(ds, [(np.array([0, 1]), np.arange(len(ds.financials)))], as_of=AS_OF)


def test_bad_groups_are_a_parameter_error():
    ds = Dataset(minimal_tables(3))
    every = (np.arange(3), np.arange(len(ds.financials)))
    with pytest.raises(zjfin.ParameterError, match="at least one group"):
        validate_groups(Dataset(minimal_tables(0)), [], as_of=AS_OF)
    with pytest.raises(zjfin.ParameterError, match="pairs of integer positions"):
        validate_groups(ds, [(np.array([0.0, 1.0, 2.0]), every[1])], as_of=AS_OF)  # floats are not positions
    with pytest.raises(zjfin.ParameterError, match="pairs of integer positions"):
        validate_groups(ds, [every[0]], as_of=AS_OF)
    # An iterator of groups is read once: checked and used alike.
    _same(validate_groups(ds, iter([every]), as_of=AS_OF, today=TODAY), validate(ds, as_of=AS_OF, today=TODAY))


def test_a_clean_table_is_numbered_from_zero_whatever_the_callers_index():
    shifted = Dataset({t: f.set_axis(f.index * 3 + 100) for t, f in HOSTILE.tables.items()}, HOSTILE.sources)
    whole = validate(shifted, as_of=AS_OF, today=TODAY)
    for table in whole.dataset.tables_present():  # a table with nothing rejected too
        pd.testing.assert_index_equal(whole.dataset[table].index, pd.RangeIndex(len(whole.dataset[table])))
    assert any(not whole.rejected_mask[t].any() for t in whole.dataset.tables_present())  # the case in question
    _same(validate_groups(shifted, _random_groups(shifted, np.random.default_rng(1), 3), as_of=AS_OF, today=TODAY),
          whole)


def test_a_reader_finding_of_a_row_left_out_after_reading_is_kept():
    tables = minimal_tables(4)
    tables["firms"]["employees"] = pd.Series([50, "五十", 50, 50], dtype=object)  # row 3 cannot be read
    ds = Dataset(tables)
    ds.tables["firms"] = ds.tables["firms"].iloc[[0, 2, 3]]  # the caller leaves that row out
    whole = validate(ds, as_of=AS_OF, today=TODAY)
    assert 3 in set(whole.issues.loc[whole.issues["table"] == "firms", "row"])
    groups = [(np.array([0, 2]), np.arange(2)), (np.array([1]), np.arange(2, len(ds.financials)))]
    _same(validate_groups(ds, groups, as_of=AS_OF, today=TODAY), whole)


def test_a_row_held_twice_is_refused_by_both():
    ds = Dataset(minimal_tables(3))
    ds.tables["financials"] = pd.concat([ds.financials, ds.financials], ignore_index=True)
    with pytest.raises(zjfin.ParameterError, match="rows each held once"):
        validate(ds, as_of=AS_OF)
    with pytest.raises(zjfin.ParameterError, match="3 rows held again, the first _row 2"):
        validate_groups(ds, [(np.arange(3), np.arange(6))], as_of=AS_OF)


@pytest.mark.parametrize("groups", [None, 3])
def test_groups_that_are_no_sequence_are_a_parameter_error(groups):
    with pytest.raises(zjfin.ParameterError, match="a sequence of"):
        validate_groups(Dataset(minimal_tables(3)), groups, as_of=AS_OF)
