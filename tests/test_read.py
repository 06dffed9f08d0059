"""Tests for zjfin/read.py: reading table files and dataset folders (SPEC §2)."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from pandas.testing import assert_frame_equal

from zjfin._arrow import as_text
from zjfin._errors import InputFileError, ParameterError, ZjfinError
from zjfin._read import NULL_TOKENS, Dataset, Source, read_dataset, read_table, write_dataset
from zjfin._schema import table_schema, validation_codes
from builders import firm_ids

# --------------------------------------------------------------------------------------
# helpers

FIRMS_ZH = ["统一社会信用代码", "企业名称", "行政区划代码", "行业代码", "从业人员"]
FIRMS_EN = ["firm_id", "name", "region_code", "industry_code", "employees"]
FIRMS_ROWS = [
    ["91330100799655058B", "杭州甲纺织有限公司", "330102", "C1711", "120"],
    ["91330782MA28C1XK5F", "义乌乙服装厂", "330782", "C18", "15"],
    ["91331002MA2AKGWD2H", "台州丙䶮化工股份公司", "331002", "C2614", "0"],  # 䶮: GB18030-only
]
FIN_EN = ["firm_id", "period_end", "revenue", "total_assets", "total_liabilities"]


def csv_text(header, rows, sep=","):
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=sep, lineterminator="\r\n")  # so "\r" in a cell is quoted too
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


def write_csv(path: Path, header, rows, encoding="utf-8", sep=",", prefix="") -> Path:
    path.write_bytes((prefix + csv_text(header, rows, sep)).encode(encoding))
    return path


def write_xlsx(path: Path, header, rows) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.append(list(header))
    for row in rows:
        ws.append(list(row))
    wb.save(path)
    return path


def fin_row(value_col: str, value: str, firm="91330100799655058B") -> dict[str, str]:
    row = dict(zip(FIN_EN, [firm, "2018-12-31", "100", "200", "50"]))
    row[value_col] = value
    return row


def read_values(tmp_path: Path, table: str, header, values, column: str, name="t.csv"):
    """One file whose rows differ only in `column`; returns (frame, findings)."""
    base = {
        "financials": fin_row,
        "firms": lambda c, v: dict(zip(FIRMS_EN + ["listed"], FIRMS_ROWS[0] + ["是"])) | {c: v},
    }[table]
    rows = [base(column, v) for v in values]
    path = write_csv(tmp_path / name, header, [[r[h] for h in header] for r in rows])
    frame, _, findings = read_table(path, table)
    return frame, findings


@contextlib.contextmanager
def no_warnings():
    """zjfin collects warnings as findings; it never prints one."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


KNOWN_CODES = set(validation_codes()["code"])


# --------------------------------------------------------------------------------------
# 1. encodings


@pytest.mark.parametrize(
    "encoding, reported",
    [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("gb18030", "gb18030")],
)
def test_encodings_read_to_identical_frames(tmp_path, encoding, reported):
    reference, ref_source, _ = read_table(write_csv(tmp_path / "ref.csv", FIRMS_ZH, FIRMS_ROWS), "firms")
    frame, source, findings = read_table(write_csv(tmp_path / "firms.csv", FIRMS_ZH, FIRMS_ROWS, encoding), "firms")
    assert source.encoding == reported
    assert ref_source.encoding == "utf-8"
    assert findings.empty
    assert_frame_equal(frame, reference)
    assert frame["name"].tolist() == [r[1] for r in FIRMS_ROWS]
    assert frame["employees"].tolist() == [120.0, 15.0, 0.0]


def test_gbk_file_reads_as_gb18030(tmp_path):
    rows = FIRMS_ROWS[:2]  # GBK has no 䶮
    reference, _, _ = read_table(write_csv(tmp_path / "a.csv", FIRMS_ZH, rows), "firms")
    frame, source, _ = read_table(write_csv(tmp_path / "b.csv", FIRMS_ZH, rows, "gbk"), "firms")
    assert source.encoding == "gb18030"
    assert_frame_equal(frame, reference)


@pytest.mark.parametrize(
    "data",
    [
        b"\xff\xfe\x00f\x00i\x00r\x00m\x00",  # UTF-16
        "统一社会信用代码,企业名称\n".encode("utf-16"),
        b"firm_id,name\n\x81\x30\xff\xff,x\n",  # invalid in UTF-8 and in GB18030
        b"\xef\xbb\xbffirm_id,name\n" + "甲".encode("gbk") + b"\n",  # BOM, then GBK bytes
    ],
)
def test_undecodable_file_raises_naming_the_file(tmp_path, data):
    path = tmp_path / "坏文件.csv"
    path.write_bytes(data)
    with pytest.raises(InputFileError) as info:
        read_table(path, "firms")
    assert "坏文件.csv" in str(info.value)
    assert info.value.path == str(path)


def test_stray_second_bom(tmp_path):
    reference, _, _ = read_table(write_csv(tmp_path / "a.csv", FIRMS_EN, FIRMS_ROWS), "firms")
    for i, (encoding, prefix) in enumerate([("utf-8-sig", "\ufeff"), ("utf-8", "\ufeff\ufeff"), ("gb18030", "\ufeff")]):
        frame, source, _ = read_table(write_csv(tmp_path / f"b{i}.csv", FIRMS_EN, FIRMS_ROWS, encoding, prefix=prefix), "firms")
        assert list(source.columns.values()) == FIRMS_EN and source.ignored_columns == []
        assert_frame_equal(frame, reference)


def test_tab_separated(tmp_path):
    reference, _, _ = read_table(write_csv(tmp_path / "a.csv", FIRMS_ZH, FIRMS_ROWS), "firms")
    rows = [r[:1] + [r[1] + ", 分公司"] + r[2:] for r in FIRMS_ROWS]  # commas inside values
    frame, _, findings = read_table(write_csv(tmp_path / "b.txt", FIRMS_ZH, rows, "gb18030", sep="\t"), "firms")
    assert findings.empty
    assert frame["name"].tolist() == [r[1] for r in rows]
    assert_frame_equal(frame.drop(columns="name"), reference.drop(columns="name"))


# --------------------------------------------------------------------------------------
# 2. headers


def test_header_forms_mixed_in_one_file(tmp_path):
    header = ["Firm_ID", "企业名称", " 区划 代码 ", "industry-code", "【从业人员】", "营业执照号", "所有制类型", "LISTED"]
    rows = [["91330100799655058B", "甲", "330102", "C1711", "30", "x", "民营", "是"]]
    frame, source, _ = read_table(write_csv(tmp_path / "f.csv", header, rows), "firms")
    assert source.columns == {  # header as written -> canonical column
        "Firm_ID": "firm_id", "企业名称": "name", " 区划 代码 ": "region_code",
        "industry-code": "industry_code", "【从业人员】": "employees", "所有制类型": "ownership", "LISTED": "listed",
    }
    assert source.ignored_columns == ["营业执照号"]
    assert "营业执照号" not in frame.columns
    assert list(frame.columns) == table_schema("firms").names + ["_row"]
    assert frame.loc[0, "region_code"] == "330102" and frame.loc[0, "employees"] == 30
    assert frame.loc[0, "listed"]


@pytest.mark.parametrize(
    "header",
    ["营业收入（万元）", "营业收入(万元)", "营业 收入 [万元]", "Revenue (10k_yuan)", "REVENUE", "主营业务收入", "operating_revenue", "销售_收入"],
)
def test_header_noise_is_ignored(tmp_path, header):
    path = write_csv(tmp_path / "f.csv", ["firm_id", "period_end", header, "资产总计", "负债合计"],
                     [["A", "2018-12-31", "1", "2", "3"]])
    frame, source, _ = read_table(path, "financials", unit="10k_yuan")
    assert source.columns[header] == "revenue"
    assert frame.loc[0, "revenue"] == 1e4
    assert frame.loc[0, "total_assets"] == 2e4


def test_two_headers_for_one_column(tmp_path):
    path = write_csv(tmp_path / "f.csv", FIRMS_EN + ["企业名称"], [FIRMS_ROWS[0] + ["甲"]])
    with pytest.raises(InputFileError) as info:
        read_table(path, "firms")
    msg = str(info.value)
    assert "f.csv" in msg and "'name'" in msg and "'企业名称'" in msg


def test_missing_required_column_is_named(tmp_path):
    path = write_csv(tmp_path / "f.csv", FIRMS_ZH[:4], [r[:4] for r in FIRMS_ROWS])
    with pytest.raises(InputFileError) as info:
        read_table(path, "firms")
    msg = str(info.value)
    assert "f.csv" in msg and "employees" in msg and "从业人员" in msg
    assert "firm_id" not in msg


@pytest.mark.parametrize("writer", [write_csv, write_xlsx])
def test_repeated_header(tmp_path, writer):
    suffix = ".csv" if writer is write_csv else ".xlsx"
    path = writer(tmp_path / f"f{suffix}", FIRMS_EN + ["备注", "备注"], [r + ["a", "b"] for r in FIRMS_ROWS])
    with pytest.raises(InputFileError, match="备注"):
        read_table(path, "firms")


# --------------------------------------------------------------------------------------
# 3. units


@pytest.mark.parametrize(
    "unit, factor",
    [(None, 1.0), ("yuan", 1.0), ("元", 1.0), ("10k_yuan", 1e4), ("万元", 1e4), ("100m_yuan", 1e8), ("亿元", 1e8)],
)
def test_units_scale_money_columns_only(tmp_path, unit, factor):
    kw = {} if unit is None else {"unit": unit}
    firms = write_csv(
        tmp_path / "firms.csv",
        FIRMS_EN + ["financing_demand", "land_mu", "total_shares", "energy_tce"],
        [FIRMS_ROWS[0] + ["2.5", "10", "1000", "7"]],
    )
    frame, source, _ = read_table(firms, "firms", **kw)
    assert source.unit == {None: "yuan", "元": "yuan", "万元": "10k_yuan", "亿元": "100m_yuan"}.get(unit, unit)
    assert frame.loc[0, "financing_demand"] == pytest.approx(2.5 * factor)
    assert frame.loc[0, ["employees", "land_mu", "total_shares", "energy_tce"]].tolist() == [120, 10, 1000, 7]

    pledges = write_csv(
        tmp_path / "pledges.csv",
        ["pledge_id", "company_id", "pledger_id", "pledged_shares", "loan_amount", "start_date", "interest_rate", "warning_ratio"],
        [["P1", "A", "B", "1000000", "3", "2018-01-02", "0.06", "1.6"]],
    )
    frame, _, _ = read_table(pledges, "pledges", **kw)
    assert frame.loc[0, "loan_amount"] == pytest.approx(3 * factor)
    assert frame.loc[0, ["pledged_shares", "interest_rate", "warning_ratio"]].tolist() == [1e6, 0.06, 1.6]

    prices = write_csv(tmp_path / "prices.csv", ["stock_code", "date", "close"], [["600000.SH", "2019-03-29", "11.5"]])
    frame, _, _ = read_table(prices, "prices", **kw)
    assert frame.loc[0, "close"] == 11.5  # yuan per share: never scaled

    loans = write_csv(tmp_path / "loans.csv", ["firm_id", "amount", "maturity_date", "overdue_days"], [["A", "4", "2019-06-30", "30"]])
    frame, _, _ = read_table(loans, "loans", **kw)
    assert frame.loc[0, "amount"] == pytest.approx(4 * factor)
    assert frame.loc[0, "overdue_days"] == 30


