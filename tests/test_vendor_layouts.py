"""Real exports, read as they arrive (``../shared/data/vendor_layouts.md`` §1–§3).

Each fixture is built here in the vendor's own layout — its headers, units, encodings and
value conventions — and loaded by ``read_dataset`` without renaming anything. The
expected bonds, contracts and graph are written out by hand.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io

import numpy as np
import pandas as pd
import pytest
from openpyxl import Workbook

import zjfin
from builders import firm_ids

AS_OF = "2019-03-31"

BOND_HEADERS = ["代码", "名称", "发生日期", "事件摘要", "发行人", "担保人", "最新债项评级", "发行时债项评级", "最新主体评级",
                "发行时主体评级", "评级历史", "发行总额(亿元)", "债券余额(亿元)", "票面利率", "累计百元兑付利息",
                "累计百元兑付本金", "公司属性", "起息日期", "到期日期", "主承销商", "是否上市公司", "省份", "所属Wind行业",
                "Wind债券二级分类", "上市交易所", "所属wind行业代码", "所属wind行业名称", "估价收益率（%）（中债）",
                "市场隐含评级（中债）", "收盘价（全价）", "收盘价（净价）", "所属申万行业名称"]

PLEDGE_HEADERS = ["", "股票代码", "质押日期", "股东名称", "质押方", "质押股数(万股)", "占所持股比例(%)", "占总股本比例(%)",
                  "冻结事由", "冻结期限", "状态", "预警线(估算)", "平仓线(估算)", "质押日收盘价(前复权)(元)", "最新收盘价(元)",
                  "质押股数(万股).1", "占所持股比例(%).1", "占总股本比例(%).1", "解除日期", "公告日期", "平仓日"]

NAMES = ["浙江甲控股集团有限公司", "浙江乙实业股份有限公司", "浙江丙科技股份有限公司", "浙江丁投资有限公司"]


def firms_and_financials(ids, names=None, stock_codes=None):
    n = len(ids)
    firms = pd.DataFrame({"firm_id": ids, "name": names or [f"企业{i}" for i in range(n)], "region_code": "330102",
                          "industry_code": "C1711", "employees": 300.0,
                          "stock_code": stock_codes or [None] * n, "total_shares": [1e8 if s else np.nan for s in (stock_codes or [None] * n)]})
    financials = pd.DataFrame({"firm_id": ids, "period_end": pd.Timestamp("2018-12-31"), "revenue": 5e8,
                               "total_assets": 8e8, "total_liabilities": 5e8, "equity": 3e8})
    return firms, financials


def bond_row(code, day, event, issuer, balance, coupon, rating):
    cells = dict.fromkeys(BOND_HEADERS, "-")
    cells.update({"代码": code, "名称": f"债券{code[:6]}", "发生日期": day, "事件摘要": event, "发行人": issuer,
                  "最新债项评级": "C", "发行时债项评级": "AA", "最新主体评级": rating, "发行时主体评级": "AA",
                  "评级历史": "AA(2016-05-01)→C(2018-05-02)", "发行总额(亿元)": 5.0, "债券余额(亿元)": balance,
                  "票面利率": coupon, "起息日期": dt.datetime(2016, 5, 2), "到期日期": dt.datetime(2021, 5, 2),
                  "是否上市公司": "否", "省份": "浙江省", "收盘价（全价）": None})
    return [cells[h] for h in BOND_HEADERS]


@pytest.fixture()
def default_report(tmp_path):
    """§1: a data terminal's bond default report: one row per event, issuer names, 亿元,
    coupons in per cent without a sign, Excel dates, "-" for no rating."""
    ids = firm_ids(4)
    firms, financials = firms_and_financials(ids, NAMES)
    firms.to_csv(tmp_path / "firms.csv", index=False)
    financials.to_csv(tmp_path / "financials.csv", index=False)
    wb = Workbook()
    ws = wb.active
    ws.append(BOND_HEADERS)
    ws.append(bond_row("114332.SZ", dt.datetime(2018, 5, 2), "未按时兑付回售款", NAMES[0], None, 8.7, "C"))
    ws.append(bond_row("101556037.IB", dt.datetime(2018, 9, 1), "未按时兑付利息", NAMES[1], 3.2, 6.5, "-"))
    ws.append(bond_row("114332.SZ", dt.datetime(2018, 11, 20), "未按时兑付本息", NAMES[0], None, 8.7, "C"))
    ws.append(bond_row("127001.SH", dt.datetime(2018, 12, 1), "未按时兑付本息", "不在名单中的公司", 1.0, 7.0, "C"))
    wb.save(tmp_path / "bonds.xlsx")
    return tmp_path, ids


def test_bond_default_report_loads_as_it_is(default_report):
    folder, ids = default_report
    res = zjfin.screen(zjfin.read_dataset(folder), as_of=AS_OF, n_jobs=1)
    bonds = res.validation.dataset["bonds"].set_index("bond_id")
    assert sorted(bonds.index) == ["101556037.IB", "114332.SZ"]
    b1, b2 = bonds.loc["114332.SZ"], bonds.loc["101556037.IB"]
    # The issuer found by name; the bond at its latest event; defaulted although no status column.
    assert (b1["issuer_id"], b1["status"], b1["event"]) == (ids[0], "defaulted", "未按时兑付本息")
    assert np.isnan(b1["amount_outstanding"]) and b1["rating"] == "C" and b1["coupon_rate"] == pytest.approx(0.087)
    assert (b2["issuer_id"], b2["amount_outstanding"], b2["coupon_rate"]) == (ids[1], 3.2e8, pytest.approx(0.065))
    assert pd.isna(b2["rating"])  # "-": no rating
    assert b1["maturity_date"] == pd.Timestamp("2021-05-02") and b1["issue_date"] == pd.Timestamp("2016-05-02")
    # A known default is never lost: the empty balance is a warning, and the issuer's risk is high.
    issues = res.validation.issues
    codes = issues.groupby("code")["row"].apply(list).to_dict()
    assert codes["amount_missing"] == [4] and codes["event_collapsed"] == [2] and codes["status_implied"] == [2]
    assert codes["unresolved_name"] == [5] and "read_as_percent" in codes and "duplicate_key" not in codes
    s = res.screening.set_index("firm_id")
    assert s.loc[ids[0], "bond_risk"] == "high" and s.loc[ids[1], "bond_risk"] == "high"
    assert s.loc[ids[2], "bond_risk"] == "none"
    rows = res.validation.rows.set_index("table").loc["bonds"]
    assert (rows["read"], rows["used"], rows["rejected"]) == (4, 3, 1)


@pytest.fixture()
def pledge_disclosures(tmp_path):
    """§2: share-pledge disclosures: unnamed index, 万股 with thousands separators, per-cent
    shares, lines as prices, pledger = 股东名称 (never 质押方), bare stock codes."""
    ids = firm_ids(4)
    firms, financials = firms_and_financials(ids, NAMES, [None, None, "600001.SH", None])
    firms.to_csv(tmp_path / "firms.csv", index=False)
    financials.to_csv(tmp_path / "financials.csv", index=False)
    rows = [
        [0, "600001", "2016/11/25", NAMES[3], "某某证券股份有限公司", "3,556.00", "80.00", "35.56", "", "", "已到平仓线",
         "9.80", "8.50", "14.00", "8.00", "3,556.00", "80.00", "35.56", "", "2016/11/28", ""],
        [1, "600001", "2017/03/01", "张三", "某某银行股份有限公司", "1,000.00", "20.00", "10.00", "", "", "未达预警线",
         "5.00", "4.20", "12.00", "8.00", "1,000.00", "20.00", "10.00", "", "2017/03/03", ""],
        [2, "600001", "2016/01/05", "张三", "某某信托有限责任公司", "500.00", "10.00", "5.00", "", "", "已解押",
         "7.00", "6.00", "11.00", "8.00", "500.00", "10.00", "5.00", "2018/06/01", "2016/01/07", ""],
    ]
    text = io.StringIO()
    csv.writer(text).writerows([PLEDGE_HEADERS, *rows])
    (tmp_path / "pledges.csv").write_text(text.getvalue(), encoding="utf-8")
    days = pd.bdate_range(end="2019-03-29", periods=120)
    closes = np.linspace(12.0, 8.0, len(days))
    pd.DataFrame({"stock_code": "600001.SH", "date": days, "close": closes}).to_csv(tmp_path / "prices.csv", index=False)
    return tmp_path, ids


def test_pledge_disclosures_load_as_they_are(pledge_disclosures):
    folder, ids = pledge_disclosures
    res = zjfin.screen(zjfin.read_dataset(folder), as_of=AS_OF, n_jobs=1)
    contracts = res.tables["pledges"].set_index("pledge_id")
    assert list(contracts.index) == ["pledges.csv:2", "pledges.csv:3", "pledges.csv:4"]  # made from the row
    c = contracts.loc["pledges.csv:2"]
    assert c["company_id"] == ids[2] and c["pledger_id"] == ids[3]  # the holder, found by name; not 质押方
    assert c["pledged_shares"] == 35_560_000 and c["pledger_holding_shares"] == pytest.approx(35_560_000 / 0.8)
    assert c["liquidation_price"] == 8.5 and c["warning_price"] == 9.8
    assert c["amount_owed"] == pytest.approx(8.5 * 35_560_000 / 1.4) and c["amount_source"] == "liquidation_price"
    assert c["price"] == pytest.approx(8.0) and c["state"] == "liquidation"
    assert contracts.loc["pledges.csv:3", "pledger_id"] == "张三" and contracts.loc["pledges.csv:3", "state"] == "normal"
    assert contracts.loc["pledges.csv:4", "state"] == "released"
    kept = res.validation.dataset["pledges"]
    assert kept["pledgee"].tolist() == ["某某证券股份有限公司", "某某银行股份有限公司", "某某信托有限责任公司"]
    s = res.screening.set_index("firm_id")
    assert s.loc[ids[2], "pledge_ratio"] == pytest.approx((35_560_000 + 10_000_000) / 1e8)
    assert s.loc[ids[2], "pledge_risk"] == "high"
    assert not (res.validation.issues["severity"] == "error").any()


def anonymised(i: int) -> str:
    return "T" + hashlib.md5(str(i).encode()).hexdigest().upper()


@pytest.fixture()
def bank_network(tmp_path):
    """§3: a bank's guarantee network: T + 32 hex ids, GB18030, placeholder dates,
    structure labels in 担保类型, an amount of 0."""
    t = [anonymised(i) for i in range(6)]
    rows = [
        [t[0], t[1], "1900-1-1", "Cross", "5000000"],
        [t[1], t[0], "2016-5-3", "Cross", "3000000"],
        [t[2], t[3], "1900-1-1", "Circle", "2000000"],
        [t[3], t[4], "2017-1-9", "Circle", "0"],
        [t[4], t[2], "2017-2-1", "Circle", "1000000"],
        [t[5], t[2], "1900-1-1", "Chain", "800000"],
    ]
    text = io.StringIO()
    csv.writer(text).writerows([["源节点", "目标节点", "担保时间", "担保类型", "担保金额"], *rows])
    (tmp_path / "guarantees.csv").write_bytes(text.getvalue().encode("gb18030"))
    firms, financials = firms_and_financials(t)
    firms.to_csv(tmp_path / "firms.csv", index=False)
    financials.to_csv(tmp_path / "financials.csv", index=False)
    return tmp_path, t


def test_bank_guarantee_network_loads_as_it_is(bank_network):
    folder, t = bank_network
    ds = zjfin.read_dataset(folder)
    g = ds["guarantees"]
    assert ds.sources["guarantees"].encoding == "gb18030"
    assert g[["guarantor_id", "borrower_id"]].values.tolist() == [[t[0], t[1]], [t[1], t[0]], [t[2], t[3]], [t[3], t[4]],
                                                                 [t[4], t[2]], [t[5], t[2]]]
    assert g["structure"].tolist() == ["Cross", "Cross", "Circle", "Circle", "Circle", "Chain"]  # as given; validation normalises
    assert g["kind"].isna().all()  # a structure label is not a legal kind
    assert g["start_date"].isna().tolist() == [True, False, True, False, False, True]
    assert g["amount"].tolist() == [5e6, 3e6, 2e6, 0.0, 1e6, 8e5]
    # By default the anonymised ids are malformed credit codes; with ids = "any" they are firms.
    strict = zjfin.validate(ds, as_of=AS_OF)
    assert strict.firms["screened"] == 0
    policy = zjfin.Policy.default().update({"validation": {"firm_id_format": "any"}})
    res = zjfin.screen(ds, as_of=AS_OF, policy=policy, n_jobs=1)
    assert res.validation.dataset["guarantees"]["structure"].tolist() == ["cross", "cross", "circle", "circle", "circle", "chain"]
    issues = res.validation.issues
    assert issues.loc[issues["code"] == "placeholder_date", "row"].tolist() == [2, 4, 7]
    assert issues.loc[issues["code"] == "zero_amount", "row"].tolist() == [5]
    assert not (issues["severity"] == "error").any()
    s = res.screening.set_index("firm_id")
    assert s.loc[t[0], "mutual_guarantee"] and s.loc[t[1], "mutual_guarantee"] and not s.loc[t[2], "mutual_guarantee"]
    circle = s.loc[[t[2], t[3], t[4]], "guarantee_circle_size"].tolist()
    assert circle == [3, 3, 3] and pd.isna(s.loc[t[5], "guarantee_circle_id"])


def test_bank_export_named_in_the_singular_is_pointed_out(bank_network):
    folder, _ = bank_network
    (folder / "guarantees.csv").rename(folder / "guarantee.csv")
    ds = zjfin.read_dataset(folder)
    assert "guarantees" not in ds
    assert ds.findings[["file", "code", "value"]].values.tolist() == [["guarantee.csv", "unmatched_file", "guarantee.csv → guarantees?"]]
    res = zjfin.validate(ds, as_of=AS_OF)
    assert res.issues.loc[res.issues["code"] == "unmatched_file", "severity"].tolist() == ["warning"]


def test_ambiguous_header_is_refused_naming_both_readings(tmp_path):
    ids = firm_ids(2)
    path = tmp_path / "pledges.csv"
    path.write_text("质押编号,标的公司,出质人,质押股数,融资金额,质押日期,平仓线\n"
                    f"C1,{ids[0]},{ids[1]},1000000,5000000,2018-01-02,1.4\n", encoding="utf-8")
    with pytest.raises(zjfin.InputFileError, match=r"平仓线.*liquidation_ratio.*liquidation_price"):
        zjfin.read_table(path, "pledges")


def test_structure_labels_under_a_kind_header_are_read_as_structures(tmp_path):
    ids = firm_ids(2)
    path = tmp_path / "guarantees.csv"
    path.write_text(f"担保人,被担保人,担保金额,担保类型\n{ids[0]},{ids[1]},100,Chain\n", encoding="utf-8")
    frame, _, findings = zjfin.read_table(path, "guarantees")
    assert frame["structure"].tolist() == ["Chain"] and frame["kind"].isna().all()
    assert findings[["code", "column", "value"]].values.tolist() == [["header_read_as", "structure", "担保类型 → structure"]]
    path.write_text(f"担保人,被担保人,担保金额,担保类型\n{ids[0]},{ids[1]},100,联保\n", encoding="utf-8")
    frame, _, _ = zjfin.read_table(path, "guarantees")
    assert frame["kind"].tolist() == ["联保"]


def test_an_empty_ambiguous_column_is_left_out(tmp_path):
    ids = firm_ids(2)
    path = tmp_path / "guarantees.csv"
    path.write_text(f"担保人,被担保人,担保金额,担保类型\n{ids[0]},{ids[1]},100,\n", encoding="utf-8")
    frame, source, _ = zjfin.read_table(path, "guarantees")
    assert source.ignored_columns == ["担保类型"] and frame["kind"].isna().all() and frame["structure"].isna().all()


def test_a_share_of_holding_without_its_percent_sign_is_read_as_per_cent(tmp_path):
    path = tmp_path / "pledges.csv"
    path.write_text("股票代码,股东名称,质押股数,平仓线(估算),质押日期,占所持股比例\n"
                    "600001,张三,1000000,8.5,2018-01-02,80\n600001,李四,500000,8.5,2018-01-02,12.5\n", encoding="utf-8")
    frame, _, findings = zjfin.read_table(path, "pledges")
    assert frame["pledged_share_of_holding"].tolist() == [0.8, 0.125]
    assert findings.loc[findings["code"] == "read_as_percent", ["row", "value"]].values.tolist() == [[2, "largest 80"]]


def test_bank_ids_without_ids_any_say_what_to_do(bank_network, tmp_path, capsys):
    from zjfin._cli import main

    folder, _ = bank_network
    out = tmp_path / "out"
    assert main(["-q", "screen", str(folder), "--as-of", AS_OF, "--out", str(out)]) == 2  # nothing screened: no result
    err = capsys.readouterr().err
    assert "no firm could be screened" in err and "uscc_malformed 6" in err and "add --ids any" in err
    assert not out.exists()
    assert main(["-q", "validate", str(folder), "--out", str(tmp_path / "v")]) == 1
    assert "6 of 6 firm ids are not unified social credit codes" in capsys.readouterr().out
    assert main(["-q", "screen", str(folder), "--as-of", AS_OF, "--out", str(out), "--ids", "any"]) == 0
