"""Every validation code has a row that triggers it; counts reconcile."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from builders import firm_ids, minimal_tables, uscc
from zjfin._read import Dataset, read_table
from zjfin._schema import validation_codes
from zjfin._validate import validate

import zjfin

AS_OF = "2019-03-31"
TODAY = "2026-01-01"


def run(tables, as_of=AS_OF):
    return validate(Dataset(tables), as_of=as_of, today=TODAY)


def found(report, code):
    return report.issues[report.issues["code"] == code]


def with_extra_tables(tables):
    ids = tables["firms"]["firm_id"].tolist()
    tables["bonds"] = pd.DataFrame({"bond_id": ["B1"], "issuer_id": [ids[0]], "amount_outstanding": [1e8],
                                    "maturity_date": pd.to_datetime(["2020-01-01"]), "rating": ["AA"], "status": ["performing"]})
    tables["guarantees"] = pd.DataFrame({"guarantor_id": [ids[0]], "borrower_id": [ids[1]], "amount": [1e6]})
    tables["loans"] = pd.DataFrame({"firm_id": [ids[0]], "amount": [1e6], "maturity_date": pd.to_datetime(["2020-01-01"]),
                                    "classification": ["normal"]})
    return tables


# Each case: a function that damages a clean dataset, the code expected, the table, and
# whether the damaged row must be rejected.
def _missing_value(t):
    t["firms"].loc[0, "name"] = None


def _bad_number(t):
    t["financials"]["revenue"] = t["financials"]["revenue"].astype(object)
    t["financials"].loc[0, "revenue"] = "abc"


def _bad_number_optional(t):
    t["firms"]["land_mu"] = pd.Series(["12", "n/a?", "3"], dtype=object)


def _not_whole(t):
    t["firms"].loc[0, "employees"] = 12.5


def _bad_date(t):
    t["financials"]["period_end"] = pd.Series(["2018-12-31", "2018-02-30", "2018-12-31"], dtype=object)


def _bad_bool(t):
    t["firms"]["listed"] = pd.Series(["是", "maybe", "否"], dtype=object)


def _bad_choice(t):
    t["firms"]["ownership"] = pd.Series(["private", "pirate", "国有"], dtype=object)


def _implausible(t):
    t["financials"].loc[0, "revenue"] = 5e16


def _negative(t):
    t["financials"].loc[0, "total_assets"] = -1.0
    t["financials"].loc[0, "total_liabilities"] = -3.0
    t["financials"].loc[0, "equity"] = 2.0


def _negative_employees(t):
    t["firms"].loc[0, "employees"] = -5


def _negative_coupon(t):
    t.update(with_extra_tables(t))
    t["bonds"]["coupon_rate"] = [-0.01]


def _above_max(t):
    t.update(with_extra_tables(t))
    t["bonds"]["coupon_rate"] = [650.0]  # beyond even a per-cent reading


def _uscc_malformed(t):
    t["firms"].loc[0, "firm_id"] = "9133010212345678"


def _uscc_check(t):
    good = t["firms"].loc[0, "firm_id"]
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    t["firms"].loc[0, "firm_id"] = bad
    t["financials"].loc[0, "firm_id"] = bad


def _org_check(t):
    # A code whose GB 32100 check is right but whose organisation code check is wrong.
    from builders import USCC_ALPHABET
    body = "91330102" + "12345678" + ("0" if uscc("330102", "12345678")[16] != "0" else "1")
    total = sum(USCC_ALPHABET.index(c) * (3 ** i % 31) for i, c in enumerate(body))
    code = body + USCC_ALPHABET[(31 - total % 31) % 31]
    t["firms"].loc[0, "firm_id"] = code
    t["financials"].loc[0, "firm_id"] = code


def _region_malformed(t):
    t["firms"].loc[0, "region_code"] = "3301"


def _region_province(t):
    t["firms"].loc[0, "region_code"] = "990101"


def _industry_malformed(t):
    t["firms"].loc[0, "industry_code"] = "Z99"


def _industry_mismatch(t):
    t["firms"].loc[0, "industry_code"] = "A1711"


def _stock_malformed(t):
    t["firms"]["stock_code"] = pd.Series(["600000.SH", "60000X", None], dtype=object)


def _duplicate(t):
    t["financials"] = pd.concat([t["financials"], t["financials"].iloc[[0]]], ignore_index=True)


def _unknown_firm(t):
    t["financials"].loc[2, "firm_id"] = uscc("330102", "99999999")


def _unknown_in_network(t):
    t.update(with_extra_tables(t))
    t["guarantees"].loc[0, "borrower_id"] = uscc("330102", "99999998")


def _self_reference(t):
    t.update(with_extra_tables(t))
    t["guarantees"].loc[0, "borrower_id"] = t["guarantees"].loc[0, "guarantor_id"]


def _no_financials(t):
    t["financials"] = t["financials"].iloc[1:].reset_index(drop=True)


def _after_as_of(t):
    extra = t["financials"].iloc[[0]].copy()
    extra["period_end"] = pd.Timestamp("2019-12-31")
    t["financials"] = pd.concat([t["financials"], extra], ignore_index=True)


def _balance(t):
    t["financials"].loc[0, "equity"] = 1e7  # 4e7 != 2e7 + 1e7


def _future(t):
    t["financials"].loc[0, "period_end"] = pd.Timestamp("2027-12-31")


def _date_order(t):
    t.update(with_extra_tables(t))
    t["guarantees"]["start_date"] = pd.to_datetime(["2018-06-01"])
    t["guarantees"]["end_date"] = pd.to_datetime(["2018-01-01"])


def _guarantee_inactive(t):
    t.update(with_extra_tables(t))
    t["guarantees"]["end_date"] = pd.to_datetime(["2019-03-31"])  # ended on the as-of date


def _unmatched_stock(t):
    t["firms"]["stock_code"] = pd.Series(["600000.SH", None, None], dtype=object)
    t["prices"] = pd.DataFrame({"stock_code": ["600000.SH", "000001.SZ", "000001.SZ"],
                                "date": pd.to_datetime(["2019-03-29"] * 3), "close": [10.0, 11.0, 12.0]})


def _placeholder_date(t):
    t.update(with_extra_tables(t))
    t["guarantees"]["start_date"] = pd.Series(["1900-1-1"], dtype=object)  # a bank's "unknown"


def _read_as_percent(t):
    t.update(with_extra_tables(t))
    t["bonds"]["coupon_rate"] = [8.7]  # 8.7 %, as a data terminal writes it


def _key_generated(t):
    t["firms"]["stock_code"] = pd.Series(["600000.SH", None, None], dtype=object)
    t["pledges"] = pd.DataFrame({"stock_code": ["600000"], "pledger_id": ["张三"], "pledged_shares": [1e6],
                                 "liquidation_price": [5.0], "start_date": pd.to_datetime(["2018-06-01"])})


def _event_collapsed(t):
    t.update(with_extra_tables(t))
    bond = t["bonds"].iloc[0]
    t["bonds"] = pd.DataFrame({"bond_id": ["B1", "B1"], "issuer_id": [bond["issuer_id"]] * 2,
                               "amount_outstanding": [1e8, np.nan], "maturity_date": [bond["maturity_date"]] * 2,
                               "event_date": pd.to_datetime(["2018-05-02", "2018-11-20"]),
                               "event": ["未按时兑付回售款", "未按时兑付本息"]})


def _status_implied(t):
    _event_collapsed(t)
    t["bonds"] = t["bonds"].iloc[[1]]


def _unresolved_name(t):
    t.update(with_extra_tables(t))
    t["bonds"] = t["bonds"].assign(issuer_id=[None], issuer_name=["不存在的公司"])


def _zero_amount(t):
    t.update(with_extra_tables(t))
    t["guarantees"]["amount"] = [0.0]


def _unit_in_cell(t):
    t["firms"]["employees"] = pd.Series(["123人", "45", "60 人"], dtype=object)


def _text_too_long(t):
    t["firms"]["ownership"] = pd.Series(["甲" * 40_000, "private", "private"], dtype=object)


def _stale_price(t):
    t["firms"]["stock_code"] = pd.Series(["600000.SH", None, None], dtype=object)
    t["prices"] = pd.DataFrame({"stock_code": ["600000.SH"] * 2, "date": pd.to_datetime(["2019-03-01", "2019-03-04"]),
                                "close": [10.0, 10.5]})


CASES = [
    ("missing_value", _missing_value, "firms", True),
    ("bad_number", _bad_number, "financials", True),
    ("bad_number", _bad_number_optional, "firms", False),
    ("not_whole_number", _not_whole, "firms", True),
    ("bad_date", _bad_date, "financials", True),
    ("bad_bool", _bad_bool, "firms", False),
    ("bad_choice", _bad_choice, "firms", False),
    ("implausible_value", _implausible, "financials", True),
    ("negative_value", _negative, "financials", False),
    ("negative_value", _negative_employees, "firms", False),
    ("negative_value", _negative_coupon, "bonds", False),
    ("above_max", _above_max, "bonds", False),
    ("uscc_malformed", _uscc_malformed, "firms", True),
    ("uscc_check_char", _uscc_check, "firms", False),
    ("org_code_check", _org_check, "firms", False),
    ("region_malformed", _region_malformed, "firms", True),
    ("region_unknown_province", _region_province, "firms", False),
    ("industry_malformed", _industry_malformed, "firms", True),
    ("industry_section_mismatch", _industry_mismatch, "firms", False),
    ("stock_code_malformed", _stock_malformed, "firms", False),
    ("duplicate_key", _duplicate, "financials", True),
    ("unknown_firm", _unknown_firm, "financials", True),
    ("unknown_firm_in_network", _unknown_in_network, "guarantees", False),
    ("self_reference", _self_reference, "guarantees", True),
    ("no_financials", _no_financials, "firms", True),
    ("after_as_of", _after_as_of, "financials", True),
    ("balance_identity", _balance, "financials", False),
    ("future_date", _future, "financials", False),
    ("date_order", _date_order, "guarantees", False),
    ("unmatched_stock", _unmatched_stock, "prices", True),
    ("guarantee_inactive", _guarantee_inactive, "guarantees", True),
    ("placeholder_date", _placeholder_date, "guarantees", False),
    ("read_as_percent", _read_as_percent, "bonds", False),
    ("key_generated", _key_generated, "pledges", False),
    ("event_collapsed", _event_collapsed, "bonds", False),
    ("status_implied", _status_implied, "bonds", False),
    ("unresolved_name", _unresolved_name, "bonds", True),
    ("zero_amount", _zero_amount, "guarantees", False),
    ("stale_price", _stale_price, "prices", False),
    ("unit_in_cell", _unit_in_cell, "firms", False),
    ("text_too_long", _text_too_long, "firms", False),
]


@pytest.mark.parametrize("code,damage,table,rejects", CASES, ids=[f"{c[0]}-{c[1].__name__}" for c in CASES])
def test_code_is_triggered(code, damage, table, rejects):
    tables = minimal_tables()
    damage(tables)
    report = run(tables)
    hits = found(report, code)
    assert len(hits) >= 1, report.issues[["table", "code"]]
    assert set(hits["table"]) == {table}
    assert bool(hits["rejects"].all()) == rejects
    expected_severity = validation_codes().loc[code, "severity"]
    if rejects:
        assert set(hits["severity"]) == {"info" if expected_severity == "info" else "error"}
    else:
        assert set(hits["severity"]) <= {"warning", "info"}
    # Rows read = rows used + rows rejected, table by table.
    rows = report.rows.set_index("table")
    assert (rows["read"] == rows["used"] + rows["rejected"]).all()
    f = report.firms
    assert f["read"] == f["screened"] + f["not_screened"]


def test_unknown_column_is_noted(tmp_path):
    ids = firm_ids(1)
    path = tmp_path / "firms.csv"
    path.write_text(f"firm_id,name,region_code,industry_code,employees,颜色\n{ids[0]},甲,330102,C1711,5,红\n", encoding="utf-8")
    frame, source, findings = read_table(path, "firms")
    tables = minimal_tables(1)
    ds = Dataset({"firms": frame, "financials": tables["financials"]}, sources={"firms": source}, findings=findings)
    report = validate(ds, as_of=AS_OF, today=TODAY)
    hit = found(report, "unknown_column")
    assert hit["value"].tolist() == ["颜色"] and hit["severity"].tolist() == ["info"] and hit["row"].tolist() == [1]


def test_size_unknown_is_a_screening_warning():
    import zjfin

    # The indicators are required columns, so a missing one rejects the firm; an
    # impossible (negative) headcount is kept with a warning and makes the class unknown.
    tables = minimal_tables()
    tables["firms"].loc[0, "employees"] = -5
    res = zjfin.screen(Dataset(tables), as_of=AS_OF)
    hit = res.issues[res.issues["code"] == "size_unknown"]
    assert hit["key"].tolist() == [tables["firms"].loc[0, "firm_id"]]
    assert hit["severity"].tolist() == ["warning"]
    assert res.screening.set_index("firm_id").loc[hit["key"].iat[0], "size_class"] == "unknown"


def test_every_code_in_the_catalogue_is_tested():
    # unknown_column, size_unknown, amount_missing and id_too_long are tested below; wrong_field_count in test_read.py.
    # unmatched_file in test_read.py (it concerns a folder), header_read_as in test_vendor_layouts.py (a file's header).
    tested = {c[0] for c in CASES} | {"unknown_column", "size_unknown", "amount_missing", "id_too_long", "wrong_field_count",
                                      "unmatched_file", "header_read_as"}
    assert tested == set(validation_codes().index)


def test_clean_data_has_no_findings():
    report = run(minimal_tables())
    assert report.issues.empty
    assert report.exit_code() == 0
    assert report.firms == {"read": 3, "screened": 3, "not_screened": 0}


def test_duplicate_keeps_first_usable_row():
    tables = minimal_tables()
    first = tables["financials"].iloc[[0]].copy()
    first["revenue"] = [np.nan]  # unusable: revenue is required
    tables["financials"] = pd.concat([first, tables["financials"]], ignore_index=True)
    report = run(tables)
    assert found(report, "duplicate_key").empty  # the unusable row does not count as first
    kept = report.dataset["financials"]
    assert kept.loc[kept["firm_id"] == tables["firms"].loc[0, "firm_id"], "revenue"].tolist() == [5e7]


def test_rejected_rows_carry_row_numbers_and_exit_code():
    tables = minimal_tables()
    _uscc_malformed(tables)
    report = run(tables)
    rejected = report.rejected
    assert rejected[["table", "row", "code"]].values.tolist()[0] == ["firms", 2, "uscc_malformed"]
    assert report.exit_code() == 1


def test_enum_aliases_normalise():
    tables = with_extra_tables(minimal_tables())
    tables["loans"]["classification"] = ["关注"]
    tables["bonds"]["status"] = ["违约"]
    tables["bonds"]["rating"] = ["aa+"]
    report = run(tables)
    assert report.issues.empty
    assert report.dataset["loans"]["classification"].tolist() == ["special_mention"]
    assert report.dataset["bonds"][["status", "rating"]].values.tolist() == [["defaulted", "AA+"]]


def test_warning_limit_sets_exit_code():
    from zjfin._policy import Policy

    tables = minimal_tables()
    _balance(tables)
    report = run(tables)
    assert report.n_rejected_rows == 0
    assert report.exit_code(Policy.default()) == 1  # 1 warned row of 6 > 5 %
    assert report.exit_code(Policy.default().update({"validation": {"warning_limit_share": 0.5}})) == 0


@settings(max_examples=40, deadline=None)
@given(
    damage=st.lists(st.tuples(st.sampled_from(["firm_id", "name", "region_code", "industry_code", "employees"]),
                              st.integers(0, 5), st.sampled_from([None, "", "x", "-1", "1e400", "330102", "C17"])),
                    max_size=8),
    fin_damage=st.lists(st.tuples(st.sampled_from(["firm_id", "period_end", "revenue", "total_assets"]), st.integers(0, 5),
                                  st.sampled_from([None, "", "abc", "2019-13-01", "20181231", "-5"])), max_size=8),
)
def test_counts_always_reconcile(damage, fin_damage):
    tables = minimal_tables(6)
    for frame_name, edits in (("firms", damage), ("financials", fin_damage)):
        frame = tables[frame_name].astype(object)
        for column, row, value in edits:
            frame.loc[row, column] = value
        tables[frame_name] = frame
    report = run(tables)
    rows = report.rows.set_index("table")
    assert (rows["read"] == rows["used"] + rows["rejected"]).all()
    assert report.firms["read"] == report.firms["screened"] + report.firms["not_screened"] == 6
    # Every rejected row is listed with a reason; every usable row is kept.
    for table in ("firms", "financials"):
        listed = report.rejected.query("table == @table")["row"].nunique()
        assert listed == rows.loc[table, "rejected"]
        assert len(report.dataset[table]) == rows.loc[table, "used"]


def test_dense_firm_index_points_at_the_right_firm():
    tables = with_extra_tables(minimal_tables(6))
    _uscc_malformed(tables)                       # firm 0 rejected
    tables["financials"] = tables["financials"].iloc[[1, 2, 3, 4]].reset_index(drop=True)  # firm 5 has none
    tables["guarantees"].loc[0, "guarantor_id"] = tables["firms"].loc[3, "firm_id"]
    tables["guarantees"].loc[0, "borrower_id"] = uscc("330102", "99999997")  # outside the firms table
    clean = run(tables).dataset
    firms = clean["firms"]
    assert firms["firm_idx"].tolist() == list(range(len(firms))) == [0, 1, 2, 3]
    for table, refs in {"financials": {"firm_id": "firm_idx"}, "guarantees": {"guarantor_id": "guarantor_idx", "borrower_id": "borrower_idx"}}.items():
        frame = clean[table]
        for ref, idx in refs.items():
            inside = frame[idx] >= 0
            assert (firms["firm_id"].to_numpy()[frame.loc[inside, idx]] == frame.loc[inside, ref].to_numpy()).all()
    assert clean["guarantees"][["guarantor_idx", "borrower_idx"]].values.tolist() == [[2, -1]]


def test_no_usable_firm_at_all():
    tables = with_extra_tables(minimal_tables(2))
    tables["firms"]["firm_id"] = [None, None]
    report = run(tables)
    assert report.firms == {"read": 2, "screened": 0, "not_screened": 2}
    assert (report.dataset["guarantees"]["guarantor_idx"] == -1).all()


def test_a_filtered_dataset_rejects_by_row_number():
    # The reviewer's case: a notebook keeps firms 1..3 of a read dataset (their _row stays).
    tables = minimal_tables(4)
    tables["financials"].loc[3, "revenue"] = np.nan
    full = Dataset(tables)
    sub = Dataset({"firms": full.firms.iloc[1:], "financials": full.financials.iloc[1:]})
    report = validate(sub, as_of=AS_OF, today=TODAY)
    assert report.firms == {"read": 3, "screened": 2, "not_screened": 1}
    rows = report.rows.set_index("table")
    assert rows.loc["financials", "rejected"] == 1 and rows.loc["firms", "rejected"] == 1
    assert report.dataset["firms"]["industry_code"].tolist() == ["C1711", "C1711"]


def test_validate_and_screen_report_the_same_findings(tables):
    """The size class is judged in validation: a manufacturer with a negative headcount
    (the industrial standard needs employees; a negative one is a warning, not a
    rejection) is a size_unknown warning in both reports."""
    tables["firms"].loc[1, "employees"] = -5.0
    ds = Dataset(tables)
    report = validate(ds, as_of=AS_OF)
    res = zjfin.screen(ds, as_of=AS_OF)
    pd.testing.assert_frame_equal(report.to_frame(), res.issues)
    unknown = report.to_frame().query("code == 'size_unknown'")
    assert unknown[["table", "row", "key", "column", "value", "severity"]].values.tolist() == [
        ["firms", 3, tables["firms"].loc[1, "firm_id"], "size_class", "unknown", "warning"]]
    assert res.screening["size_class"].tolist()[1] == "unknown"


def test_size_findings_use_the_statement_screening_uses(tables):
    """Judged on the current statement: with an as-of date, the latest period on or before
    it; without one, the latest of all."""
    later = tables["financials"].iloc[[0]].assign(period_end=pd.Timestamp("2019-12-31"), revenue=-1.0)
    tables["financials"] = pd.concat([tables["financials"], later], ignore_index=True)
    ds = Dataset(tables)
    assert "size_unknown" not in set(validate(ds, as_of=AS_OF).to_frame()["code"])
    assert validate(ds).to_frame().query("code == 'size_unknown'")["key"].tolist() == [tables["firms"].loc[0, "firm_id"]]


def test_status_beats_amount(tables):
    """A defaulted or extended bond and a non-performing loan without an amount are kept
    with a warning and still drive their risk; a performing bond without one is rejected."""
    ids = tables["firms"]["firm_id"]
    tables["bonds"] = pd.DataFrame({"bond_id": ["B1", "B2", "B3"], "issuer_id": ids[:3],
                                    "amount_outstanding": [None, None, None],
                                    "maturity_date": pd.to_datetime(["2020-06-30"] * 3),
                                    "status": ["违约", "extended", "performing"]})
    tables["loans"] = pd.DataFrame({"firm_id": ids[:2], "amount": [None, None], "maturity_date": pd.to_datetime(["2019-12-31"] * 2),
                                    "classification": ["次级", "normal"]})
    ds = Dataset(tables)
    report = validate(ds, as_of=AS_OF)
    found = report.to_frame()
    kept = found[found["code"] == "amount_missing"]
    assert kept[["table", "key", "severity"]].values.tolist() == [["bonds", "B1", "warning"], ["bonds", "B2", "warning"],
                                                                   ["loans", ids[0], "warning"]]
    assert set(report.rejected["code"]) == {"missing_value"}
    assert report.rejected[["table", "key"]].values.tolist() == [["bonds", "B3"], ["loans", ids[1]]]
    res = zjfin.screen(ds, as_of=AS_OF)
    s = res.screening.set_index("firm_id")
    assert s.loc[ids[0], "bond_risk"] == "high" and s.loc[ids[1], "bond_risk"] == "high"
    assert "B1" in s.loc[ids[0], "reason_codes"].split(";")
    assert np.isnan(s.loc[ids[0], "bond_defaulted_amount"])  # unknown, not 0
    sentences = s.loc[ids[0], "reasons_zh"].split("；")
    assert "债券已违约或展期" in sentences and "贷款五级分类为次级及以下" in sentences  # no amount, no "0万元"
    assert s.loc[ids[0], "liquidity_risk"] == "high"  # substandard without an amount
    assert np.isnan(s.loc[ids[0], "loan_substandard_amount"]) and s.loc[ids[1], "loan_total"] == 0.0


def test_any_ids_with_the_policy(tables):
    """A bank's customer numbers and anonymised ids (T + 32 hex characters) are rejected
    as credit codes by default, and accepted with firm_id_format = "any"."""
    ids = ["T" + "0123456789abcdef" * 2, "CUST-000017", "x" * 64]
    for frame in (tables["firms"], tables["financials"]):
        frame["firm_id"] = ids
    ds = Dataset(tables)
    assert set(validate(ds, as_of=AS_OF).rejected["code"]) == {"uscc_malformed"}
    policy = zjfin.Policy.default().update({"validation": {"firm_id_format": "any"}})
    report = validate(ds, as_of=AS_OF, policy=policy)
    assert report.issues.empty and report.firms["screened"] == 3
    tables["firms"].loc[2, "firm_id"] = "x" * 65
    report = validate(Dataset(tables), as_of=AS_OF, policy=policy)
    assert report.rejected[["table", "code"]].values.tolist()[0] == ["firms", "id_too_long"]
    assert report.firms == {"read": 3, "screened": 2, "not_screened": 1}
    res = zjfin.screen(ds, as_of=AS_OF, policy=zjfin.Policy.default().update({"validation": {"firm_id_format": "any"}}))
    assert res.screening["firm_id"].tolist() == ids


def test_default_report_rows_fold_into_the_bond_latest_state():
    # The balance is given only on the earlier event: the bond keeps it, and both rows count as used.
    tables = minimal_tables()
    _event_collapsed(tables)
    report = run(tables)
    bonds = report.dataset["bonds"]
    assert bonds["bond_id"].tolist() == ["B1"] and bonds["amount_outstanding"].tolist() == [1e8]
    assert bonds["event"].tolist() == ["未按时兑付本息"] and bonds["status"].tolist() == ["defaulted"]
    assert found(report, "duplicate_key").empty
    note = found(report, "event_collapsed")
    assert note["row"].tolist() == [2] and note["value"].tolist() == ["未按时兑付回售款"]
    rows = report.rows.set_index("table").loc["bonds"]
    assert (rows["read"], rows["used"], rows["rejected"]) == (2, 2, 0)


def test_names_and_stock_codes_find_their_firms():
    tables = minimal_tables()
    ids = tables["firms"]["firm_id"].tolist()
    tables["firms"]["stock_code"] = pd.Series(["600000.SH", None, None], dtype=object)
    names = tables["firms"]["name"].tolist()
    tables["bonds"] = pd.DataFrame({"bond_id": ["B1", "B2"], "issuer_name": [f" {names[1]} ", "不存在"],
                                    "amount_outstanding": [1e8, 1e8], "maturity_date": pd.to_datetime(["2020-01-01"] * 2)})
    tables["pledges"] = pd.DataFrame({"pledge_id": ["C1", "C2"], "stock_code": ["sh600000", "600000.SH"],
                                      "pledger_id": [names[2], "李四"], "pledgee": ["某证券", "某银行"],
                                      "pledged_shares": [1e6, 2e6], "liquidation_price": [5.0, 6.0],
                                      "start_date": pd.to_datetime(["2018-06-01"] * 2)})
    report = run(tables)
    bonds, pledges = report.dataset["bonds"], report.dataset["pledges"]
    assert bonds["issuer_id"].tolist() == [ids[1]]
    assert found(report, "unresolved_name")["value"].tolist() == ["不存在"]
    assert pledges["company_id"].tolist() == [ids[0], ids[0]]
    # A pledger named like a firm of the dataset is that firm; a person stays as given.
    assert pledges["pledger_id"].tolist() == [ids[2], "李四"]
    # The amount owed comes from the liquidation line: no missing_value for loan_amount.
    assert found(report, "missing_value").empty


@pytest.mark.parametrize("spelling", ["SH600000", "600000", " sh.600000 "])
def test_a_pledged_company_is_found_however_the_firm_spells_its_stock_code(spelling):
    # The firms are validated (their codes normalised) before the pledges look them up:
    # the firm's own spelling must not matter.
    tables = minimal_tables()
    tables["firms"]["stock_code"] = pd.Series([spelling, None, None], dtype=object)
    tables["pledges"] = pd.DataFrame({"pledge_id": ["C1"], "stock_code": ["600000.sh"], "pledger_id": ["李四"],
                                      "pledgee": ["某证券"], "pledged_shares": [1e6], "liquidation_price": [5.0],
                                      "start_date": pd.to_datetime(["2018-06-01"])})
    report = run(tables)
    assert report.dataset["pledges"]["company_id"].tolist() == [tables["firms"]["firm_id"][0]]
    assert found(report, "unresolved_name").empty


def test_a_shared_name_resolves_to_no_firm():
    tables = minimal_tables()
    tables["firms"]["name"] = ["同名公司", "同名公司", "其他"]
    tables["bonds"] = pd.DataFrame({"bond_id": ["B1"], "issuer_name": ["同名公司"], "amount_outstanding": [1e8],
                                    "maturity_date": pd.to_datetime(["2020-01-01"])})
    report = run(tables)
    assert report.dataset["bonds"].empty and found(report, "unresolved_name")["rejects"].all()


def test_bare_six_digit_codes_get_their_exchange():
    from zjfin._validate import _normalise_stock_code

    codes = pd.Series(["600000", "000001", "300750", "688981", "830799", "920001", "sz000001", "60000X", None], dtype=object)
    assert _normalise_stock_code(codes).tolist()[:7] == ["600000.SH", "000001.SZ", "300750.SZ", "688981.SH", "830799.BJ",
                                                         "920001.BJ", "000001.SZ"]
    assert _normalise_stock_code(codes).iloc[7:].isna().all()


def test_a_count_written_with_its_unit_is_read():
    tables = minimal_tables()
    _unit_in_cell(tables)
    report = run(tables)
    assert report.firms["screened"] == 3
    assert report.dataset["firms"]["employees"].tolist() == [123.0, 45.0, 60.0]
    assert found(report, "unit_in_cell")["value"].tolist() == ["2 cells such as 123人"]


def test_plain_repeats_stay_duplicates_beside_event_rows():
    tables = minimal_tables()
    _event_collapsed(tables)
    extra = tables["bonds"].iloc[[0]].assign(bond_id="B2", event_date=pd.NaT, event=None)
    tables["bonds"] = pd.concat([tables["bonds"], extra, extra], ignore_index=True)
    report = run(tables)
    assert found(report, "duplicate_key")["value"].tolist() == ["B2"]
    assert found(report, "event_collapsed")["value"].tolist() == ["未按时兑付回售款"]


_SPACES = [chr(c) for c in range(0x3100) if chr(c).isspace()]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(alphabet=st.sampled_from(_SPACES + list("ab（）() 甲公司")), max_size=8)), max_size=30))
def test_name_match_key_is_pythons_whitespace_and_brackets(names):
    """The key names are matched on (in Arrow): full-width brackets as ASCII, every
    character Python calls whitespace removed, nothing left → missing."""
    import re

    from zjfin._validate import _match_key

    def by_hand(name):
        if name is None:
            return None
        key = re.sub(r"\s+", "", name.replace("（", "(").replace("）", ")"))
        return key or None

    got = _match_key(pd.Series(names, dtype=object), "name")
    assert [None if pd.isna(v) else v for v in got] == [by_hand(n) for n in names]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(alphabet=st.sampled_from(_SPACES + list("ab（）() 甲")), max_size=6)), max_size=30),
       st.lists(st.text(alphabet=st.sampled_from(list("ab() 甲")), min_size=1, max_size=4), max_size=8))
def test_firm_names_are_normalised_only_where_that_changes_them(names, asked):
    """Names are looked up raw, and normalised only where they hold a bracket or a space:
    the same positions as normalising every name."""
    import pyarrow as pa

    from zjfin._arrow import index_in
    from zjfin._validate import _firm_keys_in, _match_key

    keys = pa.array(sorted({k for k in _match_key(pd.Series(asked, dtype=object), "name") if isinstance(k, str)}), pa.string())
    values = pd.Series(names, dtype=object)
    assert _firm_keys_in(values, "name", keys).tolist() == index_in(_match_key(values, "name"), keys).tolist()


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(["甲公司", "乙 公司", "乙公司", "丙（集团）", "丙(集团)", "  ", None]), min_size=1, max_size=8),
       st.lists(st.sampled_from(["甲公司", "乙公司", "丙(集团)", "丁", " 甲公司 ", None]), max_size=6))
def test_a_name_resolves_only_to_the_one_firm_that_has_it(firm_names, wanted):
    """By hand: a name (brackets and spaces normalised) names a firm when exactly one firm
    has it; a name no firm or several firms have, or an empty one, names none."""
    import re

    from zjfin._validate import _firm_ids_by

    def key(name):
        return (re.sub(r"\s+", "", name.replace("（", "(").replace("）", ")")) or None) if name is not None else None

    firms = pd.DataFrame({"firm_id": [f"F{i}" for i in range(len(firm_names))], "name": pd.Series(firm_names, dtype=object)})
    owners: dict[str, list[str]] = {}
    for fid, name in zip(firms["firm_id"], firm_names):
        if key(name) is not None:
            owners.setdefault(key(name), []).append(fid)
    expected = [owners[key(w)][0] if key(w) in owners and len(owners[key(w)]) == 1 else None for w in wanted]
    assert list(_firm_ids_by(firms, "name", pd.Series(wanted, dtype=object))) == expected


@settings(max_examples=100, deadline=None)
@given(st.lists(st.none() | st.sampled_from(["soe", " SOE ", "Private", "国有", " 民营", "pirate", "", "\u3000other"]),
                min_size=1, max_size=30))
def test_a_choice_is_judged_as_a_cell_by_cell_check_would(cells):
    # Choices are judged once per distinct value and spread back: the same verdicts and
    # values as judging each cell on its own (strip, case, then the aliases).
    from zjfin._arrow import as_text
    from zjfin._validate import _check_enum

    cons = zjfin.table_schema("firms").column("ownership").constraints
    allowed, aliases = cons["enum"], cons["enum_aliases"]

    def by_hand(cell):
        if cell is None:
            return None, False
        lowered = cell.strip().lower()
        value = lowered if lowered in allowed else aliases.get(cell.strip())
        return (value, False) if value in allowed else (None, True)

    class Collector:
        def emit(self, table, mask, column, code):
            self.bad = np.asarray(mask, dtype=bool)

    frame = pd.DataFrame({"ownership": as_text(cells)})
    collector = Collector()
    _check_enum(collector, frame, "firms", "ownership", cons)
    expected = [by_hand(c) for c in cells]
    assert frame["ownership"].astype(object).where(frame["ownership"].notna(), None).tolist() == [v for v, _ in expected]
    assert collector.bad.tolist() == [b for _, b in expected]


def test_a_choice_that_is_not_text_is_a_bad_choice_not_a_crash():
    # A frame given already typed may hold any cell (a number from a spreadsheet).
    from zjfin._validate import _check_enum

    class Collector:
        def emit(self, table, mask, column, code):
            self.bad = np.asarray(mask, dtype=bool)

    frame = pd.DataFrame({"ownership": pd.Series(["soe", 1, None, " 国有"], dtype=object)})
    collector = Collector()
    _check_enum(collector, frame, "firms", "ownership", zjfin.table_schema("firms").column("ownership").constraints)
    assert collector.bad.tolist() == [False, True, False, False]
    assert frame["ownership"].isna().tolist() == [False, True, True, False] and frame["ownership"].iat[3] == "soe"


@settings(max_examples=60, deadline=None)
@given(
    firm_picks=st.lists(st.tuples(st.integers(0, 3), st.booleans()), min_size=1, max_size=8),
    statements=st.lists(st.tuples(st.integers(0, 5), st.integers(0, 1), st.booleans()), max_size=12),
    guarantors=st.lists(st.integers(0, 5), max_size=6),
)
def test_duplicates_and_firm_positions_match_a_plain_reading(firm_picks, statements, guarantors):
    """Ids repeated among the firms (some rows set aside), statements of known, unknown and
    missing firms: the duplicate findings and each kept row's firm are those of reading the
    rows one by one (the first usable row with a key wins; a reference names the first
    usable firm row with its id), however the look-ups are shared inside."""
    pool = firm_ids(4) + [uscc("330102", "99999999"), None]  # 4: no firm has it; 5: missing
    firms = pd.DataFrame({"firm_id": [pool[i] for i, _ in firm_picks], "name": [f"企业{k}" for k in range(len(firm_picks))],
                          "region_code": "330102", "industry_code": "C1711", "employees": 50.0})
    firms["name"] = firms["name"].where([ok for _, ok in firm_picks], None)  # a missing name sets the row aside
    periods = pd.to_datetime(["2017-12-31", "2018-12-31"])
    financials = pd.DataFrame({"firm_id": [pool[i] for i, _, _ in statements], "period_end": [periods[p] for _, p, _ in statements],
                               "revenue": [5e7 if ok else np.nan for _, _, ok in statements], "total_assets": 4e7,
                               "total_liabilities": 2e7, "equity": 2e7})
    financials["period_end"] = pd.to_datetime(financials["period_end"])
    tables = {"firms": firms, "financials": financials}
    if guarantors:
        tables["guarantees"] = pd.DataFrame({"guarantor_id": [pool[i] for i in guarantors], "borrower_id": pool[0], "amount": 1e6})
    report = run(tables)

    def dupes(rows, usable, key):
        seen, out = set(), set()
        for position, row in enumerate(rows):
            if usable[position]:
                if key(row) in seen:
                    out.add(position)
                seen.add(key(row))
        return out

    firm_usable = [ok and pool[i] is not None for i, ok in firm_picks]
    firm_dupes = dupes(firm_picks, firm_usable, lambda r: pool[r[0]])
    fin_usable = [ok and pool[i] is not None for i, _, ok in statements]
    fin_dupes = dupes(statements, fin_usable, lambda r: (pool[r[0]], r[1]))
    issues = report.issues
    rows_of = lambda table: set(issues.query("code == 'duplicate_key' and table == @table")["row"] - 2)  # noqa: E731
    assert rows_of("firms") == firm_dupes and rows_of("financials") == fin_dupes
    # A kept statement points at the firm with its id.
    clean = report.dataset
    assert (clean["firms"]["firm_id"].to_numpy()[clean["financials"]["firm_idx"]] == clean["financials"]["firm_id"].to_numpy()).all()
    usable_ids = {pool[i] for k, (i, _) in enumerate(firm_picks) if firm_usable[k] and k not in firm_dupes}
    unknown = {k for k, (i, _, _) in enumerate(statements) if fin_usable[k] and k not in fin_dupes and pool[i] not in usable_ids}
    assert set(issues.query("code == 'unknown_firm' and table == 'financials'")["row"] - 2) == unknown
    if guarantors:
        kept = clean["guarantees"]  # a guarantor outside the screened firms stays, without a position
        screened = set(clean["firms"]["firm_id"])
        inside = kept["guarantor_idx"].to_numpy() >= 0
        assert kept["guarantor_id"].isin(screened).to_numpy().tolist() == inside.tolist()
        assert (clean["firms"]["firm_id"].to_numpy()[kept["guarantor_idx"][inside]] == kept["guarantor_id"][inside].to_numpy()).all()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.sampled_from([uscc("330102", "12345678"), "91330100799655058A", "bad", "9133010079965505 8",
                                                      "91330100799655058B", "", "ＡＢＣ"])), max_size=12),
       st.lists(st.one_of(st.none(), st.sampled_from(["91330100799655058B", "bad", "91330100799655058A", "x" * 18])), max_size=6))
def test_a_reference_that_is_a_firms_id_is_judged_as_that_id(references, firm_id_cells):
    """References found among the firms' ids take the firm's verdict; the result is that of
    checking every reference's structure itself."""
    from zjfin._arrow import index_in
    from zjfin._codes import uscc_status
    from zjfin._validate import _reference_malformed

    values, ids = pd.Series(references, dtype=object), pd.Series(firm_id_cells, dtype=object)
    got = _reference_malformed(values, index_in(values, ids), uscc_status(ids)["malformed"].to_numpy())
    assert got.tolist() == uscc_status(values, checks=False)["malformed"].tolist()