def test_unit_per_table(tmp_path):
    write_csv(tmp_path / "firms.csv", FIRMS_EN + ["financing_demand"], [FIRMS_ROWS[0] + ["5"]])
    write_csv(tmp_path / "financials.csv", FIN_EN, [["91330100799655058B", "2018-12-31", "1.5", "2", "1"]])
    write_csv(tmp_path / "bonds.csv", ["bond_id", "issuer_id", "amount_outstanding", "maturity_date"], [["B1", "A", "3", "2020-01-01"]])
    ds = read_dataset(tmp_path, unit={"financials": "10k_yuan", "bonds": "亿元", "default": "yuan"})
    assert ds.financials.loc[0, ["revenue", "total_assets", "total_liabilities"]].tolist() == [15000, 20000, 10000]
    assert ds.firms.loc[0, "financing_demand"] == 5
    assert ds.bonds.loc[0, "amount_outstanding"] == 3e8
    assert (ds.sources["financials"].unit, ds.sources["firms"].unit, ds.sources["bonds"].unit) == ("10k_yuan", "yuan", "100m_yuan")
    ds = read_dataset(tmp_path, unit={"default": "万元"})
    assert ds.firms.loc[0, "financing_demand"] == 5e4 and ds.bonds.loc[0, "amount_outstanding"] == 3e4


@pytest.mark.parametrize(
    "header, unit, expected",
    [
        ("营业收入（万元）", "yuan", 1.5e4),
        ("营业收入（万元）", "100m_yuan", 1.5e4),
        ("营业收入(亿元)", "10k_yuan", 1.5e8),
        ("营业收入【元】", "10k_yuan", 1.5),
        ("revenue (10k_yuan)", "yuan", 1.5e4),
        ("Revenue (100M_YUAN)", "yuan", 1.5e8),
    ],
)
def test_header_stated_unit_wins(tmp_path, header, unit, expected):
    path = write_csv(tmp_path / "f.csv", ["firm_id", "period_end", header, "total_assets", "total_liabilities"],
                     [["A", "2018-12-31", "1.5", "2", "1"]])
    frame, source, _ = read_table(path, "financials", unit=unit)
    assert frame.loc[0, "revenue"] == pytest.approx(expected)
    assert frame.loc[0, "total_assets"] == pytest.approx(2 * {"yuan": 1, "10k_yuan": 1e4, "100m_yuan": 1e8}[unit])
    assert set(source.column_units) == {"revenue"}


def test_header_unit_on_non_money_column_is_not_a_scale(tmp_path):
    path = write_csv(tmp_path / "f.csv", FIRMS_ZH[:4] + ["从业人员（人）", "用地面积（亩）", "融资需求（万元）"],
                     [FIRMS_ROWS[0][:4] + ["30", "12.5", "8"]])
    frame, source, _ = read_table(path, "firms", unit="100m_yuan")
    assert frame.loc[0, ["employees", "land_mu", "financing_demand"]].tolist() == [30, 12.5, 8e4]
    assert source.column_units == {"financing_demand": "10k_yuan"}


@pytest.mark.parametrize("unit", ["千元", "k_yuan", "", "usd", {"financials": "dollars"}, {"firm": "yuan"}, 10000])
def test_unknown_unit(tmp_path, unit):
    path = write_csv(tmp_path / "financials.csv", FIN_EN, [["A", "2018-12-31", "1", "2", "1"]])
    write_csv(tmp_path / "firms.csv", FIRMS_EN, FIRMS_ROWS)
    with pytest.raises(ParameterError, match="unit"):
        read_table(path, "financials", unit=unit)
    with pytest.raises(ParameterError, match="unit"):
        read_dataset(tmp_path, unit=unit)


def test_money_overflow_from_scaling_is_bad_number(tmp_path):
    path = write_csv(tmp_path / "f.csv", FIN_EN, [["A", "2018-12-31", "1e305", "2", "1"]])
    with no_warnings():  # "warnings are collected, never printed"
        frame, _, findings = read_table(path, "financials", unit="100m_yuan")
    assert np.isnan(frame.loc[0, "revenue"])
    assert findings[["row", "column", "value", "code"]].values.tolist() == [[2, "revenue", "1e305", "bad_number"]]


# --------------------------------------------------------------------------------------
# 4. dates

GOOD_DATES = ["2019-03-31", "2019/3/31", "20190331", "2019年3月31日", "2019.03.31", "2019-03-31 00:00:00",
              " 2019-3-31 ", "2019/03/31 14:05", "2019-03-31T08:00:00", "2019 年 3 月 31 日"]
BAD_DATES = ["2019-02-30", "abc", "2019-13-01", "19-03-31", "31/03/2019", "9999-12-31", "0001-01-01", "1500-06-30"]


@pytest.mark.parametrize("text", GOOD_DATES)
def test_date_forms_alone(tmp_path, text):
    frame, findings = read_values(tmp_path, "financials", FIN_EN, [text, text], "period_end")
    assert findings.empty
    assert frame["period_end"].tolist() == [pd.Timestamp("2019-03-31")] * 2
    assert frame["period_end"].dtype == "datetime64[ns]"


def test_date_forms_mixed_and_bad_dates(tmp_path):
    values = GOOD_DATES + BAD_DATES + ["", "—", "NULL"]
    frame, findings = read_values(tmp_path, "financials", FIN_EN, values, "period_end")
    n_good = len(GOOD_DATES)
    assert frame["period_end"].iloc[:n_good].tolist() == [pd.Timestamp("2019-03-31")] * n_good
    assert frame["period_end"].iloc[n_good:].isna().all()
    bad_rows = list(range(2 + n_good, 2 + n_good + len(BAD_DATES)))
    assert findings["row"].tolist() == bad_rows
    assert findings["value"].tolist() == BAD_DATES
    assert set(findings["code"]) == {"bad_date"} and set(findings["column"]) == {"period_end"}
    assert (findings["table"] == "financials").all() and (findings["file"] == "t.csv").all()
    assert findings["key"].tolist() == ["91330100799655058B"] * len(BAD_DATES)


@pytest.mark.parametrize("text", ["9999-12-31", "2262-04-12", "1677-01-01", "0019-03-31"])
def test_dates_beyond_datetime64_are_bad_not_wrapped(tmp_path, text):
    # Alone (arrow's fast path) and among other forms (the per-cell path).
    for values in ([text], [text, "2019/3/31"]):
        frame, findings = read_values(tmp_path, "financials", FIN_EN, values, "period_end")
        assert pd.isna(frame.loc[0, "period_end"])
        assert findings[["row", "value", "code"]].values.tolist() == [[2, text, "bad_date"]]


def test_bad_date_row_numbers_count_blank_lines(tmp_path):
    text = csv_text(FIN_EN, [["A", "2018-12-31", "1", "2", "1"]]) + "\n" + "B,2019-02-30,1,2,1\n\n\n"
    (tmp_path / "f.csv").write_text(text, encoding="utf-8")
    frame, _, findings = read_table(tmp_path / "f.csv", "financials")
    assert frame["_row"].tolist() == [2, 3, 4]  # row 3 is the blank line, as a spreadsheet shows it
    assert frame["firm_id"].tolist()[::2] == ["A", "B"] and pd.isna(frame.loc[1, "firm_id"])
    assert findings[["row", "key", "value", "code"]].values.tolist() == [[4, "B", "2019-02-30", "bad_date"]]


def test_xlsx_dates(tmp_path):
    cells = [dt.datetime(2019, 3, 31), dt.date(2019, 3, 31), dt.datetime(2019, 3, 31, 15, 30), 20190331, 20190331.0,
             "2019-03-31", "2019/3/31", "2019年3月31日", "2019.03.31", "2019-02-30", "abc", dt.datetime(9999, 12, 31), None]
    rows = [["A", c, 1, 2, 1] for c in cells]
    frame, _, findings = read_table(write_xlsx(tmp_path / "f.xlsx", FIN_EN, rows), "financials")
    assert frame["period_end"].iloc[:9].tolist() == [pd.Timestamp("2019-03-31")] * 9
    assert frame["period_end"].iloc[9:].isna().all()
    assert findings[["row", "value", "code"]].values.tolist() == [
        [11, "2019-02-30", "bad_date"], [12, "abc", "bad_date"], [13, "9999-12-31", "bad_date"]]  # a date cell shown as a date


def test_parquet_dates(tmp_path):
    shanghai = [pd.Timestamp("2019-03-31 00:00", tz="Asia/Shanghai"), pd.Timestamp("2019-03-31 07:59", tz="Asia/Shanghai")]
    for i, arr in enumerate([
        pa.array([dt.date(2019, 3, 31)] * 2, pa.date32()),
        pa.array([dt.datetime(2019, 3, 31, 0, 0), dt.datetime(2019, 3, 31, 23, 59)], pa.timestamp("ms")),
        pa.array(shanghai, pa.timestamp("us", tz="Asia/Shanghai")),  # the date the file states, not UTC's
        pa.array(["2019-03-31", "20190331"]),
        pa.array([20190331, 20190331], pa.int64()),
    ]):
        table = pa.table({"firm_id": ["A", "B"], "period_end": arr, "revenue": [1.0, 2.0],
                          "total_assets": [1.0, 2.0], "total_liabilities": [1.0, 2.0]})
        pq.write_table(table, tmp_path / f"f{i}.parquet")
        frame, _, findings = read_table(tmp_path / f"f{i}.parquet", "financials")
        assert frame["period_end"].tolist() == [pd.Timestamp("2019-03-31")] * 2, arr.type
        assert findings.empty


def test_parquet_date_beyond_datetime64_is_one_bad_cell(tmp_path):
    table = pa.table({"firm_id": ["A", "B"], "period_end": pa.array([dt.date(9999, 12, 31), dt.date(2019, 3, 31)]),
                      "revenue": [1.0, 2.0], "total_assets": [1.0, 2.0], "total_liabilities": [1.0, 2.0]})
    pq.write_table(table, tmp_path / "f.parquet")
    frame, _, findings = read_table(tmp_path / "f.parquet", "financials")
    assert pd.isna(frame.loc[0, "period_end"]) and frame.loc[1, "period_end"] == pd.Timestamp("2019-03-31")
    assert findings[["row", "value", "code"]].values.tolist() == [[2, "9999-12-31", "bad_date"]]


# --------------------------------------------------------------------------------------
# 5. numbers and booleans

NUMBERS = [
    ("1,234.5", 1234.5), ("(1,234)", -1234.0), ("（1,234）", -1234.0), ("6.5%", 0.065), ("6.5％", 0.065),
    ("(6.5%)", -0.065), ("-6.5%", -0.065), ("1，234", 1234.0), ("1，234，567.8", 1234567.8), ("¥1,000", 1000.0),
    ("1000元", 1000.0), (" 12 ", 12.0), ("-3", -3.0), ("+5", 5.0), (".5", 0.5), ("1E5", 1e5), ("0", 0.0),
]
MISSING = ["", "  ", "—", "——", "-", "--", "NULL", "nan", "N/A", "#N/A", "/", "无数据", "None"]
BAD_NUMBERS = ["abc", "1e400", "-1e400", "inf", "-Infinity", "-nan", "nAn", "1.2.3", "0x10"]  # full-width digits parse: see test_full_width_digits_and_unicode_minus


@pytest.mark.parametrize("text, expected", NUMBERS)
def test_number_forms(tmp_path, text, expected):
    # Alone and next to a clean number: both parse (whichever path the reader takes).
    for i, values in enumerate(([text], [text, "7"], [text, "abc"])):
        frame, findings = read_values(tmp_path, "financials", FIN_EN, values, "revenue", name=f"{i}.csv")
        assert frame.loc[0, "revenue"] == pytest.approx(expected)
        assert (findings["row"] == 2).sum() == 0


@pytest.mark.parametrize("text", MISSING)
def test_missing_number_tokens_give_no_finding(tmp_path, text):
    for values in ([text, "1"], [text, "1", "abc"]):
        frame, findings = read_values(tmp_path, "financials", FIN_EN, values, "revenue")
        assert np.isnan(frame.loc[0, "revenue"])
        assert 2 not in findings["row"].tolist()


def test_bad_numbers(tmp_path):
    with no_warnings():
        for values in (BAD_NUMBERS, ["1"] + BAD_NUMBERS):
            frame, findings = read_values(tmp_path, "financials", FIN_EN, values, "revenue")
            first = len(values) - len(BAD_NUMBERS) + 2
            assert frame["revenue"].iloc[first - 2:].isna().all()
            assert np.isfinite(frame["revenue"].dropna()).all()
            assert findings["row"].tolist() == list(range(first, first + len(BAD_NUMBERS)))
            assert findings["value"].tolist() == BAD_NUMBERS
            assert set(findings["code"]) == {"bad_number"}
        for text in ("1e400", "inf", "-nan"):  # alone: arrow's fast path
            frame, findings = read_values(tmp_path, "financials", FIN_EN, [text], "revenue")
            assert np.isnan(frame.loc[0, "revenue"])
            assert findings["code"].tolist() == ["bad_number"]


@pytest.mark.parametrize(
    "values, codes",
    [
        (["3.5", "4"], ["not_whole_number"]),
        (["3.5", "abc"], ["not_whole_number", "bad_number"]),
        (["1e400", "4"], ["bad_number"]),
        (["inf", "3.5"], ["bad_number", "not_whole_number"]),
        (["3.0", "1,200", "(2)"], []),
    ],
)
def test_integer_column(tmp_path, values, codes):
    with no_warnings():
        frame, findings = read_values(tmp_path, "firms", FIRMS_EN, values, "employees")
    assert findings["code"].tolist() == codes
    assert findings["value"].tolist() == values[: len(codes)]
    assert frame["employees"].isna().sum() == len(codes)
    whole = frame["employees"].dropna()
    assert (whole == np.round(whole)).all()
    if not codes:
        assert frame["employees"].tolist() == [3, 1200, -2]


BOOLS = [("是", True), ("否", False), ("true", True), ("FALSE", False), ("True", True), ("1", True), ("0", False),
         ("Y", True), ("n", False), ("yes", True), ("No", False), (" 是 ", True), ("有", True), ("无", False)]


def test_booleans(tmp_path):
    header = FIRMS_EN + ["listed"]
    values = [v for v, _ in BOOLS] + ["", "—", "maybe", "2"]
    frame, findings = read_values(tmp_path, "firms", header, values, "listed")
    assert frame["listed"].dtype == "boolean"
    assert frame["listed"].iloc[: len(BOOLS)].tolist() == [b for _, b in BOOLS]
    assert frame["listed"].iloc[len(BOOLS):].isna().all()
    assert findings[["row", "value", "code"]].values.tolist() == [
        [len(BOOLS) + 4, "maybe", "bad_bool"], [len(BOOLS) + 5, "2", "bad_bool"]]


# --------------------------------------------------------------------------------------
# 6. formats

FIRM_COLS = ["firm_id", "name", "region_code", "industry_code", "employees", "ownership", "listed",
             "stock_code", "total_shares", "land_mu", "financing_demand", "dishonest_debtor"]
FIRM_DATA = [
    ["91330100799655058B", "杭州甲纺织有限公司", "330102", "C1711", 120, "private", True, "600000.SH", 1.5e9, 35.5, 2.5e6, False],
    ["91330782MA28C1XK5F", "义乌乙服装厂", "330782", "C18", 15, None, False, None, None, None, None, None],
    ["91331002MA2AKGWD2H", "台州丙化工", "331002", "C2614", 0, "soe", None, None, None, 0.25, 0.0, True],
]
FIN_COLS = FIN_EN + ["net_profit", "cash"]
FIN_DATA = [
    ["91330100799655058B", dt.date(2018, 12, 31), 1.2e8, 3.4e8, 1.1e8, -2.5e6, 1e7],
    ["91330100799655058B", dt.date(2017, 12, 31), 1.0e8, 3.0e8, 1.0e8, 5e5, None],
    ["91330782MA28C1XK5F", dt.date(2018, 12, 31), 5e6, 4e6, 3.9e6, None, 1.25],
]


def _csv_cell(v):
    if v is None:
        return ""
    if isinstance(v, bool):
        return "是" if v else "否"
    return v.isoformat() if isinstance(v, dt.date) else str(v)


def _three_formats(tmp_path, table, cols, data, types):
    write_csv(tmp_path / f"{table}.csv", cols, [[_csv_cell(v) for v in r] for r in data], "gb18030")
    write_xlsx(tmp_path / f"{table}.xlsx", cols, data)
    arrays = {c: pa.array([r[i] for r in data], types[c]) for i, c in enumerate(cols)}
    pq.write_table(pa.table(arrays), tmp_path / f"{table}.parquet")
    return [read_table(tmp_path / f"{table}.{ext}", table) for ext in ("csv", "xlsx", "parquet")]


def test_same_table_in_three_formats(tmp_path):
    types = {c: pa.string() for c in FIRM_COLS} | {
        "employees": pa.int32(), "listed": pa.bool_(), "dishonest_debtor": pa.bool_(),
        "total_shares": pa.float64(), "land_mu": pa.float32(), "financing_demand": pa.float64()}
    results = _three_formats(tmp_path, "firms", FIRM_COLS, FIRM_DATA, types)
    names = table_schema("firms").names + ["_row"]
    (csv_frame, csv_source, _), *others = results
    for frame, source, findings in others:
        assert findings.empty
        assert_frame_equal(frame[names], csv_frame[names])
    assert [r[1].format for r in results] == ["csv", "xlsx", "parquet"]
    assert csv_source.encoding == "gb18030" and results[2][1].encoding is None
    assert csv_frame["employees"].tolist() == [120, 15, 0]
    assert csv_frame["listed"].tolist()[:2] == [True, False] and pd.isna(csv_frame.loc[2, "listed"])
    assert csv_frame["ownership"].isna().tolist() == [False, True, False]

    fin_types = {c: pa.float64() for c in FIN_COLS} | {"firm_id": pa.string(), "period_end": pa.date32()}
    results = _three_formats(tmp_path, "financials", FIN_COLS, FIN_DATA, fin_types)
    names = table_schema("financials").names + ["_row"]
    for frame, _, findings in results[1:]:
        assert findings.empty
        assert_frame_equal(frame[names], results[0][0][names])
    assert results[0][0]["period_end"].tolist()[:2] == [pd.Timestamp("2018-12-31"), pd.Timestamp("2017-12-31")]