def test_stale_price_is_judged_per_stock():
    """Two stocks, their closes interleaved: only the stock whose last close before the
    as-of date is older than the policy's age is flagged, on that close's row."""
    tables = minimal_tables()
    tables["firms"]["stock_code"] = pd.Series(["600000.SH", "000001.SZ", None], dtype=object)
    tables["prices"] = pd.DataFrame({"stock_code": ["600000.SH", "000001.SZ", "600000.SH", "000001.SZ", "000001.SZ", None],
                                     "date": pd.to_datetime(["2018-06-01", "2019-03-20", "2018-07-02", "2019-03-29",
                                                             "2019-05-01", "2019-03-29"]),
                                     "close": [10.0, 5.0, 10.5, 5.1, 5.2, 1.0]})
    stale = found(run(tables), "stale_price")
    # Row numbers count the header as row 1: the 600000.SH close of 2018-07-02 is row 4.
    assert stale["row"].tolist() == [4] and stale["key"].tolist() == ["600000.SH"]


def test_a_file_that_is_no_tables_is_reported_after_the_tables(tmp_path):
    """A stray file that looks like no table (its finding has no table) is listed, after
    the tables' findings, and nothing fails on it."""
    write = __import__("zjfin").write_dataset
    tables = minimal_tables()
    tables["financials"].loc[0, "revenue"] = np.nan
    write(Dataset(tables), tmp_path)
    (tmp_path / "zzzz_random.csv").write_text("a\n1\n", encoding="utf-8")
    report = validate(__import__("zjfin").read_dataset(tmp_path), as_of=AS_OF, today=TODAY)
    assert report.issues["code"].tolist()[-1] == "unmatched_file"
    assert report.issues["table"].tolist()[-1] == "" and "missing_value" in report.issues["code"].tolist()