def test_xlsx_trailing_empty_rows_and_sparse_cells(tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.append(FIRMS_ZH + ["备注"])
    ws.append(FIRMS_ROWS[0] + ["x"])
    ws.append([None] * 6)  # an empty row inside the data keeps its place
    ws.append(FIRMS_ROWS[1][:3])  # a short row: the rest is missing
    for r in range(5, 40):
        ws.cell(row=r, column=2, value="  " if r % 2 else "")
        ws.cell(row=r, column=3).number_format = "0.00"  # formatted, never filled
    wb.save(tmp_path / "f.xlsx")
    frame, source, findings = read_table(tmp_path / "f.xlsx", "firms")
    assert len(frame) == 3 and source.rows_read == 3
    assert frame["_row"].tolist() == [2, 3, 4]
    assert frame["firm_id"].tolist()[::2] == [FIRMS_ROWS[0][0], FIRMS_ROWS[1][0]]
    assert frame.iloc[1][FIRMS_EN].isna().all()
    assert pd.isna(frame.loc[2, "employees"]) and findings.empty
    assert source.ignored_columns == ["备注"]


def test_xlsx_numeric_code_cells_become_text(tmp_path):
    rows = [["91330100799655058B", "甲", 330102, 1711, 30.0], ["91330100799655058C", "乙", 330102.0, "C17", 31]]
    frame, _, _ = read_table(write_xlsx(tmp_path / "f.xlsx", FIRMS_EN, rows), "firms")
    assert frame["region_code"].tolist() == ["330102", "330102"]
    assert frame["industry_code"].tolist() == ["1711", "C17"]


@pytest.mark.parametrize("int_type", [pa.int64(), pa.int32(), pa.uint32()])
def test_parquet_integer_region_code_is_text(tmp_path, int_type):
    table = pa.table({
        "firm_id": ["91330100799655058B", "91330100799655058C", "91330100799655058D"],
        "name": ["甲", "乙", None],
        "region_code": pa.array([330102, None, 110101], int_type),
        "industry_code": pa.array(["C1711", "C17", "C18"]).dictionary_encode(),
        "employees": pa.array([30, None, 5], pa.int64()),
    })
    pq.write_table(table, tmp_path / "f.parquet")
    frame, _, findings = read_table(tmp_path / "f.parquet", "firms")
    assert frame.loc[0, "region_code"] == "330102" and frame.loc[2, "region_code"] == "110101"
    assert pd.isna(frame.loc[1, "region_code"]) and pd.isna(frame.loc[2, "name"])
    assert frame["industry_code"].tolist() == ["C1711", "C17", "C18"]
    assert frame.loc[0, "employees"] == 30 and findings.empty


def test_parquet_non_finite_floats(tmp_path):
    table = pa.table({"firm_id": ["A", "B", "C"], "period_end": pa.array([dt.date(2018, 12, 31)] * 3),
                      "revenue": [math.inf, -math.inf, math.nan], "total_assets": [1.0, 2.0, 3.0],
                      "total_liabilities": pa.array(["1", "(2)", "x"])})
    pq.write_table(table, tmp_path / "f.parquet")
    frame, _, findings = read_table(tmp_path / "f.parquet", "financials")
    assert frame["revenue"].isna().all()
    assert frame["total_liabilities"].tolist()[:2] == [1.0, -2.0]
    assert findings[["row", "column", "code"]].values.tolist() == [
        [2, "revenue", "bad_number"], [3, "revenue", "bad_number"], [4, "total_liabilities", "bad_number"]]


@pytest.mark.parametrize("data", [b"PAR1 not really", b"\x00\x01\x02"])
@pytest.mark.parametrize("suffix", [".parquet", ".xlsx"])
def test_corrupt_binary_files(tmp_path, data, suffix):
    (tmp_path / f"f{suffix}").write_bytes(data)
    with pytest.raises(InputFileError, match=f"f\\{suffix}"):
        read_table(tmp_path / f"f{suffix}", "firms")


def test_unknown_extension(tmp_path):
    (tmp_path / "f.json").write_text("{}")
    with pytest.raises(InputFileError, match="f.json"):
        read_table(tmp_path / "f.json", "firms")


# --------------------------------------------------------------------------------------
# 7. dataset folders


def test_read_dataset_matches_stems_and_aliases(tmp_path):
    write_csv(tmp_path / "企业基本信息.csv", FIRMS_ZH, FIRMS_ROWS, "gb18030")
    write_xlsx(tmp_path / "Financials.xlsx", FIN_EN, [["91330100799655058B", "2018-12-31", 1, 2, 1]])
    write_csv(tmp_path / "担保关系.csv", ["担保人", "被担保人", "担保金额"], [["A", "B", "1"]])
    write_csv(tmp_path / "notes.csv", ["a"], [["b"]])  # no table of that name: not read
    (tmp_path / "~$Financials.xlsx").write_bytes(b"lock file")
    ds = read_dataset(tmp_path)
    assert isinstance(ds, Dataset)
    assert ds.tables_present() == ["firms", "financials", "guarantees"]
    assert len(ds.firms) == 3 and len(ds["financials"]) == 1 and "loans" not in ds
    assert Path(ds.sources["firms"].path).name == "企业基本信息.csv"
    assert ds.sources["guarantees"].format == "csv" and ds.sources["financials"].format == "xlsx"
    # A data file that is no table is not read, and said so (no table resembles "notes").
    assert ds.findings[["file", "code", "value", "table"]].values.tolist() == [["notes.csv", "unmatched_file", "notes.csv", ""]]
    assert ds.name == tmp_path.name


def test_read_dataset_collects_findings_of_all_tables(tmp_path):
    write_csv(tmp_path / "firms.csv", FIRMS_EN, [FIRMS_ROWS[0][:4] + ["many"]])
    write_csv(tmp_path / "financials.csv", FIN_EN, [["A", "2018-02-30", "1", "2", "1"]])
    ds = read_dataset(tmp_path)
    assert ds.findings[["table", "file", "row", "column", "code"]].values.tolist() == [
        ["firms", "firms.csv", 2, "employees", "bad_number"], ["financials", "financials.csv", 2, "period_end", "bad_date"]]


def test_read_dataset_missing_required_table(tmp_path):
    write_csv(tmp_path / "firms.csv", FIRMS_EN, FIRMS_ROWS)
    write_csv(tmp_path / "bonds.csv", ["bond_id", "issuer_id", "amount_outstanding", "maturity_date"], [])
    with pytest.raises(InputFileError, match="financials"):
        read_dataset(tmp_path)


def test_read_dataset_two_files_for_one_table(tmp_path):
    write_csv(tmp_path / "firms.csv", FIRMS_EN, FIRMS_ROWS)
    write_csv(tmp_path / "企业.csv", FIRMS_ZH, FIRMS_ROWS)
    write_csv(tmp_path / "financials.csv", FIN_EN, [])
    with pytest.raises(InputFileError, match="firms") as info:
        read_dataset(tmp_path)
    assert "企业.csv" in str(info.value) and "firms.csv" in str(info.value)


def test_read_dataset_path_not_a_folder(tmp_path):
    file = write_csv(tmp_path / "firms.csv", FIRMS_EN, FIRMS_ROWS)
    for path in (file, tmp_path / "nope"):
        with pytest.raises(InputFileError, match="folder"):
            read_dataset(path)


@pytest.mark.parametrize("content", [b"", b"\xef\xbb\xbf", b"\n\n  \r\n", "\ufeff\ufeff\n".encode()])
def test_empty_file(tmp_path, content):
    write_csv(tmp_path / "firms.csv", FIRMS_EN, FIRMS_ROWS)
    (tmp_path / "financials.csv").write_bytes(content)
    with pytest.raises(InputFileError, match="financials.csv"):
        read_dataset(tmp_path)


def test_empty_xlsx_and_parquet(tmp_path):
    Workbook().save(tmp_path / "a.xlsx")
    with pytest.raises(InputFileError, match="a.xlsx"):
        read_table(tmp_path / "a.xlsx", "firms")
    pq.write_table(pa.table({"x": pa.array([], pa.string())}), tmp_path / "b.parquet")
    with pytest.raises(InputFileError, match="b.parquet"):
        read_table(tmp_path / "b.parquet", "firms")


@pytest.mark.parametrize("ending", ["\n", "", "\r\n", "\n\n\n"])
def test_header_only_file_has_zero_rows(tmp_path, ending):
    (tmp_path / "firms.csv").write_text(",".join(FIRMS_ZH) + ending, encoding="utf-8-sig")
    write_xlsx(tmp_path / "financials.xlsx", FIN_EN, [])
    ds = read_dataset(tmp_path)
    assert len(ds.firms) == 0 and len(ds.financials) == 0
    assert list(ds.firms.columns) == table_schema("firms").names + ["_row"]
    assert ds.sources["firms"].rows_read == 0 and ds.findings.empty
    assert ds.firms["employees"].dtype == float and ds.financials["period_end"].dtype == "datetime64[ns]"


def test_optional_tables_absent(tmp_path):
    write_csv(tmp_path / "firms.csv", FIRMS_EN, FIRMS_ROWS)
    pq.write_table(pa.table({c: pa.array(["1"]) for c in FIN_EN}), tmp_path / "财务数据.parquet")
    ds = read_dataset(tmp_path)
    assert ds.tables_present() == ["firms", "financials"]
    assert set(ds.sources) == {"firms", "financials"}
    write_csv(tmp_path / "行情.csv", ["股票代码", "交易日期", "收盘价"], [["600000.SH", "2019-03-29", "11.2"]])
    assert read_dataset(tmp_path).tables_present() == ["firms", "financials", "prices"]


def test_dataset_from_memory_frames_is_conformed():
    raw = pd.DataFrame({"firm_id": [" 91330100799655058B ", "X"], "name": ["甲", "—"], "region_code": [330102, 330103],
                        "industry_code": ["C17", "C18"], "employees": ["1,200", "many"], "listed": ["是", "否"]})
    ds = Dataset({"firms": raw})
    assert ds.tables_present() == ["firms"] and ds.sources["firms"].format == "memory"
    assert ds.firms["firm_id"].tolist() == ["91330100799655058B", "X"] and pd.isna(ds.firms.loc[1, "name"])
    assert ds.firms["region_code"].tolist() == ["330102", "330103"]
    assert ds.firms["employees"].iloc[0] == 1200 and ds.firms["_row"].tolist() == [2, 3]
    assert ds.findings[["table", "file", "row", "key", "column", "code"]].values.tolist() == [
        ["firms", "", 3, "X", "employees", "bad_number"]]
    with pytest.raises(ParameterError):
        Dataset({"screening": raw})


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "parquet"])
@pytest.mark.parametrize("headers, unit", [("en", "yuan"), ("zh", "10k_yuan")])
def test_write_dataset_round_trip(tmp_path, fmt, headers, unit):
    src = tmp_path / "src"
    src.mkdir()
    types = {c: pa.string() for c in FIRM_COLS} | {
        "employees": pa.int64(), "listed": pa.bool_(), "dishonest_debtor": pa.bool_(),
        "total_shares": pa.float64(), "land_mu": pa.float64(), "financing_demand": pa.float64()}
    pq.write_table(pa.table({c: pa.array([r[i] for r in FIRM_DATA], types[c]) for i, c in enumerate(FIRM_COLS)}),
                   src / "firms.parquet")
    fin_types = {c: pa.float64() for c in FIN_COLS} | {"firm_id": pa.string(), "period_end": pa.date32()}
    pq.write_table(pa.table({c: pa.array([r[i] for r in FIN_DATA], fin_types[c]) for i, c in enumerate(FIN_COLS)}),
                   src / "financials.parquet")
    ds = read_dataset(src)
    files = write_dataset(ds, tmp_path / "out", format=fmt, headers=headers, unit=unit)
    assert sorted(f.name for f in files) == sorted([f"firms.{fmt}", f"financials.{fmt}"])
    back = read_dataset(tmp_path / "out", unit=unit)
    assert back.findings.empty
    for table in ("firms", "financials"):
        assert_frame_equal(back[table], ds[table], check_exact=False, rtol=1e-12)


def test_table_file_stems_are_unambiguous():
    from zjfin._schema import header_key, input_tables

    stems = [header_key(s) for t in input_tables() for s in {t, *table_schema(t).aliases}]
    assert len(stems) == len(set(stems))


# --------------------------------------------------------------------------------------
# 8. property: junk in, either a clean InputFileError or a well-formed result

TABLES = ["firms", "financials", "pledges"]
TRICKY = ["", " ", "—", "NULL", "nan", "-nan", "1e400", "-1e-400", "(1,234)", "（6.5%）", "1，234.5", "6.5%",
          "2019-02-30", "20190331", "2019年3月31日", "9999-12-31", "是", "否", "Y", "maybe", "\ufeff1", "1\u3000",
          "=1+1", '"', "a\nb", "a\r\nb", "\r", "\x00", "\t", "0x10", "３", "3.5", "\ufeff \ufeff", " \ufeff", "\u3000",
          "\x1c", "\x1cNULL", "1\x1c", "\u00a0—"]
cell_text = st.one_of(
    st.sampled_from(TRICKY),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12),
    st.text(alphabet=st.sampled_from("0123456789-/.,年月日%() 元万亿甲乙\x01\x7f\u2028\x85"), max_size=12),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.floats(min_value=-1e-300, max_value=1e-300).map(str),
    st.sampled_from([1e308, -1.7e308, 5e-324]).map(repr),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.dates(min_value=dt.date(1, 1, 1)).map(lambda d: d.strftime("%Y/%m/%d")),
)


@st.composite
def junk_tables(draw):
    table = draw(st.sampled_from(TABLES))
    schema = table_schema(table)
    required = schema.required_names
    keep = list(required)
    if draw(st.integers(0, 9)) == 0:  # now and then a required column is missing
        keep.remove(draw(st.sampled_from(required)))
    optional = draw(st.lists(st.sampled_from([c for c in schema.names if c not in required]), unique=True, max_size=5))
    columns: list[str | None] = list(draw(st.permutations(keep + optional)))
    headers = []
    for name in columns:
        col = schema.column(name)
        headers.append(draw(st.sampled_from([name, name.upper(), col.label_zh, *col.aliases])))
    if draw(st.booleans()):  # an unknown column with a junk header
        junk = draw(st.text(alphabet=st.sampled_from("备注x_ \x0b\x85\u2028（万元）"), min_size=1, max_size=8))
        at = draw(st.integers(0, len(headers)))
        headers.insert(at, "备注" + junk)
        columns.insert(at, None)
    n = draw(st.integers(0, 6))
    rows = [[draw(cell_text) for _ in headers] for _ in range(n)]
    return table, columns, headers, rows


def _check_result(table, frame, source, findings, n_rows):
    schema = table_schema(table)
    assert len(frame) == n_rows and source.rows_read == n_rows
    assert frame["_row"].tolist() == list(range(2, n_rows + 2))
    assert set(schema.required_names) <= set(frame.columns)
    assert list(frame.columns) == schema.names + ["_row"]
    assert set(findings["code"]) <= KNOWN_CODES
    assert set(findings["row"]) <= set(range(2, n_rows + 2))
    assert not findings.duplicated(["row", "column"]).any()
    for col in schema.columns:
        if col.type in ("float", "int"):
            values = frame[col.name].to_numpy(dtype=float)
            assert not np.isinf(values).any(), col.name
            if col.type == "int":
                whole = values[~np.isnan(values)]
                assert (whole == np.round(whole)).all()


def _has_value(cell) -> bool:
    if cell is None or (isinstance(cell, float) and math.isnan(cell)):
        return False
    return not isinstance(cell, str) or cell.strip().strip("\ufeff").strip() not in NULL_TOKENS


def _check_cells(table, frame, findings, columns, rows):
    """Every typed cell with a value either converted or is a finding; every finding is a missing cell."""
    schema = table_schema(table)
    # Notes that keep the value (a rate column read as per cent) do not blank a cell.
    blanking = findings[~findings["code"].isin(["read_as_percent"])]
    flagged = set(zip(blanking["row"], blanking["column"]))
    for j, name in enumerate(columns):
        kind = schema.column(name).type
        out = frame[name]
        for i, row in enumerate(rows):
            has_value = _has_value(row[j])
            missing = pd.isna(out.iloc[i])
            if kind == "str":
                assert missing != has_value, (name, row[j], out.iloc[i])
                continue
            if (i + 2, name) in flagged:
                assert missing, (name, row[j], out.iloc[i])
            elif has_value and missing:
                raise AssertionError(f"{name}: {row[j]!r} became missing without a finding")


def _read_or_clear_error(path, table):
    """The property: a result, or an InputFileError naming the file — nothing else."""
    try:
        with no_warnings():
            return read_table(path, table)
    except ZjfinError as exc:
        assert isinstance(exc, InputFileError) and str(path) in str(exc)
        return None


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(junk=junk_tables(), encoding=st.sampled_from(["utf-8", "utf-8-sig", "gb18030"]),
       sep=st.sampled_from([",", "\t"]), bom=st.sampled_from(["", "\ufeff", "\ufeff\ufeff"]))
def test_property_csv_junk(tmp_path, junk, encoding, sep, bom):
    table, columns, headers, rows = junk
    text = bom + csv_text(headers, rows, sep)
    try:
        data = text.encode(encoding)
    except UnicodeEncodeError:
        assume(False)
    path = tmp_path / "junk.csv"
    path.write_bytes(data)
    result = _read_or_clear_error(path, table)
    if result is None:
        return
    frame, source, findings = result
    _check_result(table, frame, source, findings, len(rows))
    if data.decode(source.encoding).lstrip("\ufeff") == text.lstrip("\ufeff"):  # decoded as written
        assert source.columns == {h: c for c, h in zip(columns, headers) if c is not None}
        known = [j for j, c in enumerate(columns) if c is not None]
        _check_cells(table, frame, findings, [columns[j] for j in known], [[r[j] for j in known] for r in rows])


def _typed(kind, text, draw):
    """A cell as a typed Parquet/XLSX writer would store it (or the raw text)."""
    if draw(st.booleans()):
        return text
    if kind in ("float", "int"):
        return draw(st.one_of(st.floats(), st.integers(-(2**53), 2**53)))
    if kind == "date":
        return draw(st.dates(min_value=dt.date(1, 1, 1)))
    if kind == "bool":
        return draw(st.booleans())
    return text


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(junk=junk_tables(), fmt=st.sampled_from(["parquet", "xlsx"]), data=st.data())
def test_property_typed_formats_junk(tmp_path, junk, fmt, data):
    table, columns, headers, rows = junk
    schema = table_schema(table)
    headers = [h if h.isprintable() else f"备注{i}" for i, h in enumerate(headers)]  # arrow / Excel header names
    assume(len(set(headers)) == len(headers))
    kinds = ["str" if c is None else schema.column(c).type for c in columns]
    typed_cols = [data.draw(st.booleans()) for _ in headers]
    cells = [[_typed(kinds[j], v, data.draw) if typed_cols[j] else v for j, v in enumerate(r)] for r in rows]
    path = tmp_path / f"junk.{fmt}"
    if fmt == "parquet":
        arrays = {}
        for j, h in enumerate(headers):
            col = [r[j] for r in cells]
            try:
                arrays[h] = pa.array(col)
            except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
                arrays[h] = pa.array([str(v) for v in col])
                for r in cells:
                    r[j] = str(r[j])
        pq.write_table(pa.table(arrays) if arrays else pa.table({}), path)
    else:
        def clean(v):
            if isinstance(v, str):
                v = ILLEGAL_CHARACTERS_RE.sub("", v)
                return "'" + v if v.startswith("=") else v  # not a formula
            if isinstance(v, float) and not math.isfinite(v):
                return repr(v)
            if isinstance(v, dt.date) and v.year < 1900:
                return v.isoformat()
            return v
        cells = [[clean(v) for v in r] for r in cells]
        write_xlsx(path, [ILLEGAL_CHARACTERS_RE.sub("", h) or f"c{i}" for i, h in enumerate(headers)], cells)
    result = _read_or_clear_error(path, table)
    if result is None:
        return
    frame, source, findings = result
    n_rows = len(rows)
    if fmt == "xlsx":  # trailing rows with no value at all are formatting there
        blank = [all(v is None or (isinstance(v, str) and not v.strip()) for v in r) for r in cells]
        while n_rows and blank[n_rows - 1]:
            n_rows -= 1
    _check_result(table, frame, source, findings, n_rows)
    known = [j for j, c in enumerate(columns) if c is not None]
    _check_cells(table, frame, findings, [columns[j] for j in known], [[r[j] for j in known] for r in cells[:n_rows]])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(table=st.sampled_from(TABLES), body=st.binary(max_size=300), with_header=st.booleans(),
       suffix=st.sampled_from([".csv", ".csv", ".xlsx", ".parquet"]))
def test_property_random_bytes(tmp_path, table, body, with_header, suffix):
    header = ",".join(table_schema(table).required_names).encode() + b"\n" if with_header else b""
    path = tmp_path / f"junk{suffix}"
    path.write_bytes(header + body)
    result = _read_or_clear_error(path, table)
    if result is None:
        return
    frame, source, findings = result
    assert len(frame) == source.rows_read
    _check_result(table, frame, source, findings, len(frame))


# --- ragged rows, percent headers, text dtype, full-width digits -------------------------

def test_ragged_row_is_rejected_not_the_file(tmp_path):
    from zjfin._read import Dataset
    from zjfin._validate import validate

    ids = firm_ids(3)
    p = tmp_path / "firms.csv"
    p.write_text(
        "firm_id,name,region_code,industry_code,employees\n"
        f"{ids[0]},甲,330102,C1711,5\n"
        f"{ids[1]},乙,330102\n"            # too few fields
        f"{ids[2]},丙,330102,C1711,5,extra\n"  # too many
        "   \n",                              # whitespace-only line inside the file
        encoding="utf-8",
    )
    p.write_text(p.read_text(encoding="utf-8") + f"{ids[0][:-1]}X,丁,330102,C1711,7\n", encoding="utf-8")
    frame, source, findings = read_table(p, "firms")
    assert frame["_row"].tolist() == [2, 3, 4, 5, 6]
    ragged = findings[findings["code"] == "wrong_field_count"]
    assert ragged["row"].tolist() == [3, 4]
    assert ragged["value"].tolist() == ["3 of 5 fields", "6 of 5 fields"]
    fin = pd.DataFrame({"firm_id": ids, "period_end": pd.to_datetime(["2018-12-31"] * 3), "revenue": [1.0] * 3,
                        "total_assets": [2.0] * 3, "total_liabilities": [1.0] * 3})
    report = validate(Dataset({"firms": frame, "financials": fin}, sources={"firms": source}, findings=findings), as_of="2019-03-31")
    rejected = report.rejected
    assert set(rejected.loc[rejected["code"] == "wrong_field_count", "row"]) == {3, 4}
    assert 5 in set(rejected["row"])  # the blank line is an empty row, rejected for missing values
    assert report.rows.set_index("table").loc["firms", "read"] == 5


def test_percent_header_scales_ratio_columns(tmp_path):

    p = tmp_path / "bonds.csv"
    p.write_text(f"债券代码,发行人统一社会信用代码,债券余额,到期日,票面利率（%）\nB1,{firm_ids(1)[0]},1,2020-01-01,3.5\nB2,{firm_ids(1)[0]},1,2020-01-01,6.5%\n",
                 encoding="utf-8")
    frame, source, findings = read_table(p, "bonds")
    assert frame["coupon_rate"].tolist() == pytest.approx([0.035, 0.065])
    assert source.column_units == {"coupon_rate": "percent"}
    assert findings.empty


def test_text_columns_have_one_dtype_whatever_the_content(tmp_path):
    from zjfin._arrow import TEXT

    p = tmp_path / "firms.csv"
    p.write_text("firm_id,name,region_code,industry_code,employees,stock_code\n", encoding="utf-8")
    empty, _, _ = read_table(p, "firms")
    p.write_text("firm_id,name,region_code,industry_code,employees,stock_code\nA,甲,330102,C1711,5,600000.SH\n", encoding="utf-8")
    full, _, _ = read_table(p, "firms")
    for name in ("firm_id", "name", "stock_code", "ownership"):
        assert empty[name].dtype == TEXT and full[name].dtype == TEXT


def test_full_width_digits_and_unicode_minus(tmp_path):

    p = tmp_path / "financials.csv"
    p.write_text(
        f"firm_id,period_end,revenue,total_assets,total_liabilities,net_profit\n"
        f"{firm_ids(1)[0]},２０１８年１２月３１日,１２３，４５６,（５）,7,\u22125\n",
        encoding="utf-8",
    )
    frame, _, findings = read_table(p, "financials")
    assert findings.empty
    row = frame.iloc[0]
    assert row["period_end"] == pd.Timestamp("2018-12-31")
    assert (row["revenue"], row["total_assets"], row["net_profit"]) == (123456.0, -5.0, -5.0)


def test_dataset_tab_completion_lists_its_tables(tables):
    ds = Dataset(tables)
    assert {"firms", "financials", "tables_present"} <= set(dir(ds))
    assert ds.firms is ds["firms"]


@pytest.mark.parametrize("body", [
    "{h}\n{a},甲\r乙,330102,C1711,5\n{b},丙,330102,C1711,6\n",        # a bare CR inside an unquoted field
    "{h}\r\n{a},甲\n乙,330102,C1711,5\r\n{b},丙,330102,C1711,6\r\n",  # a bare LF in a CRLF file
])
def test_bare_line_break_is_read_as_pandas_reads_it(tmp_path, body):
    ids = firm_ids(2)
    path = tmp_path / "firms.csv"
    path.write_bytes(body.format(h="firm_id,name,region_code,industry_code,employees", a=ids[0], b=ids[1]).encode())
    frame, _, findings = read_table(path, "firms")
    expected = pd.read_csv(path, dtype=str, keep_default_na=False)
    # The same records as pandas (the break ends a record), the broken ones rejected by row number.
    assert frame["firm_id"].tolist() == expected["firm_id"].tolist()
    assert findings[["row", "code"]].values.tolist() == [[2, "wrong_field_count"], [3, "wrong_field_count"]]
    assert frame.loc[frame["_row"] == 4, "name"].tolist() == ["丙"]


def test_an_unparseable_record_is_one_rejected_row(tmp_path):
    import csv as _csv

    ids = firm_ids(2)
    huge = "x" * (_csv.field_size_limit() + 10)  # beyond the csv module's field limit: a parser error
    path = tmp_path / "firms.csv"
    path.write_text(f"firm_id,name,region_code,industry_code,employees\n{ids[0]},{huge}\n{ids[1]},丙,330102,C1711,6\n"
                    f"{ids[0]},乙\n", encoding="utf-8")
    frame, _, findings = read_table(path, "firms")
    assert frame.loc[frame["_row"] == 3, "name"].tolist() == ["丙"]
    assert sorted(findings.loc[findings["code"] == "wrong_field_count", "row"]) == [2, 4]



@pytest.mark.parametrize("kind", ["folder", "dangling link", "folder with suffix"])
def test_a_table_path_that_cannot_be_read_is_an_error_not_an_absent_table(tmp_path, kind):
    write_csv(tmp_path / "firms.csv", FIRMS_EN, FIRMS_ROWS)
    write_csv(tmp_path / "financials.csv", FIN_EN, [["91330100799655058B", "2018-12-31", "1.5", "2", "1"]])
    if kind == "folder":
        (tmp_path / "guarantees").mkdir()
    elif kind == "folder with suffix":
        (tmp_path / "guarantees.csv").mkdir()
    else:
        (tmp_path / "guarantees.csv").symlink_to(tmp_path / "nowhere.csv")
    # An empty folder is a table in parts without any part.
    expected = "guarantees: names a table but holds no .parquet file" if kind == "folder" else r"guarantees.*names table 'guarantees'"
    with pytest.raises(InputFileError, match=expected):
        read_dataset(tmp_path)



def test_a_damaged_parquet_page_is_an_unreadable_file(tmp_path):
    frame = pd.DataFrame({"firm_id": FIRMS_ROWS[0][:1] * 2000, "name": ["杭州甲纺织有限公司"] * 2000,
                          "region_code": ["330102"] * 2000, "industry_code": ["C1711"] * 2000,
                          "employees": np.arange(2000, dtype=float)})
    path = tmp_path / "firms.parquet"
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path, compression="none", write_page_checksum=True)
    data = bytearray(path.read_bytes())
    at = data.find(np.float64(1234.0).tobytes())
    assert at > 0
    data[at: at + 8] = np.float64(-1.0).tobytes()  # a flipped value inside a data page
    path.write_bytes(bytes(data))
    with pytest.raises(InputFileError, match="firms.parquet.*cannot be read"):
        read_table(path, "firms")


def _xlsx_with(path, rows):
    wb = Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    wb.save(path)


def _swap_in_xlsx(path, old: bytes, new: bytes):
    """Rewrite a part of an XLSX (openpyxl itself will not write a cell past Excel's limit)."""
    import zipfile

    parts = {}
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            parts[info.filename] = archive.read(info.filename).replace(old, new)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)


def test_an_xlsx_cell_past_excels_limit_is_a_rejected_cell(tmp_path):
    path = tmp_path / "firms.xlsx"
    _xlsx_with(path, [FIRMS_EN, FIRMS_ROWS[0], [FIRMS_ROWS[1][0], "PLACEHOLDER", *FIRMS_ROWS[1][2:]]])
    _swap_in_xlsx(path, b"PLACEHOLDER", "乙".encode() * 40_000)
    frame, _, findings = read_table(path, "firms")
    hit = findings[findings["code"] == "text_too_long"]
    assert hit[["row", "column", "value"]].values.tolist() == [[3, "name", "40,000 characters"]]
    assert frame["name"].isna().tolist() == [False, True]
    ds = Dataset({"firms": frame, "financials": pd.DataFrame({"firm_id": [r[0] for r in FIRMS_ROWS[:2]],
                                                              "period_end": ["2018-12-31"] * 2, "revenue": [1.0] * 2,
                                                              "total_assets": [2.0] * 2, "total_liabilities": [1.0] * 2,
                                                              "equity": [1.0] * 2})},
                 sources={"firms": Source("firms", str(path), "xlsx")}, findings=findings)
    from zjfin._validate import validate

    report = validate(ds, as_of="2019-03-31")
    assert report.firms["not_screened"] == 1  # the name is required: the firm's row is rejected


def test_an_xlsx_that_unpacks_to_gigabytes_is_refused(tmp_path):
    import zipfile

    path = tmp_path / "firms.xlsx"
    _xlsx_with(path, [FIRMS_EN, FIRMS_ROWS[0]])
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/padding.bin", b"\0" * (80 << 20))  # 80 MB from a few kB
    assert path.stat().st_size < 1 << 20
    with pytest.raises(InputFileError, match="unpacks to .* bytes"):
        read_table(path, "firms")


def test_review_regressions_in_reading(tmp_path):
    from builders import minimal_tables

    # A spreadsheet column of whole numbers and "123人".
    tables = minimal_tables()
    tables["firms"]["employees"] = pd.Series([30, "123人", 40], dtype=object)
    assert Dataset(tables).firms["employees"].tolist() == [30.0, 123.0, 40.0]
    # Cells with their own % sign are not divided again; one stray 1.05 does not make a column per cent.
    frame, _, findings = read_table(write_csv(tmp_path / "pledges.csv", ["股票代码", "股东名称", "质押股数", "平仓线(估算)", "质押日期", "占所持股比例"],
                                              [["600001", "甲", "1", "8", "2018-01-02", "0.5"], ["600001", "乙", "1", "8", "2018-01-02", "0.4"],
                                               ["600001", "丙", "1", "8", "2018-01-02", "1.05"]]), "pledges")
    assert frame["pledged_share_of_holding"].tolist() == [0.5, 0.4, 1.05] and "read_as_percent" not in set(findings["code"])
    # A table in a format zjfin does not read is an error, not an absent table.
    write_csv(tmp_path / "firms.csv", FIRMS_EN, FIRMS_ROWS)
    write_csv(tmp_path / "financials.csv", FIN_EN, [["91330100799655058B", "2018-12-31", "1.5", "2", "1"]])
    (tmp_path / "guarantees.xls").write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(InputFileError, match="does not read .xls files"):
        read_dataset(tmp_path)


def test_write_dataset_keeps_a_line_break_inside_a_name(tmp_path):
    from builders import minimal_tables

    tables = minimal_tables()
    tables["firms"]["name"] = ["正常公司\r=cmd|' /C calc'!A0", "甲\n乙", "丙"]
    write_dataset(Dataset(tables), tmp_path, format="csv")
    assert read_dataset(tmp_path)["firms"]["name"].tolist() == ["正常公司\r=cmd|' /C calc'!A0", "甲\n乙", "丙"]


def test_text_is_trimmed_whenever_arrow_or_python_would_trim_it():
    # Text cells are trimmed only when one starts or ends with whitespace or a BOM: the
    # pattern that decides it must match every character Arrow's trim or str.strip removes,
    # checked over every code point, at either end of a cell.
    import pyarrow as pa
    import pyarrow.compute as pc

    from zjfin._read import _PADDED, _edge_may_be_padding, _to_str

    chars = [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    for cells in (pa.array(["a" + ch for ch in chars]), pa.array([ch + "a" for ch in chars])):
        trimmed_by_arrow = pc.not_equal(pc.utf8_trim_whitespace(cells), cells)
        matched = pc.match_substring_regex(cells, _PADDED)
        assert pc.sum(pc.and_(trimmed_by_arrow, pc.invert(matched))).as_py() == 0
        # The byte test before the pattern passes every cell the pattern matches (on a slice too).
        assert not (matched.to_numpy(zero_copy_only=False) & ~_edge_may_be_padding(cells)).any()
        sliced = pa.chunked_array([cells.slice(0, 7), cells.slice(7)])
        assert (_edge_may_be_padding(sliced) == _edge_may_be_padding(cells)).all()
    stripped_by_python = [ch for ch in chars if ("a" + ch).strip() != "a" + ch]
    assert pc.all(pc.match_substring_regex(pa.array(stripped_by_python), _PADDED)).as_py()
    values, _ = _to_str(pd.Series([" x\u3000", "\ufeffy", "z", None, "NULL", "\u00a0"], dtype=object))
    assert values.tolist()[:3] == ["x", "y", "z"] and values.isna().tolist()[3:] == [True, True, True]


def test_a_rate_column_of_huge_values_is_not_read_as_percent():
    # Found by the CSV property test: the median of two values near the float maximum
    # overflowed (a warning, an error under the test settings) instead of saying "no".
    from zjfin._read import _reads_as_percent

    assert not _reads_as_percent(np.array([1.5e308, 1.6e308]))
    assert _reads_as_percent(np.array([3.5, 4.0, 0.0]))


# --------------------------------------------------------------------------------------
# a table in parts: a folder of Parquet files, hive-style folders allowed

def _province_folder(root: Path, firms: int = 600, seed: int = 5) -> Path:
    folder = root / "one"
    write_dataset(__import__("zjfin").datasets.synthetic_province(firms, seed=seed), folder)
    return folder


def _province_and_copy(root: Path, firms: int, *in_parts: str) -> tuple[Path, Path]:
    """The province in one file per table, and a copy of it without the files of ``in_parts``
    (the tables a test writes as parts)."""
    import shutil

    one = _province_folder(root, firms=firms)
    parts = root / "parts"
    shutil.copytree(one, parts)
    for table in in_parts:
        (parts / f"{table}.parquet").unlink()
    return one, parts


def _split(folder: Path, table: str, into: Path, by=None, pieces: int = 2) -> list[Path]:
    """Write ``table`` of ``folder`` as parts under ``into/table`` (hive folders by ``by``)."""
    frame = pd.read_parquet(folder / f"{table}.parquet")
    written = []
    groups = frame.groupby(by(frame), sort=True) if by else [(None, frame)]
    for key, group in groups:
        base = into / table / (f"county={key}" if key is not None else "")
        base.mkdir(parents=True, exist_ok=True)
        for i, piece in enumerate(np.array_split(np.arange(len(group)), pieces)):
            path = base / f"part-{i}.parquet"
            group.iloc[piece].to_parquet(path, index=False)
            written.append(path)
    return written


def test_a_table_in_parts_screens_as_the_same_table_in_one_file(tmp_path):
    import filecmp

    import zjfin

    one, parts = _province_and_copy(tmp_path, 600, "financials", "guarantees")
    counties = pd.read_parquet(one / "firms.parquet").set_index("firm_id")["region_code"]
    _split(one, "financials", parts, by=lambda f: f["firm_id"].map(counties), pieces=2)
    _split(one, "guarantees", parts, pieces=3)
    (parts / "financials" / "_SUCCESS").write_text("")  # a marker file: skipped
    (parts / "financials" / ".part-0.parquet.crc").write_bytes(b"\0")
    whole, split = zjfin.read_dataset(one), zjfin.read_dataset(parts)
    a, b = zjfin.screen(whole, as_of="2019-03-31"), zjfin.screen(split, as_of="2019-03-31")
    assert_frame_equal(a.screening, b.screening)
    a.export(tmp_path / "a", formats=("csv",))
    b.export(tmp_path / "b", formats=("csv",))
    for path in sorted((tmp_path / "a" / "lists").iterdir()):
        assert filecmp.cmp(path, tmp_path / "b" / "lists" / path.name, shallow=False), path.name
    source = split.sources["financials"]
    assert source.rows_read == len(whole["financials"]) == sum(p["rows_read"] for p in source.parts)
    assert all(p["path"].startswith("financials/county=") for p in source.parts)
    # The hive key is no column of the table: noted once, not silently dropped.
    notes = b.validation.issues.query("table == 'financials' and code == 'unknown_column'")
    assert notes["column"].tolist() == ["county"]
    manifest = __import__("json").loads((tmp_path / "b" / "manifest.json").read_text(encoding="utf-8"))
    listed = manifest["inputs"]["financials"]["parts"]
    assert [p["path"] for p in listed] == [p["path"] for p in source.parts]
    assert sum(p["rows_used"] + p["rows_rejected"] for p in listed) == manifest["inputs"]["financials"]["rows_read"]
    assert all(p["rows_used"] + p["rows_rejected"] == p["rows_read"] for p in listed)


def test_findings_in_a_part_name_its_file_and_its_row(tmp_path):
    import zjfin

    one, parts = _province_and_copy(tmp_path, 200, "financials")
    fin = pd.read_parquet(one / "financials.parquet")
    (parts / "financials" / "b").mkdir(parents=True)
    fin.iloc[:100].to_parquet(parts / "financials" / "a.parquet", index=False)
    second = fin.iloc[100:].copy()
    second.iloc[4, second.columns.get_loc("firm_id")] = "91330100MA00000000"  # no such firm
    second = pd.concat([second, fin.iloc[[7]]])  # the 8th row of the first file, again
    second.to_parquet(parts / "financials" / "b" / "c.parquet", index=False)
    report = zjfin.validate(zjfin.read_dataset(parts), as_of="2019-03-31")
    found = report.issues.set_index("code")
    # Row 5 of the second file's data is spreadsheet row 6 of that file.
    assert tuple(found.loc["unknown_firm", ["file", "row"]]) == ("financials/b/c.parquet", 6)
    assert tuple(found.loc["duplicate_key", ["file", "row"]]) == ("financials/b/c.parquet", len(second) + 1)
    lines = report.file_rows.query("table == 'financials'").set_index("file")
    assert lines.loc["financials/a.parquet", "rejected"] == 0
    assert lines.loc["financials/b/c.parquet", "rejected"] == 2
    assert lines["read"].sum() == report.rows.set_index("table").loc["financials", "read"]


def test_a_hive_folder_gives_the_column_its_files_lack(tmp_path):
    one = _province_folder(tmp_path, firms=200)
    firms = pd.read_parquet(one / "firms.parquet")
    for code, group in firms.groupby("region_code"):
        folder = tmp_path / "hive" / "firms" / f"行政区划代码={code}"  # a Chinese header works too
        folder.mkdir(parents=True)
        group.drop(columns="region_code").to_parquet(folder / "part-0.parquet", index=False)
    frame, source, findings = read_table_parts(tmp_path / "hive" / "firms")
    by_id = frame.set_index("firm_id")["region_code"]
    assert (by_id.loc[firms["firm_id"]].to_numpy() == firms["region_code"].to_numpy()).all()
    assert source.ignored_columns == [] and findings.empty
    # A file that has the column under another header keeps its own values.
    first = next((tmp_path / "hive" / "firms").iterdir())
    part = pd.read_parquet(first / "part-0.parquet").assign(region_code="339999")
    part.to_parquet(first / "part-0.parquet", index=False)
    frame, _, _ = read_table_parts(tmp_path / "hive" / "firms")
    assert (frame.set_index("firm_id").loc[part["firm_id"], "region_code"] == "339999").all()


def read_table_parts(folder: Path):
    from zjfin._read import read_partitioned_table

    return read_partitioned_table(folder, "firms")


def test_a_table_folder_without_parquet_or_with_other_files_is_refused(tmp_path):
    one = _province_folder(tmp_path, firms=200)
    (one / "guarantees.parquet").unlink()
    (one / "guarantees").mkdir()
    (one / "guarantees" / "_SUCCESS").write_text("")
    with pytest.raises(InputFileError, match="holds no .parquet file"):
        read_dataset(one)
    for name in ("part-0.csv", "000000_0"):  # a CSV, or a hive file without a suffix: refused, not skipped
        (one / "guarantees" / name).write_text("guarantor_id\nx\n")
        with pytest.raises(InputFileError, match="Parquet files only"):
            read_dataset(one)
        (one / "guarantees" / name).unlink()


def test_parts_are_read_in_natural_order():
    from zjfin._read import _natural

    names = ["t/part-10.parquet", "t/part-2.parquet", "t/a=1/part-0.parquet", "t/a=10/x.parquet", "t/a=9/x.parquet"]
    assert sorted(names, key=_natural) == ["t/a=1/part-0.parquet", "t/a=9/x.parquet", "t/a=10/x.parquet",
                                           "t/part-2.parquet", "t/part-10.parquet"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 5), min_size=1, max_size=6), st.lists(st.integers(0, 40), max_size=20))
def test_rows_through_parts_map_to_files_and_back(sizes, picks):
    firsts = np.cumsum([0, *sizes[:-1]])
    source = Source("financials", "x/financials", "parquet",
                    parts=[{"path": f"financials/p{i}.parquet", "sha256": "", "rows_read": n, "first": int(f)}
                           for i, (n, f) in enumerate(zip(sizes, firsts))])
    total = sum(sizes)
    rows = np.array([1] + [2 + p % max(total, 1) for p in picks if total], dtype=np.int64)  # 1: the header
    files, in_file = source.file_rows(rows)
    assert files[0] == "financials" and in_file[0] == 1
    for file, row, whole in zip(files[1:], in_file[1:], rows[1:]):
        i = int(file[len("financials/p"):-len(".parquet")])
        assert 2 <= row < 2 + sizes[i] and whole == row + firsts[i]  # the one file that holds it
    assert (source.table_rows(files, in_file) == rows).all()


def test_writing_a_table_that_lost_a_column_names_the_column(tmp_path):
    import zjfin

    ds = zjfin.datasets.synthetic_province(200, seed=1)
    ds.tables["firms"] = ds.tables["firms"].drop(columns=["employees"])
    with pytest.raises(ParameterError, match="firms lacks employees"):
        write_dataset(ds, tmp_path)


def test_parts_count_their_rows_apart_and_keep_header_findings_on_their_file(tmp_path):
    # Row 6 of two parts is two rows; a stray file and a part's extra column are named.
    import zjfin

    one, parts = _province_and_copy(tmp_path, 200, "financials")
    fin = pd.read_parquet(one / "financials.parquet")
    (parts / "financials").mkdir()
    for name, piece in (("a", fin.iloc[:100].copy()), ("b", fin.iloc[100:].copy())):
        piece.iloc[4, piece.columns.get_loc("firm_id")] = "91330100MA00000000"
        if name == "b":
            piece["remark"] = "x"
        piece.to_parquet(parts / "financials" / f"{name}.parquet", index=False)
    fin.iloc[:3].to_parquet(parts / "financial_old.parquet", index=False)
    report = zjfin.validate(zjfin.read_dataset(parts), as_of="2019-03-31")
    assert report.n_rejected_rows == 2
    summary = report.summary().set_index("code")
    assert summary.loc["unknown_firm", "rows"] == 2
    issues = report.issues.set_index("code")
    assert issues.loc["unmatched_file", "file"] == "financial_old.parquet"
    assert tuple(issues.loc["unknown_column", ["file", "column"]]) == ("financials/b.parquet", "remark")
    # A dataset changed in memory: the per-file lines count the rows it holds now.
    ds = zjfin.read_dataset(parts)
    ds.tables["financials"] = ds["financials"].iloc[::2]
    lines = zjfin.validate(ds, as_of="2019-03-31").file_rows.query("table == 'financials'")
    assert lines["read"].sum() == len(ds["financials"])


def test_parts_that_read_a_rate_differently_are_refused(tmp_path):
    one = _province_folder(tmp_path, firms=300, seed=3)
    bonds = pd.read_parquet(one / "bonds.parquet")
    (one / "bonds.parquet").unlink()
    (one / "bonds").mkdir()
    percent = bonds.iloc[:4].assign(coupon_rate=bonds["coupon_rate"].iloc[:4] * 100)
    percent.to_parquet(one / "bonds" / "p0.parquet", index=False)
    bonds.iloc[4:].to_parquet(one / "bonds" / "p1.parquet", index=False)
    with pytest.raises(InputFileError, match="reads column 'coupon_rate' as fractions but bonds/p0.parquet as per cent"):
        read_dataset(one)
    bonds.iloc[4:].assign(coupon_rate=bonds["coupon_rate"].iloc[4:] * 100).to_parquet(one / "bonds" / "p1.parquet", index=False)
    assert np.allclose(read_dataset(one)["bonds"]["coupon_rate"], bonds["coupon_rate"])


def test_an_empty_text_array_without_offsets_passes_the_byte_test():
    from zjfin._read import _edge_may_be_padding

    for buffers in ([None, None, pa.py_buffer(b"")], [None, pa.py_buffer(b""), pa.py_buffer(b"")]):
        assert len(_edge_may_be_padding(pa.Array.from_buffers(pa.string(), 0, buffers))) == 0


@pytest.mark.parametrize("cores", [1, 2])
def test_tables_read_side_by_side_fail_in_table_order(tmp_path, monkeypatch, cores):
    """The largest table is read beside the others: whichever finishes first, the dataset
    is the one read table by table, and of two broken tables the first in table order
    (firms) is the error raised, whether the larger broken one is read here or beside."""
    import zjfin

    monkeypatch.setattr("os.cpu_count", lambda: cores)
    folder = tmp_path / "ok"
    write_dataset(zjfin.datasets.synthetic_province(300, seed=3), folder)
    whole = read_dataset(folder)
    for table in whole.tables_present():
        assert_frame_equal(whole[table], read_table(folder / f"{table}.parquet", table)[0])
    (folder / "firms.parquet").unlink()
    (folder / "firms.csv").write_text("公司名称\n甲公司\n", encoding="utf-8")  # no firm_id column
    (folder / "loans.parquet").unlink()
    (folder / "loans.csv").write_text("x\n" + "1\n" * 300_000, encoding="utf-8")  # the largest file: read here
    with pytest.raises(InputFileError, match="firms.csv"):
        read_dataset(folder)
    (folder / "loans.csv").write_text("x\n1\n", encoding="utf-8")
    (folder / "firms.csv").write_text("公司名称\n" + "甲公司\n" * 300_000, encoding="utf-8")  # now firms is: read here
    with pytest.raises(InputFileError, match="firms.csv"):
        read_dataset(folder)


def test_a_huge_rate_read_as_per_cent_stays_itself_without_a_warning(tmp_path):
    """Found by hypothesis: rounding −1E300 / 100 to 12 decimals overflowed (a RuntimeWarning,
    and −inf)."""
    import warnings

    path = tmp_path / "pledges.csv"
    path.write_text("pledge_id,company_id,pledger_id,pledged_shares,loan_amount,start_date,interest_rate\n"
                    ",,,,,,-1E300\n,,,,,,2\n,,,,,,2\n", encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        frame, _, findings = read_table(path, "pledges")
    assert frame["interest_rate"].tolist() == [-1e300 * 0.01, 0.02, 0.02]
    assert "read_as_percent" in findings["code"].tolist()


def test_parts_are_joined_whole_whatever_their_columns():
    from zjfin._read import _join_parts

    a = pd.DataFrame({"x": [1.0, 2.0], "t": ["a", "b"]})
    b = pd.DataFrame({"x": [3.0], "t": ["c"]})
    pd.testing.assert_frame_equal(_join_parts([a.copy(), b.copy()]), pd.concat([a, b], ignore_index=True))
    assert _join_parts([a[[]], b[[]]]).shape == (3, 0)  # no column: the rows still counted
    twice = [pd.DataFrame([[1, 2]], columns=["x", "x"]), pd.DataFrame([[3, 4]], columns=["x", "x"])]
    assert _join_parts(twice).to_numpy().tolist() == [[1, 2], [3, 4]]
    other = pd.DataFrame({"t": ["d"], "x": [4.0]})  # another order: joined by name
    assert _join_parts([a.copy(), other])["t"].tolist() == ["a", "b", "d"]


_CELLS = st.one_of(st.none(), st.sampled_from(["", "abc", "1,234.5", "12%", "1900-01-01", "2019-02-30", "9999-12-31",
                                               "2019-06-30", "3.5", "-0", "1e400", "  x ", "=1+1", "N/A", "是"]),
                   st.text(max_size=4))


def _read_both(folder: Path, table: str):
    from zjfin._read import _part_files, _read_part_by_part

    return _read_alike(folder, table), _read_part_by_part(folder, _part_files(folder), table, "yuan")


def _read_alike(folder: Path, table: str):
    from zjfin._read import _part_files, _read_alike_parts

    return _read_alike_parts(folder, _part_files(folder), table, "yuan")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(_CELLS, _CELLS, _CELLS, st.one_of(st.none(), st.floats(-1e3, 1e12, allow_nan=False))),
                min_size=1, max_size=30),
       st.lists(st.integers(0, 8), min_size=2, max_size=5), st.booleans(), st.booleans(), st.integers(1, 12))
def test_parts_alike_read_as_the_parts_one_by_one(tmp_path_factory, rows, sizes, hive, rate_in_per_cent, batch_rows):
    """Parts of one schema are typed in batches, each as one file: the frame, the source and
    every finding (its part, its row there, in part order) are those of reading part by part."""
    from unittest import mock
    folder = tmp_path_factory.mktemp("parts") / "bonds"
    n = len(rows)
    table = pa.table({
        "bond_id": [f"B{i}" for i in range(n)], "issuer_id": [r[0] for r in rows],
        "amount_outstanding": pa.array([r[1] for r in rows], pa.string()),
        "maturity_date": pa.array([r[2] for r in rows], pa.string()),
        "coupon_rate": pa.array([r[3] for r in rows], pa.float64()),
        "issue_date": pa.array([dt.datetime(2018, 1, 1)] * n, pa.timestamp("ms"))})
    if rate_in_per_cent:  # every part in per cent: read so, part by part
        table = table.set_column(4, "coupon_rate", pa.array([5.0 + i % 3 for i in range(n)], pa.float64()))
    start = 0
    for k, size in enumerate(sizes):
        piece = table.slice(start, size if k < len(sizes) - 1 else n)
        start += piece.num_rows
        where = folder / (f"issuer_name=甲{k % 2}" if hive else "") / f"part-{k}.parquet"
        where.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(piece, where)
    with mock.patch("zjfin._read._BATCH_ROWS", batch_rows):
        alike = _read_alike(folder, "bonds")
    if rate_in_per_cent:
        assert alike is None  # rates in per cent are judged part by part
        return
    if alike is None:  # a part whose own rates read as per cent
        return
    one_by_one = _read_both(folder, "bonds")[1]
    assert_frame_equal(alike[0], one_by_one[0])
    assert alike[1].to_dict() == one_by_one[1].to_dict() and alike[1].parts == one_by_one[1].parts
    assert_frame_equal(alike[2], one_by_one[2])


def test_parts_alike_are_typed_once_and_others_part_by_part(tmp_path):
    """A plain partitioned table takes the quick path; parts of two schemas, an ambiguous
    header, a part whose rates read as per cent, or a damaged part do not (and say so as
    before: the damaged part named)."""
    one = _province_folder(tmp_path, firms=300, seed=3)
    for name in ("bonds", "guarantees", "loans"):
        frame = pd.read_parquet(one / f"{name}.parquet")
        (one / f"{name}.parquet").unlink()
        (one / name).mkdir()
        frame.iloc[: len(frame) // 2].to_parquet(one / name / "p0.parquet", index=False)
        frame.iloc[len(frame) // 2:].to_parquet(one / name / "p1.parquet", index=False)
    alike, one_by_one = _read_both(one / "bonds", "bonds")
    assert alike is not None
    assert_frame_equal(alike[0], one_by_one[0])
    bonds = pd.read_parquet(one / "bonds" / "p1.parquet")
    bonds.assign(coupon_rate=bonds["coupon_rate"] * 100).to_parquet(one / "bonds" / "p1.parquet", index=False)
    assert _read_alike(one / "bonds", "bonds") is None
    bonds.assign(amount_outstanding=bonds["amount_outstanding"].astype(str)).to_parquet(one / "bonds" / "p1.parquet", index=False)
    assert _read_alike(one / "bonds", "bonds") is None  # two schemas
    for part in ("p0", "p1"):
        pd.read_parquet(one / "guarantees" / f"{part}.parquet").rename(columns={"kind": "担保类型"}).to_parquet(
            one / "guarantees" / f"{part}.parquet", index=False)
    assert _read_alike(one / "guarantees", "guarantees") is None  # read from its values, part by part
    (one / "loans" / "p1.parquet").write_bytes((one / "loans" / "p1.parquet").read_bytes()[:-40])
    with pytest.raises(InputFileError, match="loans/p1.parquet"):
        read_dataset(one)


def test_a_table_filled_batch_by_batch_is_the_batches_joined():
    from zjfin._read import _Filling

    batches = [pd.DataFrame({"x": [1.0, np.nan], "d": pd.to_datetime(["2019-01-01", None]), "t": as_text(["a", None]),
                             "b": pd.array([True, None], dtype="boolean"), "k": [1, 2]}),
               pd.DataFrame({"x": [3.0], "d": pd.to_datetime(["2020-02-02"]), "t": as_text(["c"]),
                             "b": pd.array([False], dtype="boolean"), "k": [2.5]})]  # k typed otherwise
    filling = _Filling(3)
    for batch in batches:
        filling.add(batch.copy())
    assert_frame_equal(filling.frame(), pd.concat(batches, ignore_index=True))


def test_dates_at_the_edges_of_datetime64_read_alike_whatever_the_other_cells(tmp_path):
    """Found by review: a date of 2262-01-15 or 1677-10-01 was kept among clean dates and
    rejected beside one bad cell (the slow parser cut the first and last years whole)."""
    for cells in (["2262-01-15", "1677-10-01"], ["2262-01-15", "1677-10-01", "abc"]):
        path = tmp_path / "loans.csv"
        path.write_text("loan_id,firm_id,amount,maturity_date\n" + "".join(f"L{i},F1,1,{c}\n" for i, c in enumerate(cells)),
                        encoding="utf-8")
        frame, _, findings = read_table(path, "loans")
        assert frame["maturity_date"].iloc[0] == pd.Timestamp("2262-01-15")
        assert pd.isna(frame["maturity_date"].iloc[1])  # before 1901: a placeholder, said
        assert findings.set_index("row").loc[3, "code"] == "placeholder_date"
    assert pd.isna(frame["maturity_date"].iloc[2]) and findings.set_index("row").loc[4, "code"] == "bad_date"


def test_integer_ids_with_a_missing_cell_stay_exact(tmp_path):
    """Found by review: an int64 column with a null came through as floats (2**53 + 1 read as 2**53)."""
    path = tmp_path / "loans.parquet"
    pq.write_table(pa.table({"loan_id": ["L1", "L2", "L3"],
                             "firm_id": pa.array([1234567890123456, 9007199254740993, None], pa.int64()),
                             "amount": [1.0, 2.0, 3.0], "maturity_date": pa.array([dt.date(2020, 1, 1)] * 3)}), path)
    frame, _, findings = read_table(path, "loans")
    assert frame["firm_id"].tolist()[:2] == ["1234567890123456", "9007199254740993"] and pd.isna(frame["firm_id"].iloc[2])


def test_partition_keys_read_from_their_values_are_read_part_by_part(tmp_path):
    """A partition folder whose key is an ambiguous header, or whose values carry a unit,
    is judged part by part (each part noted), as a file column would be."""
    for table, key, values, frame in (
            ("guarantees", "担保类型", ("Chain", "Focus"), pd.DataFrame({"guarantor_id": ["A"], "borrower_id": ["B"]})),
            ("firms", "从业人员", ("12人", "15人"), pd.DataFrame({"firm_id": ["F1"], "name": ["甲"]}))):
        folder = tmp_path / table
        for k, value in enumerate(values):
            (folder / f"{key}={value}").mkdir(parents=True)
            frame.to_parquet(folder / f"{key}={value}" / f"p{k}.parquet", index=False)
        assert _read_alike(folder, table) is None


def test_a_header_missing_from_every_part_is_the_first_parts_error(tmp_path):
    folder = tmp_path / "firms"
    folder.mkdir()
    for k in range(3):
        pd.DataFrame({"firm_id": [f"F{k}"]}).to_parquet(folder / f"p{k}.parquet", index=False)
    (folder / "p2.parquet").write_bytes((folder / "p2.parquet").read_bytes()[:40] + b"\0" * 20 +
                                        (folder / "p2.parquet").read_bytes()[60:])  # a damaged page, its footer whole
    with pytest.raises(InputFileError, match=r"p0.parquet: missing required column\(s\): name"):
        read_partitioned_table_(folder)


def read_partitioned_table_(folder: Path):
    from zjfin._read import read_partitioned_table

    return read_partitioned_table(folder, "firms")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(_CELLS, _CELLS, _CELLS, st.one_of(st.none(), st.floats(-1e3, 1e12, allow_nan=False))),
                min_size=1, max_size=30),
       st.lists(st.tuples(st.integers(0, 8), st.sampled_from(["county=a", "county=b", "", "x", "county=a/y=1"]),
                          st.booleans(), st.booleans()), min_size=1, max_size=6))
def test_a_table_read_group_by_group_is_the_table_read_whole(tmp_path_factory, rows, parts):
    """Read a folder at a time (TableInGroups), a table's rows, findings and source are those
    of reading it whole, and a table the whole reading refuses (parts reading a column two
    ways) is refused with the same words — whatever the folders, schemas and rates."""
    from zjfin._read import TableInGroups, _concat_findings, _join_parts, read_partitioned_table

    folder = tmp_path_factory.mktemp("groups") / "bonds"
    n = len(rows)
    table = pa.table({
        "bond_id": [f"B{i}" for i in range(n)], "issuer_id": [r[0] for r in rows],
        "amount_outstanding": pa.array([r[1] for r in rows], pa.string()),
        "maturity_date": pa.array([r[2] for r in rows], pa.string()),
        "coupon_rate": pa.array([r[3] for r in rows], pa.float64())})
    start = 0
    for k, (size, where, vendor, per_cent) in enumerate(parts):
        piece = table.slice(start, size if k < len(parts) - 1 else n)
        start += piece.num_rows
        if per_cent:  # this part's rates in per cent without their sign
            piece = piece.set_column(4, "coupon_rate", pa.array([4.5 + i % 3 for i in range(piece.num_rows)], pa.float64()))
        if vendor:  # another schema: the vendor's header
            piece = piece.rename_columns(["bond_id", "issuer_id", "债券余额", "maturity_date", "coupon_rate"])
        path = folder / where / f"part-{k}.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(piece, path)

    def whole():
        return read_partitioned_table(folder, "bonds")

    def grouped():
        groups = TableInGroups(folder, "bonds")
        read = list(groups)
        return _join_parts([f for _, f, _ in read]), groups.source, _concat_findings([p for _, _, p in read])

    try:
        expected = whole()
    except InputFileError as error:
        with pytest.raises(InputFileError) as caught:
            grouped()
        assert str(caught.value) == str(error)
        return
    frame, source, findings = grouped()
    assert_frame_equal(frame, expected[0])
    assert source.to_dict() == expected[1].to_dict() and source.parts == expected[1].parts
    assert_frame_equal(findings, expected[2])


def test_parts_read_alike_in_one_folder_still_count_against_another_folders_rates(tmp_path):
    """One folder's parts alike (rates as fractions), another's part in per cent: reading the
    whole table refuses it; so must reading it a folder at a time, though the first folder's
    parts were typed together."""
    from zjfin._read import TableInGroups, read_partitioned_table

    folder = tmp_path / "bonds"
    rates = {"county=a/part-0": [0.05, 0.06], "county=a/part-1": [0.04, 0.07], "county=b/part-2": [4.5, 5.5]}
    for name, rate in rates.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.table({"bond_id": [f"{name}-{i}" for i in range(2)], "issuer_id": ["x", "y"],
                                 "amount_outstanding": [1e8, 2e8], "maturity_date": ["2020-01-01"] * 2,
                                 "coupon_rate": rate}), folder / f"{name}.parquet")
    with pytest.raises(InputFileError, match="part-2.parquet: reads column 'coupon_rate' as per cent") as whole:
        read_partitioned_table(folder, "bonds")
    with pytest.raises(InputFileError) as grouped:
        list(TableInGroups(folder, "bonds"))
    assert str(grouped.value) == str(whole.value)


@given(st.lists(st.sampled_from(["330102", "330102~2", "330106", "a.x"]), max_size=8))
def test_group_keys_are_unique_and_a_first_key_is_kept(keys):
    from zjfin._read import _unique_keys

    unique = _unique_keys(keys)
    assert len(unique) == len(keys) == len(set(unique))
    firsts = [k for i, k in enumerate(keys) if k not in keys[:i]]
    assert all(k in unique for k in firsts) and all(u.startswith(k) for u, k in zip(unique, keys))
